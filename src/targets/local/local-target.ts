/**
 * `up` and `down` on the local target. `up` walks the seed's steps on loopback — the MaaS platform
 * the seeds assume, then steps 1–5 (and 3a) — starting each hop as a detached process, programming
 * it, and proving readiness with a real probe. Faults asked for with `--fault` are planted once the
 * healthy topology is ready, as a person would break a working install.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { Agent, fetch as ufetch } from 'undici';
import type { EventInput } from '../../core/events.js';
import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import { onpremPrefix, serializeConfig } from '../../core/config.js';
import { InterruptedError, StepFailedError, UserError } from '../../core/errors.js';
import { registerSecretValue } from '../../core/secret.js';
import { closedPort } from '../../core/ports.js';
import { selectSteps } from '../../../steps/index.js';
import type { StepDef } from '../../core/step.js';
import { acquireLock, ensureDirs, paths, pidAlive, readJson, readState, writeJson, type ComponentState, type LocalState } from './state.js';
import { AdminClient, launch, portOpen, scriptPath, stopAndWait, writeSpecFile, type LaunchSpec } from './launcher.js';
import { baseSpec, bridgeFor, egressRouteFor, onpremRouteFor, type TopologySpec } from '../../model/topology.js';
import { applyFaults, findFault } from '../../model/faults.js';
import { generateSigningKey } from './tokens.js';
import type { SpecFile } from './component.js';

export interface LocalUpOptions {
  vllm: boolean;
  vllmUrl?: string;
  vllmKey?: string;
  faults: string[];
  strictBudget: boolean;
  timeoutMs: number;
}

const HOPS = ['maas-api', 'maas-gateway', 'egress-gateway'] as const;

export function providerComponent(p: ProviderConfig): string {
  return `provider-${p.name}`;
}

/** HTTPS client that trusts only the install's CA. */
export function gatewayAgent(caFile: string): Agent {
  return new Agent({ connect: { ca: readFileSync(caFile, 'utf8') }, keepAliveTimeout: 2_000 });
}

interface Ctx {
  dir: string;
  cfg: DemoConfig;
  opts: LocalUpOptions;
  signal: AbortSignal;
  adminToken: string;
  clusterToken: string;
  spec: TopologySpec;
  components: Record<string, ComponentState>;
  host: string;
  /**
   * Processes started ahead of their step (they depend on nothing the steps before them make), by
   * name: the step that owns one awaits it here instead of starting it, and says so as before.
   */
  early: Map<string, Promise<ComponentState>>;
}

/** Starts a process now for a later step to collect with `collect`. A failure surfaces when collected. */
function startEarly(ctx: Ctx, name: string, start: () => Promise<ComponentState>): void {
  const p = start();
  p.catch(() => undefined); // collected (and thrown) by its step, or stopped on the way out
  ctx.early.set(name, p);
}

/** The process started early under `name`, or one started now. */
function collect(ctx: Ctx, name: string, start: () => Promise<ComponentState>): Promise<ComponentState> {
  const p = ctx.early.get(name);
  ctx.early.delete(name);
  return p ?? start();
}

/** Stops what was started early and never collected by its step (up failed or was interrupted first). */
async function stopUncollected(ctx: Ctx): Promise<void> {
  const pending = [...ctx.early.values()];
  ctx.early.clear();
  const settled = await Promise.allSettled(pending);
  await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? stopAndWait(r.value.pid) : undefined)));
}

const elapsed = (start: number) => Math.round(performance.now() - start);

/** Polls `probe` until it returns true (met) or a string (the latest reason), within the timeout. */
async function* waitFor(step: string, condition: string, timeoutMs: number, signal: AbortSignal, probe: () => Promise<true | string>): AsyncGenerator<EventInput> {
  const start = performance.now();
  let reason = 'starting';
  yield { kind: 'wait', step, condition, state: 'pending', elapsedMs: 0 };
  while (performance.now() - start < timeoutMs) {
    if (signal.aborted) throw new InterruptedError();
    let r: true | string;
    try {
      r = await probe();
    } catch (err) {
      r = (err as Error).message;
    }
    if (r === true) {
      yield { kind: 'wait', step, condition, state: 'met', elapsedMs: elapsed(start) };
      return;
    }
    reason = r;
    await new Promise((res) => setTimeout(res, 25));
  }
  yield { kind: 'wait', step, condition, state: 'timeout', reason, elapsedMs: elapsed(start) };
  throw new StepFailedError(`step ${step}: ${condition} not met within ${timeoutMs} ms (${reason})`, 'see the hop logs under logs/ in the state dir, then run `demo up` again');
}

