/**
 * `up` and `down` on the local target. `up` runs the same step data a cluster runs: after the MaaS
 * platform the seeds assume (gateway, maas-api), each step's rendered objects are applied to an
 * object set; the processes they ask for start (workloads.ts), the hops are programmed from the
 * objects as a cluster's controllers would (objects-topology.ts), and the step's own readiness
 * conditions are proven with local probes (waits.ts). Faults asked for with `--fault` are planted
 * once the healthy topology is ready, as a person would break a working install.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, fetch as ufetch } from 'undici';
import type { EventInput } from '../../core/events.js';
import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import { serializeConfig } from '../../core/config.js';
import { StepFailedError, UserError } from '../../core/errors.js';
import { registerSecretValue } from '../../core/secret.js';
import { closedPort } from '../../core/ports.js';
import type { StepContext } from '../../core/step.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { ObjectSet, objectKey } from '../../model/object-source.js';
import { renderAll } from '../../manifests/render.js';
import { names } from '../../../steps/scope.js';
import { stepById } from '../../../steps/index.js';
import { waitsForObjects } from '../../../steps/object-waits.js';
import { acquireLock, ensureDirs, paths, pidAlive, readJson, readState, writeJson, type ComponentState, type LocalState } from './state.js';
import { AdminClient, launch, portOpen, scriptPath, stopAndWait, writeSpecFile, type LaunchSpec } from './launcher.js';
import { baseSpec, type TopologySpec } from '../../model/topology.js';
import { FAULTS, applyFaults, findFault } from '../../model/faults.js';
import { didYouMean } from '../../core/suggest.js';
import { generateSigningKey } from './tokens.js';
import { FINGERPRINT_KEY_ENV } from '../../sim/echo-headers.js';
import type { SpecFile } from './component.js';
import { launchOf, planWorkloads, type Workload } from './workloads.js';
import { topologyFromObjects } from './objects-topology.js';
import { localWait, type LocalWorld } from './waits.js';
import { GENERATIONS } from '../../generations/index.js';
import { HOPS, adminOf, applyToSet, cleanDir, elapsed, finishUp, proveWaits, topologyState, undoFailedUp, type RunningTopology, upOnState, waitFor, type LocalStep, type UpProgress } from './up-lifecycle.js';

/** Objects to run instead of the rendered steps (`up --from FILE`). */
export interface ObjectsFrom {
  /** The file name, or `-` for standard input, as the user gave it. */
  source: string;
  objects: K8sObject[];
}

export interface LocalUpOptions {
  vllm: boolean;
  vllmUrl?: string;
  vllmKey?: string;
  faults: string[];
  strictBudget: boolean;
  from?: ObjectsFrom;
  /** Wait for what changed to be ready (default); the self-test applies broken objects and does not. */
  wait?: boolean;
  /** `--hardened`: the tier era's exposures closed (see `harden` in model/topology.ts). */
  hardened?: boolean;
  timeoutMs: number;
}

export function providerComponent(p: ProviderConfig): string {
  return `provider-${p.name}`;
}

/** HTTPS client that trusts only the install's CA. */
export function gatewayAgent(caFile: string): Agent {
  return new Agent({ connect: { ca: readFileSync(caFile, 'utf8') }, keepAliveTimeout: 2_000 });
}

