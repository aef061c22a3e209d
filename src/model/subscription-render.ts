/**
 * The demo's objects for the subscription era, in the order upstream's external-model setup walks
 * them (contracts-subscription-era §8): provider credentials, external models, the catalog
 * (MaaSModelRef), access and limits (MaaSAuthPolicy, MaaSSubscription). A pure plan: the local target
 * reads it back through `readSubscriptionTopology`, a cluster applies it, `demo manifests` prints it.
 * With `status: true` each object carries the status its controller sets once reconciled
 * (MaaSModelRef Ready with its endpoint, MaaSSubscription Active, …), which is what the local target
 * runs since no controller runs there. Provider keys are revealed only when asked (`keys: 'reveal'`).
 */
import { DEMO_NAME, LABEL_MANAGED_BY, LABEL_PART_OF, LABEL_STEP, type K8sObject } from './k8s-object.js';
import { INFERENCE_GROUP_VERSION, MAAS_GROUP_VERSION } from './subscription-read.js';
import { stringify } from 'yaml';
import { IPP_MANAGED_LABEL, PLUGINS_CONFIGMAP, PORT_ANNOTATION, PROVIDER_SECRET_KEY, SUBSCRIPTION_NAMESPACE, TLS_ANNOTATION, DEFAULT_REQUEST_PLUGINS } from './subscription.js';

/** Steps of the era (slugs double as the step label value and the hint anchor). */
export const SUBSCRIPTION_STEPS = [
  { id: 's1', slug: 'provider-credentials', title: 'Provider API keys in Secrets payload processing can read' },
  { id: 's2', slug: 'external-models', title: 'ExternalModels: one route per provider, TLS origination' },
  { id: 's3', slug: 'model-catalog', title: 'MaaSModelRefs: the models MaaS lists and routes' },
  { id: 's4', slug: 'access-and-limits', title: 'MaaSAuthPolicy and MaaSSubscription: who may call what, with which token budget' },
] as const;
export type SubscriptionStepId = (typeof SUBSCRIPTION_STEPS)[number]['id'];

export interface ExternalProviderPlan {
  /** ExternalModel / MaaSModelRef name, e.g. `gpt-4o`. */
  name: string;
  provider: 'openai' | 'anthropic' | 'azure-openai' | 'vertex-openai' | 'bedrock-openai';
  /** FQDN without scheme, e.g. `api.anthropic.com`. */
  endpoint: string;
  targetModel: string;
  tls: boolean;
  port?: number;
  /** Anything with `reveal()` (core/secret.ts `Secret`), so the plan never holds a bare string. */
  key: { reveal(): string };
}

export interface SubscriptionDemoPlan {
  modelNamespace: string;
  /** Host (and port) of the MaaS gateway: status.endpoint is `https://<host>/<ns>/<name>`. */
  gatewayHost: string;
  providers: ExternalProviderPlan[];
  /** On-prem models served by KServe (MaaSModelRef kind LLMInferenceService). */
  onprem: { name: string; llmisvc: string; alias?: string }[];
  subscription: { name: string; groups: string[]; users: string[]; priority: number; limit: number; window: string; displayName?: string; description?: string };
  /** Further subscriptions, each over some of the models (by ExternalModel or on-prem name). */
  extraSubscriptions?: { name: string; models: string[]; groups: string[]; users: string[]; priority: number; limit: number; window: string; displayName?: string; description?: string }[];
  /**
   * payload processing's plugin ConfigMap (`payload-processing-plugins` in the gateway namespace), as
   * the controller creates it and a user edits it: response translation is upstream's opt-in, needed
   * for Anthropic. Absent: not rendered (the platform's default stays).
   */
  plugins?: { namespace: string; responseTranslation: boolean };
  authPolicy: { name: string; groups: string[]; users: string[] };
  /** Legacy `maas.opendatahub.io` ExternalModels (what the setup guide uses) or canonical ExternalProvider + ExternalModel. */
  generation: 'legacy' | 'canonical';
  keys: 'reveal' | 'mask';
  status: boolean;
  /** Timestamp written into statuses (default now). */
  now?: Date;
}

const MASK = '********';
const maskOf = (key: { reveal(): string; masked?: string }) => (typeof key.masked === 'string' ? key.masked : MASK);

function labels(step: SubscriptionStepId, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL_MANAGED_BY]: DEMO_NAME, [LABEL_PART_OF]: DEMO_NAME, [LABEL_STEP]: step, ...extra };
}

const secretName = (p: ExternalProviderPlan) => `${p.name}-api-key`;

