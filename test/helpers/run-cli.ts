/**
 * Running the CLI in tests: as a real process (`node bin/demo.js …`, compiled JS from dist/) with its
 * own state dir and CI=1, or in-process through `main(argv, io)` with a fake Io.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'demo.js');

/**
 * dist/ is compiled from the current sources once per vitest run by the global setup
 * (test/helpers/global-setup.ts), which fails the run on a type error. This only guards against a
 * test file run some other way, with no build at all.
 */
export function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is not built: run the tests through vitest (its global setup compiles the sources) or run `npm run build`');
  }
}

/** A fresh directory for one topology's state (the dir itself is created by `up`). */
export function tempStateDir(label = 'demo'): string {
  return join(mkdtempSync(join(tmpdir(), `maas-egress-demo-test-${label}-`)), 'state');
}

/** Variables that would change what the CLI does behind a test's back. */
const SCRUB = ['DEMO_OUTPUT', 'DEMO_TARGET', 'DEMO_CONFIG', 'DEMO_RECORD', 'DEMO_CONTEXT', 'DEMO_TOKEN', 'FORCE_COLOR', 'NO_COLOR', 'MAAS_EGRESS_DEMO_DEBUG', 'MAAS_EGRESS_DEMO_STATE_DIR', 'VLLM_API_KEY', 'XDG_STATE_HOME'];

export function cliEnv(stateDir: string | undefined, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SCRUB) delete env[k];
  env.CI = '1';
  if (stateDir) env.MAAS_EGRESS_DEMO_STATE_DIR = stateDir;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  stateDir?: string;
  env?: Record<string, string | undefined>;
  /** Kill the process (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
}

/** Starts `node bin/demo.js …`; `result` settles when it exits. */
export function spawnCli(args: string[], opts: CliOptions = {}): { child: ChildProcess; result: Promise<CliResult> } {
  ensureBuilt();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(opts.stateDir, opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { child, result };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).result;
}

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(argv, io)` in this process with a fake, non-TTY Io (sources, not dist/). */
export async function runMain(argv: string[], env: Record<string, string> = {}, opts: { isTTY?: boolean; columns?: number } = {}): Promise<MainResult> {
  const { main } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { CI: '1', ...env },
    isTTY: opts.isTTY ?? false,
    columns: opts.columns ?? 100,
    confirm: async () => false,
  });
  return { code, stdout, stderr };
}

/** The JSON lines of an NDJSON output (throws on a line that is not JSON). */
export function ndjsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
