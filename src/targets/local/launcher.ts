/**
 * Starting and stopping the local hop processes: each runs detached with its log in logs/, records
 * itself in run/<name>.json, and is programmed over its admin listener (the xDS role).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paths, pidAlive, readJson, writeJson, type ComponentState } from './state.js';
import type { SpecFile } from './component.js';
import { TIMEOUT_ENV } from './request-hardening.js';

/** The compiled JS directory (dist/src), also when this module runs from TypeScript sources under vitest. */
export function distSrc(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return resolve(dirname(here), '..', '..', '..', 'dist', 'src');
  return resolve(dirname(here), '..', '..');
}

export function scriptPath(rel: string): string {
  const file = join(distSrc(), rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

export interface LaunchSpec {
  name: string;
  script: string;
  args: string[];
  env: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a hop inherits from the environment of `up`: the timeout overrides (see hardenHop() in
 * request-hardening.ts) and NODE_OPTIONS (a user's --max-old-space-size or --use-openssl-ca reaches the hops as
 * it reaches any child node process; the soak preloads its memory probe through it).
 */
function inheritedEnv(): Record<string, string> {
  return Object.fromEntries([...Object.values(TIMEOUT_ENV), 'NODE_OPTIONS'].flatMap((n) => (process.env[n] ? [[n, process.env[n]!]] : [])));
}

/** Starts a detached process and waits until it has recorded its port (run file or port file). */
export async function launch(dir: string, spec: LaunchSpec, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ComponentState> {
  const p = paths(dir);
  const runFile = p.runFile(spec.name);
  const portFile = join(p.run, `${spec.name}.port`);
  rmSync(runFile, { force: true });
  rmSync(portFile, { force: true });
  const out = openSync(p.logFile(spec.name), 'a', 0o600);
  const child = spawn(process.execPath, [spec.script, ...spec.args.map((a) => a.replace('{portFile}', portFile))], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { PATH: process.env.PATH ?? '', ...inheritedEnv(), ...spec.env },
  });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`could not start ${spec.name}`);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) {
      stopPid(pid);
      throw Object.assign(new Error('interrupted'), { name: 'AbortError' });
    }
    if (exited !== null) throw new Error(`${spec.name} exited with code ${exited} during start; see ${p.logFile(spec.name)}`);
    const state = readJson<ComponentState>(runFile);
    if (state?.pid === pid && state.port) return state;
    if (existsSync(portFile)) {
      const port = Number(readFileSync(portFile, 'utf8').trim());
      if (port > 0) {
        const s: ComponentState = { pid, port };
        writeJson(runFile, s);
        return s;
      }
    }
    await sleep(15);
  }
  stopPid(pid);
  throw new Error(`${spec.name} did not start within ${opts.timeoutMs} ms; see ${p.logFile(spec.name)}`);
}

export function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Stops a process and waits until it is gone (SIGKILL after the grace period). */
export async function stopAndWait(pid: number, graceMs = 3_000): Promise<void> {
  if (!pidAlive(pid)) return;
  stopPid(pid);
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(20);
  if (pidAlive(pid)) {
    stopPid(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(20);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

export class AdminClient {
  constructor(
    private readonly port: number,
    private readonly token: string,
  ) {}
  async call<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(5_000),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${json.error ?? res.status}`);
    return json;
  }
  ready() {
    return this.call<{ name: string; generation: number; pid: number }>('GET', '/ready');
  }
  async program(spec: unknown): Promise<number> {
    return (await this.call<{ generation: number }>('PUT', '/config', { spec })).generation;
  }
}

export function writeSpecFile<T>(dir: string, name: string, file: SpecFile<T>): void {
  writeJson(paths(dir).specFile(name), file);
}
