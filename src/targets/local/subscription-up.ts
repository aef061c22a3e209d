/**
 * `up` of the subscription era on the local target. The platform comes first — PostgreSQL for the
 * API keys (PGlite, or the user's `--database-url`), payload processing, maas-api of this era and the
 * MaaS gateway in its current role — together with a simulator for each public provider endpoint,
 * serving HTTPS with a CA of its own. Then the era's steps run as data: each step's objects join the
 * object set, the controllers' statuses are worked out (model/subscription-status.ts), the three hops
 * are reprogrammed with the objects, and the step's readiness conditions are proven by local probes.
 * Faults are object mutations planted once the healthy topology is ready.
 */
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fetch as ufetch } from 'undici';
import type { DemoConfig } from '../../core/config.js';
import { serializeConfig } from '../../core/config.js';
import { StepFailedError, UserError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import { registerSecretValue } from '../../core/secret.js';
import type { WaitSpec } from '../../core/step.js';
import { GENERATIONS } from '../../generations/index.js';
import { DEMO_SUBSCRIPTION, isEraObject, subscriptionSteps, waitsForEraObjects } from '../../generations/subscription/plan.js';
import { eraProviders, type EraProvider, type ProviderOverride } from '../../generations/subscription/providers.js';
import { applyEraFaults, ERA_FAULTS, findEraFault } from '../../generations/subscription/faults.js';
import { didYouMean } from '../../core/suggest.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { ObjectSet, objectKey } from '../../model/object-source.js';
import { LABEL_STEP } from '../../model/k8s-object.js';
import { SUBSCRIPTION_STEPS } from '../../model/subscription-render.js';
import { reconcileStatuses } from '../../model/subscription-status.js';
import { DEFAULT_TENANT } from '../../model/subscription.js';
import { AdminClient, launch, scriptPath, stopAndWait, writeSpecFile, type LaunchSpec } from './launcher.js';
import { gatewayAgent, type ObjectsFrom } from './local-target.js';
import { adminOf, applyToSet, elapsed, finishUp, proveWaits, topologyState, undoFailedUp, type RunningTopology, upOnState, waitFor, type LocalStep, type UpProgress } from './up-lifecycle.js';
import { ensureDirs, paths, readJson, writeJson, type ComponentState, type LocalState } from './state.js';
import type { SubscriptionGatewaySpec } from './subscription-gateway.js';
import { subscriptionWait } from './subscription-waits.js';
import { generateSigningKey } from './tokens.js';

/** How long Authorino keeps a key validation, token review or subscription selection (seconds). */
export const IDENTITY_CACHE_SECONDS = 5;

export interface EraUpOptions {
  vllm: boolean;
  vllmUrl?: string;
  faults: string[];
  from?: ObjectsFrom;
  /** Wait for what changed to be ready (default); the self-test applies broken objects and does not. */
  wait?: boolean;
  timeoutMs: number;
  /** An existing PostgreSQL instead of the embedded one (upstream's DB_CONNECTION_URL). */
  databaseUrl?: string;
  /** Providers pointed at real endpoints (`--provider NAME=URL`, `--provider-ca-file`). */
  providers: ProviderOverride[];
  /** Where the initdb template is cached (default: `cache/` in the state dir). */
  cacheDir?: string;
}

const ERA_HOPS = ['maas-gateway', 'maas-api', 'payload-processing'] as const;
type EraHop = (typeof ERA_HOPS)[number];

interface Ctx extends RunningTopology {
  cfg: DemoConfig;
  opts: EraUpOptions;
  objects: ObjectSet;
  providers: EraProvider[];
  dns: Record<string, string>;
  trustedCas: string[];
  databaseUrl: string;
  /** When the install started: what the API server would stamp on the objects it created. */
  startedAt: string;
  agent?: ReturnType<typeof gatewayAgent>;
}


/** The era's steps of a run: the demo's own, or a file's objects grouped by the step label the demo puts on them. */
export function eraLocalPlan(cfg: DemoConfig, opts: Pick<EraUpOptions, 'vllm' | 'vllmUrl' | 'from' | 'providers'>): LocalStep[] {
  const gateway = { namespace: cfg.maas.gatewayNamespace, name: cfg.maas.gatewayName };
  if (!opts.from) {
    return subscriptionSteps(cfg, eraProviders(cfg, providerOptions(opts)), { keys: 'reveal' }).map((s) => ({ id: s.id, title: s.title, explain: s.explain, objects: s.objects, patches: [], notes: [], waits: s.waits }));
  }
  // What the era's local controllers and hops read; anything else has no local stand-in and is named.
  const known = new Set(['Secret', 'ConfigMap', 'Namespace', 'ExternalModel', 'ExternalProvider', 'MaaSModelRef', 'MaaSAuthPolicy', 'MaaSSubscription']);
  const unknown = opts.from.objects.filter((o) => !known.has(o.kind));
  if (unknown.length) {
    throw new UserError(
      `the local target cannot run ${unknown.map((o) => `${objectKey(o)} (${o.kind}: the subscription era runs Secrets, the plugins ConfigMap, ExternalModels/ExternalProviders, MaaSModelRefs, MaaSAuthPolicies and MaaSSubscriptions)`).join('; ')}`,
      'leave those objects out of the file, or run them with --target cluster',
    );
  }
  const groups = new Map<string, K8sObject[]>();
  for (const o of opts.from.objects) {
    const id = o.metadata.labels?.[LABEL_STEP];
    const key = id && SUBSCRIPTION_STEPS.some((s) => s.id === id) ? id : 'objects';
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const order = ['objects', ...SUBSCRIPTION_STEPS.map((s) => s.id)];
  return [...groups.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([id, objects]) => {
      const def = SUBSCRIPTION_STEPS.find((s) => s.id === id);
      return { id, title: def ? `${def.title} (from ${opts.from!.source})` : `Objects from ${opts.from!.source}`, objects, patches: [], notes: [], waits: waitsForEraObjects(objects, gateway) };
    });
}

export const ERA_PLATFORM_STEP = { id: 'platform', title: 'MaaS platform (subscription era): PostgreSQL, maas-api, payload processing, the MaaS gateway' } as const;

/** Do these objects describe the subscription era? (`up --from` without `--maas` follows its file.) */
export function objectsAreEra(objects: readonly K8sObject[]): boolean {
  return objects.some(isEraObject) && !objects.some((o) => o.kind === 'XBackendDestination' || (o.kind === 'AuthPolicy' && o.apiVersion.startsWith('kuadrant.io/')));
}

const admin = (ctx: Ctx, name: string): AdminClient => adminOf(ctx.components, ctx.adminToken, name);

/** The objects with the statuses the era's controllers would give them here. */
function withStatus(ctx: Ctx): K8sObject[] {
  return reconcileStatuses(ctx.objects.all(), { gatewayHost: ctx.host, gatewayName: ctx.cfg.maas.gatewayName, gatewayNamespace: ctx.cfg.maas.gatewayNamespace, now: new Date(ctx.startedAt) });
}

function gatewaySpec(ctx: Ctx, objects: K8sObject[]): SubscriptionGatewaySpec {
  const port = (n: string) => ctx.components[n]?.port;
  return {
    era: 'subscription',
    hostnames: [ctx.host, `localhost:${ctx.host.split(':')[1] ?? ''}`],
    objects,
    audience: ctx.cfg.maas.issuer,
    issuer: ctx.cfg.maas.issuer,
    user: ctx.cfg.user,
    identityCacheSeconds: IDENTITY_CACHE_SECONDS,
    upstreams: {
      ...(port('maas-api') ? { maasApi: `http://127.0.0.1:${port('maas-api')}` } : {}),
      ...(port('payload-processing') ? { payloadProcessing: `http://127.0.0.1:${port('payload-processing')}` } : {}),
    },
    dns: ctx.dns,
    trustedCas: ctx.trustedCas,
  };
}

function hopSpec(ctx: Ctx, hop: EraHop, objects: K8sObject[]): unknown {
  if (hop === 'maas-gateway') return gatewaySpec(ctx, objects);
  if (hop === 'maas-api') return { objects, maasApi: { tenant: DEFAULT_TENANT, maxExpirationDays: 90, lastUsedDebounceSeconds: 60, admins: { users: [], groups: [] } } };
  return { objects };
}

/** Reprograms the era's hops with the objects (each hop reads what it needs of them), in parallel. */
async function* programHops(ctx: Ctx, step: string): AsyncGenerator<EventInput> {
  const objects = withStatus(ctx);
  const running = ERA_HOPS.filter((h) => ctx.components[h]);
  const generations = await Promise.all(running.map((h) => admin(ctx, h).program(hopSpec(ctx, h, objects))));
  yield { kind: 'apply', step, object: `process/${running.join(', process/')} (programmed with ${objects.length} objects, generations ${generations.join('/')})`, action: 'configured' };
}

function launchHop(ctx: Ctx, hop: EraHop, env: Record<string, string> = {}): Promise<ComponentState> {
  const existing = readJson<{ port?: number; adminPort?: number }>(paths(ctx.dir).specFile(hop));
  writeSpecFile(ctx.dir, hop, {
    generation: 1,
    spec: hopSpec(ctx, hop, []),
    ...(hop === 'maas-gateway' ? { port: Number(ctx.host.split(':')[1]) || 0, clusterTokenSha256: createHash('sha256').update(ctx.clusterToken).digest('hex') } : {}),
    ...(existing?.port ? { port: existing.port, adminPort: existing.adminPort } : {}),
  });
  const spec: LaunchSpec = { name: hop, script: scriptPath('targets/local/component.js'), args: [hop, ctx.dir, 'subscription'], env: { MAAS_EGRESS_DEMO_ADMIN_TOKEN: ctx.adminToken, ...env } };
  ctx.launches[hop] = spec;
  return launch(ctx.dir, spec, { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal });
}

/** Where the initdb template lives (shared by every data directory made from it; named after the PGlite release). */
async function templateFile(ctx: Ctx): Promise<string> {
  const { pgliteVersion } = await import('./postgres.js');
  return join(ctx.opts.cacheDir ?? join(ctx.dir, 'cache'), `pglite-${pgliteVersion()}-initdb.tar.gz`);
}

async function launchPostgres(ctx: Ctx): Promise<ComponentState> {
  const spec: LaunchSpec = {
    name: 'postgres',
    script: scriptPath('targets/local/postgres.js'),
    args: ['--data-dir', paths(ctx.dir).pgdata, '--template', await templateFile(ctx), '--host', '127.0.0.1', '--port', '0', '--port-file', '{portFile}'],
    env: {},
  };
  ctx.launches.postgres = spec;
  // initdb in WASM may take several seconds on a loaded machine the first time.
  return launch(ctx.dir, spec, { timeoutMs: Math.max(ctx.opts.timeoutMs, 60_000), signal: ctx.signal });
}

function providerFiles(dir: string, p: EraProvider) {
  const base = join(paths(dir).providerTls, p.name);
  return { ca: `${base}-ca.pem`, cert: `${base}-cert.pem`, key: `${base}-key.pem` };
}

function launchSimulator(ctx: Ctx, p: EraProvider): Promise<ComponentState> {
  const key = ctx.cfg.providers.find((c) => c.name === p.name)!.key.reveal();
  const files = providerFiles(ctx.dir, p);
  const spec: LaunchSpec = {
    name: `provider-${p.name}`,
    script: scriptPath('sim/provider-sim.js'),
    args: [
      '--name', p.name, '--model', p.targetModel, '--style', p.style,
      ...(p.style === 'provider' ? ['--key-header', 'authorization'] : []),
      ...(p.tls ? ['--tls-cert', files.cert, '--tls-key', files.key] : []),
      '--quiet', '--host', '127.0.0.1', '--port', '0', '--port-file', '{portFile}',
    ],
    env: { PROVIDER_API_KEY: key },
  };
  ctx.launches[spec.name] = spec;
  return launch(ctx.dir, spec, { timeoutMs: ctx.opts.timeoutMs, signal: ctx.signal });
}

/** The CA of each simulated provider (the stand-in for the public CA that signed it), and the user's CAs. */
async function providerTrust(ctx: Ctx): Promise<void> {
  const { createProviderPki } = await import('./certificates.js');
  mkdirSync(paths(ctx.dir).providerTls, { recursive: true, mode: 0o700 });
  const cas: string[] = [];
  for (const p of ctx.providers) {
    if (p.simulated && p.tls) {
      const files = providerFiles(ctx.dir, p);
      if (!existsSync(files.ca)) {
        const pki = await createProviderPki(p.name, [p.endpoint]);
        writeFileSync(files.ca, pki.caPem, { mode: 0o600 });
        writeFileSync(files.cert, pki.certPem, { mode: 0o600 });
        writeFileSync(files.key, pki.keyPem, { mode: 0o600 });
      }
      cas.push(readFileSync(files.ca, 'utf8'));
    } else if (p.caFile) {
      try {
        cas.push(readFileSync(p.caFile, 'utf8'));
      } catch {
        throw new UserError(`cannot read --provider-ca-file ${p.name}=${p.caFile}`, 'give a PEM file holding the CA certificate that signed the provider');
      }
    }
  }
  ctx.trustedCas = cas;
}

async function* applyStep(ctx: Ctx, r: LocalStep): AsyncGenerator<EventInput> {
  yield* applyToSet(ctx.objects, r.id, r.objects);
  yield* programHops(ctx, r.id);
  if (ctx.opts.wait === false) return;
  yield* eraWaits(ctx, r.id, r.waits);
}

function eraWaits(ctx: Ctx, step: string, waits: WaitSpec[]): AsyncGenerator<EventInput> {
  const world = { cfg: ctx.cfg, objects: new ObjectSet(withStatus(ctx)), host: ctx.host, agent: ctx.agent!, clusterToken: ctx.clusterToken, components: ctx.components, config: async (hop: string) => (await admin(ctx, hop).call<{ spec: Record<string, unknown> }>('GET', '/config').catch(() => undefined))?.spec };
  return proveWaits(step, waits, (spec) => subscriptionWait(spec, world), ctx.opts.timeoutMs, ctx.signal);
}

function eraState(ctx: Ctx, steps: string[]): LocalState {
  return topologyState(ctx, steps, ctx.startedAt, {
    strictBudget: false,
    generation: 'subscription',
    era: { ...(ctx.opts.databaseUrl ? { databaseUrl: ctx.opts.databaseUrl } : {}), providers: ctx.providers },
  });
}

/** What `env` prints for the era (the database URL with its password masked). */
export function eraEnvFacts(state: LocalState): Record<string, string> {
  const vllm = state.era?.providers.find((p) => p.style === 'vllm');
  const vllmState = vllm ? state.components[`provider-${vllm.name}`] : undefined;
  const db = state.era?.databaseUrl ?? (state.components.postgres ? `postgres://postgres@127.0.0.1:${state.components.postgres.port}/postgres` : '');
  return {
    HOST: state.host,
    CA_FILE: state.caFile,
    CLUSTER_TOKEN: state.clusterToken,
    MAAS_GENERATION: 'subscription',
    MAAS_SUBSCRIPTION: DEMO_SUBSCRIPTION,
    DATABASE_URL: redactUrl(db),
    ...(vllm && state.vllm.enabled ? { VLLM_URL: vllm.simulated && vllmState ? `http://127.0.0.1:${vllmState.port}` : `${vllm.tls ? 'https' : 'http'}://${vllm.endpoint}:${vllm.port}` } : {}),
  };
}

/** A database URL's password is a secret like any key: masked wherever output could carry it. */
export function registerDatabasePassword(url: string): void {
  try {
    const pw = new URL(url).password;
    if (pw) {
      registerSecretValue(pw);
      registerSecretValue(decodeURIComponent(pw));
    }
  } catch {
    /* checked elsewhere */
  }
}

/** The URL with its password replaced by `***` (never shown, even in `demo env`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

function summary(state: LocalState, title: string): EventInput {
  const facts = eraEnvFacts(state);
  const models = (readJson<K8sObject[]>(paths(state.caFile.replace(/\/tls\/ca\.pem$/, '')).objects) ?? []).filter((o) => o.kind === 'MaaSModelRef').map((o) => o.metadata.name);
  return {
    kind: 'summary',
    title: `Local topology ${title}`,
    facts: {
      MaaS: GENERATIONS.subscription.title,
      'MaaS gateway': `https://${state.host}`,
      HOST: facts.HOST!,
      CA_FILE: facts.CA_FILE!,
      CLUSTER_TOKEN: facts.CLUSTER_TOKEN!,
      MAAS_SUBSCRIPTION: facts.MAAS_SUBSCRIPTION!,
      DATABASE_URL: facts.DATABASE_URL!,
      ...(facts.VLLM_URL ? { VLLM_URL: facts.VLLM_URL } : {}),
      models: models.join(', '),
      'state dir': paths(state.caFile.replace(/\/tls\/ca\.pem$/, '')).dir,
      ...(state.faults.length ? { 'planted faults': state.faults.join(', ') } : {}),
      next: 'eval "$(demo env)"  then  demo validate',
    },
  };
}

/** Checks the options before anything starts. */
export function checkEraOptions(cfg: DemoConfig, opts: EraUpOptions): EraProvider[] {
  for (const f of opts.faults) {
    const name = f.split(':')[0] ?? '';
    if (!findEraFault(name)) throw new UserError(`unknown fault "${f}" for the subscription era${didYouMean(name, ERA_FAULTS.map((x) => x.name))}`, `faults of this era: ${ERA_FAULTS.map((x) => x.name).join(', ')} (docs/faults.md)`);
  }
  return eraProviders(cfg, providerOptions(opts));
}

function providerOptions(opts: Pick<EraUpOptions, 'vllm' | 'vllmUrl' | 'providers'>) {
  return { vllm: opts.vllm, ...(opts.vllmUrl !== undefined ? { vllmUrl: opts.vllmUrl } : {}), overrides: opts.providers };
}

export async function* eraFreshUp(cfg: DemoConfig, opts: EraUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput> {
  ensureDirs(dir);
  const p = paths(dir);
  const start = performance.now();
  const providers = checkEraOptions(cfg, opts);
  const plan = eraLocalPlan(cfg, opts);
  const adminToken = randomBytes(24).toString('base64url');
  const clusterToken = `sha256~${randomBytes(32).toString('base64url')}`;
  registerSecretValue(clusterToken);
  registerSecretValue(adminToken);
  const ctx: Ctx = {
    dir, cfg, opts, signal, adminToken, clusterToken, host: '127.0.0.1:0', components: {}, launches: {}, objects: new ObjectSet(), providers, dns: {}, trustedCas: [],
    databaseUrl: opts.databaseUrl ?? '',
    startedAt: new Date().toISOString(),
  };
  const started: Promise<ComponentState>[] = [];
  const track = (name: string, pr: Promise<ComponentState>) => {
    started.push(pr);
    return pr.then((c) => (ctx.components[name] = c));
  };
  const progress: UpProgress = { completed: [] };
  try {
    progress.current = { id: 'platform', start: performance.now() };
    yield { kind: 'step-start', step: 'platform', title: ERA_PLATFORM_STEP.title, explain: 'On a cluster, MaaS is installed with PostgreSQL for API keys, maas-api, maas-controller and payload processing in the gateway. Locally we start each, plus a simulator with a CA of its own for every public provider endpoint.' };
    const t0 = performance.now();
    writeJson(p.signingKey, await generateSigningKey());
    // What needs nothing else starts at once: PGlite's start-up (initdb the first time) overlaps with the rest.
    const pg = opts.databaseUrl ? undefined : track('postgres', launchPostgres(ctx));
    const pp = track('payload-processing', launchHop(ctx, 'payload-processing'));
    const { writeCerts } = await import('./certificates.js');
    await Promise.all([writeCerts({ caCert: p.caCert, serverCert: p.serverCert, serverKey: p.serverKey }), providerTrust(ctx)]);
    const sims = providers.filter((x) => x.simulated).map((x) => track(`provider-${x.name}`, launchSimulator(ctx, x)));
    // The gateway needs only its certificate to start; it is programmed once everything answers.
    const gateway = track('maas-gateway', launchHop(ctx, 'maas-gateway'));
    writeJson(p.config, serializeConfig(cfg));
    yield { kind: 'apply', step: 'platform', object: `Secret/tls (CA ${p.caCert})`, action: 'created' };
    if (pg) {
      await pg;
      ctx.databaseUrl = `postgres://postgres@127.0.0.1:${ctx.components.postgres!.port}/postgres`;
      yield { kind: 'apply', step: 'platform', object: `process/postgres (PGlite, pid ${ctx.components.postgres!.pid}, 127.0.0.1:${ctx.components.postgres!.port}, data ${p.pgdata})`, action: 'started' };
    } else {
      yield { kind: 'log', level: 'info', message: `step platform: API keys go to the PostgreSQL at ${redactUrl(ctx.databaseUrl)}` };
    }
    await track('maas-api', launchHop(ctx, 'maas-api', { DB_CONNECTION_URL: ctx.databaseUrl }));
    yield { kind: 'apply', step: 'platform', object: `process/maas-api (subscription era, pid ${ctx.components['maas-api']!.pid}, 127.0.0.1:${ctx.components['maas-api']!.port})`, action: 'started' };
    await pp;
    yield { kind: 'apply', step: 'platform', object: `process/payload-processing (pid ${ctx.components['payload-processing']!.pid}, 127.0.0.1:${ctx.components['payload-processing']!.port})`, action: 'started' };
    await Promise.all(sims);
    for (const x of providers) {
      const c = ctx.components[`provider-${x.name}`];
      if (c) {
        ctx.dns[`${x.endpoint}:${x.port}`] = `127.0.0.1:${c.port}`;
        yield { kind: 'apply', step: 'platform', object: `process/provider-${x.name} for ${x.tls ? 'https' : 'http'}://${x.endpoint}${x.port === 443 ? '' : `:${x.port}`} (${x.tls ? 'its own CA' : 'plain HTTP'}, pid ${c.pid}, 127.0.0.1:${c.port})`, action: 'started' };
      } else {
        yield { kind: 'log', level: 'info', message: `step platform: ${x.name} is the real ${x.tls ? 'https' : 'http'}://${x.endpoint}:${x.port}${x.caFile ? ` (its CA from ${x.caFile})` : ''}` };
      }
    }
    await gateway;
    ctx.host = `127.0.0.1:${ctx.components['maas-gateway']!.port}`;
    yield { kind: 'apply', step: 'platform', object: `process/maas-gateway (subscription era, pid ${ctx.components['maas-gateway']!.pid}, 127.0.0.1:${ctx.components['maas-gateway']!.port})`, action: 'started' };
    yield* programHops(ctx, 'platform');
    writeJson(p.state, eraState(ctx, progress.completed));
    ctx.agent = gatewayAgent(p.caCert);
    yield* waitFor('platform', 'maas-api answers GET /maas-api/v1/api-keys/config through the gateway (its database is migrated)', opts.timeoutMs, signal, async () => {
      const res = await ufetch(`https://${ctx.host}/maas-api/v1/api-keys/config`, { dispatcher: ctx.agent, headers: { authorization: `Bearer ${clusterToken}` }, signal: AbortSignal.timeout(3_000) });
      await res.arrayBuffer();
      return res.status === 200 ? true : `HTTP ${res.status}`;
    });
    yield* finishUp({ progress, signal, startedAt: start, platformStartedAt: t0 }, plan, (r) => applyStep(ctx, r), (completed) => {
      writeJson(p.objects, ctx.objects.all());
      writeJson(p.state, eraState(ctx, completed));
    }, () => plantFaults(ctx), (completed) => {
      const state = eraState(ctx, completed);
      writeJson(p.state, state);
      return summary(state, 'ready');
    });
  } catch (err) {
    return yield* undoFailedUp(err, { progress, signal, dir, components: ctx.components, again: 'demo up --maas subscription' }, async () => {
      const settled = await Promise.allSettled(started);
      await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? stopAndWait(s.value.pid) : undefined)));
    });
  } finally {
    await ctx.agent?.close();
  }
}

