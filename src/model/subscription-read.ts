/**
 * One pure reading of the subscription era's Kubernetes objects into the topology the hops are
 * programmed with (src/model/subscription.ts): provider Secrets as IPP's Secret store sees them,
 * ExternalModels of both generations (legacy `maas.opendatahub.io` with its tls/port annotations;
 * canonical `inference.opendatahub.io` ExternalModel + ExternalProvider, preferred when both exist, as
 * maas-controller looks it up), MaaSModelRef, MaaSAuthPolicy and MaaSSubscription as maas-api parses
 * them. The same reading serves the local target, `up --from` and doctor; what it could not make sense
 * of is returned as issues naming the object and the field.
 */
import { parse as parseYaml } from 'yaml';
import type { K8sObject } from './k8s-object.js';
import {
  DEFAULT_REQUEST_PLUGINS,
  PLUGINS_CONFIGMAP,
  PLUGINS_MAIN_KEY,
  type RequestPlugin,
  DESCRIPTION_ANNOTATION,
  DISPLAY_NAME_ANNOTATION,
  IPP_MANAGED_LABEL,
  PORT_ANNOTATION,
  PROVIDER_SECRET_KEY,
  SUBSCRIPTION_NAMESPACE,
  TLS_ANNOTATION,
  defaultMaasApiKeysSpec,
  defaultPayloadProcessingSpec,
  type AuthPolicySpec,
  type ExternalModelSpec,
  type MaasApiKeysSpec,
  type ModelRefKind,
  type ModelRefSpec,
  type PayloadProcessingSpec,
  type ProviderRoute,
  type ProviderSecretSpec,
  type SubscriptionSpec,
} from './subscription.js';

export const MAAS_GROUP_VERSION = 'maas.opendatahub.io/v1alpha1';
export const INFERENCE_GROUP_VERSION = 'inference.opendatahub.io/v1alpha1';

/** Something in an object that the reading could not use, with where it is. */
export interface ReadIssue {
  object: string;
  field: string;
  message: string;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');
const ref = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const is = (o: K8sObject, apiVersion: string, kind: string) => o.apiVersion === apiVersion && o.kind === kind;

function stringMap(v: unknown): Record<string, string> | undefined {
  const entries = Object.entries(rec(v)).filter(([, x]) => typeof x === 'string') as [string, string][];
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** A v1 Secret as IPP's reconciler stores it: `data` (base64) and `stringData` merged, empty values dropped. */
export function readProviderSecret(o: K8sObject): ProviderSecretSpec {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(o.data))) if (typeof v === 'string') values[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(rec(o.stringData))) if (typeof v === 'string') values[k] = v;
  const dataKeys = Object.keys(values).filter((k) => values[k] !== '').sort();
  const apiKey = values[PROVIDER_SECRET_KEY];
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    managed: o.metadata.labels?.[IPP_MANAGED_LABEL] === 'true',
    dataKeys,
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The path a provider's OpenAI-compatible or native API is called on (legacy ExternalModels name none). */
export function providerPath(provider: string): string {
  if (provider === 'anthropic') return '/v1/messages';
  if (provider === 'azure-openai') return '/openai/v1/chat/completions';
  return '/v1/chat/completions';
}

/** TLS origination and port from the annotations (tls default true, port default 443, 1–65535). */
function networking(o: K8sObject, issues: ReadIssue[]): { tls: boolean; port: number } {
  const a = o.metadata.annotations ?? {};
  const tlsRaw = a[TLS_ANNOTATION];
  let tls = true;
  if (tlsRaw !== undefined) {
    if (tlsRaw === 'false') tls = false;
    else if (tlsRaw !== 'true') issues.push({ object: ref(o), field: `metadata.annotations["${TLS_ANNOTATION}"]`, message: `"${tlsRaw}" is neither "true" nor "false"; TLS origination stays on` });
  }
  let port = 443;
  const portRaw = a[PORT_ANNOTATION];
  if (portRaw !== undefined) {
    const n = /^\d+$/.test(portRaw) ? Number(portRaw) : Number.NaN;
    if (Number.isInteger(n) && n >= 1 && n <= 65535) port = n;
    else issues.push({ object: ref(o), field: `metadata.annotations["${PORT_ANNOTATION}"]`, message: `"${portRaw}" is not a port (1–65535); the reconciler rejects it` });
  }
  return { tls, port };
}

/** A legacy `maas.opendatahub.io` ExternalModel: one provider, the model known by its targetModel. */
export function readLegacyExternalModel(o: K8sObject, issues: ReadIssue[] = []): ExternalModelSpec {
  const spec = rec(o.spec);
  const provider = str(spec.provider);
  const targetModel = str(spec.targetModel);
  const { tls, port } = networking(o, issues);
  for (const f of ['provider', 'endpoint', 'targetModel'] as const) if (!str(spec[f])) issues.push({ object: ref(o), field: `spec.${f}`, message: 'required' });
  if (!str(rec(spec.credentialRef).name)) issues.push({ object: ref(o), field: 'spec.credentialRef.name', message: 'required' });
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    source: 'maas',
    modelName: targetModel || o.metadata.name,
    routes: [{
      provider, endpoint: str(spec.endpoint), port, tls, targetModel, path: providerPath(provider), apiFormat: provider === 'anthropic' ? 'messages' : 'openai-chat', weight: 1,
      credentialRef: { name: str(rec(spec.credentialRef).name), namespace: o.metadata.namespace ?? '' },
    }],
  };
}

