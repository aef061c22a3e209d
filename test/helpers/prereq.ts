/**
 * What some suites need from outside the repository: the upstream CRDs and a few programs (tmux,
 * kubectl, openssl). A missing one never turns into a skipped suite that leaves the run green: the
 * suite fails with the reason, and the message says how to get what is missing. In CI (which
 * provides all of them) the message also says that CI was expected to provide it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ROOT } from './run-cli.js';

/** True when the test run was started in CI (vitest hides CI from the workers; see vitest.config.ts). */
export function inCi(): boolean {
  return process.env.MAAS_EGRESS_DEMO_TEST_IN_CI === '1';
}

/** Thrown when a suite's prerequisite is missing; its message is the whole explanation. */
export class MissingPrerequisiteError extends Error {
  override name = 'MissingPrerequisiteError';
}

/** `what` is missing; in CI, `ciReason` says why CI should have had it; `how` says how to get it. */
function missing(what: string, how: string, ciReason: string): MissingPrerequisiteError {
  return new MissingPrerequisiteError(inCi() ? `${what}. In CI this is an error of the CI setup: ${ciReason}. To fix: ${how}` : `${what}. To fix: ${how}`);
}

export const CRDS_ENV = 'MAAS_EGRESS_DEMO_CRDS_DIR';

/** Where the upstream CRDs are looked for when MAAS_EGRESS_DEMO_CRDS_DIR is not set. */
export const DEFAULT_CRDS_DIR = resolve(ROOT, '..', 'shared', 'crds');

const CRDS_CI = 'CI checks the repository out beside shared/crds (or sets MAAS_EGRESS_DEMO_CRDS_DIR), so the CRD schema suites always run there';
const CRDS_HOW =
  `set ${CRDS_ENV} to a directory holding the upstream CRD YAMLs (Gateway API v1.2.1 standard, ` +
  'Kuadrant operator v1.3.1, KServe v0.16.0 LLMInferenceService, wg-ai-gateway backend CRDs, MaaS), ' +
  `or put that directory at ${DEFAULT_CRDS_DIR} (shared/crds beside the repository, as the workplace and CI have it; ` +
  'its SOURCES.md names the repository, path and commit of each file)';

/**
 * The directory of upstream CRD YAMLs the schema and API-server suites validate against:
 * $MAAS_EGRESS_DEMO_CRDS_DIR, else ../shared/crds relative to the repository root. Throws when neither
 * holds any YAML.
 */
export function crdsDir(): string {
  const fromEnv = process.env[CRDS_ENV];
  const dir = fromEnv ? resolve(fromEnv) : DEFAULT_CRDS_DIR;
  const source = fromEnv ? `${CRDS_ENV}=${fromEnv}` : `${DEFAULT_CRDS_DIR} (${CRDS_ENV} is not set)`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw missing(`the upstream CRDs are missing: no directory at ${source}`, CRDS_HOW, CRDS_CI);
  if (!readdirSync(dir).some((f) => /\.ya?ml$/.test(f))) throw missing(`the upstream CRDs are missing: ${source} holds no .yaml file`, CRDS_HOW, CRDS_CI);
  return dir;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, bin)));
}

/** How to get each program a suite runs. */
const TOOLS = {
  tmux: 'install tmux (apt-get install tmux; brew install tmux): the e2e suites drive the TUI in a real terminal',
  kubectl: 'install kubectl 1.32 (https://kubernetes.io/docs/tasks/tools/): the API test server is checked against the real client',
  openssl: 'install openssl (apt-get install openssl): the suite makes a certificate the way KServe mounts one',
  less: 'install less (apt-get install less): the pipes suite quits a pager early',
} as const;

/** Throws (failing the suite that calls it) when `bin` is not on PATH or does not run. */
export function requireTool(bin: keyof typeof TOOLS): void {
  const runs = onPath(bin) && spawnSync(bin, bin === 'tmux' ? ['-V'] : bin === 'kubectl' ? ['version', '--client'] : bin === 'less' ? ['--version'] : ['version'], { stdio: 'ignore' }).status === 0;
  if (!runs) throw missing(`${bin} is required by this suite and is not on PATH (or does not run)`, TOOLS[bin], '.ci/run installs it before the tests');
}