/** Plants the asked-for faults over the healthy objects, as a person would break a working install. */
async function* plantFaults(ctx: Ctx): AsyncGenerator<EventInput> {
  if (!ctx.opts.faults.length) return;
  const broken = applyEraFaults(ctx.objects.all(), ctx.opts.faults, ctx.cfg);
  ctx.objects = new ObjectSet(broken.objects);
  yield* programHops(ctx, 'faults');
  for (const f of broken.planted) yield { kind: 'log', level: 'warn', message: `planted fault ${f.name}: ${f.description}` };
}

function contextOf(state: LocalState, cfg: DemoConfig, opts: EraUpOptions, dir: string, signal: AbortSignal, objects: K8sObject[]): Ctx {
  const providers = state.era?.providers ?? [];
  const dns: Record<string, string> = {};
  for (const x of providers) {
    const c = state.components[`provider-${x.name}`];
    if (c) dns[`${x.endpoint}:${x.port}`] = `127.0.0.1:${c.port}`;
  }
  const postgres = state.components.postgres;
  return {
    dir, cfg, opts, signal, adminToken: state.adminToken, clusterToken: state.clusterToken, host: state.host, components: { ...state.components }, launches: { ...(state.launches ?? {}) },
    objects: new ObjectSet(objects), providers, dns, trustedCas: [], startedAt: state.startedAt, databaseUrl: state.era?.databaseUrl ?? (postgres ? `postgres://postgres@127.0.0.1:${postgres.port}/postgres` : ''),
  };
}

