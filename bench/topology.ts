/**
 * The benchmark topology: every hop in its own child process (bench/hop-host.ts), on loopback, built
 * from the same specs `demo up` programs (baseSpec, bridgeFor, egressRouteFor), plus the bare relay
 * used as the reference. Token budgets: the enterprise tier gets a budget that never runs out (for
 * latency and throughput); the free tier keeps its 100 tokens (for the limiter's admission runs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type DemoConfig } from '../src/core/config.js';
import { baseSpec, bridgeFor, egressRouteFor, type EgressSpec, type MaasGatewaySpec } from '../src/model/topology.js';
import { generateCerts } from '../src/targets/local/certificates.js';
import { generateSigningKey, mintServiceAccountToken, type SigningKeyFile } from '../src/targets/local/tokens.js';
import type { HopInit, MemSample } from './hop-host.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const UNLIMITED = 1e12;

export class HopProcess {
  readonly #child: ChildProcess;
  port = 0;
  constructor(
    readonly name: string,
    readonly init: HopInit,
    execArgv: string[] = [],
  ) {
    const file = join(HERE, 'hop-host.js');
    this.#child = fork(file, [], { execArgv: ['--expose-gc', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_OPTIONS: '' } });
  }
  get pid(): number {
    return this.#child.pid ?? 0;
  }
  /** Sends one message and waits for the next answer of the given type. */
  ask<T>(message: unknown, type: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: no ${type} answer within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === type) done(undefined, m as T);
        else if (m.type === 'error') done(new Error(`${this.name}: ${m.message}`));
      };
      const onExit = (code: number | null) => done(new Error(`${this.name} exited (${code})`));
      const done = (err?: Error, value?: T) => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
        if (err) reject(err);
        else resolve(value as T);
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#child.send(message as object);
    });
  }
  async start(): Promise<this> {
    this.port = (await this.ask<{ port: number }>({ type: 'init', init: this.init }, 'ready')).port;
    return this;
  }
  setSpec(spec: unknown): Promise<unknown> {
    return this.ask({ type: 'set-spec', spec }, 'ok');
  }
  mem(): Promise<MemSample> {
    return this.ask<MemSample>({ type: 'mem' }, 'mem');
  }
  alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
  /** Ends the process the graceful way (it exits when its IPC channel closes), e.g. so --cpu-prof writes its profile. */
  async disconnect(): Promise<void> {
    if (!this.alive()) return;
    const gone = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
  async stop(): Promise<void> {
    if (!this.alive()) return;
    const gone = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
    await gone;
    clearTimeout(timer);
  }
}

export interface BenchTopology {
  cfg: DemoConfig;
  ca: string;
  signingKey: SigningKeyFile;
  providerKey: string;
  /** Provider simulator (openai style). */
  provider: HopProcess;
  /** Bare relay → provider, plain HTTP, and the same over TLS. */
  relay: HopProcess;
  relayTls: HopProcess;
  /** Egress gateway → provider. */
  egress: HopProcess;
  /** MaaS gateway straight to the provider (bridge rewrite to `/`): the gateway hop alone, limiter on. */
  gateway: HopProcess;
  /** The same with no TokenRateLimitPolicy: the limiter's cost is the difference. */
  gatewayNoLimit: HopProcess;
  /** The same with --strict-budget. */
  gatewayStrict: HopProcess;
  /** The real chain: MaaS gateway → egress gateway → provider. */
  chain: HopProcess;
  all: HopProcess[];
  /** A bearer token of a tier with a budget that never runs out. */
  unlimitedToken: string;
  /** A fresh free-tier user (100-token budget, its own counter). */
  freeToken(user: string): Promise<string>;
  stop(): Promise<void>;
}

