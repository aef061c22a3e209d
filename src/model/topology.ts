/**
 * The topology model both targets and doctor share, shaped after the cluster objects each hop stands in for:
 * bridge routes + AuthPolicies on the MaaS gateway, the TokenRateLimitPolicy, egress HTTPRoutes +
 * XBackendDestinations, the external model registry. Each hop process is programmed with its part
 * (like xDS), and named faults are mutations of this spec — the same mistakes a person can make
 * in the YAML — so doctor diagnoses configuration and behaviour, not a test switch.
 */
import type { DemoConfig } from '../core/config.js';
import { onpremPrefix } from '../core/config.js';

export interface BridgeSpec {
  /** HTTPRoute name, e.g. openai-bridge. */
  name: string;
  provider: string;
  /** Gateway API PathPrefix, e.g. /external/openai/. */
  pathPrefix: string;
  /** URLRewrite ReplacePrefixMatch, e.g. /openai/; null when the route has no rewrite filter. */
  rewritePrefix: string | null;
  /** RequestHeaderModifier remove list (lower-case). */
  removeHeaders: string[];
  /** The route's AuthPolicy; null when none is attached (the route is then open). */
  auth: {
    audiences: string[];
    /**
     * response.success.headers: the provider key injected on success. `expression` (cluster) is the CEL
     * text when the value is computed at request time (a Secret lookup, metadata): `value` is then unknown.
     */
    inject: { header: string; value: string; expression?: string } | null;
    /**
     * An authorization rule of the policy: the identity's tier (from the token's namespace) must be one
     * of these. Absent (the tier-era policy): a token of a namespace that maps to no tier passes, and
     * the TokenRateLimitPolicy has no limit for it, so it is never limited.
     */
    allowedTiers?: string[];
  } | null;
}

export interface OnpremRouteSpec {
  name: string;
  /** `/<namespace>/<name>` as KServe generates it. */
  pathPrefix: string;
  /** URLRewrite ReplacePrefixMatch (KServe sets `/`); null = the route has no URLRewrite filter. */
  rewritePrefix: string | null;
  namespace: string;
  model: string;
  /** Tiers granted `post` on the LLMInferenceService; empty = all tiers (annotation `[]`). */
  allowedTiers: string[];
}

export interface RateLimitSpec {
  /** False: no TokenRateLimitPolicy at all. */
  enabled: boolean;
  /** False: the policy admits but never receives usage reports (the "never counts" fault). */
  countUsage: boolean;
  windowSeconds: number;
  limits: { tier: string; tokens: number }[];
  /**
   * Reserve the request's estimate (prompt + max_tokens) at admission and settle on the response.
   * False: Limitador's check-then-report, so every request in flight when the budget runs out is
   * admitted (burst overshoot).
   */
  strictBudget: boolean;
  /** Requests one user may have in flight at once (`--hardened`); absent or 0: no cap. */
  maxConcurrentPerUser?: number;
}

export interface MaasGatewaySpec {
  /** Listener hostnames (host:port forms are accepted for each). */
  hostnames: string[];
  audience: string;
  issuer: string;
  /** Groups of the cluster user (for the maas-api policy's identity). */
  user: { name: string; groups: string[] };
  bridges: BridgeSpec[];
  onprem: OnpremRouteSpec[];
  rateLimit: RateLimitSpec;
  /** Upstream base URLs, filled in as hops start. */
  upstreams: { egress?: string; maasApi?: string; onprem?: string };
  /** Tier lookup for the gateway policy on /llm/ (maas-api's /v1/tiers/lookup). */
  tiers: { name: string; level: number; groups: string[] }[];
  instance: string;
  /**
   * How an injected header meets one the request already has: wasm-shim replaces it (≤ v0.11, ≥ v0.12.1)
   * but v0.12.0 appends a second one (contracts §9.8). Absent: replace.
   */
  injectMode?: 'replace' | 'append';
  /**
   * maas-api-auth-policy accepts only the cluster user's identity on the tokens path (an authorization
   * rule denying service accounts). Absent or false, the tier-era policy: a MaaS token (a service
   * account's) mints another token, for a new service account with a fresh budget (token chaining).
   */
  tokensRequireUserIdentity?: boolean;
  /**
   * The payload processor's stream-usage-enforcer runs before the rate limit: streamed requests get
   * `stream_options.include_usage`, so their tokens are counted. Absent or false: a stream whose client
   * did not ask for usage is never counted.
   */
  streamUsageEnforcer?: boolean;
}