/**
 * `up` on a running subscription-era topology: the objects that differ are applied, the hops
 * reprogrammed and the faults planted again; what changed is said. Returns false when nothing differs.
 * Other providers or another database need a fresh start (the processes standing for them differ).
 */
export async function* eraReprogram(state: LocalState, cfg: DemoConfig, opts: EraUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput, boolean> {
  const p = paths(dir);
  const providers = checkEraOptions(cfg, opts);
  const strip = (xs: EraProvider[]) => xs.map(({ name, endpoint, port, tls, simulated, targetModel, style }) => ({ name, endpoint, port, tls, simulated, targetModel, style }));
  if (!isDeepStrictEqual(strip(providers), strip(state.era?.providers ?? [])) || (opts.databaseUrl ?? '') !== (state.era?.databaseUrl ?? '')) {
    throw new UserError('the running topology was started with other providers or another database', 'run `demo down` first, then `demo up --maas subscription` with the new flags');
  }
  const before = new ObjectSet(readJson<K8sObject[]>(p.objects) ?? []);
  const healthy = eraLocalPlan(cfg, opts).flatMap((r) => r.objects);
  const next = opts.faults.length ? applyEraFaults(healthy, opts.faults, cfg).objects : healthy;
  const created = next.filter((o) => !before.all().some((b) => objectKey(b) === objectKey(o)));
  const configured = next.filter((o) => before.all().some((b) => objectKey(b) === objectKey(o) && !isDeepStrictEqual(b, o)));
  const deleted = before.all().filter((b) => !next.some((o) => objectKey(o) === objectKey(b)));
  const faultsChanged = [...state.faults].sort().join(',') !== [...opts.faults].sort().join(',');
  const cfgChanged = !isDeepStrictEqual(readJson(p.config), JSON.parse(JSON.stringify(serializeConfig(cfg))));
  if (!created.length && !configured.length && !deleted.length && !faultsChanged && !cfgChanged) return false;
  const t0 = performance.now();
  const what = [
    created.length || configured.length || deleted.length ? `${created.length} objects created, ${configured.length} changed, ${deleted.length} removed` : '',
    faultsChanged ? `faults ${state.faults.join(', ') || 'none'} → ${opts.faults.join(', ') || 'none'}` : '',
    cfgChanged && !created.length && !configured.length ? 'configuration changed' : '',
  ].filter(Boolean);
  yield { kind: 'step-start', step: 'reprogram', title: `Reprogram the running topology: ${what.join('; ')}` };
  const ctx = contextOf(state, cfg, { ...opts, faults: [] }, dir, signal, next);
  ctx.agent = gatewayAgent(state.caFile);
  try {
    await providerTrust(ctx);
    for (const o of created) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'created' };
    for (const o of configured) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'configured' };
    for (const o of deleted) yield { kind: 'apply', step: 'reprogram', object: objectKey(o), action: 'deleted' };
    yield* programHops(ctx, 'reprogram');
    for (const f of opts.faults) yield { kind: 'log', level: 'warn', message: `planted fault ${f}: ${findEraFault(f.split(':')[0]!)!.description}` };
    if (opts.wait !== false && !opts.faults.length) {
      yield* eraWaits(ctx, 'reprogram', waitsForEraObjects([...created, ...configured], { namespace: cfg.maas.gatewayNamespace, name: cfg.maas.gatewayName }));
    }
    writeJson(p.objects, ctx.objects.all());
    writeJson(p.config, serializeConfig(cfg));
    writeJson(p.state, { ...state, faults: opts.faults } satisfies LocalState);
    yield { kind: 'step-end', step: 'reprogram', ok: true, ms: elapsed(t0) };
    return true;
  } catch (err) {
    yield { kind: 'step-end', step: 'reprogram', ok: false, ms: elapsed(t0), message: (err as Error).message };
    throw err instanceof UserError || err instanceof StepFailedError ? err : new StepFailedError(`reprogramming stopped half-way: ${(err as Error).message}`, 'run `demo up` again with the same flags to finish, or `demo down` and `demo up` to start afresh');
  } finally {
    await ctx.agent?.close();
  }
}