function gatewaySpec(cfg: DemoConfig, upstream: string, opts: { direct: boolean; limiter: boolean; strict: boolean }): MaasGatewaySpec {
  const spec = baseSpec(cfg, { host: '127.0.0.1:0', strictBudget: opts.strict }).maasGateway;
  const openai = cfg.providers.find((p) => p.name === 'openai')!;
  const bridge = bridgeFor(cfg, openai);
  // The gateway hop alone: the bridge rewrites /external/openai/ straight to the provider's /.
  spec.bridges = [opts.direct ? { ...bridge, rewritePrefix: '/' } : bridge];
  spec.upstreams.egress = upstream;
  spec.rateLimit.enabled = opts.limiter;
  spec.rateLimit.limits = spec.rateLimit.limits.map((l) => (l.tier === 'free' ? l : { ...l, tokens: UNLIMITED }));
  return spec;
}

function egressSpec(cfg: DemoConfig, providerPort: number): EgressSpec {
  const openai = cfg.providers.find((p) => p.name === 'openai')!;
  const hostname = `${openai.simulator}.${cfg.providersNamespace}.svc.cluster.local`;
  return {
    controllerFixed: true,
    logLevel: 'info',
    routes: [egressRouteFor(openai)],
    backends: [{ name: openai.backend, hostname, ports: [8000], scheme: 'http' }],
    dns: { [`${hostname}:8000`]: `127.0.0.1:${providerPort}` },
  };
}

export async function startBenchTopology(): Promise<BenchTopology> {
  const cfg = defaultConfig();
  const openai = cfg.providers.find((p) => p.name === 'openai')!;
  const certs = await generateCerts(['localhost']);
  const signingKey = await generateSigningKey();
  const tls = { cert: certs.certPem, key: certs.keyPem };
  const clusterTokenSha256 = createHash('sha256').update('bench-cluster-token').digest('hex');
  const started: HopProcess[] = [];
  const start = async (p: HopProcess) => {
    started.push(p);
    return p.start();
  };
  try {
    const provider = await start(new HopProcess('provider', { kind: 'provider', apiKey: openai.key.reveal(), name: 'openai', model: openai.model, keyHeader: openai.keyHeader }));
    const up = `http://127.0.0.1:${provider.port}`;
    const gw = (name: string, upstream: string, opts: { direct: boolean; limiter: boolean; strict: boolean }) =>
      new HopProcess(name, { kind: 'maas-gateway', spec: gatewaySpec(cfg, upstream, opts), tls, signingKey, clusterTokenSha256 });
    const [relay, relayTls, egress] = await Promise.all([
      start(new HopProcess('relay', { kind: 'relay', upstream: up })),
      start(new HopProcess('relay-tls', { kind: 'relay', upstream: up, tls })),
      start(new HopProcess('egress', { kind: 'egress', spec: egressSpec(cfg, provider.port) })),
    ]);
    const [gateway, gatewayNoLimit, gatewayStrict, chain] = await Promise.all([
      start(gw('gateway', up, { direct: true, limiter: true, strict: false })),
      start(gw('gateway-no-limiter', up, { direct: true, limiter: false, strict: false })),
      start(gw('gateway-strict', up, { direct: true, limiter: true, strict: true })),
      start(gw('chain', `http://127.0.0.1:${egress!.port}`, { direct: false, limiter: true, strict: false })),
    ]);
    const mint = async (tier: string, user: string) =>
      (await mintServiceAccountToken(signingKey, { namespace: `${cfg.maas.gatewayName}-tier-${tier}`, serviceAccount: user, audience: cfg.maas.audience, issuer: cfg.maas.issuer, seconds: 3600 })).token;
    const all = [provider, relay!, relayTls!, egress!, gateway!, gatewayNoLimit!, gatewayStrict!, chain!];
    return {
      cfg,
      ca: certs.caPem,
      signingKey,
      providerKey: openai.key.reveal(),
      provider,
      relay: relay!,
      relayTls: relayTls!,
      egress: egress!,
      gateway: gateway!,
      gatewayNoLimit: gatewayNoLimit!,
      gatewayStrict: gatewayStrict!,
      chain: chain!,
      all,
      unlimitedToken: await mint('enterprise', 'bench-user'),
      freeToken: (user) => mint('free', user),
      stop: async () => void (await Promise.all(all.map((p) => p.stop()))),
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    throw err;
  }
}