function condition(type: string, reason: string, now: string, message = ''): Record<string, unknown> {
  return { type, status: 'True', reason, message, lastTransitionTime: now };
}

/** The demo's objects, step by step (each object labelled with its step). */
export function renderSubscriptionDemo(plan: SubscriptionDemoPlan): { step: SubscriptionStepId; objects: K8sObject[] }[] {
  const now = (plan.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ns = plan.modelNamespace;
  const withStatus = (o: K8sObject, status: Record<string, unknown>): K8sObject => (plan.status ? { ...o, status } : o);

  const credentials: K8sObject[] = plan.providers.map((p) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(p), namespace: ns, labels: labels('s1', { [IPP_MANAGED_LABEL]: 'true' }) },
    type: 'Opaque',
    // Masked as the Secret class masks it, so that `up --from` of printed manifests knows the configured key.
    stringData: { [PROVIDER_SECRET_KEY]: plan.keys === 'reveal' ? p.key.reveal() : maskOf(p.key) },
  }));

  const annotationsOf = (p: ExternalProviderPlan): Record<string, string> | undefined =>
    p.tls && (p.port === undefined || p.port === 443) ? undefined : { [TLS_ANNOTATION]: String(p.tls), ...(p.port !== undefined ? { [PORT_ANNOTATION]: String(p.port) } : {}) };

  const externalModels: K8sObject[] = plan.providers.flatMap((p): K8sObject[] => {
    const annotations = annotationsOf(p);
    if (plan.generation === 'legacy') {
      return [withStatus({
        apiVersion: MAAS_GROUP_VERSION,
        kind: 'ExternalModel',
        metadata: { name: p.name, namespace: ns, labels: labels('s2'), ...(annotations ? { annotations } : {}) },
        spec: { provider: p.provider, endpoint: p.endpoint, targetModel: p.targetModel, credentialRef: { name: secretName(p) } },
      }, { phase: 'Ready', conditions: [condition('Ready', 'Reconciled', now, `HTTPRoute maas-${p.name} accepted`)] })];
    }
    const providerName = `${p.name}-provider`;
    return [
      withStatus({
        apiVersion: INFERENCE_GROUP_VERSION,
        kind: 'ExternalProvider',
        metadata: { name: providerName, namespace: ns, labels: labels('s2'), ...(annotations ? { annotations } : {}) },
        spec: { provider: p.provider, endpoint: p.endpoint, auth: { type: 'apikey', secretRef: { name: secretName(p) } } },
      }, { phase: 'Ready', conditions: [condition('Ready', 'Reconciled', now)] }),
      withStatus({
        apiVersion: INFERENCE_GROUP_VERSION,
        kind: 'ExternalModel',
        metadata: { name: p.name, namespace: ns, labels: labels('s2') },
        spec: {
          modelName: p.name,
          externalProviderRefs: [{ ref: { name: providerName }, targetModel: p.targetModel, apiFormat: p.provider === 'anthropic' ? 'messages' : 'openai-chat', path: p.provider === 'anthropic' ? '/v1/messages' : '/v1/chat/completions', weight: 1 }],
        },
      }, { phase: 'Ready', httpRouteName: `maas-${p.name}`, conditions: [condition('Ready', 'Reconciled', now)] }),
    ];
  });

  const modelRef = (name: string, kind: 'ExternalModel' | 'LLMInferenceService', target: string, alias?: string): K8sObject =>
    withStatus({
      apiVersion: MAAS_GROUP_VERSION,
      kind: 'MaaSModelRef',
      metadata: { name, namespace: ns, labels: labels('s3') },
      spec: { modelRef: { kind, name: target } },
    }, {
      phase: 'Ready',
      endpoint: `https://${plan.gatewayHost}/${ns}/${name}`,
      httpRouteName: kind === 'ExternalModel' ? `maas-${target}` : `${target}-kserve-route`,
      httpRouteNamespace: ns,
      httpRouteGatewayName: 'maas-default-gateway',
      httpRouteGatewayNamespace: 'openshift-ingress',
      ...(alias ? { resolvedModelAlias: alias } : {}),
      conditions: [condition('Ready', 'Reconciled', now), condition('RuntimeReady', 'RuntimeHealthy', now), condition('ModelIdentityUnique', 'Valid', now)],
    });
  const catalog = [
    ...plan.providers.map((p) => modelRef(p.name, 'ExternalModel', p.name)),
    ...plan.onprem.map((m) => modelRef(m.name, 'LLMInferenceService', m.llmisvc, m.alias)),
  ];

  const allModels = [...plan.providers.map((p) => p.name), ...plan.onprem.map((m) => m.name)];
  const refs = allModels.map((name) => ({ name, namespace: ns }));
  const s = plan.subscription;
  const groupRefs = (groups: string[]) => groups.map((name) => ({ name }));
  const authPolicy = withStatus({
    apiVersion: MAAS_GROUP_VERSION,
    kind: 'MaaSAuthPolicy',
    metadata: { name: plan.authPolicy.name, namespace: SUBSCRIPTION_NAMESPACE, labels: labels('s4') },
    spec: {
      modelRefs: refs,
      subjects: { ...(plan.authPolicy.groups.length ? { groups: groupRefs(plan.authPolicy.groups) } : {}), ...(plan.authPolicy.users.length ? { users: plan.authPolicy.users } : {}) },
    },
  }, {
    phase: 'Active',
    conditions: [condition('Ready', 'Reconciled', now)],
    authPolicies: allModels.map((model) => ({ name: 'maas-gateway-auth', namespace: 'openshift-ingress', model, modelNamespace: ns, ready: true, reason: 'AcceptedEnforced', message: 'AuthPolicy enforced' })),
  });
  const subscriptionObject = (sub: SubscriptionDemoPlan['subscription'], models: string[]): K8sObject =>
    withStatus({
      apiVersion: MAAS_GROUP_VERSION,
      kind: 'MaaSSubscription',
      metadata: {
        name: sub.name,
        namespace: SUBSCRIPTION_NAMESPACE,
        labels: labels('s4'),
        ...(sub.displayName || sub.description ? { annotations: { ...(sub.displayName ? { 'openshift.io/display-name': sub.displayName } : {}), ...(sub.description ? { 'openshift.io/description': sub.description } : {}) } } : {}),
      },
      spec: {
        owner: { ...(sub.groups.length ? { groups: groupRefs(sub.groups) } : {}), ...(sub.users.length ? { users: sub.users } : {}) },
        modelRefs: models.map((name) => ({ name, namespace: ns, tokenRateLimits: [{ limit: sub.limit, window: sub.window }] })),
        priority: sub.priority,
      },
    }, {
      phase: 'Active',
      conditions: [condition('Ready', 'Reconciled', now)],
      modelRefStatuses: models.map((name) => ({ name, namespace: ns, ready: true, reason: 'Valid' })),
      tokenRateLimitStatuses: models.map((model) => ({ model, name: `maas-trlp-${model}`, namespace: ns, ready: true, reason: 'Enforced' })),
    });
  const subscriptions = [subscriptionObject(s, allModels), ...(plan.extraSubscriptions ?? []).map((x) => subscriptionObject(x, x.models.filter((m) => allModels.includes(m))))];
  const plugins: K8sObject[] = plan.plugins
    ? [{
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: PLUGINS_CONFIGMAP, namespace: plan.plugins.namespace, labels: labels('s2'), annotations: { 'opendatahub.io/managed': 'false' } },
        data: pluginsConfigData(plan.plugins.responseTranslation),
      }]
    : [];

  return [
    { step: 's1', objects: credentials },
    { step: 's2', objects: [...externalModels, ...plugins] },
    { step: 's3', objects: catalog },
    { step: 's4', objects: [authPolicy, ...subscriptions] },
  ];
}