function admin(ctx: Ctx, name: string): AdminClient {
  const c = ctx.components[name];
  if (!c?.adminPort) throw new Error(`${name} is not running`);
  return new AdminClient(c.adminPort, ctx.adminToken);
}

async function* program(ctx: Ctx, step: string, name: 'maas-gateway' | 'egress-gateway' | 'maas-api', objects: string[]): AsyncGenerator<EventInput> {
  const spec = name === 'maas-gateway' ? ctx.spec.maasGateway : name === 'egress-gateway' ? ctx.spec.egress : ctx.spec.maasApi;
  const generation = await admin(ctx, name).program(spec);
  for (const object of objects) yield { kind: 'apply', step, object, action: 'configured' };
  yield* waitFor(step, `${name} programmed (generation ${generation})`, ctx.opts.timeoutMs, ctx.signal, async () => {
    const r = await admin(ctx, name).ready();
    return r.generation >= generation ? true : `at generation ${r.generation}`;
  });
}

function launchHop(ctx: Ctx, name: (typeof HOPS)[number]): Promise<ComponentState> {
  const file: SpecFile<unknown> = {
    generation: 1,
    spec: name === 'maas-gateway' ? ctx.spec.maasGateway : name === 'egress-gateway' ? ctx.spec.egress : ctx.spec.maasApi,
    ...(name === 'maas-gateway' ? { port: Number(ctx.host.split(':')[1]) || 0, clusterTokenSha256: createHash('sha256').update(ctx.clusterToken).digest('hex') } : {}),
  };
  const existing = readJson<SpecFile<unknown>>(paths(ctx.dir).specFile(name));
  writeSpecFile(ctx.dir, name, { ...file, ...(existing?.port ? { port: existing.port, adminPort: existing.adminPort } : {}) });
  return launch(ctx.dir, { name, script: scriptPath('targets/local/component.js'), args: [name, ctx.dir], env: { MAAS_EGRESS_DEMO_ADMIN_TOKEN: ctx.adminToken } }, { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal });
}

async function* startHop(ctx: Ctx, step: string, name: (typeof HOPS)[number]): AsyncGenerator<EventInput> {
  const state = await collect(ctx, name, () => launchHop(ctx, name));
  ctx.components[name] = state;
  yield { kind: 'apply', step, object: `process/${name} (pid ${state.pid}, 127.0.0.1:${state.port})`, action: 'started' };
}

function providerLaunch(p: ProviderConfig): LaunchSpec {
  return {
    name: providerComponent(p),
    script: scriptPath('sim/provider-sim.js'),
    args: ['--port', '0', '--host', '127.0.0.1', '--name', p.name, '--model', p.model, '--key-header', p.keyHeader, '--style', p.style, '--port-file', '{portFile}', '--quiet'],
    env: { PROVIDER_API_KEY: p.key.reveal() },
  };
}

function onpremLaunch(cfg: DemoConfig): LaunchSpec {
  return {
    name: 'onprem-sim',
    script: scriptPath('sim/inference-sim.js'),
    args: ['--port', '0', '--host', '127.0.0.1', '--model', cfg.onprem.model, '--mode', cfg.onprem.mode, '--port-file', '{portFile}'],
    env: { POD_NAME: `${cfg.onprem.name}-kserve-0`, POD_NAMESPACE: cfg.onprem.namespace },
  };
}

async function* startProvider(ctx: Ctx, step: string, p: ProviderConfig): AsyncGenerator<EventInput> {
  const name = providerComponent(p);
  const state = await collect(ctx, name, () => launch(ctx.dir, providerLaunch(p), { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal }));
  ctx.components[name] = state;
  yield { kind: 'apply', step, object: `process/${p.simulator ?? name} (pid ${state.pid}, 127.0.0.1:${state.port})`, action: 'started' };
  yield* waitFor(step, `${p.simulator ?? name} ready (GET /health)`, ctx.opts.timeoutMs, ctx.signal, async () => {
    const r = await fetch(`http://127.0.0.1:${state.port}/health`, { signal: AbortSignal.timeout(2_000) });
    return r.ok ? true : `HTTP ${r.status}`;
  });
}