/** A canonical ExternalModel with the ExternalProviders it references (same namespace). */
export function readInferenceExternalModel(o: K8sObject, providers: K8sObject[], issues: ReadIssue[] = []): ExternalModelSpec {
  const spec = rec(o.spec);
  const routes: ProviderRoute[] = [];
  for (const [i, r] of arr(spec.externalProviderRefs).entries()) {
    const entry = rec(r);
    const providerName = str(rec(entry.ref).name);
    const p = providers.find((x) => x.metadata.name === providerName && (x.metadata.namespace ?? '') === (o.metadata.namespace ?? ''));
    if (!p) {
      issues.push({ object: ref(o), field: `spec.externalProviderRefs[${i}].ref.name`, message: `ExternalProvider ${o.metadata.namespace}/${providerName} not found` });
      continue;
    }
    const pspec = rec(p.spec);
    const auth = rec(entry.auth).secretRef ? rec(entry.auth) : rec(pspec.auth);
    const { tls, port } = networking(p, issues);
    const provider = str(pspec.provider);
    const apiFormat = str(entry.apiFormat) || (provider === 'anthropic' ? 'messages' : 'openai-chat');
    routes.push({
      provider, endpoint: str(pspec.endpoint), port, tls, targetModel: str(entry.targetModel), path: str(entry.path) || providerPath(provider), apiFormat,
      weight: typeof entry.weight === 'number' ? entry.weight : 1,
      credentialRef: { name: str(rec(auth.secretRef).name), namespace: o.metadata.namespace ?? '' },
    });
  }
  return { name: o.metadata.name, namespace: o.metadata.namespace ?? '', source: 'inference', modelName: str(spec.modelName) || o.metadata.name, routes };
}

export function readModelRef(o: K8sObject, issues: ReadIssue[] = []): ModelRefSpec {
  const spec = rec(o.spec);
  const status = rec(o.status);
  const kindRaw = str(rec(spec.modelRef).kind);
  if (kindRaw !== 'ExternalModel' && kindRaw !== 'LLMInferenceService') issues.push({ object: ref(o), field: 'spec.modelRef.kind', message: `"${kindRaw}" is not LLMInferenceService or ExternalModel` });
  const created = Date.parse(str(o.metadata.creationTimestamp));
  const hostnames = strs(status.httpRouteHostnames);
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    kind: (kindRaw || 'LLMInferenceService') as ModelRefKind,
    target: str(rec(spec.modelRef).name),
    annotations: o.metadata.annotations ?? {},
    created: Number.isFinite(created) ? Math.floor(created / 1000) : 0,
    phase: str(status.phase),
    endpoint: str(status.endpoint),
    ...(str(status.httpRouteName) ? { httpRouteName: str(status.httpRouteName) } : {}),
    ...(str(status.httpRouteNamespace) ? { httpRouteNamespace: str(status.httpRouteNamespace) } : {}),
    ...(hostnames.length > 0 ? { httpRouteHostnames: hostnames } : {}),
    ...(str(status.resolvedModelAlias) ? { resolvedModelAlias: str(status.resolvedModelAlias) } : {}),
  };
}