/** The summary `up` ends with on a running era topology. */
export function eraSummary(state: LocalState, title: string): EventInput {
  return summary(state, title);
}

/**
 * Runs exactly these objects on a running era topology, waiting for nothing (the doctor self-test
 * applies broken objects on purpose); returns whether anything changed.
 */
export async function* eraApplyObjects(dir: string, state: LocalState, cfg: DemoConfig, objects: K8sObject[], signal: AbortSignal): AsyncGenerator<EventInput, boolean> {
  return yield* eraReprogram(state, cfg, { vllm: state.vllm.enabled, faults: [], timeoutMs: 10_000, from: { source: 'objects', objects }, wait: false, providers: (state.era?.providers ?? []).filter((x) => !x.simulated).map((x) => ({ name: x.name, url: `${x.tls ? 'https' : 'http'}://${x.endpoint}:${x.port}`, ...(x.caFile ? { caFile: x.caFile } : {}) })), ...(state.era?.databaseUrl ? { databaseUrl: state.era.databaseUrl } : {}) }, dir, signal);
}

/** The demo's own objects, healthy, as `up` applies them (the self-test starts from these). */
export function eraDemoObjects(cfg: DemoConfig, state: LocalState): K8sObject[] {
  return eraLocalPlan(cfg, { vllm: state.vllm.enabled, providers: [] }).flatMap((s) => s.objects);
}

