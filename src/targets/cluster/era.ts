/**
 * The subscription era (current MaaS) on a cluster: the era's steps as the local target runs them
 * (generations/subscription/plan.ts: the same objects, the same WaitSpecs), with what only a cluster
 * needs around them:
 *
 * - step s0 runs a simulator per public provider in the cluster (plain HTTP on its Service, so its
 *   ExternalModel says `maas.opendatahub.io/tls: "false"` and the port) and the on-prem model as an
 *   LLMInferenceService; a provider given with `--provider NAME=URL` gets no simulator and keeps TLS
 *   origination;
 * - the ExternalModels are the canonical `inference.opendatahub.io` ExternalProvider + ExternalModel when
 *   the cluster serves them, else the legacy `maas.opendatahub.io` ExternalModel;
 * - the on-prem model joins the catalog as a MaaSModelRef of kind LLMInferenceService;
 * - payload processing's plugin ConfigMap belongs to the platform: applied over it (its original data is
 *   recorded, `down` puts it back);
 * - a last step mints an API key for the demo's subscription through maas-api and keeps it in a labelled
 *   Secret beside the state ConfigMap (`demo env` exports it; `down` revokes it, then deletes the Secret).
 *
 * maas-api is asked through the API server's service proxy, as generation detection asks it: the
 * gateway may not be reachable from where `demo up` runs. Nothing stands between the proxy and maas-api,
 * so the caller says who it is with the identity headers Authorino would inject (`X-MaaS-Username`,
 * `X-MaaS-Group`), taken from a SelfSubjectReview: only a user allowed `services/proxy` in maas-api's
 * namespace (an admin) can do this, and the key is that user's own.
 */
import type { DemoConfig } from '../../core/config.js';
import { StepFailedError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import { Secret } from '../../core/secret.js';
import type { StepContext, WaitSpec } from '../../core/step.js';
import { BASIC_SUBSCRIPTION, DEMO_SUBSCRIPTION, MODEL_NAMESPACE, subscriptionSteps } from '../../generations/subscription/plan.js';
import { eraProviders, k8sName, type EraProvider } from '../../generations/subscription/providers.js';
import { APPLY_MODE_ANNOTATION, DEMO_NAME, LABEL_MANAGED_BY, LABEL_PART_OF, LABEL_STEP, type K8sObject } from '../../model/k8s-object.js';
import { PLUGINS_CONFIGMAP } from '../../model/subscription.js';
import { names, SIMULATOR_PORT } from '../../../steps/scope.js';
import onpremStep from '../../../steps/02-onprem-model.js';
import type { UpOptions } from '../target.js';
import { applyObject } from './apply.js';
import type { Kube, RawResponse } from './client.js';
import { proxyTargetOf } from './identity.js';
import { renderStepPlan, type RenderedStep } from '../../manifests/render.js';
import type { ClusterStep } from './cluster-step.js';
import { loadSimulatorSources } from '../../manifests/simulator-bundle.js';

/** The Secret holding the demo's API key (in maas-api's namespace, beside the state ConfigMap). */
export const KEY_SECRET = 'maas-egress-demo-api-key';
/** Step ids of the era on a cluster, in the order `up` runs them (`down` removes them the other way round). */
export const ERA_STEP_IDS = ['s0', 's1', 's2', 's3', 's4', 'key'] as const;
/** An object applied over the platform's copy (its fields are taken, the original recorded for `down`). */
export const TAKE_OVER = 'take-over';

const TIMEOUT = 120_000;

function eraLabels(step: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: DEMO_NAME, [LABEL_PART_OF]: DEMO_NAME, [LABEL_STEP]: step };
}

const simulatorOf = (p: EraProvider) => `${p.name}-simulator`;

/** The era's providers on a cluster: a simulated one is its in-cluster simulator, reached over plain HTTP. */
export function clusterEraProviders(cfg: DemoConfig, up: Pick<UpOptions, 'vllm' | 'vllmHost' | 'providers'>): EraProvider[] {
  const vllm = up.vllm ?? Boolean(up.vllmHost);
  return eraProviders(cfg, { vllm, ...(up.vllmHost ? { vllmUrl: `http://${up.vllmHost}` } : {}), overrides: up.providers ?? [] }).map((p) =>
    p.simulated ? { ...p, endpoint: `${simulatorOf(p)}.${cfg.providersNamespace}.svc.cluster.local`, port: SIMULATOR_PORT, tls: false } : p,
  );
}