const groupNames = (v: unknown) => arr(v).map((g) => str(rec(g).name)).filter((n) => n !== '');
const metadataOf = (v: unknown) => {
  const m = rec(v);
  if (Object.keys(m).length === 0) return undefined;
  const labels = stringMap(m.labels);
  return { ...(str(m.organizationId) ? { organizationId: str(m.organizationId) } : {}), ...(str(m.costCenter) ? { costCenter: str(m.costCenter) } : {}), ...(labels ? { labels } : {}) };
};

export function readAuthPolicy(o: K8sObject, issues: ReadIssue[] = []): AuthPolicySpec {
  const spec = rec(o.spec);
  const subjects = rec(spec.subjects);
  const out: AuthPolicySpec = {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    modelRefs: arr(spec.modelRefs).map((r) => ({ name: str(rec(r).name), namespace: str(rec(r).namespace) })),
    subjects: { groups: groupNames(subjects.groups), users: strs(subjects.users) },
    phase: str(rec(o.status).phase),
  };
  const mm = metadataOf(spec.meteringMetadata);
  if (mm) out.meteringMetadata = mm;
  if (out.subjects.groups.length === 0 && out.subjects.users.length === 0) issues.push({ object: ref(o), field: 'spec.subjects', message: 'neither groups nor users: the policy grants no one' });
  return out;
}

export function readSubscription(o: K8sObject): SubscriptionSpec {
  const spec = rec(o.spec);
  const status = rec(o.status);
  const owner = rec(spec.owner);
  const ready = arr(status.conditions).map(rec).find((c) => c.type === 'Ready');
  const priority = typeof spec.priority === 'number' && Number.isInteger(spec.priority) && spec.priority >= 0 && spec.priority <= 2147483647 ? spec.priority : 0;
  const a = o.metadata.annotations ?? {};
  const tm = metadataOf(spec.tokenMetadata);
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    ...(a[DISPLAY_NAME_ANNOTATION] ? { displayName: a[DISPLAY_NAME_ANNOTATION] } : {}),
    ...(a[DESCRIPTION_ANNOTATION] ? { description: a[DESCRIPTION_ANNOTATION] } : {}),
    owner: { groups: groupNames(owner.groups), users: strs(owner.users) },
    priority,
    modelRefs: arr(spec.modelRefs).map((r) => {
      const m = rec(r);
      const billing = rec(m.billingRate);
      return {
        name: str(m.name),
        namespace: str(m.namespace),
        tokenRateLimits: arr(m.tokenRateLimits).map((l) => ({ limit: typeof rec(l).limit === 'number' ? (rec(l).limit as number) : 0, window: str(rec(l).window) })),
        ...(str(billing.perToken) ? { billingRate: { perToken: str(billing.perToken) } } : {}),
      };
    }),
    ...(tm ? { tokenMetadata: tm } : {}),
    phase: str(status.phase).trim(),
    ready: ready?.status === 'True',
    ...(str(o.metadata.deletionTimestamp) ? { deletionTimestamp: str(o.metadata.deletionTimestamp) } : {}),
    tokenRateLimitStatuses: arr(status.tokenRateLimitStatuses).map((s) => {
      const x = rec(s);
      return { model: str(x.model), name: str(x.name), namespace: str(x.namespace), ready: x.ready === true, ...(str(x.reason) ? { reason: str(x.reason) } : {}), ...(str(x.message) ? { message: str(x.message) } : {}) };
    }),
  };
}

/**
 * payload processing's stage-`main` plugin configuration from its ConfigMap: the request chain (plugin
 * types, in order, as the profile references them by name or type) and whether `api-translation` also
 * runs on responses. Undefined fields: the ConfigMap says nothing usable about them (issues say why).
 */