function fqdn(ctx: Ctx, p: ProviderConfig): string {
  return `${p.simulator ?? p.name}.${ctx.cfg.providersNamespace}.svc.cluster.local`;
}

/** Adds the provider's backend (XBackendDestination), its DNS entry and its egress route. */
function addEgress(ctx: Ctx, p: ProviderConfig, remote?: URL): string[] {
  const port = 8000;
  const hostname = remote ? remote.hostname : fqdn(ctx, p);
  const backendPort = remote ? Number(remote.port || (remote.protocol === 'https:' ? 443 : 80)) : port;
  ctx.spec.egress.backends = ctx.spec.egress.backends.filter((b) => b.name !== p.backend);
  ctx.spec.egress.backends.push({ name: p.backend, hostname, ports: [backendPort], scheme: remote?.protocol === 'https:' ? 'https' : 'http' });
  if (remote) ctx.spec.egress.dns[`${hostname}:${backendPort}`] = `${hostname}:${backendPort}`;
  else ctx.spec.egress.dns[`${hostname}:${port}`] = `127.0.0.1:${ctx.components[providerComponent(p)]!.port}`;
  ctx.spec.egress.routes = ctx.spec.egress.routes.filter((r) => r.provider !== p.name);
  ctx.spec.egress.routes.push({ ...egressRouteFor(p), backendRef: { kind: 'Backend', name: p.backend, port: backendPort } });
  return [`XBackendDestination/${p.backend} → ${hostname}:${backendPort}`, `HTTPRoute/${p.name}-route /${p.name}/ → /`];
}

async function gatewayProbe(ctx: Ctx, agent: Agent, path: string, expect: (status: number, headers: Headers) => boolean, token?: string): Promise<true | string> {
  const res = await ufetch(`https://${ctx.host}${path}`, {
    dispatcher: agent,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(3_000),
  });
  await res.arrayBuffer();
  return expect(res.status, res.headers as unknown as Headers) ? true : `HTTP ${res.status}`;
}