/**
 * `up --maas subscription`: one `up` at a time per state dir; on a running era topology it
 * reprograms (or says nothing changed), on a partly running one it restarts what stopped, on a stale
 * state it cleans up and starts afresh.
 */
export async function* eraUp(cfg: DemoConfig, opts: EraUpOptions, dir: string, signal: AbortSignal): AsyncGenerator<EventInput> {
  if (opts.databaseUrl !== undefined) {
    const { checkDatabaseUrl } = await import('./postgres.js');
    opts = { ...opts, databaseUrl: checkDatabaseUrl(opts.databaseUrl) };
    registerDatabasePassword(opts.databaseUrl!);
  }
  checkEraOptions(cfg, opts);
  yield* upOnState({
    dir,
    signal,
    check: (existing) => {
      if ((existing.generation ?? 'tier') !== 'subscription') {
        throw new UserError(`the running topology is the ${GENERATIONS[existing.generation ?? 'tier'].title}; up --maas subscription does not change generations in place`, 'run `demo down` first, then `demo up --maas subscription`');
      }
    },
    reprogram: (existing) => eraReprogram(existing, cfg, opts, dir, signal),
    fresh: () => eraFreshUp(cfg, opts, dir, signal),
    summary,
    running: (existing) => `MaaS gateway https://${existing.host}, subscription era`,
    repairTimeoutMs: Math.max(opts.timeoutMs, 60_000),
  });
}