/** Step s0's objects: a simulator per simulated provider (code, key, Deployment, Service) and the on-prem model. */
function simulatorObjects(cfg: DemoConfig, providers: EraProvider[], simDir?: string): { objects: K8sObject[]; waits: WaitSpec[]; notes: string[] } {
  const sims = providers.filter((p) => p.simulated);
  if (!sims.length) return { objects: [], waits: [], notes: [] };
  const ns = cfg.providersNamespace;
  const src = loadSimulatorSources(simDir);
  const labels = eraLabels('s0');
  const objects: K8sObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } }];
  const waits: WaitSpec[] = [];
  for (const p of sims) {
    const sim = simulatorOf(p);
    const key = cfg.providers.find((c) => c.name === p.name)!.key.reveal();
    const app = { app: sim };
    objects.push(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: names.simulatorCode(sim), namespace: ns, labels, annotations: { 'maas-egress-demo/sim-source': src.source } }, data: src.files },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: names.simulatorKeySecret(sim), namespace: ns, labels }, type: 'Opaque', stringData: { 'api-key': key } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: sim, namespace: ns, labels: { ...labels, ...app } },
        spec: {
          replicas: 1,
          selector: { matchLabels: app },
          template: {
            metadata: { labels: app, annotations: { 'maas-egress-demo/sim-hash': src.hash } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'simulator',
                  image: cfg.simulatorImage,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['node', src.entry],
                  // As the provider speaks: OpenAI reads Authorization: Bearer, Anthropic x-api-key, vLLM Authorization.
                  args: ['--host', '0.0.0.0', '--port', String(SIMULATOR_PORT), '--name', p.name, '--model', p.targetModel, '--style', p.style, ...(p.style === 'provider' ? ['--key-header', 'authorization'] : [])],
                  env: [{ name: 'PROVIDER_API_KEY', valueFrom: { secretKeyRef: { name: names.simulatorKeySecret(sim), key: 'api-key' } } }],
                  ports: [{ name: 'http', containerPort: SIMULATOR_PORT, protocol: 'TCP' }],
                  readinessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 5 },
                  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                  volumeMounts: [{ name: 'code', mountPath: '/sim', readOnly: true }],
                },
              ],
              volumes: [{ name: 'code', configMap: { name: names.simulatorCode(sim), items: src.items } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: sim, namespace: ns, labels: { ...labels, ...app } },
        spec: { selector: app, ports: [{ name: 'http', port: SIMULATOR_PORT, targetPort: 'http', protocol: 'TCP' }] },
      },
    );
    waits.push({ kind: 'rollout', namespace: ns, name: sim, timeoutMs: TIMEOUT });
  }
  return { objects, waits, notes: src.notes };
}

/** The on-prem model of the tier era's step 2 (namespace and LLMInferenceService), relabelled for s0, without the tier annotation. */
function onpremObjects(sctx: StepContext): { objects: K8sObject[]; waits: WaitSpec[] } {
  const r = renderStepPlan(onpremStep, sctx);
  const objects = r.objects.map((o) => {
    const { 'alpha.maas.opendatahub.io/tiers': _tiers, ...annotations } = o.metadata.annotations ?? {};
    return { ...o, metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), ...eraLabels('s0') }, ...(Object.keys(annotations).length ? { annotations } : { annotations: undefined }) } };
  }).map((o) => {
    if (o.metadata.annotations === undefined) delete o.metadata.annotations;
    return o;
  });
  return { objects, waits: onpremStep.waits(sctx) };
}

export interface EraPlanOptions {
  cfg: DemoConfig;
  up: Pick<UpOptions, 'vllm' | 'vllmHost' | 'providers'>;
  sctx: StepContext;
  /** The cluster serves inference.opendatahub.io ExternalProvider/ExternalModel. */
  canonical: boolean;
  keys: 'reveal' | 'mask';
  simDir?: string;
}

