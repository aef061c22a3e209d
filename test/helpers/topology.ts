/**
 * One local topology per test file: `demo up` through the real CLI in a temp state dir, the state it
 * wrote, clients that trust only its CA, and a teardown that always runs `demo down` and then kills
 * whatever is left (even when `up` or a test failed half-way).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { Agent, request as undiciRequest } from 'undici';
import { SignJWT, importJWK, type JWK } from 'jose';
import { pidAlive, type LocalState } from '../../src/targets/local/state.js';
import { fingerprint } from '../../src/core/secret.js';
import { runCli, tempStateDir, type CliResult } from './run-cli.js';

export interface Topology {
  dir: string;
  state: LocalState;
  ca: string;
  /** `https://<host>` of the MaaS gateway. */
  base: string;
  up: CliResult;
  /** Every pid `up` recorded, for the leftover check. */
  pids: number[];
  /** Every port `up` recorded (service and admin listeners). */
  ports: number[];
  agent: Agent;
}

export interface TopologyOptions {
  label?: string;
  /** Written to a file and passed with `--config`. */
  config?: Record<string, unknown>;
  /** Extra `up` flags. */
  args?: string[];
  /** Output mode of `up` (default json). */
  output?: 'json' | 'plain' | 'ndjson';
}

/** The state module's own liveness test (zombies count as stopped): one definition for the tool and its tests. */
export { pidAlive };
export { portOpen } from '../../src/targets/local/launcher.js';