interface Ctx extends RunningTopology {
  cfg: DemoConfig;
  opts: LocalUpOptions;
  spec: TopologySpec;
  /**
   * Processes started ahead of their step (they depend on nothing the steps before them make), by
   * name: the step that owns one awaits it here instead of starting it, and says so as before.
   */
  early: Map<string, Promise<ComponentState>>;
  /** The objects applied so far, and what they ask to run. */
  objects: ObjectSet;
  workloads: Workload[];
  agent?: Agent;
  /** The install's fingerprint key, given to the provider simulators. */
  fingerprintKey: string;
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

const admin = (ctx: Ctx, name: string): AdminClient => adminOf(ctx.components, ctx.adminToken, name);

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

/** The steps' objects as a cluster gets them, for the loopback processes: CRDs are known to the hops. */
export function localStepContext(cfg: DemoConfig, opts: Pick<LocalUpOptions, 'vllm' | 'vllmUrl'>): StepContext {
  return {
    cfg,
    providers: opts.vllm ? cfg.providers : cfg.providers.filter((p) => !p.optional),
    options: { tokenRateLimit: true, skipCrds: true, ...(opts.vllmUrl ? { vllmHost: opts.vllmUrl } : {}) },
  };
}

/** What the objects ask to run; an object no local process can be stops `up` before anything starts. */
function workloadsOf(cfg: DemoConfig, objects: readonly K8sObject[]): Workload[] {
  const plan = planWorkloads(objects, {
    egressClass: cfg.egress.className,
    controller: { namespace: cfg.egress.controllerNamespace, name: names.controller },
    platform: [{ namespace: cfg.maas.apiNamespace, name: names.maasApi, note: 'the platform’s maas-api: the local maas-api hop, which reads the registry' }],
  });
  if (plan.unrepresentable.length) {
    throw new UserError(
      `the local target cannot run ${plan.unrepresentable.map((u) => `${u.object}: ${u.reason}`).join('; ')}`,
      'change or leave out those objects, or run them with --target cluster',
    );
  }
  return plan.workloads;
}

function workloadLaunch(ctx: Ctx, w: Workload): LaunchSpec {
  const spec = launchOf(w, scriptPath);
  // Provider simulators key their fingerprints with the install's secret (x-sim-key-fp is an HMAC).
  if (spec.script.endsWith('provider-sim.js')) spec.env = { ...spec.env, [FINGERPRINT_KEY_ENV]: ctx.fingerprintKey };
  ctx.launches[w.component] = spec;
  return spec;
}

/** The install's fingerprint key (made by `up`; an install from before it has none and keeps plain SHA-256 fingerprints). */
export function readFingerprintKey(dir: string): string | undefined {
  try {
    return readFileSync(paths(dir).fingerprintKey, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function* startWorkload(ctx: Ctx, step: string, w: Workload): AsyncGenerator<EventInput> {
  const state = await collect(ctx, w.component, () => launch(ctx.dir, workloadLaunch(ctx, w), { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal }));
  ctx.components[w.component] = state;
  yield { kind: 'apply', step, object: `process/${w.component} for ${w.object} (pid ${state.pid}, 127.0.0.1:${state.port})`, action: 'started' };
}

function world(ctx: Ctx): LocalWorld {
  return {
    cfg: ctx.cfg,
    objects: ctx.objects,
    host: ctx.host,
    agent: ctx.agent!,
    components: ctx.components,
    workloads: ctx.workloads,
    clusterToken: ctx.clusterToken,
    config: async (hop) => (await admin(ctx, hop).call<{ spec: Record<string, unknown> }>('GET', '/config').catch(() => undefined))?.spec,
  };
}

const PARTS = { 'maas-gateway': 'maasGateway', 'egress-gateway': 'egress', 'maas-api': 'maasApi' } as const;

/** Reprograms each running hop whose part of the topology the applied objects changed. */
async function* reconcile(ctx: Ctx, step: string): AsyncGenerator<EventInput> {
  const next = await topologyFromObjects(ctx.objects, {
    cfg: ctx.cfg,
    env: {},
    host: ctx.host,
    ports: Object.fromEntries(Object.entries(ctx.components).map(([k, v]) => [k, v.port])),
    workloads: ctx.workloads,
    strictBudget: ctx.opts.strictBudget,
    hardened: ctx.opts.hardened ?? false,
  });
  for (const hop of ['egress-gateway', 'maas-api', 'maas-gateway'] as const) {
    const part = PARTS[hop];
    if (!ctx.components[hop] || isDeepStrictEqual(next[part], ctx.spec[part])) continue;
    (ctx.spec as unknown as Record<string, unknown>)[part] = next[part];
    yield* program(ctx, step, hop, []);
  }
}

const STEP_LABEL = 'maas-egress-demo/step';

/**
 * The steps of a run: the demo's rendered steps, or a file's objects grouped by the step label the
 * demo puts on what it renders (objects without it come first, as one step of their own).
 */
export function localPlan(cfg: DemoConfig, opts: Pick<LocalUpOptions, 'vllm' | 'vllmUrl' | 'from'>): LocalStep[] {
  if (!opts.from) {
    const sctx = localStepContext(cfg, opts);
    return renderAll(sctx).map((r) => ({ id: r.step.id, title: r.step.title, explain: r.step.explain, objects: r.objects, patches: r.patches, notes: r.notes, waits: r.step.waits(sctx) }));
  }
  const { source, objects } = opts.from;
  const groups = new Map<string, K8sObject[]>();
  for (const o of objects) {
    const id = o.metadata.labels?.[STEP_LABEL];
    const key = id && stepById(id) ? stepById(id)!.id : 'objects';
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const order = ['objects', '1', '2', '3', '3a', '4', '5'];
  return [...groups.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([id, objs]) => {
      const def = stepById(id);
      return {
        id: def ? def.id : 'objects',
        title: def ? `${def.title} (from ${source})` : `Objects from ${source}`,
        ...(def ? { explain: def.explain } : {}),
        objects: objs,
        patches: [],
        notes: [],
        waits: waitsForObjects(objs, cfg),
      };
    });
}

/** Applies one step's objects: the set takes them, their processes start, the hops are reprogrammed, the step's conditions are waited for. */
async function* applyStep(ctx: Ctx, r: LocalStep): AsyncGenerator<EventInput> {
  const step = r.id;
  yield* applyToSet(ctx.objects, step, r.objects);
  for (const p of r.patches) yield { kind: 'apply', step, object: `${p.target.kind}/${p.target.namespace}/${p.target.name} (patch: ${p.container ? `image ${p.container.image}` : 'annotations'})`, action: 'configured' };
  const keys = new Set(r.objects.map(objectKey));
  // The egress Gateway's Envoy, as the wg controller would start it for the Gateway.
  if (r.objects.some((o) => o.kind === 'Gateway' && (o.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === ctx.cfg.egress.className) && !ctx.components['egress-gateway']) {
    yield* startHop(ctx, step, 'egress-gateway');
  }
  for (const w of ctx.workloads.filter((x) => keys.has(x.object) && !ctx.components[x.component])) yield* startWorkload(ctx, step, w);
  yield* reconcile(ctx, step);
  const lw = world(ctx);
  yield* proveWaits(step, r.waits, (spec) => localWait(spec, lw), ctx.opts.timeoutMs, ctx.signal);
}

function freshState(ctx: Ctx, steps: string[]): LocalState {
  return topologyState(ctx, steps, new Date().toISOString(), { strictBudget: ctx.opts.strictBudget, ...(ctx.opts.hardened ? { hardened: true } : {}) });
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

export async function* localUp(cfg: DemoConfig, opts: LocalUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput> {
  for (const f of opts.faults) {
    const name = f.split(':')[0] ?? '';
    if (!findFault(name)) throw new UserError(`unknown fault "${f}"${didYouMean(name, FAULTS.map((x) => x.name))}`, `faults: ${FAULTS.map((x) => x.name).join(', ')} (README.md#faults)`);
  }
  yield* upOnState({
    dir,
    signal,
    reprogram: (existing) => reprogramUp(existing, cfg, opts, dir, signal),
    fresh: () => freshUp(cfg, opts, dir, signal),
    summary: (state, title) => summaryEvent(state, cfg, title),
    running: (existing) => `MaaS gateway https://${existing.host}`,
    repairTimeoutMs: opts.timeoutMs,
  });
}

/** Plants the asked-for faults over the healthy topology, as a person would break a working install. */
async function* plantFaults(ctx: Ctx): AsyncGenerator<EventInput> {
  if (!ctx.opts.faults.length) return;
  const deadPort = await closedPort();
  ctx.spec = applyFaults(ctx.spec, ctx.opts.faults, { deadPort });
  for (const name of HOPS) if (ctx.components[name]) await admin(ctx, name).program(ctx.spec[PARTS[name]]);
  for (const f of ctx.opts.faults) yield { kind: 'log', level: 'warn', message: `planted fault ${f}: ${findFault(f.split(':')[0]!)!.description}` };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * `up` on a running topology with other objects, faults or configuration: the objects that differ
 * are applied (their processes started, stopped or restarted), the hops reprogrammed from the
 * objects and the faults planted again; what changed is said. Returns false when nothing differs.
 */
async function* reprogramUp(state: LocalState, cfg: DemoConfig, opts: LocalUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput, boolean> {
  const p = paths(dir);
  const before = new ObjectSet(readJson<K8sObject[]>(p.objects) ?? []);
  const plan = localPlan(cfg, opts);
  const next = plan.flatMap((r) => r.objects);
  const after = new ObjectSet(next);
  const created = next.filter((o) => !before.all().some((b) => objectKey(b) === objectKey(o) && b.kind === o.kind));
  const configured = next.filter((o) => before.all().some((b) => objectKey(b) === objectKey(o) && !isDeepStrictEqual(b, o)));
  const deleted = before.all().filter((b) => !next.some((o) => objectKey(o) === objectKey(b)));
  const faultsChanged = !sameList(state.faults, opts.faults);
  const budgetChanged = state.strictBudget !== opts.strictBudget;
  const hardenedChanged = Boolean(state.hardened) !== Boolean(opts.hardened);
  const cfgChanged = !isDeepStrictEqual(readJson(p.config), JSON.parse(JSON.stringify(serializeConfig(cfg))));
  if (!created.length && !configured.length && !deleted.length && !faultsChanged && !budgetChanged && !hardenedChanged && !cfgChanged) return false;
  const workloads = workloadsOf(cfg, next);
  const t0 = performance.now();
  const what = [
    created.length || configured.length || deleted.length ? `${created.length} objects created, ${configured.length} changed, ${deleted.length} removed` : '',
    faultsChanged ? `faults ${state.faults.join(', ') || 'none'} → ${opts.faults.join(', ') || 'none'}` : '',
    budgetChanged ? `strict budget ${opts.strictBudget ? 'on' : 'off'}` : '',
    hardenedChanged ? `hardened ${opts.hardened ? 'on' : 'off'}` : '',
    cfgChanged && !created.length && !configured.length ? 'configuration changed' : '',
  ].filter(Boolean);
  yield { kind: 'step-start', step: 'reprogram', title: `Reprogram the running topology: ${what.join('; ')}` };
  const ctx: Ctx = {
    dir,
    cfg,
    opts,
    signal,
    adminToken: state.adminToken,
    clusterToken: state.clusterToken,
    spec: baseSpec(cfg, { host: state.host, strictBudget: opts.strictBudget, hardened: opts.hardened ?? false }),
    components: { ...state.components },
    host: state.host,
    early: new Map(),
    objects: after,
    workloads,
    launches: { ...(state.launches ?? {}) },
    agent: gatewayAgent(state.caFile),
    fingerprintKey: readFingerprintKey(dir) ?? '',
  };
  try {
    // What each hop runs now is what the objects are compared against.
    for (const hop of HOPS) {
      const running = (await admin(ctx, hop).call<{ spec: unknown }>('GET', '/config').catch(() => undefined))?.spec;
      if (running) (ctx.spec as unknown as Record<string, unknown>)[PARTS[hop]] = running;
    }
    for (const o of created) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'created' };
    for (const o of configured) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'configured' };
    for (const o of deleted) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'deleted' };
    // Processes: gone with their object, started for a new one, restarted when their command line changed.
    const wanted = new Map(workloads.map((w) => [w.component, w]));
    for (const [name, c] of Object.entries(ctx.components)) {
      if ((HOPS as readonly string[]).includes(name)) continue;
      const w = wanted.get(name);
      const changed = w && !isDeepStrictEqual(launchOf(w, scriptPath), ctx.launches[name]);
      if (!w || changed) {
        await stopAndWait(c.pid);
        delete ctx.components[name];
        delete ctx.launches[name];
        yield { kind: 'apply', step: 'reprogram', object: `process/${name} (pid ${c.pid})`, action: 'stopped' };
      }
    }
    for (const w of workloads.filter((x) => !ctx.components[x.component])) yield* startWorkload(ctx, 'reprogram', w);
    yield* reconcile(ctx, 'reprogram');
    yield* plantFaults(ctx);
    // What runs now is recorded before the waits: a wait that fails leaves these objects running (doctor reads them).
    writeJson(p.objects, after.all());
    writeJson(p.config, serializeConfig(cfg));
    writeJson(p.state, { ...state, components: ctx.components, launches: ctx.launches, faults: opts.faults, strictBudget: opts.strictBudget, hardened: Boolean(opts.hardened), vllm: { enabled: opts.vllm, remote: Boolean(opts.vllmUrl), ...(opts.vllmUrl ? { url: opts.vllmUrl } : {}) } } satisfies LocalState);
    const lw = world(ctx);
    for (const spec of opts.wait === false ? [] : waitsForObjects([...created, ...configured], cfg)) {
      const w = localWait(spec, lw);
      yield* waitFor('reprogram', w.condition, opts.timeoutMs, signal, w.probe);
    }
    yield { kind: 'step-end', step: 'reprogram', ok: true, ms: elapsed(t0) };
    return true;
  } catch (err) {
    yield { kind: 'step-end', step: 'reprogram', ok: false, ms: elapsed(t0), message: (err as Error).message };
    // The processes as they are now (some may have been restarted before the failure).
    writeJson(p.state, { ...(readJson<LocalState>(p.state) ?? state), components: ctx.components, launches: ctx.launches } satisfies LocalState);
    if (err instanceof UserError) throw err;
    throw new StepFailedError(err instanceof StepFailedError ? err.message : `reprogramming stopped half-way: ${(err as Error).message}`, 'the objects are running as given: `demo doctor` says what is wrong with them; `demo up` again with the same flags finishes, `demo down` removes everything');
  } finally {
    await ctx.agent?.close();
  }
}

/**
 * Runs exactly these objects on a running topology, waiting for nothing (the doctor self-test applies
 * broken objects on purpose); returns whether anything changed.
 */
export async function* applyObjects(dir: string, cfg: DemoConfig, objects: K8sObject[], signal: AbortSignal): AsyncGenerator<EventInput, boolean> {
  const state = readState(dir);
  if (!state) throw new StepFailedError(`no local topology in ${dir}`, 'run `demo up` first');
  const optional = cfg.providers.filter((p) => p.optional);
  const vllm = objects.some((o) => o.kind === 'HTTPRoute' && optional.some((p) => o.metadata.name === `${p.name}-bridge`));
  return yield* reprogramUp(state, cfg, { vllm, faults: [], strictBudget: state.strictBudget, ...(state.hardened ? { hardened: true } : {}), timeoutMs: 10_000, from: { source: 'objects', objects }, wait: false }, dir, signal);
}

function summaryEvent(state: LocalState, cfg: DemoConfig, title: string): EventInput {
  const facts = envFacts(state, cfg);
  return {
    kind: 'summary',
    title: `Local topology ${title}`,
    facts: {
      MaaS: GENERATIONS.tier.title,
      'MaaS gateway': `https://${state.host}`,
      HOST: facts.HOST!,
      CA_FILE: facts.CA_FILE!,
      CLUSTER_TOKEN: facts.CLUSTER_TOKEN!,
      ...(facts.VLLM_URL ? { VLLM_URL: facts.VLLM_URL } : {}),
      'state dir': paths(state.caFile.replace(/\/tls\/ca\.pem$/, '')).dir,
      ...(state.hardened ? { hardened: 'tokens route for the user only, streams counted, budgets reserved at admission, token lifetime capped, tier-less tokens refused, requests per user capped' } : {}),
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
  const fingerprintKey = randomBytes(32).toString('base64url');
  registerSecretValue(clusterToken);
  registerSecretValue(adminToken);
  registerSecretValue(fingerprintKey);
  // The whole plan is rendered first: an object the local target cannot run stops `up` before anything starts.
  const plan = localPlan(cfg, opts);
  const workloads = workloadsOf(cfg, plan.flatMap((r) => r.objects));
  const ctx: Ctx = {
    dir,
    cfg,
    opts,
    signal,
    adminToken,
    clusterToken,
    spec: baseSpec(cfg, { host: '127.0.0.1:0', strictBudget: opts.strictBudget, hardened: opts.hardened ?? false }),
    components: {},
    host: '127.0.0.1:0',
    early: new Map(),
    objects: new ObjectSet(),
    workloads,
    launches: {},
    fingerprintKey,
  };
  const runsEgress = plan.some((r) => r.objects.some((o) => o.kind === 'Gateway' && (o.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName === cfg.egress.className));
  const progress: UpProgress = { completed: [] };
  try {
    progress.current = { id: 'platform', start: performance.now() };
    yield { kind: 'step-start', step: 'platform', title: 'MaaS platform: gateway (TLS, policies) and maas-api', explain: 'On a cluster, MaaS is already installed: its gateway terminates TLS and enforces Kuadrant policies, and maas-api mints tokens and lists models. Locally we start both, with a CA made for this install.' };
    const t0 = performance.now();
    // What needs neither the CA nor another hop starts now, so that the Node start-ups of these
    // processes overlap with each other and with the CA generation; each step still announces,
    // probes and programs its own processes in the same order as before. maas-api needs only the
    // signing key; the MaaS gateway (the CA's serving certificate, maas-api's address) starts after.
    const launchOpts = { timeoutMs: opts.timeoutMs, signal };
    writeJson(p.signingKey, await generateSigningKey());
    writeFileSync(p.fingerprintKey, `${fingerprintKey}\n`, { mode: 0o600 });
    startEarly(ctx, 'maas-api', () => launchHop(ctx, 'maas-api'));
    if (runsEgress) startEarly(ctx, 'egress-gateway', () => launchHop(ctx, 'egress-gateway'));
    for (const w of workloads) startEarly(ctx, w.component, () => launch(dir, workloadLaunch(ctx, w), launchOpts));
    const { writeCerts } = await import('./certificates.js');
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
    writeJson(p.state, freshState(ctx, progress.completed));
    const agent = gatewayAgent(p.caCert);
    ctx.agent = agent;
    yield* waitFor('platform', 'MaaS gateway serves TLS with the install CA and enforces the maas-api policy', opts.timeoutMs, signal, async () => {
      const res = await ufetch(`https://${ctx.host}/v1/models`, { dispatcher: agent, signal: AbortSignal.timeout(3_000) });
      await res.arrayBuffer();
      return res.status === 401 && res.headers.get('www-authenticate') ? true : `HTTP ${res.status}`;
    });
    yield* finishUp({ progress, signal, startedAt: start, platformStartedAt: t0 }, plan, (r) => applyStep(ctx, r), (completed) => {
      writeJson(p.objects, ctx.objects.all());
      writeJson(p.state, freshState(ctx, completed));
    }, () => plantFaults(ctx), (completed) => {
      const state = freshState(ctx, completed);
      writeJson(p.state, state);
      return summaryEvent(state, cfg, 'ready');
    });
    await ctx.agent?.close();
    ctx.agent = undefined;
    // Ready is final: a Ctrl-C from here on stops nothing, and drive() ends the run as finished (exit 0).
    if (signal.aborted) yield { kind: 'log', level: 'warn', message: 'Ctrl-C after the topology was ready: it stays up and recorded; `demo down` stops it' };
  } catch (err) {
    // Nothing half-started stays behind: stop what this run started and say so.
    return yield* undoFailedUp(err, { progress, signal, dir, components: ctx.components, again: 'demo up' }, () => stopUncollected(ctx));
  } finally {
    // Normally empty by now; left over only when the caller stopped reading this generator early.
    await stopUncollected(ctx);
    await ctx.agent?.close();
  }
}

export async function* localDown(dir: string): AsyncGenerator<EventInput> {
  const release = acquireLock(dir, 'demo down');
  const ts = performance.now();
  try {
    const state = readState(dir);
    yield { kind: 'step-start', step: 'down', title: `Stop the local topology and remove its state${state?.generation === 'subscription' ? ' (subscription era: the PostgreSQL data, every API key with it)' : ''}` };
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
