/**
 * The subscription era's deployment steps, as upstream's external-model setup walks them
 * (contracts-subscription-era §8): provider credentials, external models, the catalog, access and
 * limits. Each step is data: the objects it applies and the readiness conditions it waits for, the
 * same on a cluster and locally (where each condition is proven by a local probe). The objects are
 * rendered without status: controllers set it (locally, model/subscription-status.ts stands in).
 */
import type { DemoConfig } from '../../core/config.js';
import type { WaitSpec } from '../../core/step.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { renderSubscriptionDemo, SUBSCRIPTION_STEPS, type SubscriptionStepId } from '../../model/subscription-render.js';
import { MAAS_GROUP_VERSION } from '../../model/subscription-read.js';
import { SUBSCRIPTION_NAMESPACE } from '../../model/subscription.js';
import type { EraProvider } from './providers.js';

/** Where the era's models live (upstream's guide uses `llm`). */
export const MODEL_NAMESPACE = 'llm';
/** The demo's subscription: every model, the budget of the seed's free tier per model. */
export const DEMO_SUBSCRIPTION = 'demo-subscription';
/** A second subscription over the first model only: a key bound to it lists that one model. */
export const BASIC_SUBSCRIPTION = 'demo-basic';
export const DEMO_AUTH_POLICY = 'demo-access';
/** The group every authenticated user has: the subscriptions and the policy grant it, as upstream's guide does. */
export const EVERYONE = 'system:authenticated';
/** The singleton gateway AuthPolicy maas-controller builds from every MaaSAuthPolicy. */
export const GATEWAY_AUTH_POLICY = 'maas-gateway-auth';
/** The Deployment of payload processing in the gateway namespace. */
export const PAYLOAD_PROCESSING = 'payload-processing';

export interface EraStep {
  id: SubscriptionStepId;
  slug: string;
  title: string;
  explain: string;
  objects: K8sObject[];
  waits: WaitSpec[];
  /** docs anchor answering a failure of this step. */
  hint: string;
}

/** The demo subscription's limit per model: the seed's free tier budget and window, as tiers became subscriptions. */
export function demoBudget(cfg: DemoConfig): { limit: number; window: string } {
  const free = [...cfg.rateLimit.tiers].sort((a, b) => a.level - b.level)[0];
  const seconds = cfg.rateLimit.windowSeconds;
  const window = seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
  return { limit: free?.tokensPerWindow ?? 100, window };
}

const EXPLAIN: Record<SubscriptionStepId, string> = {
  s1:
    'Each provider key goes into a Secret in the model namespace, under the data key api-key and with the label ' +
    'inference.llm-d.ai/ipp-managed=true: payload processing only ever sees Secrets that carry it, and injects the key itself, so no key sits in a policy.',
  s2:
    'An ExternalModel names the provider, its endpoint and the model it serves there. Its reconciler routes /<ns>/<name> and ' +
    'X-Gateway-Model-Name to the endpoint, with TLS origination unless the model says tls: "false" (the internal vLLM). ' +
    'Response translation is switched on in payload processing, since Anthropic answers in its own shape.',
  s3: 'A MaaSModelRef puts each model in the catalog: once Ready it has an endpoint, /v1/models lists it and subscriptions can name it.',
  s4:
    'A MaaSAuthPolicy says who may call which models; a MaaSSubscription gives them a token budget per model. The controller ' +
    'turns them into the gateway AuthPolicy maas-gateway-auth and one TokenRateLimitPolicy maas-trlp-<model> per model.',
};

/**
 * The era's steps for these providers. `keys: 'mask'` is for printing (`demo manifests`); a run
 * applies the keys. `gatewayHost` only matters to statuses, which are not rendered here.
 */
