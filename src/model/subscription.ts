/**
 * The subscription-era topology: what maas-api, the MaaS gateway and payload processing read from the
 * cluster (MaaSSubscription, MaaSAuthPolicy, MaaSModelRef, ExternalModel/ExternalProvider, provider
 * Secrets), as typed records. The local hops are programmed with these; `subscription-read.ts` builds
 * them from Kubernetes objects (the same reading serves `up --from` and doctor), and
 * `subscription-render.ts` renders the demo's objects.
 */

/** Namespace of MaaSSubscription / MaaSAuthPolicy for the default tenant (maas-api's informers watch it). */
export const SUBSCRIPTION_NAMESPACE = 'models-as-a-service';
/** Tenant every key of the default maas-api instance is bound to (column default of api_keys.tenant). */
export const DEFAULT_TENANT = 'models-as-a-service';
/** Label IPP's Secret reconciler selects on: a Secret without it is invisible to key injection. */
export const IPP_MANAGED_LABEL = 'inference.llm-d.ai/ipp-managed';
/** Data key of a provider Secret that holds the provider's API key. */
export const PROVIDER_SECRET_KEY = 'api-key';
/** The POC's older label, which IPP no longer reads. */
export const LEGACY_BBR_LABEL = 'inference.networking.k8s.io/bbr-managed';
export const TLS_ANNOTATION = 'maas.opendatahub.io/tls';
export const PORT_ANNOTATION = 'maas.opendatahub.io/port';
export const DISPLAY_NAME_ANNOTATION = 'openshift.io/display-name';
export const DESCRIPTION_ANNOTATION = 'openshift.io/description';
/** payload processing's plugin configuration (the request chain; response translation is opt-in). */
export const PLUGINS_CONFIGMAP = 'payload-processing-plugins';
/** The data key of that ConfigMap holding stage `main`'s configuration. */
export const PLUGINS_MAIN_KEY = 'custom-ipp-config.yaml';

export interface TokenRateLimit {
  limit: number;
  /** `^[1-9]\d{0,3}(s|m|h)$`, e.g. `1m`. */
  window: string;
}

export interface SubscriptionModelRef {
  name: string;
  namespace: string;
  tokenRateLimits: TokenRateLimit[];
  billingRate?: { perToken: string };
}

export interface TokenRateLimitStatus {
  model: string;
  name: string;
  namespace: string;
  ready: boolean;
  reason?: string;
  message?: string;
}

/** A MaaSSubscription as maas-api parses it (selector.go parseSubscription). */
export interface SubscriptionSpec {
  name: string;
  namespace: string;
  displayName?: string;
  description?: string;
  owner: { groups: string[]; users: string[] };
  priority: number;
  modelRefs: SubscriptionModelRef[];
  tokenMetadata?: { organizationId?: string; costCenter?: string; labels?: Record<string, string> };
  /** status.phase; '' when the controller has not reconciled it yet. */
  phase: string;
  /** The Ready condition is True. */
  ready: boolean;
  deletionTimestamp?: string;
  tokenRateLimitStatuses: TokenRateLimitStatus[];
}

/** A MaaSAuthPolicy: who (groups or users) may call which MaaSModelRefs. */
export interface AuthPolicySpec {
  name: string;
  namespace: string;
  modelRefs: { name: string; namespace: string }[];
  subjects: { groups: string[]; users: string[] };
  meteringMetadata?: { organizationId?: string; costCenter?: string; labels?: Record<string, string> };
  phase: string;
}

export type ModelRefKind = 'ExternalModel' | 'LLMInferenceService';

/** A MaaSModelRef with the status maas-controller gives it. */
export interface ModelRefSpec {
  name: string;
  namespace: string;
  kind: ModelRefKind;
  /** spec.modelRef.name: the ExternalModel or LLMInferenceService it points at. */
  target: string;
  annotations: Record<string, string>;
  /** Seconds since the epoch (metadata.creationTimestamp); /v1/models `created`. */
  created: number;
  phase: string;
  endpoint: string;
  httpRouteName?: string;
  httpRouteNamespace?: string;
  httpRouteHostnames?: string[];
  resolvedModelAlias?: string;
}