export function readPluginsConfig(o: K8sObject, issues: ReadIssue[] = []): { requestPlugins?: RequestPlugin[]; responseTranslation?: boolean } {
  const text = rec(o.data)[PLUGINS_MAIN_KEY];
  const field = `data["${PLUGINS_MAIN_KEY}"]`;
  if (typeof text !== 'string') {
    issues.push({ object: ref(o), field, message: 'missing: payload processing runs its built-in defaults' });
    return {};
  }
  let cfg: unknown;
  try {
    cfg = parseYaml(text);
  } catch (err) {
    issues.push({ object: ref(o), field, message: `not YAML (${(err as Error).message.split('\n')[0]}): payload processing cannot start with it` });
    return {};
  }
  const plugins = arr(rec(cfg).plugins).map(rec);
  const typeOf = (refName: string) => str(plugins.find((p) => str(p.name) === refName || str(p.type) === refName)?.type) || refName;
  const profile = rec(arr(rec(cfg).profiles)[0]);
  const chain = rec(profile.plugins);
  const request = arr(chain.request).map((r) => typeOf(str(rec(r).pluginRef)));
  const known = request.filter((t): t is RequestPlugin => (DEFAULT_REQUEST_PLUGINS as readonly string[]).includes(t));
  for (const t of request) if (!known.includes(t as RequestPlugin)) issues.push({ object: ref(o), field: `${field} profiles[0].plugins.request`, message: `unknown plugin "${t}"` });
  const response = arr(chain.response).map((r) => typeOf(str(rec(r).pluginRef)));
  return { requestPlugins: known, responseTranslation: response.includes('api-translation') };
}

export interface SubscriptionTopology {
  maasApi: MaasApiKeysSpec;
  payloadProcessing: PayloadProcessingSpec;
  issues: ReadIssue[];
}

/**
 * Reads everything the era's hops are programmed with from a set of objects (what `up` applies, or
 * what a cluster holds). Only MaaSSubscriptions and MaaSAuthPolicies in the subscription namespace
 * count (maas-api's informers watch only there); a canonical ExternalModel hides a legacy one of the
 * same name and namespace. `base` carries maas-api's own configuration (tenant, expiry, admins).
 */