export function subscriptionSteps(
  cfg: DemoConfig,
  providers: readonly EraProvider[],
  opts: {
    keys: 'reveal' | 'mask';
    /** Legacy `maas.opendatahub.io` ExternalModels (upstream's setup guide, the default) or canonical ExternalProvider + ExternalModel. */
    externalModels?: 'legacy' | 'canonical';
    /** On-prem models served by KServe, each a MaaSModelRef of kind LLMInferenceService (a cluster runs them). */
    onprem?: { name: string; llmisvc: string }[];
  },
): EraStep[] {
  const budget = demoBudget(cfg);
  const gatewayNamespace = cfg.maas.gatewayNamespace;
  const rendered = renderSubscriptionDemo({
    modelNamespace: MODEL_NAMESPACE,
    gatewayHost: '',
    providers: providers.map((p) => ({
      name: p.modelName,
      provider: p.provider,
      endpoint: p.endpoint,
      targetModel: p.targetModel,
      tls: p.tls,
      ...(p.port !== 443 || !p.tls ? { port: p.port } : {}),
      key: cfg.providers.find((c) => c.name === p.name)!.key,
    })),
    onprem: opts.onprem ?? [],
    subscription: { name: DEMO_SUBSCRIPTION, groups: [EVERYONE], users: [], priority: 10, ...budget, displayName: 'Demo subscription', description: 'Every model of the demo' },
    extraSubscriptions: providers.length
      ? [{ name: BASIC_SUBSCRIPTION, models: [providers[0]!.modelName], groups: [EVERYONE], users: [], priority: 0, ...budget, displayName: 'Basic', description: `Only ${providers[0]!.modelName}` }]
      : [],
    authPolicy: { name: DEMO_AUTH_POLICY, groups: [EVERYONE], users: [] },
    plugins: { namespace: gatewayNamespace, responseTranslation: providers.some((p) => p.provider === 'anthropic') },
    generation: opts.externalModels ?? 'legacy',
    keys: opts.keys,
    status: false,
  });
  const gateway = { namespace: gatewayNamespace, name: cfg.maas.gatewayName };
  return rendered.map(({ step, objects }) => {
    const def = SUBSCRIPTION_STEPS.find((s) => s.id === step)!;
    return { id: step, slug: def.slug, title: def.title, explain: EXPLAIN[step], objects, waits: stepWaits(step, objects, gateway), hint: `subscription-step-${def.slug}` };
  });
}

const TIMEOUT = 120_000;

/** What each step waits for, as a cluster would watch it. */
export function stepWaits(step: SubscriptionStepId, objects: readonly K8sObject[], gateway: { namespace: string; name: string }): WaitSpec[] {
  const cond = (o: K8sObject, type = 'Ready'): WaitSpec => ({ kind: 'condition', apiVersion: o.apiVersion, resource: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name, type, timeoutMs: TIMEOUT });
  switch (step) {
    case 's1':
      // IPP watches labelled Secrets; its Deployment being rolled out is what a cluster can watch.
      return [{ kind: 'rollout', namespace: gateway.namespace, name: PAYLOAD_PROCESSING, timeoutMs: TIMEOUT }];
    case 's2':
      return [
        ...objects.filter((o) => o.kind === 'ExternalProvider').map((o) => cond(o)),
        ...objects
        .filter((o) => o.kind === 'ExternalModel')
        .flatMap((o): WaitSpec[] => [cond(o), { kind: 'route-accepted', namespace: o.metadata.namespace ?? '', name: `maas-${o.metadata.name}`, parent: gateway, conditions: ['Accepted', 'ResolvedRefs'], timeoutMs: TIMEOUT }]),
      ];
    case 's3':
      return objects.filter((o) => o.kind === 'MaaSModelRef').map((o) => cond(o));
    case 's4': {
      const models = [...new Set(objects.filter((o) => o.kind === 'MaaSSubscription').flatMap((o) => ((o.spec as { modelRefs?: { name: string; namespace: string }[] }).modelRefs ?? []).map((r) => `${r.namespace}/${r.name}`)))];
      return [
        ...objects.filter((o) => o.kind === 'MaaSAuthPolicy' || o.kind === 'MaaSSubscription').map((o) => cond(o)),
        { kind: 'policy-enforced', apiVersion: 'kuadrant.io/v1', resource: 'AuthPolicy', namespace: gateway.namespace, name: GATEWAY_AUTH_POLICY, timeoutMs: TIMEOUT },
        ...models.map((m): WaitSpec => ({ kind: 'policy-enforced', apiVersion: 'kuadrant.io/v1alpha1', resource: 'TokenRateLimitPolicy', namespace: m.split('/')[0]!, name: `maas-trlp-${m.split('/')[1]}`, timeoutMs: TIMEOUT })),
      ];
    }
  }
}

/** Readiness of era objects that come without a step (`up --from FILE`), grouped as the steps group them. */
export function waitsForEraObjects(objects: readonly K8sObject[], gateway: { namespace: string; name: string }): WaitSpec[] {
  const by = (kinds: string[]) => objects.filter((o) => kinds.includes(o.kind));
  return [
    ...(by(['Secret']).length ? stepWaits('s1', by(['Secret']), gateway) : []),
    ...stepWaits('s2', by(['ExternalProvider', 'ExternalModel']), gateway),
    ...stepWaits('s3', by(['MaaSModelRef']), gateway),
    ...(by(['MaaSAuthPolicy', 'MaaSSubscription']).length ? stepWaits('s4', by(['MaaSAuthPolicy', 'MaaSSubscription']), gateway) : []),
  ];
}

/** Is this object one the subscription era reads? (`up --from` tells the eras apart by their objects.) */
export function isEraObject(o: K8sObject): boolean {
  return o.apiVersion === MAAS_GROUP_VERSION || o.apiVersion.startsWith('inference.opendatahub.io/') || (o.kind === 'Secret' && o.metadata.namespace === MODEL_NAMESPACE);
}

export { SUBSCRIPTION_NAMESPACE };