/** The era's steps on a cluster: s0 (simulators, on-prem model), s1–s4 (the era's own), and the API key. */
export function renderEraPlan(o: EraPlanOptions): ClusterStep[] {
  const providers = clusterEraProviders(o.cfg, o.up);
  const sims = simulatorObjects(o.cfg, providers, o.simDir);
  const onprem = onpremObjects(o.sctx);
  const model = { name: k8sName(o.cfg.onprem.model), llmisvc: o.cfg.onprem.name };
  const steps = subscriptionSteps(o.cfg, providers, { keys: o.keys, externalModels: o.canonical ? 'canonical' : 'legacy', onprem: [model] });
  const out: ClusterStep[] = [
    {
      step: {
        id: 's0',
        slug: 'providers-in-cluster',
        title: 'Provider simulators and the on-prem model in the cluster',
        explain:
          'A key-checking simulator per public provider runs in the cluster, reached over plain HTTP on its Service (so its ExternalModel ' +
          'says tls: "false" and the port: the provider key travels in clear inside the cluster). A provider given with --provider keeps ' +
          'TLS origination to its real endpoint. The on-prem model is an LLMInferenceService KServe serves behind the MaaS gateway.',
        waits: () => [...sims.waits, ...onprem.waits],
        hint: 'cluster-subscription-era',
      },
      objects: [...sims.objects, ...onprem.objects],
      patches: [],
      notes: sims.notes,
    },
    ...steps.map((s): RenderedStep => ({
      step: { id: s.id, slug: s.slug, title: s.title, explain: s.explain, waits: () => s.waits, hint: 'cluster-subscription-era' },
      // The plugin ConfigMap is the platform's: applied over it, its original kept for `down`.
      objects: s.objects.map((obj) => (obj.kind === 'ConfigMap' && obj.metadata.name === PLUGINS_CONFIGMAP ? { ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [APPLY_MODE_ANNOTATION]: TAKE_OVER } } } : obj)),
      patches: [],
      notes: [],
    })),
    {
      step: {
        id: 'key',
        slug: 'api-key',
        title: `An API key for ${DEMO_SUBSCRIPTION}, minted through maas-api`,
        explain:
          'maas-api mints an sk-oai- key bound to the demo subscription and keeps only its hash in PostgreSQL. The key is shown masked; ' +
          `it is kept in the Secret ${KEY_SECRET} so that \`demo env\` can export it, and \`demo down\` revokes it.`,
        waits: () => [],
        hint: 'cluster-subscription-era',
      },
      objects: [],
      patches: [],
      notes: [],
      finish: (ctx) => mintStep(ctx.kube, ctx.maasNamespace, ctx.user, ctx.signal, ctx.facts),
    },
  ];
  return out;
}

// ---------------------------------------------------------------------------------------------------
// maas-api through the service proxy

export interface MaasApiIdentity {
  username: string;
  groups: string[];
}

/** Who the kubeconfig user is (SelfSubjectReview); where the cluster cannot say, the kubeconfig's user name. */
export async function whoAmI(kube: Kube, fallback: string): Promise<MaasApiIdentity> {
  try {
    const me = await kube.whoAmI();
    return { username: me.username, groups: me.groups.length ? me.groups : ['system:authenticated'] };
  } catch {
    return { username: fallback, groups: ['system:authenticated'] };
  }
}

export class MaasApi {
  readonly #kube: Kube;
  readonly #ns: string;
  readonly #target: string;
  readonly #who: MaasApiIdentity;

  private constructor(kube: Kube, ns: string, target: string, who: MaasApiIdentity) {
    this.#kube = kube;
    this.#ns = ns;
    this.#target = target;
    this.#who = who;
  }