/** Providers whose API the payload processor knows how to speak (IPP translators / auth generators). */
export type ProviderKind = 'openai' | 'anthropic' | 'azure-openai' | 'vertex-openai' | 'bedrock-openai';

/**
 * One way to reach an external model: the provider, its host and port, TLS or not, the model name the
 * provider knows, and the Secret holding its key. Both ExternalModel generations are read into this.
 */
export interface ProviderRoute {
  provider: string;
  /** FQDN (no scheme, no path), e.g. `api.openai.com`. */
  endpoint: string;
  port: number;
  /** TLS origination (annotation `maas.opendatahub.io/tls`, default true). */
  tls: boolean;
  targetModel: string;
  /** The path requests go to at the provider (canonical ExternalModel `path`; legacy: per provider). */
  path: string;
  /** Request/response API shape the provider speaks: `openai` chat completions or `messages` (Anthropic). */
  apiFormat: string;
  weight: number;
  /** Secret with the key, in the model's namespace. */
  credentialRef: { name: string; namespace: string };
}

/** An ExternalModel as payload processing resolves it. */
export interface ExternalModelSpec {
  name: string;
  namespace: string;
  /** Which CRD it came from: legacy `maas.opendatahub.io` or canonical `inference.opendatahub.io`. */
  source: 'maas' | 'inference';
  /** The model name clients put in the body (`spec.modelName`, else the targetModel of the first ref). */
  modelName: string;
  routes: ProviderRoute[];
}

/**
 * A provider Secret as IPP's Secret store keeps it: only Secrets carrying the managed label are
 * present; `keys` lists the data keys (never the values), `apiKey` is the `api-key` value.
 */
export interface ProviderSecretSpec {
  name: string;
  namespace: string;
  managed: boolean;
  dataKeys: string[];
  /** The `api-key` value; absent when the Secret has no such data key. */
  apiKey?: string;
}

/** maas-api's part of the topology (what its informers and configuration give it). */
export interface MaasApiKeysSpec {
  /** TENANT_NAME: the tenant every key is created in and every query is scoped to. */
  tenant: string;
  /** API_KEY_MAX_EXPIRATION_DAYS (default 90). */
  maxExpirationDays: number;
  /** LAST_USED_DEBOUNCE_SECS (default 60; 0 writes last_used_at on every validation). */
  lastUsedDebounceSeconds: number;
  /**
   * Who counts as an admin (upstream: a SubjectAccessReview "can create maasauthpolicies in the
   * subscription namespace"). Admins may search, revoke and bulk-revoke other users' keys.
   */
  admins: { users: string[]; groups: string[] };
  subscriptions: SubscriptionSpec[];
  authPolicies: AuthPolicySpec[];
  modelRefs: ModelRefSpec[];
}

export function defaultMaasApiKeysSpec(): MaasApiKeysSpec {
  return { tenant: DEFAULT_TENANT, maxExpirationDays: 90, lastUsedDebounceSeconds: 60, admins: { users: [], groups: [] }, subscriptions: [], authPolicies: [], modelRefs: [] };
}

/** The request plugin chain of payload processing's second stage, as upstream configures it. */
export const DEFAULT_REQUEST_PLUGINS = ['maas-headers-guard', 'stream-usage-enforcer', 'model-provider-resolver', 'api-translation', 'apikey-injection'] as const;
export type RequestPlugin = (typeof DEFAULT_REQUEST_PLUGINS)[number];

/**
 * Payload processing's part of the topology: the ExternalModels and Secrets its reconcilers cache,
 * KServe model names it maps to publisher IDs, and its plugin configuration (ConfigMap
 * payload-processing-plugins): the request chain and whether response translation is on (upstream's
 * default is off; Anthropic needs it on).
 */
export interface PayloadProcessingSpec {
  externalModels: ExternalModelSpec[];
  /** LLMInferenceService served names → publisher IDs (`publishers/<ns>/models/<name>`). */
  llmisvc: { modelName: string; publisherId: string }[];
  secrets: ProviderSecretSpec[];
  requestPlugins: RequestPlugin[];
  responseTranslation: boolean;
}

export function defaultPayloadProcessingSpec(): PayloadProcessingSpec {
  return { externalModels: [], llmisvc: [], secrets: [], requestPlugins: [...DEFAULT_REQUEST_PLUGINS], responseTranslation: false };
}