async function* stepBody(ctx: Ctx, step: StepDef, agent: Agent): AsyncGenerator<EventInput> {
  const { cfg } = ctx;
  const providers = cfg.providers.filter((p) => !p.optional);
  const vllm = cfg.providers.find((p) => p.optional);
  switch (step.id) {
    case '1': {
      yield* startHop(ctx, step.id, 'egress-gateway');
      yield { kind: 'apply', step: step.id, object: `GatewayClass/${cfg.egress.className}`, action: 'configured' };
      yield { kind: 'apply', step: step.id, object: `Gateway/${cfg.egress.namespace}/${cfg.egress.gatewayName}`, action: 'configured' };
      const port = ctx.components['egress-gateway']!.port;
      yield* waitFor(step.id, `Gateway ${cfg.egress.gatewayName} Programmed (egress Envoy answers)`, ctx.opts.timeoutMs, ctx.signal, async () => {
        const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
        return r.status === 404 && r.headers.get('server') === 'envoy' ? true : `HTTP ${r.status}`;
      });
      ctx.spec.maasGateway.upstreams.egress = `http://127.0.0.1:${port}`;
      yield* program(ctx, step.id, 'maas-gateway', []);
      return;
    }
    case '2': {
      const name = 'onprem-sim';
      const state = await collect(ctx, name, () => launch(ctx.dir, onpremLaunch(cfg), { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal }));
      ctx.components[name] = state;
      yield { kind: 'apply', step: step.id, object: `LLMInferenceService/${cfg.onprem.namespace}/${cfg.onprem.name} (process pid ${state.pid}, 127.0.0.1:${state.port})`, action: 'started' };
      yield* waitFor(step.id, `${cfg.onprem.name} workload Ready (GET /health)`, ctx.opts.timeoutMs, ctx.signal, async () => {
        const r = await fetch(`http://127.0.0.1:${state.port}/health`, { signal: AbortSignal.timeout(2_000) });
        return r.ok ? true : `HTTP ${r.status}`;
      });
      const upstream = `http://127.0.0.1:${state.port}`;
      ctx.spec.maasGateway.upstreams.onprem = upstream;
      ctx.spec.maasGateway.onprem = [onpremRouteFor(cfg)];
      ctx.spec.maasApi.onprem = [{ id: cfg.onprem.model, namespace: cfg.onprem.namespace, name: cfg.onprem.name, upstream, publicUrl: `https://${ctx.host}${onpremPrefix(cfg)}` }];
      yield* program(ctx, step.id, 'maas-gateway', [`HTTPRoute/${cfg.onprem.namespace}/${cfg.onprem.name}-kserve-route ${onpremPrefix(cfg)} → /`]);
      yield* program(ctx, step.id, 'maas-api', []);
      yield* waitFor(step.id, `HTTPRoute ${cfg.onprem.name}-kserve-route enforced by the gateway policy (401 without a token)`, ctx.opts.timeoutMs, ctx.signal, () =>
        gatewayProbe(ctx, agent, `${onpremPrefix(cfg)}/v1/models`, (s, h) => s === 401 && Boolean(h.get('www-authenticate'))),
      );
      return;
    }
    case '3':
    case '3a': {
      const list = step.id === '3' ? providers : vllm ? [vllm] : [];
      const objects: string[] = [];
      for (const p of list) {
        const remote = step.id === '3a' && ctx.opts.vllmUrl ? new URL(ctx.opts.vllmUrl) : undefined;
        if (!remote) yield* startProvider(ctx, step.id, p);
        objects.push(...addEgress(ctx, p, remote));
      }
      yield* program(ctx, step.id, 'egress-gateway', objects);
      const port = ctx.components['egress-gateway']!.port;
      for (const p of list) {
        yield* waitFor(step.id, `HTTPRoute ${p.name}-route Accepted with ResolvedRefs (egress routes /${p.name}/)`, ctx.opts.timeoutMs, ctx.signal, async () => {
          const r = await fetch(`http://127.0.0.1:${port}/${p.name}/v1/models`, { signal: AbortSignal.timeout(5_000) });
          await r.arrayBuffer();
          // Anything but Envoy's own 404/500 means the route matched and its backend resolved.
          return r.status !== 404 && r.status !== 500 && r.status !== 503 ? true : `HTTP ${r.status}`;
        });
      }
      return;
    }
    case '4': {
      const list = cfg.providers.filter((p) => !p.optional || ctx.opts.vllm);
      ctx.spec.maasGateway.bridges = list.map((p) => bridgeFor(cfg, p));
      yield* program(
        ctx,
        step.id,
        'maas-gateway',
        list.flatMap((p) => [`HTTPRoute/${p.name}-bridge /external/${p.name}/ → /${p.name}/`, `AuthPolicy/${p.name}-bridge-auth (injects ${p.keyHeader === 'authorization' ? 'Authorization' : 'X-Provider-Api-Key'}: ${p.key.masked})`]),
      );
      for (const p of list) {
        yield* waitFor(step.id, `AuthPolicy ${p.name}-bridge-auth Enforced (401 without a token)`, ctx.opts.timeoutMs, ctx.signal, () =>
          gatewayProbe(ctx, agent, `/external/${p.name}/v1/models`, (s, h) => s === 401 && (h.get('www-authenticate') ?? '').includes('service-accounts')),
        );
      }
      yield { kind: 'log', level: 'info', message: `TokenRateLimitPolicy gateway-token-rate-limits: ${cfg.rateLimit.tiers.map((t) => `${t.name} ${t.tokensPerWindow}`).join(', ')} tokens per ${cfg.rateLimit.windowSeconds} s${ctx.opts.strictBudget ? ' (strict budget)' : ''}` };
      return;
    }
    case '5': {
      const list = cfg.providers.filter((p) => !p.optional || ctx.opts.vllm);
      ctx.spec.maasApi.registry = list.map((p) => ({ id: p.model, provider: p.ownedBy, backend: p.backend }));
      yield* program(ctx, step.id, 'maas-api', [`ConfigMap/${cfg.maas.apiNamespace}/${cfg.maas.registryName} (${list.map((p) => p.model).join(', ')})`]);
      yield* waitFor(step.id, 'GET /v1/models lists every external model', ctx.opts.timeoutMs, ctx.signal, async () => {
        const res = await ufetch(`https://${ctx.host}/v1/models`, { dispatcher: agent, headers: { authorization: `Bearer ${ctx.clusterToken}` }, signal: AbortSignal.timeout(5_000) });
        if (!res.ok) return `HTTP ${res.status}`;
        const ids = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
        const missing = list.filter((p) => !ids.includes(p.model)).map((p) => p.model);
        return missing.length ? `missing ${missing.join(', ')}` : true;
      });
      return;
    }
  }
}