export function readSubscriptionTopology(objects: K8sObject[], base: Partial<MaasApiKeysSpec> = {}, pp: Partial<PayloadProcessingSpec> = {}): SubscriptionTopology {
  const issues: ReadIssue[] = [];
  const subscriptions: SubscriptionSpec[] = [];
  const authPolicies: AuthPolicySpec[] = [];
  const modelRefs: ModelRefSpec[] = [];
  const secrets: ProviderSecretSpec[] = [];
  const providers = objects.filter((o) => is(o, INFERENCE_GROUP_VERSION, 'ExternalProvider'));
  const canonical = objects.filter((o) => is(o, INFERENCE_GROUP_VERSION, 'ExternalModel'));
  const externalModels: ExternalModelSpec[] = canonical.map((o) => readInferenceExternalModel(o, providers, issues));
  const pluginsMap = objects.find((o) => o.apiVersion === 'v1' && o.kind === 'ConfigMap' && o.metadata.name === PLUGINS_CONFIGMAP);
  const plugins = pluginsMap ? readPluginsConfig(pluginsMap, issues) : {};
  for (const o of objects) {
    if (is(o, MAAS_GROUP_VERSION, 'ExternalModel')) {
      if (canonical.some((c) => c.metadata.name === o.metadata.name && c.metadata.namespace === o.metadata.namespace)) continue;
      externalModels.push(readLegacyExternalModel(o, issues));
    } else if (is(o, MAAS_GROUP_VERSION, 'MaaSModelRef')) {
      modelRefs.push(readModelRef(o, issues));
    } else if (is(o, MAAS_GROUP_VERSION, 'MaaSAuthPolicy')) {
      if ((o.metadata.namespace ?? '') !== SUBSCRIPTION_NAMESPACE) {
        issues.push({ object: ref(o), field: 'metadata.namespace', message: `MaaSAuthPolicies are read only in ${SUBSCRIPTION_NAMESPACE}` });
        continue;
      }
      authPolicies.push(readAuthPolicy(o, issues));
    } else if (is(o, MAAS_GROUP_VERSION, 'MaaSSubscription')) {
      if ((o.metadata.namespace ?? '') !== SUBSCRIPTION_NAMESPACE) {
        issues.push({ object: ref(o), field: 'metadata.namespace', message: `MaaSSubscriptions are read only in ${SUBSCRIPTION_NAMESPACE}` });
        continue;
      }
      subscriptions.push(readSubscription(o));
    } else if (o.apiVersion === 'v1' && o.kind === 'Secret') {
      secrets.push(readProviderSecret(o));
    }
  }
  // Secrets the models point at, checked the way IPP will use them.
  for (const m of externalModels) {
    for (const r of m.routes) {
      const s = secrets.find((x) => x.name === r.credentialRef.name && x.namespace === r.credentialRef.namespace);
      const where = `ExternalModel/${m.namespace}/${m.name}`;
      if (!s) issues.push({ object: where, field: 'credentialRef', message: `Secret ${r.credentialRef.namespace}/${r.credentialRef.name} not found` });
      else if (!s.managed) issues.push({ object: `Secret/${s.namespace}/${s.name}`, field: `metadata.labels["${IPP_MANAGED_LABEL}"]`, message: 'missing: payload processing never sees this Secret' });
      else if (s.apiKey === undefined) issues.push({ object: `Secret/${s.namespace}/${s.name}`, field: `data["${PROVIDER_SECRET_KEY}"]`, message: `missing (data keys: ${s.dataKeys.join(', ') || 'none'})` });
      if (!r.tls && r.credentialRef.name) issues.push({ object: where, field: `metadata.annotations["${TLS_ANNOTATION}"]`, message: `"false": the provider key travels in clear to ${r.endpoint}:${r.port}` });
    }
  }
  return {
    maasApi: { ...defaultMaasApiKeysSpec(), ...base, subscriptions, authPolicies, modelRefs },
    payloadProcessing: {
      ...defaultPayloadProcessingSpec(),
      ...plugins,
      ...pp,
      externalModels,
      secrets,
      llmisvc: modelRefs.filter((m) => m.kind === 'LLMInferenceService' && m.resolvedModelAlias).map((m) => ({ modelName: m.target, publisherId: m.resolvedModelAlias! })),
    },
    issues,
  };
}

/**
 * What a subscription-era hop is programmed with: either its own typed spec (as the other hops), or
 * the era's Kubernetes objects themselves (`{objects, maasApi?, payloadProcessing?}`: the same
 * reading as a cluster's, with the hop's own configuration beside it). Unknown shapes are refused.
 */
export function subscriptionSpecs(spec: unknown): { maasApi: MaasApiKeysSpec; payloadProcessing: PayloadProcessingSpec } {
  const s = rec(spec);
  if (Array.isArray(s.objects)) {
    const t = readSubscriptionTopology(s.objects as K8sObject[], rec(s.maasApi) as Partial<MaasApiKeysSpec>, rec(s.payloadProcessing) as Partial<PayloadProcessingSpec>);
    return { maasApi: t.maasApi, payloadProcessing: t.payloadProcessing };
  }
  if (Array.isArray(s.subscriptions) && Array.isArray(s.modelRefs)) return { maasApi: { ...defaultMaasApiKeysSpec(), ...(s as Partial<MaasApiKeysSpec>) }, payloadProcessing: defaultPayloadProcessingSpec() };
  if (Array.isArray(s.externalModels) && Array.isArray(s.secrets)) return { maasApi: defaultMaasApiKeysSpec(), payloadProcessing: { ...defaultPayloadProcessingSpec(), ...(s as Partial<PayloadProcessingSpec>) } };
  throw new Error('not a subscription-era spec: expected {objects: [...]}, a maas-api spec or a payload-processing spec');
}
