/**
 * The repository a rehearsal program runs from, also when `tsc -b tsconfig.kube-api.json` compiled it into
 * .build/ (where test/helpers' ROOT, two directories up, is .build/kube-api): the nearest directory above this
 * module with a package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRDS_ENV } from '../helpers/prereq.js';

export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Points $MAAS_EGRESS_DEMO_CRDS_DIR at the first shared/crds beside the repository or one of its parents when
 * it is not set, so crdsDir() (test/helpers/prereq.ts) finds the CRDs from .build/ as it does from the sources.
 */
export function defaultCrdsDirFromRepository(env: NodeJS.ProcessEnv = process.env): void {
  if (env[CRDS_ENV]) return;
  for (let dir = repositoryRoot(); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'crds');
    if (existsSync(candidate)) {
      env[CRDS_ENV] = candidate;
      return;
    }
    if (dirname(dir) === dir) return;
  }
}