function freshState(ctx: Ctx, steps: string[]): LocalState {
  const p = paths(ctx.dir);
  return {
    format: 1,
    startedAt: new Date().toISOString(),
    host: ctx.host,
    caFile: p.caCert,
    clusterToken: ctx.clusterToken,
    adminToken: ctx.adminToken,
    components: ctx.components,
    steps,
    faults: ctx.opts.faults,
    vllm: { enabled: ctx.opts.vllm, remote: Boolean(ctx.opts.vllmUrl), ...(ctx.opts.vllmUrl ? { url: ctx.opts.vllmUrl } : {}) },
    strictBudget: ctx.opts.strictBudget,
  };
}

/** What `env` and the summary print. */
export function envFacts(state: LocalState, cfg: DemoConfig): Record<string, string> {
  const vllm = cfg.providers.find((p) => p.optional);
  const vllmState = vllm ? state.components[providerComponent(vllm)] : undefined;
  return {
    HOST: state.host,
    CA_FILE: state.caFile,
    CLUSTER_TOKEN: state.clusterToken,
    ...(state.vllm.enabled ? { VLLM_URL: state.vllm.url ?? (vllmState ? `http://127.0.0.1:${vllmState.port}` : '') } : {}),
  };
}

export interface Health {
  alive: string[];
  dead: string[];
}

export async function health(state: LocalState): Promise<Health> {
  const alive: string[] = [];
  const dead: string[] = [];
  for (const [name, c] of Object.entries(state.components)) {
    if (pidAlive(c.pid) && (await portOpen(c.port))) alive.push(name);
    else dead.push(name);
  }
  return { alive, dead };
}