/**
 * The data of `payload-processing-plugins` as upstream ships it (stage `pre`: body field → header, then
 * the resolver; stage `main`: the request chain), with response translation added when asked.
 */
export function pluginsConfigData(responseTranslation: boolean): Record<string, string> {
  const pre = {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'PayloadProcessorConfig',
    plugins: [{ type: 'body-field-to-header', name: 'model-extractor', parameters: { fieldName: 'model', headerName: 'X-Gateway-Model-Name' } }, { type: 'model-provider-resolver' }],
    profiles: [{ name: 'default', plugins: { request: [{ pluginRef: 'model-extractor' }, { pluginRef: 'model-provider-resolver' }] } }],
  };
  const main = {
    apiVersion: 'llm-d.ai/v1alpha1',
    kind: 'PayloadProcessorConfig',
    plugins: DEFAULT_REQUEST_PLUGINS.map((type) => (type === 'maas-headers-guard' ? { type, name: type } : { type })),
    profiles: [{ name: 'default', plugins: { request: DEFAULT_REQUEST_PLUGINS.map((pluginRef) => ({ pluginRef })), response: responseTranslation ? [{ pluginRef: 'api-translation' }] : [] } }],
  };
  return { 'custom-pre-processing-ipp-config.yaml': stringify(pre), 'custom-ipp-config.yaml': stringify(main) };
}