export interface EgressRouteSpec {
  name: string;
  provider: string;
  pathPrefix: string;
  /** ReplacePrefixMatch; null = no URLRewrite filter; '' behaves as unset (proto3), i.e. no rewrite. */
  rewritePrefix: string | null;
  backendRef: { kind: string; name: string; port: number };
  removeHeaders: string[];
  /** HTTPRoute `timeouts.request`; absent: Envoy's default route timeout of 15 s. */
  timeoutMs?: number;
}

export interface BackendSpec {
  /** XBackendDestination name. */
  name: string;
  hostname: string;
  ports: number[];
  scheme: 'http' | 'https';
}

export interface EgressSpec {
  /** The controller carries the prefix-rewrite fix (wg-ai-gateway PR #38). */
  controllerFixed: boolean;
  /** `trace` logs request headers (the seeds' Envoy runs with --log-level trace). */
  logLevel: 'info' | 'trace';
  /** Who writes the Envoy's arguments and puts them back on each reconcile (a cluster's wg controller). */
  logLevelForcedBy?: string;
  routes: EgressRouteSpec[];
  backends: BackendSpec[];
  /**
   * The local stand-in for cluster DNS: `hostname:port` of a backend → loopback `127.0.0.1:port`.
   * A backend whose name is missing here (and is not an IP literal) gets 503 `no healthy upstream`.
   */
  dns: Record<string, string>;
  /**
   * Services a route may name with backendRef kind `Service` (EDS from their endpoints): name,
   * namespace and port. Absent where unknown; a Service backendRef missing from here does not resolve.
   */
  services?: { name: string; namespace: string; ports: number[] }[];
}

export interface MaasApiSpec {
  instance: string;
  audience: string;
  issuer: string;
  minTokenSeconds: number;
  defaultTokenSeconds: number;
  /** Longest token maas-api mints (`--hardened`; config maas.maxTokenSeconds); absent or 0: unbounded, as the tier-era maas-api. */
  maxTokenSeconds?: number;
  tiers: { name: string; level: number; groups: string[] }[];
  /** external-model-registry ConfigMap `models`; null when the ConfigMap is absent. */
  registry: { id: string; provider: string; backend: string }[] | null;
  /** Why maas-api cannot read the registry although one exists (cluster: another namespace, YAML it cannot parse). */
  registryProblem?: string;
  /** The namespace a registry ConfigMap was found in instead of maas-api's own. */
  registryElsewhere?: string;
  onprem: { id: string; namespace: string; name: string; upstream: string; publicUrl: string }[];
}

export interface TopologySpec {
  maasGateway: MaasGatewaySpec;
  egress: EgressSpec;
  maasApi: MaasApiSpec;
}

export function bridgeFor(cfg: DemoConfig, provider: DemoConfig['providers'][number], opts: { hardened?: boolean } = {}): BridgeSpec {
  const keyIsAuthorization = provider.keyHeader === 'authorization';
  return {
    name: `${provider.name}-bridge`,
    provider: provider.name,
    pathPrefix: `/external/${provider.name}/`,
    rewritePrefix: `/${provider.name}/`,
    // Never forward the user's MaaS token to a provider. When the key travels in Authorization,
    // injection replaces the header, so there is nothing to remove.
    removeHeaders: keyIsAuthorization ? [] : ['authorization'],
    auth: {
      audiences: [cfg.maas.audience],
      inject: keyIsAuthorization
        ? { header: 'authorization', value: `Bearer ${provider.key.reveal()}` }
        : { header: provider.keyHeader, value: provider.key.reveal() },
      ...(opts.hardened ? { allowedTiers: cfg.rateLimit.tiers.map((t) => t.name) } : {}),
    },
  };
}

