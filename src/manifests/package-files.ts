/**
 * Where the package's own files are at run time: the package root (package.json beside manifests/), the
 * manifest templates, and the compiled simulators `npm run build` leaves in dist/.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BugError } from '../core/errors.js';
import type { StepOptions } from '../../steps/scope.js';

/** The package root: the nearest ancestor of this module with both package.json and manifests/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'manifests'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new BugError('cannot find the package root (package.json next to manifests/)');
    dir = up;
  }
}

export function manifestsDir(opts: StepOptions = {}): string {
  return opts.manifestsDir ?? join(packageRoot(), 'manifests');
}

/** Where `npm run build` puts the compiled simulators. */
export function defaultSimDir(): string {
  return join(packageRoot(), 'dist', 'src', 'sim');
}