/** Waits up to 5 s for the processes to be gone; returns those still alive. */
export async function waitDead(pids: number[]): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  while (pids.some((p) => pidAlive(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return pids.filter((p) => pidAlive(p));
}

/**
 * State dirs a test file makes for its own `up` runs, and the pids those started: after the file,
 * each is brought down (anything left killed) and its temp dir removed.
 */
export function useStateDirs(): { dirs: string[]; started: number[] } {
  const dirs: string[] = [];
  const started: number[] = [];
  afterAll(async () => {
    for (const dir of dirs) {
      await stopTopology(dir, started);
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  }, 60_000);
  return { dirs, started };
}

export function readStateFile(dir: string): LocalState | undefined {
  const file = join(dir, 'state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalState) : undefined;
}

function componentPids(dir: string, state?: LocalState): number[] {
  const pids = new Set<number>(Object.values(state?.components ?? {}).map((c) => c.pid));
  const run = join(dir, 'run');
  if (existsSync(run)) {
    for (const f of readdirSync(run).filter((x) => x.endsWith('.json'))) {
      try {
        const c = JSON.parse(readFileSync(join(run, f), 'utf8')) as { pid?: number };
        if (c.pid) pids.add(c.pid);
      } catch {
        /* half-written */
      }
    }
  }
  return [...pids];
}

export async function startTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const dir = tempStateDir(opts.label ?? 'topo');
  const args = ['up', '--output', opts.output ?? 'json', ...(opts.args ?? [])];
  if (opts.config) {
    const file = join(dirname(dir), 'config.json');
    writeFileSync(file, JSON.stringify(opts.config));
    args.push('--config', file);
  }
  const up = await runCli(args, { stateDir: dir, timeoutMs: 60_000 });
  const state = readStateFile(dir);
  if (up.code !== 0 || !state) {
    await stopTopology(dir, state ? componentPids(dir, state) : componentPids(dir));
    throw new Error(`demo up failed (exit ${up.code}):\n${up.stdout.slice(-2000)}\n${up.stderr.slice(-2000)}`);
  }
  const ca = readFileSync(state.caFile, 'utf8');
  return {
    dir,
    state,
    ca,
    base: `https://${state.host}`,
    up,
    pids: componentPids(dir, state),
    ports: Object.values(state.components).flatMap((c) => [c.port, ...(c.adminPort ? [c.adminPort] : [])]),
    agent: new Agent({ connect: { ca }, keepAliveTimeout: 1_000 }),
  };
}

/**
 * `demo down`, then SIGKILL for anything still alive, then the temp dir goes (when `tempStateDir` made
 * it). Returns down's result.
 */
export async function stopTopology(dir: string, pids: number[]): Promise<CliResult | undefined> {
  let down: CliResult | undefined;
  try {
    down = await runCli(['down', '--output', 'json'], { stateDir: dir, timeoutMs: 30_000 });
  } finally {
    for (const pid of new Set([...pids, ...componentPids(dir)])) {
      if (pidAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (basename(dir) === 'state' && basename(dirname(dir)).startsWith('maas-egress-demo-test-')) rmSync(dirname(dir), { recursive: true, force: true });
  }
  return down;
}

/**
 * Registers beforeAll/afterAll for one topology per file. `get()` returns it once started; `teardown()`
 * may be called by a test to run `down` itself (afterAll then only cleans leftovers).
 */
export function useTopology(opts: TopologyOptions = {}) {
  let topo: Topology | undefined;
  let downResult: CliResult | undefined;
  let tornDown = false;
  beforeAll(async () => {
    topo = await startTopology(opts);
  }, 60_000);
  afterAll(async () => {
    if (!topo) return;
    await topo.agent.close().catch(() => undefined);
    if (!tornDown) await stopTopology(topo.dir, topo.pids);
    else for (const pid of topo.pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dirname(topo.dir), { recursive: true, force: true });
  }, 60_000);
  return {
    get(): Topology {
      if (!topo) throw new Error('topology not started');
      return topo;
    },
    async teardown(): Promise<CliResult | undefined> {
      tornDown = true;
      downResult = await stopTopology(topo!.dir, topo!.pids);
      return downResult;
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface RawRequest {
  method?: string;
  /** Sent exactly as written (dot-segments and encodings stay). */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | object;
  /** Called with each body chunk as it arrives (streaming tests). */
  onChunk?: (chunk: string, atMs: number) => void;
  timeoutMs?: number;
  /** TLS server name to verify (when the Host header names something else). */
  servername?: string;
}

/** One HTTPS request to the MaaS gateway over node:https, trusting only the install's CA. */
export function gateway(topo: Topology, req: RawRequest): Promise<HttpResult> {
  const [hostname, port] = topo.state.host.split(':');
  const body = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string | string[]> = { ...(body !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? { 'content-type': 'application/json' } : {}), ...req.headers };
  const start = performance.now();
  return new Promise((resolvePromise, reject) => {
    const r = httpsRequest(
      { hostname, port: Number(port), method: req.method ?? (body === undefined ? 'GET' : 'POST'), path: req.path, headers, ca: topo.ca, agent: false, ...(req.servername ? { servername: req.servername } : {}), timeout: req.timeoutMs ?? 20_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          req.onChunk?.(d, performance.now() - start);
        });
        res.on('end', () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
          resolvePromise({ status: res.statusCode ?? 0, headers: h, text });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`request ${req.path} timed out`)));
    r.on('error', reject);
    r.end(body);
  });
}

/** Token mint as the seed does it (`POST /maas-api/v1/tokens` with the cluster token), over undici with the CA. */
export async function mint(topo: Topology, body: unknown = { expiration: '10m' }, credential: string | null = topo.state.clusterToken): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }> {
  const res = await undiciRequest(`${topo.base}/maas-api/v1/tokens`, {
    method: 'POST',
    dispatcher: topo.agent,
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: text };
  }
  return { status: res.statusCode, json, headers: res.headers };
}

export async function mintToken(topo: Topology): Promise<string> {
  const r = await mint(topo);
  expect(r.status, 'token mint status').toBe(201);
  return r.json.token as string;
}

interface SigningKeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export function signingKey(topo: Topology): SigningKeyFile {
  return JSON.parse(readFileSync(join(topo.dir, 'tls', 'token-signing-key.json'), 'utf8')) as SigningKeyFile;
}

export interface SaTokenOptions {
  namespace?: string;
  serviceAccount?: string;
  audience?: string | string[];
  issuer?: string;
  /** Seconds from now (negative: already expired). */
  expiresIn?: number;
  /** Seconds from now for nbf. */
  notBefore?: number;
  /** Another key than the install's (a forged token). */
  key?: JWK;
}

/**
 * A service-account token signed like maas-api's TokenRequest (the install's key), with any claim
 * changed: another user or tier, or a forged variant.
 */
export async function signSaToken(topo: Topology, o: SaTokenOptions = {}): Promise<string> {
  const k = signingKey(topo);
  const ns = o.namespace ?? 'maas-default-gateway-tier-free';
  const sa = o.serviceAccount ?? 'test-user-0badc0de';
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ 'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: 'uid' } } })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'JWT' })
    .setIssuer(o.issuer ?? 'https://kubernetes.default.svc')
    .setSubject(`system:serviceaccount:${ns}:${sa}`)
    .setAudience(o.audience ?? ['maas-default-gateway-sa'])
    .setIssuedAt(now)
    .setNotBefore(now + (o.notBefore ?? 0))
    .setExpirationTime(now + (o.expiresIn ?? 600))
    .setJti(`test-${Math.random().toString(16).slice(2)}`);
  return jwt.sign(await importJWK(o.key ?? k.privateJwk, 'ES256'));
}

/**
 * The fingerprint the install's hops and simulators give a key (`x-sim-key-fp`, trace `keyFp`): an
 * HMAC under the install's fingerprint key, which only holders of the state directory can compute.
 */
export function installFingerprint(topo: Topology, value: string): string {
  return fingerprint(value, readFileSync(join(topo.dir, 'tls', 'fingerprint.key'), 'utf8').trim());
}

/** GET on a hop's admin listener (rate-limit counters, traces). */
export async function adminGet<T>(topo: Topology, component: string, path: string): Promise<T> {
  const c = topo.state.components[component];
  if (!c?.adminPort) throw new Error(`${component} has no admin port`);
  const res = await fetch(`http://127.0.0.1:${c.adminPort}${path}`, { headers: { authorization: `Bearer ${topo.state.adminToken}` } });
  return (await res.json()) as T;
}

/** Fails with the labels of any secret found in `text`, never the secret itself. */
export function expectNoSecrets(text: string, secrets: Record<string, string>, where = 'output'): void {
  const found = Object.entries(secrets)
    .filter(([, v]) => v.length >= 6 && text.includes(v))
    .map(([label]) => label);
  expect(found, `secrets found in ${where}`).toEqual([]);
}

export const CHAT = (model: string, content = 'Hello', maxTokens = 10): Record<string, unknown> => ({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens });

export const DEFAULT_KEYS = {
  'openai key': 'sk-openai-key-for-demo',
  'anthropic key': 'sk-ant-claude-key-for-demo',
  'vllm key': 'change-me-super-secret',
};