export function egressRouteFor(provider: DemoConfig['providers'][number]): EgressRouteSpec {
  return {
    name: `${provider.name}-route`,
    provider: provider.name,
    pathPrefix: `/${provider.name}/`,
    rewritePrefix: '/',
    backendRef: { kind: 'Backend', name: provider.backend, port: 8000 },
    removeHeaders: [],
  };
}

export interface BaseSpecOptions {
  host: string;
  strictBudget: boolean;
  /** `demo up --hardened`: the object changes that close the tier era's exposures (see {@link harden}). */
  hardened?: boolean;
}

/** The spec of a healthy topology, before any step has programmed the hops. */
export function baseSpec(cfg: DemoConfig, opts: BaseSpecOptions): TopologySpec {
  const spec = tierEraSpec(cfg, opts);
  return opts.hardened ? harden(spec, cfg) : spec;
}

/**
 * The changes `--hardened` makes, as object fields: the tokens route takes only the user's identity,
 * streams are counted, budgets are reserved at admission, tokens live at most `maas.maxTokenSeconds`,
 * tokens of no tier are refused, and one user has at most `rateLimit.maxConcurrentPerUser` requests in
 * flight. Bridges added later get the tier rule through {@link bridgeFor}'s `hardened` option.
 */
export function harden(spec: TopologySpec, cfg: DemoConfig): TopologySpec {
  spec.maasGateway.tokensRequireUserIdentity = true;
  spec.maasGateway.streamUsageEnforcer = true;
  spec.maasGateway.rateLimit.strictBudget = true;
  spec.maasGateway.rateLimit.maxConcurrentPerUser = cfg.rateLimit.maxConcurrentPerUser;
  spec.maasApi.maxTokenSeconds = cfg.maas.maxTokenSeconds;
  for (const b of spec.maasGateway.bridges) if (b.auth) b.auth.allowedTiers = cfg.rateLimit.tiers.map((t) => t.name);
  return spec;
}

function tierEraSpec(cfg: DemoConfig, opts: BaseSpecOptions): TopologySpec {
  const tiers = cfg.rateLimit.tiers.map((t) => ({ name: t.name, level: t.level, groups: t.groups }));
  return {
    maasGateway: {
      hostnames: [opts.host, `localhost:${opts.host.split(':')[1] ?? ''}`],
      audience: cfg.maas.audience,
      issuer: cfg.maas.issuer,
      user: cfg.user,
      bridges: [],
      onprem: [],
      rateLimit: {
        enabled: true,
        countUsage: true,
        windowSeconds: cfg.rateLimit.windowSeconds,
        limits: cfg.rateLimit.tiers.map((t) => ({ tier: t.name, tokens: t.tokensPerWindow })),
        strictBudget: opts.strictBudget,
      },
      upstreams: {},
      tiers,
      instance: cfg.maas.gatewayName,
    },
    egress: { controllerFixed: true, logLevel: 'info', routes: [], backends: [], dns: {} },
    maasApi: {
      instance: cfg.maas.gatewayName,
      audience: cfg.maas.audience,
      issuer: cfg.maas.issuer,
      minTokenSeconds: cfg.maas.minTokenSeconds,
      defaultTokenSeconds: cfg.maas.defaultTokenSeconds,
      tiers,
      registry: null,
      onprem: [],
    },
  };
}

export function onpremRouteFor(cfg: DemoConfig): OnpremRouteSpec {
  return {
    name: `${cfg.onprem.name}-kserve-route`,
    pathPrefix: onpremPrefix(cfg),
    rewritePrefix: '/',
    namespace: cfg.onprem.namespace,
    model: cfg.onprem.model,
    allowedTiers: [],
  };
}