export async function* localUp(cfg: DemoConfig, opts: LocalUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput> {
  for (const f of opts.faults) {
    if (!findFault(f.split(':')[0] ?? '')) throw new UserError(`unknown fault "${f}"`, 'run `demo doctor --help`; faults are listed in README.md#faults');
  }
  const release = acquireLock(dir, 'demo up');
  try {
    const existing = readState(dir);
    if (existing) {
      // This process did not create these tokens: register them so the summary masks them too.
      registerSecretValue(existing.clusterToken);
      registerSecretValue(existing.adminToken);
      const h = await health(existing);
      if (h.dead.length === 0) {
        yield { kind: 'log', level: 'info', message: `already up: the local topology is running (MaaS gateway https://${existing.host}); nothing changed` };
        yield summaryEvent(existing, cfg, 'already up');
        return;
      }
      if (h.alive.length > 0) {
        yield* repair(existing, h, dir, signal, opts.timeoutMs);
        yield summaryEvent(readState(dir) ?? existing, cfg, 'repaired');
        return;
      }
      yield { kind: 'log', level: 'warn', message: `found a stale state in ${dir} (no process of it is running): cleaning it up and starting afresh` };
      // Keep the lock we hold: removing it here let a concurrent `up` start a second topology.
      cleanDir(dir, { keepLock: true });
    }
    yield* freshUp(cfg, opts, dir, signal);
  } finally {
    release();
  }
}

function summaryEvent(state: LocalState, cfg: DemoConfig, title: string): EventInput {
  const facts = envFacts(state, cfg);
  return {
    kind: 'summary',
    title: `Local topology ${title}`,
    facts: {
      'MaaS gateway': `https://${state.host}`,
      HOST: facts.HOST!,
      CA_FILE: facts.CA_FILE!,
      CLUSTER_TOKEN: facts.CLUSTER_TOKEN!,
      ...(facts.VLLM_URL ? { VLLM_URL: facts.VLLM_URL } : {}),
      'state dir': paths(state.caFile.replace(/\/tls\/ca\.pem$/, '')).dir,
      ...(state.faults.length ? { 'planted faults': state.faults.join(', ') } : {}),
      next: 'eval "$(demo env)"  then  demo validate',
    },
  };
}

async function* freshUp(cfg: DemoConfig, opts: LocalUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput> {
  ensureDirs(dir);
  const p = paths(dir);
  const start = performance.now();
  const adminToken = randomBytes(24).toString('base64url');
  const clusterToken = `sha256~${randomBytes(32).toString('base64url')}`;
  registerSecretValue(clusterToken);
  registerSecretValue(adminToken);
  const ctx: Ctx = { dir, cfg, opts, signal, adminToken, clusterToken, spec: baseSpec(cfg, { host: '127.0.0.1:0', strictBudget: opts.strictBudget }), components: {}, host: '127.0.0.1:0', early: new Map() };
  const steps = selectSteps({ vllm: opts.vllm });
  let completed: string[] = [];
  let agent: Agent | undefined;
  let current: { id: string; start: number } | undefined;
  try {
    current = { id: 'platform', start: performance.now() };
    yield { kind: 'step-start', step: 'platform', title: 'MaaS platform: gateway (TLS, policies) and maas-api', explain: 'On a cluster, MaaS is already installed: its gateway terminates TLS and enforces Kuadrant policies, and maas-api mints tokens and lists models. Locally we start both, with a CA made for this install.' };
    const t0 = performance.now();
    // What needs neither the CA nor another hop starts now, so that the Node start-ups of these
    // processes overlap with each other and with the CA generation; each step still announces,
    // probes and programs its own processes in the same order as before. maas-api needs only the
    // signing key; the MaaS gateway (the CA's serving certificate, maas-api's address) starts after.
    const launchOpts = { timeoutMs: opts.timeoutMs, signal };
    writeJson(p.signingKey, await generateSigningKey());
    startEarly(ctx, 'maas-api', () => launchHop(ctx, 'maas-api'));
    if (steps.some((s) => s.id === '1')) startEarly(ctx, 'egress-gateway', () => launchHop(ctx, 'egress-gateway'));
    if (steps.some((s) => s.id === '2')) startEarly(ctx, 'onprem-sim', () => launch(dir, onpremLaunch(cfg), launchOpts));
    if (steps.some((s) => s.id === '3')) for (const pr of cfg.providers.filter((x) => !x.optional)) startEarly(ctx, providerComponent(pr), () => launch(dir, providerLaunch(pr), launchOpts));
    const vllm = cfg.providers.find((x) => x.optional);
    if (vllm && !opts.vllmUrl && steps.some((s) => s.id === '3a')) startEarly(ctx, providerComponent(vllm), () => launch(dir, providerLaunch(vllm), launchOpts));
    const { writeCerts } = await import('./tls.js');
    await writeCerts({ caCert: p.caCert, serverCert: p.serverCert, serverKey: p.serverKey });
    writeJson(p.config, serializeConfig(cfg));
    yield { kind: 'apply', step: 'platform', object: `Secret/tls (CA ${p.caCert})`, action: 'created' };
    yield* startHop(ctx, 'platform', 'maas-api');
    ctx.spec.maasGateway.upstreams.maasApi = `http://127.0.0.1:${ctx.components['maas-api']!.port}`;
    yield* startHop(ctx, 'platform', 'maas-gateway');
    ctx.host = `127.0.0.1:${ctx.components['maas-gateway']!.port}`;
    ctx.spec.maasGateway.hostnames = [ctx.host, `localhost:${ctx.components['maas-gateway']!.port}`];
    ctx.spec.maasApi.onprem = [];
    yield* program(ctx, 'platform', 'maas-gateway', []);
    writeJson(p.state, freshState(ctx, completed));
    agent = gatewayAgent(p.caCert);
    const a = agent;
    yield* waitFor('platform', 'MaaS gateway serves TLS with the install CA and enforces the maas-api policy', opts.timeoutMs, signal, () =>
      gatewayProbe(ctx, a, '/v1/models', (s, h) => s === 401 && Boolean(h.get('www-authenticate'))),
    );
    yield { kind: 'step-end', step: 'platform', ok: true, ms: elapsed(t0) };
    completed.push('platform');

    for (const step of steps) {
      const ts = performance.now();
      current = { id: step.id, start: ts };
      yield { kind: 'step-start', step: step.id, title: step.title, explain: step.explain };
      yield* stepBody(ctx, step, a);
      completed = [...completed, step.id];
      writeJson(p.state, freshState(ctx, completed));
      yield { kind: 'step-end', step: step.id, ok: true, ms: elapsed(ts) };
    }
    if (opts.faults.length) {
      const deadPort = await closedPort();
      ctx.spec = applyFaults(ctx.spec, opts.faults, { deadPort });
      for (const name of HOPS) await admin(ctx, name).program(name === 'maas-gateway' ? ctx.spec.maasGateway : name === 'egress-gateway' ? ctx.spec.egress : ctx.spec.maasApi);
      for (const f of opts.faults) yield { kind: 'log', level: 'warn', message: `planted fault ${f}: ${findFault(f.split(':')[0]!)!.description}` };
    }
    const state = freshState(ctx, completed);
    writeJson(p.state, state);
    yield { kind: 'log', level: 'info', message: `local topology ready in ${elapsed(start)} ms` };
    yield summaryEvent(state, cfg, 'ready');
  } catch (err) {
    // Nothing half-started stays behind: stop what this run started and say so.
    if (current && !completed.includes(current.id)) {
      yield { kind: 'step-end', step: current.id, ok: false, ms: elapsed(current.start), message: signal.aborted ? 'interrupted' : (err as Error).message };
    }
    await stopUncollected(ctx);
    await stopComponents(ctx.components);
    cleanDir(dir);
    const what = completed.length ? `completed ${completed.join(', ')}` : 'nothing completed';
    if (signal.aborted || err instanceof InterruptedError || (err as Error).name === 'AbortError') {
      yield { kind: 'log', level: 'warn', message: `interrupted (${what}); every process this run started was stopped; run \`demo up\` to start again` };
      throw new InterruptedError();
    }
    yield { kind: 'log', level: 'error', message: `up failed (${what}); every process this run started was stopped, nothing is left running` };
    if (err instanceof StepFailedError || err instanceof UserError) throw err;
    throw new StepFailedError((err as Error).message, 'fix the cause above and run `demo up` again');
  } finally {
    // Normally empty by now; left over only when the caller stopped reading this generator early.
    await stopUncollected(ctx);
    await agent?.close();
  }
}

/** Restarts the dead hops of a partly running topology, on the ports they had. */
async function* repair(state: LocalState, h: Health, dir: string, signal: AbortSignal, timeoutMs: number): AsyncGenerator<EventInput> {
  const ts = performance.now();
  yield { kind: 'step-start', step: 'repair', title: `Restart stopped hops: ${h.dead.join(', ')}` };
  const cfgFile = paths(dir).config;
  if (!existsSync(cfgFile)) throw new StepFailedError('the state is incomplete (no config.json)', 'run `demo down` then `demo up`');
  for (const name of h.dead) {
    let component: ComponentState;
    if ((HOPS as readonly string[]).includes(name)) {
      component = await launch(dir, { name, script: scriptPath('targets/local/component.js'), args: [name, dir], env: { MAAS_EGRESS_DEMO_ADMIN_TOKEN: state.adminToken } }, { timeoutMs, signal });
    } else {
      const { deserializeConfig } = await import('../../core/config.js');
      const cfg = deserializeConfig(JSON.parse(readFileSync(cfgFile, 'utf8')));
      const old = state.components[name]!;
      if (name === 'onprem-sim') {
        component = await launch(dir, { name, script: scriptPath('sim/inference-sim.js'), args: ['--port', String(old.port), '--host', '127.0.0.1', '--model', cfg.onprem.model, '--mode', cfg.onprem.mode, '--port-file', '{portFile}'], env: { POD_NAME: `${cfg.onprem.name}-kserve-0`, POD_NAMESPACE: cfg.onprem.namespace } }, { timeoutMs, signal });
      } else {
        const p = cfg.providers.find((x) => providerComponent(x) === name);
        if (!p) throw new StepFailedError(`unknown component ${name} in the state`, 'run `demo down` then `demo up`');
        component = await launch(dir, { name, script: scriptPath('sim/provider-sim.js'), args: ['--port', String(old.port), '--host', '127.0.0.1', '--name', p.name, '--model', p.model, '--key-header', p.keyHeader, '--style', p.style, '--port-file', '{portFile}', '--quiet'], env: { PROVIDER_API_KEY: p.key.reveal() } }, { timeoutMs, signal });
      }
    }
    state.components[name] = component;
    yield { kind: 'apply', step: 'repair', object: `process/${name} (pid ${component.pid}, 127.0.0.1:${component.port})`, action: 'started' };
    if (component.port !== (readState(dir)?.components[name]?.port ?? component.port)) {
      yield { kind: 'log', level: 'warn', message: `${name} came back on a new port ${component.port}` };
    }
  }
  writeJson(paths(dir).state, state);
  yield { kind: 'step-end', step: 'repair', ok: true, ms: elapsed(ts) };
}

async function stopComponents(components: Record<string, ComponentState>): Promise<void> {
  await Promise.all(Object.values(components).map((c) => stopAndWait(c.pid)));
}

/** Removes every file the demo created in the state dir, then the dir itself when empty. */
export function cleanDir(dir: string, opts: { keepLock?: boolean } = {}): void {
  const p = paths(dir);
  for (const f of [p.state, p.config, p.run, p.spec, p.tls, p.logs]) rmSync(f, { recursive: true, force: true });
  if (opts.keepLock) return;
  try {
    if (existsSync(dir) && readdirSync(dir).filter((f) => f !== 'up.lock').length === 0) {
      rmSync(p.lock, { force: true });
      rmdirSync(dir);
    }
  } catch {
    /* not empty: leave what is not ours */
  }
}

export async function* localDown(dir: string): AsyncGenerator<EventInput> {
  const release = acquireLock(dir, 'demo down');
  const ts = performance.now();
  try {
    const state = readState(dir);
    yield { kind: 'step-start', step: 'down', title: 'Stop the local topology and remove its state' };
    if (!state) {
      const leftovers = existsSync(paths(dir).run) ? readdirSync(paths(dir).run).filter((f) => f.endsWith('.json')) : [];
      for (const f of leftovers) {
        const c = readJson<ComponentState>(`${paths(dir).run}/${f}`);
        if (c && pidAlive(c.pid)) {
          await stopAndWait(c.pid);
          yield { kind: 'apply', step: 'down', object: `process/${f.replace(/\.json$/, '')} (pid ${c.pid})`, action: 'stopped' };
        }
      }
      cleanDir(dir);
      yield { kind: 'log', level: 'info', message: `nothing to tear down: no local topology recorded in ${dir}` };
      yield { kind: 'step-end', step: 'down', ok: true, ms: elapsed(ts) };
      return;
    }
    const order = ['maas-gateway', 'maas-api', 'egress-gateway', ...Object.keys(state.components).filter((n) => !(HOPS as readonly string[]).includes(n))];
    for (const name of order) {
      const c = state.components[name];
      if (!c) continue;
      const wasAlive = pidAlive(c.pid);
      await stopAndWait(c.pid);
      yield { kind: 'apply', step: 'down', object: `process/${name} (pid ${c.pid}, 127.0.0.1:${c.port})`, action: wasAlive ? 'stopped' : 'unchanged' };
    }
    const open: string[] = [];
    for (const [name, c] of Object.entries(state.components)) {
      for (const port of [c.port, c.adminPort].filter((x): x is number => Boolean(x))) if (await portOpen(port)) open.push(`${name}:${port}`);
    }
    yield { kind: 'wait', step: 'down', condition: 'no process and no listening port left', state: open.length ? 'failed' : 'met', ...(open.length ? { reason: `still listening: ${open.join(', ')}` } : {}), elapsedMs: elapsed(ts) };
    cleanDir(dir);
    yield { kind: 'apply', step: 'down', object: `state ${dir}`, action: 'deleted' };
    yield { kind: 'step-end', step: 'down', ok: open.length === 0, ms: elapsed(ts), ...(open.length ? { message: `ports still open: ${open.join(', ')}`, hint: 'another process may have taken the port; check with `ss -ltnp`' } : {}) };
  } finally {
    release();
    if (!existsSync(paths(dir).state)) cleanDir(dir);
  }
}

export function writeTextFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}
