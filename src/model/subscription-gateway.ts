/**
 * What the MaaS gateway runs in the subscription era, read from the era's objects the way its
 * controllers turn them into gateway configuration: one HTTPRoute `maas-<name>` per Ready
 * ExternalModel (path `/<ns>/<name>` and the `X-Gateway-Model-Name` header match, backend the
 * provider's endpoint with TLS origination unless the annotation says otherwise), and the
 * TokenRateLimitPolicy `maas-trlp-<model>` the MaaSSubscription controller aggregates per model (one
 * limit per subscription, keyed by `selected_subscription_key`, counted per user). Both targets and
 * doctor read it the same way.
 */
import type { K8sObject } from './k8s-object.js';
import { INFERENCE_GROUP_VERSION, MAAS_GROUP_VERSION, readInferenceExternalModel, readLegacyExternalModel, readSubscription } from './subscription-read.js';
import type { ProviderRoute } from './subscription.js';

export interface ModelRoute {
  /** The HTTPRoute the ExternalModel reconciler makes: `maas-<externalModel>` in the model namespace. */
  name: string;
  namespace: string;
  externalModel: string;
  /** `ns/name` of the Ready MaaSModelRefs that point at the ExternalModel (the first is the one auth asks about). */
  modelRefs: string[];
  /** Path routing: `/<ns>/<externalModel>`, rewritten to `/`. */
  pathPrefix: string;
  /** Body routing: the `X-Gateway-Model-Name` values the route matches (the model name, and the name the listing shows). */
  modelNames: string[];
  /** Where the route sends requests: the provider's endpoint, port, TLS origination, API path. */
  upstream: ProviderRoute;
}

export interface ModelLimit {
  /** The TokenRateLimitPolicy: `maas-trlp-<model>` in the model's namespace. */
  policy: string;
  /** `ns/name` of the MaaSModelRef. */
  model: string;
  /** `ns/name` of the MaaSSubscription. */
  subscription: string;
  /** The limit's name in the policy: `<subNs>-<subName>-<model>-tokens`. */
  key: string;
  /** What the limit's `when` compares `auth.identity.selected_subscription_key` with: `<subNs>/<sub>@<modelNs>/<model>`. */
  selectedKey: string;
  limit: number;
  window: string;
  windowSeconds: number;
}

export interface GatewayReading {
  routes: ModelRoute[];
  limits: ModelLimit[];
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `1m`, `30s`, `24h` → seconds; undefined for anything the CRD's pattern refuses. */
export function windowSeconds(window: string): number | undefined {
  const m = /^([1-9]\d{0,3})(s|m|h)$/.exec(window);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** The MaaSSubscription controller's default when a model reference names no token limit. */
export const DEFAULT_TOKEN_LIMIT = { limit: 100, window: '1m' } as const;

export function readSubscriptionGateway(objects: readonly K8sObject[]): GatewayReading {
  const providers = objects.filter((o) => o.apiVersion === INFERENCE_GROUP_VERSION && o.kind === 'ExternalProvider');
  const canonical = objects.filter((o) => o.apiVersion === INFERENCE_GROUP_VERSION && o.kind === 'ExternalModel');
  const legacy = objects.filter((o) => o.apiVersion === MAAS_GROUP_VERSION && o.kind === 'ExternalModel' && !canonical.some((c) => c.metadata.name === o.metadata.name && c.metadata.namespace === o.metadata.namespace));
  const readyRefs = objects.filter((o) => o.apiVersion === MAAS_GROUP_VERSION && o.kind === 'MaaSModelRef' && str(rec(o.status).phase) === 'Ready');
  const routes: ModelRoute[] = [];
  for (const o of [...canonical, ...legacy]) {
    if (str(rec(o.status).phase) !== 'Ready') continue;
    const em = o.apiVersion === INFERENCE_GROUP_VERSION ? readInferenceExternalModel(o, providers) : readLegacyExternalModel(o);
    const upstream = em.routes[0];
    if (!upstream) continue;
    const refs = readyRefs.filter((r) => (r.metadata.namespace ?? '') === em.namespace && str(rec(rec(r.spec).modelRef).kind) === 'ExternalModel' && str(rec(rec(r.spec).modelRef).name) === em.name);
    routes.push({
      name: `maas-${em.name}`,
      namespace: em.namespace,
      externalModel: em.name,
      modelRefs: refs.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`),
      pathPrefix: `/${em.namespace}/${em.name}`,
      modelNames: [...new Set([em.modelName, em.name])],
      upstream,
    });
  }
  const ready = new Set(readyRefs.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`));
  const limits: ModelLimit[] = [];
  for (const o of objects.filter((x) => x.apiVersion === MAAS_GROUP_VERSION && x.kind === 'MaaSSubscription')) {
    const sub = readSubscription(o);
    if (sub.phase !== 'Active' && sub.phase !== 'Degraded') continue;
    for (const ref of sub.modelRefs) {
      const model = `${ref.namespace}/${ref.name}`;
      if (!ready.has(model)) continue;
      const rates = ref.tokenRateLimits.length ? ref.tokenRateLimits : [DEFAULT_TOKEN_LIMIT];
      for (const r of rates) {
        const seconds = windowSeconds(r.window);
        if (seconds === undefined) continue;
        limits.push({
          policy: `maas-trlp-${ref.name}`,
          model,
          subscription: `${sub.namespace}/${sub.name}`,
          key: `${sub.namespace}-${sub.name}-${ref.name}-tokens`,
          selectedKey: `${sub.namespace}/${sub.name}@${model}`,
          limit: r.limit,
          window: r.window,
          windowSeconds: seconds,
        });
      }
    }
  }
  return { routes, limits };
}