  static async connect(kube: Kube, ns: string, who: MaasApiIdentity): Promise<MaasApi> {
    const svc = await kube.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'maas-api' }).catch(() => undefined);
    const target = proxyTargetOf(svc);
    if (!target) throw new StepFailedError(`no Service ${ns}/maas-api with a port: maas-api cannot be asked`, 'check the MaaS install: `oc get svc maas-api -n ' + ns + '`');
    return new MaasApi(kube, ns, target, who);
  }

  get who(): MaasApiIdentity {
    return this.#who;
  }

  call(method: string, path: string, body?: unknown): Promise<RawResponse> {
    return this.#kube.serviceProxy(this.#ns, this.#target, method, path, body, { 'X-MaaS-Username': this.#who.username, 'X-MaaS-Group': JSON.stringify(this.#who.groups) });
  }
}

/** maas-api's error text from an answer (`{error: {message}}`, `{error, message}` or plain text). */
export function apiError(r: RawResponse): string {
  try {
    const v = JSON.parse(r.body) as { error?: { message?: string; code?: string } | string; message?: string; code?: string };
    const e = typeof v.error === 'object' ? v.error : undefined;
    return `HTTP ${r.status} ${e?.code ?? v.code ?? ''} ${e?.message ?? v.message ?? (typeof v.error === 'string' ? v.error : '')}`.replace(/\s+/g, ' ').trim();
  } catch {
    return `HTTP ${r.status} ${r.body.slice(0, 120)}`.trim();
  }
}

function keySecretObject(ns: string, key: Secret, id: string, subscription: string, who: MaasApiIdentity): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: KEY_SECRET, namespace: ns, labels: eraLabels('key'), annotations: { 'maas-egress-demo/purpose': 'the demo\'s MaaS API key (`demo env` exports it); `demo down --target cluster` revokes it' } },
    type: 'Opaque',
    stringData: { 'api-key': key.reveal(), id, subscription, username: who.username, groups: JSON.stringify(who.groups) },
  };
}

export interface StoredKey {
  key: Secret;
  id: string;
  subscription: string;
  who: MaasApiIdentity;
}

/** The key `up` stored, or undefined. */
export async function readStoredKey(kube: Kube, ns: string): Promise<StoredKey | undefined> {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: KEY_SECRET }).catch(() => undefined);
  if (!s) return undefined;
  const raw = { ...((s.data ?? {}) as Record<string, string>) };
  const val = (k: string): string | undefined => {
    const str = (s.stringData as Record<string, string> | undefined)?.[k];
    if (str !== undefined) return str;
    return raw[k] !== undefined ? Buffer.from(raw[k], 'base64').toString('utf8') : undefined;
  };
  const key = val('api-key');
  if (!key) return undefined;
  let groups: string[] = ['system:authenticated'];
  try {
    groups = JSON.parse(val('groups') ?? '[]') as string[];
  } catch {
    /* keep the default */
  }
  return { key: new Secret(key), id: val('id') ?? '', subscription: val('subscription') ?? DEMO_SUBSCRIPTION, who: { username: val('username') ?? '', groups } };
}

