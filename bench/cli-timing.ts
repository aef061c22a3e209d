/**
 * Wall-clock timings of whole CLI processes: cold start (`demo --help` vs `node -e ''`), the TUI's
 * first frame under a pseudo-terminal (util-linux `script`), and a local `up` until ready plus
 * `validate` (calls 1–9) and `down`. Each run is a fresh process; rounds interleave with the
 * `node -e ''` baseline so a busy moment on the machine hits both.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'demo.js');
const NODE = process.execPath;

/** The environment of a CLI run: no inherited DEMO_* settings, CI=1 (plain output unless asked). */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('DEMO_') || k.startsWith('MAAS_EGRESS_DEMO_') || k === 'NODE_OPTIONS' || k === 'FORCE_COLOR' || k === 'NO_COLOR') delete env[k];
  env.CI = '1';
  return { ...env, ...extra };
}

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to its end (killed after timeoutMs) and returns its wall time. */
export function timed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Timed> {
  return new Promise((resolvePromise) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ ms: performance.now() - start, code, stdout, stderr });
    });
  });
}

export const nodeNoop = () => timed(NODE, ['-e', '']);
export const demoHelp = () => timed(NODE, [BIN, '--help']);

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*(\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]/g;

/**
 * Time until the first frame: the first output under a pseudo-terminal that, with escape sequences
 * removed, holds a word (Ink's first render). The process group is killed right after.
 */
export function ptyFirstFrame(command: string, timeoutMs = 15_000): Promise<{ ms: number; ok: boolean }> {
  return new Promise((resolvePromise) => {
    const start = performance.now();
    const env = cliEnv({ TERM: 'xterm-256color' });
    delete env.CI;
    const child = spawn('script', ['-qfc', command, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let seen = '';
    let result: { ms: number; ok: boolean } | undefined;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      result ??= { ms: performance.now() - start, ok: false };
      kill();
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (result) return;
      seen += d.toString('utf8');
      if (/[A-Za-z]{2,}/.test(seen.replace(ANSI, ''))) {
        result = { ms: performance.now() - start, ok: true };
        kill();
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolvePromise(result ?? { ms: performance.now() - start, ok: false });
    });
  });
}

/** `node -e ''` under the same pseudo-terminal harness: until it exits. */
export function ptyNodeNoop(): Promise<{ ms: number; ok: boolean }> {
  return new Promise((resolvePromise) => {
    const start = performance.now();
    const env = cliEnv({ TERM: 'xterm-256color' });
    delete env.CI;
    const child = spawn('script', ['-qfc', `${shq(NODE)} -e ''`, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('close', (code) => resolvePromise({ ms: performance.now() - start, ok: code === 0 }));
  });
}

export const tuiCommand = (fixture: string) => `${shq(NODE)} ${shq(BIN)} replay ${shq(fixture)} --output tui --speed 0`;

/** Where `up`'s wall time went, from its ndjson event stream (event times are ms since the run began). */
export interface UpBreakdown {
  /** Node start, imports, and exit: wall time not covered by the event clock. */
  processMs: number;
  /** CA and serving certificate generation (platform step, until Secret/tls). */
  tlsMs: number;
  /** Starting hop processes until each recorded its port (sum over the sequential launches). */
  spawnMs: number;
  count: number;
  /** Readiness waits (sum of the time until each condition was met). */
  waitMs: number;
  otherMs: number;
}

export function upBreakdown(wallMs: number, ndjson: string): UpBreakdown | undefined {
  const events = ndjson.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { kind: string; t: number; step?: string; object?: string; action?: string; state?: string; elapsedMs?: number });
  const end = events.at(-1)?.t;
  if (end === undefined) return undefined;
  let tlsMs = 0;
  let spawnMs = 0;
  let count = 0;
  let waitMs = 0;
  let platformStart: number | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const prev = events[i - 1];
    if (e.kind === 'step-start' && e.step === 'platform') platformStart = e.t;
    if (e.kind === 'apply' && e.object?.startsWith('Secret/tls') && platformStart !== undefined) tlsMs = e.t - platformStart;
    else if (e.kind === 'apply' && e.action === 'started' && prev) {
      spawnMs += e.t - prev.t;
      count++;
    }
    if (e.kind === 'wait' && e.state === 'met') waitMs += e.elapsedMs ?? 0;
  }
  const processMs = wallMs - end;
  return { processMs, tlsMs, spawnMs, count, waitMs, otherMs: wallMs - processMs - tlsMs - spawnMs - waitMs };
}

export interface UpValidate {
  breakdown?: UpBreakdown;
  up: Timed;
  validate: Timed;
  down: Timed;
  validateOk: boolean;
  calls: string;
}

function statePids(dir: string): number[] {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return [];
  try {
    return Object.values((JSON.parse(readFileSync(file, 'utf8')) as { components: Record<string, { pid: number }> }).components).map((c) => c.pid);
  } catch {
    return [];
  }
}

/**
 * A local `up` (until ready), `validate --skip 10` (calls 1–9) and `down`, in a fresh state dir that
 * is removed afterwards; every pid `up` recorded is killed if `down` left it running.
 */
export async function upValidateDown(extraUpArgs: string[] = []): Promise<UpValidate> {
  // ndjson (the event stream) rather than json, for the breakdown of where the time went.
  const base = mkdtempSync(join(tmpdir(), 'maas-egress-demo-bench-'));
  const dir = join(base, 'state');
  const env = cliEnv({ MAAS_EGRESS_DEMO_STATE_DIR: dir });
  let pids: number[] = [];
  try {
    const up = await timed(NODE, [BIN, 'up', '--output', 'ndjson', ...extraUpArgs], { env, timeoutMs: 60_000 });
    let breakdown: UpBreakdown | undefined;
    try {
      breakdown = upBreakdown(up.ms, up.stdout);
    } catch {
      breakdown = undefined;
    }
    pids = statePids(dir);
    const validate = await timed(NODE, [BIN, 'validate', '--skip', '10', '--output', 'json'], { env, timeoutMs: 60_000 });
    let validateOk = false;
    let calls = '';
    try {
      const doc = JSON.parse(validate.stdout) as { ok: boolean; checks?: { id?: string; outcome?: string }[] };
      validateOk = doc.ok === true && validate.code === 0;
      calls = (doc.checks ?? []).map((c) => `${(c.id ?? '?').replace(/^call-/, '')} ${c.outcome ?? '?'}`).join(', ');
    } catch {
      validateOk = false;
    }
    const down = await timed(NODE, [BIN, 'down', '--output', 'json'], { env, timeoutMs: 60_000 });
    return { up, validate, down, validateOk, calls, ...(breakdown ? { breakdown } : {}) };
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone, as it should be */
      }
    }
    rmSync(base, { recursive: true, force: true });
  }
}

/** A config file for `up --config`, in a temp dir the caller removes. */
export function writeTempConfig(config: unknown): { file: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'maas-egress-demo-bench-config-'));
  const file = join(base, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return { file, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