/** Mints (or keeps, while maas-api still says it is active) the demo's key and stores it. */
async function* mintStep(kube: Kube, ns: string, user: string, signal: AbortSignal, facts: Record<string, string | number>): AsyncGenerator<EventInput> {
  const step = 'key';
  const me = await whoAmI(kube, user);
  const api = await MaasApi.connect(kube, ns, me);
  const stored = await readStoredKey(kube, ns);
  if (stored?.id && stored.who.username === me.username) {
    const r = await api.call('GET', `/v1/api-keys/${encodeURIComponent(stored.id)}`);
    const status = r.status === 200 ? (JSON.parse(r.body) as { status?: string }).status : undefined;
    if (status === 'active') {
      yield { kind: 'apply', step, object: `API key ${stored.key.masked} (id ${stored.id}) for ${stored.subscription}: still active`, action: 'unchanged' };
      Object.assign(facts, { 'API key': `${stored.key.masked} (id ${stored.id}, owner ${me.username})`, subscription: stored.subscription });
      return;
    }
  }
  if (signal.aborted) return;
  const r = await api.call('POST', '/v1/api-keys', { name: 'demo-up', description: 'maas-egress-demo: the key `demo env` exports', subscription: DEMO_SUBSCRIPTION, expiresIn: '168h' });
  let body: { key?: string; id?: string } = {};
  try {
    body = JSON.parse(r.body) as typeof body;
  } catch {
    /* judged below */
  }
  if (r.status !== 201 || typeof body.key !== 'string') {
    const why = apiError(r);
    throw new StepFailedError(
      `maas-api did not mint a key for ${DEMO_SUBSCRIPTION} as ${me.username}: ${why}`,
      r.status === 403
        ? `the subscription is not ready or ${me.username} does not own it: \`oc get maassubscription ${DEMO_SUBSCRIPTION} -n models-as-a-service -o yaml\``
        : r.status === 401
          ? 'maas-api did not take the identity headers: it must be reached directly (services/proxy) by a cluster admin'
          : `check maas-api: \`oc logs -n ${ns} deploy/maas-api\``,
    );
  }
  const key = new Secret(body.key);
  const id = String(body.id ?? '');
  await applyObject(kube, keySecretObject(ns, key, id, DEMO_SUBSCRIPTION, me), []);
  yield { kind: 'apply', step, object: `API key ${key.masked} (id ${id}) for ${DEMO_SUBSCRIPTION}, owner ${me.username}; kept in Secret/${ns}/${KEY_SECRET}`, action: 'created' };
  Object.assign(facts, { 'API key': `${key.masked} (id ${id}, owner ${me.username})`, subscription: DEMO_SUBSCRIPTION });
}

/**
 * `down`: revokes the key `up` minted, and every other active key of that user named `demo-…` bound to
 * one of the demo's subscriptions (validate and doctor mint ephemeral ones, which expire within the hour
 * and are not listed). Returns how many were revoked.
 */
export async function* revokeDemoKeys(kube: Kube, ns: string, user: string, signal: AbortSignal): AsyncGenerator<EventInput, number> {
  const step = 'revoke';
  const stored = await readStoredKey(kube, ns);
  if (!stored) return 0;
  const t0 = performance.now();
  yield { kind: 'step-start', step, title: "Revoke the demo's API keys (maas-api)" };
  let revoked = 0;
  try {
    const api = await MaasApi.connect(kube, ns, stored.who.username ? stored.who : await whoAmI(kube, user));
    const ids = new Set<string>(stored.id ? [stored.id] : []);
    const search = await api.call('POST', '/v1/api-keys/search', {});
    if (search.status === 200) {
      const data = ((JSON.parse(search.body) as { data?: { id?: string; name?: string; subscription?: string; status?: string }[] }).data ?? []);
      for (const k of data) if (k.id && k.status === 'active' && (k.name ?? '').startsWith('demo-') && [DEMO_SUBSCRIPTION, BASIC_SUBSCRIPTION].includes(k.subscription ?? '')) ids.add(k.id);
    }
    for (const id of ids) {
      if (signal.aborted) break;
      const r = await api.call('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
      if (r.status === 200) {
        revoked++;
        yield { kind: 'apply', step, object: `API key ${id}${id === stored.id ? ` (${stored.key.masked})` : ''} revoked`, action: 'deleted' };
      } else if (r.status === 404) {
        yield { kind: 'log', level: 'info', message: `API key ${id}: maas-api no longer knows it (404)` };
      } else {
        throw new StepFailedError(`maas-api did not revoke API key ${id}: ${apiError(r)}`, `revoke it by hand: \`curl -X DELETE https://<gateway>/maas-api/v1/api-keys/${id}\` with your token; then run \`demo down --target cluster\` again`);
      }
    }
  } catch (err) {
    const e = err instanceof StepFailedError ? err : new StepFailedError(`maas-api could not be asked to revoke the demo's keys: ${(err as Error).message}`, 'check that maas-api runs, then run `demo down --target cluster` again (the key Secret is kept until its key is revoked)');
    yield { kind: 'step-end', step, ok: false, ms: Math.round(performance.now() - t0), message: e.message, hint: e.hint };
    throw e;
  }
  yield { kind: 'step-end', step, ok: true, ms: Math.round(performance.now() - t0) };
  return revoked;
}

export { MODEL_NAMESPACE };
