/**
 * The reading of the demo's Kubernetes objects into the topology model (`TopologySpec`): pure functions of
 * an object list, so every place that holds objects reads them one way — the cluster target (the objects it
 * lists from the API server), the local target (the objects its steps rendered, `demo up --from FILE`) and
 * doctor.
 *
 * Configuration (`readTopology`): bridges = HTTPRoutes on the MaaS gateway + their AuthPolicies
 * (audiences from `kubernetesTokenReview`, the injected key from `response.success.headers` with a
 * constant CEL expression evaluated, RequestHeaderModifier `remove` lower-cased); egress routes +
 * XBackendDestinations; the controller image (does it carry the prefix-rewrite fix?); the egress Envoy's
 * `--log-level`; the gateway-level TokenRateLimitPolicy; the external model registry ConfigMap in the
 * maas-api namespace (or, misplaced, elsewhere).
 *
 * What can only be known on a live request stays open: `countUsage` is left true (the live check
 * decides), `controllerFixed` is null for an image nobody vouches for (the rewrite check then relies on
 * its probe), `logLevel` is undefined when the Envoy Deployment is missing.
 */
import { evaluateCel } from './cel.js';
import { parse as parseYaml } from 'yaml';
import type { DemoConfig } from '../core/config.js';
import { baseSpec, type BackendSpec, type BridgeSpec, type EgressRouteSpec, type EgressSpec, type MaasApiSpec, type MaasGatewaySpec, type RateLimitSpec, type TopologySpec } from './topology.js';
import type { K8sObject } from './k8s-object.js';
import { groupOf } from './object-source.js';
import { DEFAULT_TRLP_NAME, envoyName, names } from '../../steps/scope.js';

export const GW_API = 'gateway.networking.k8s.io/v1';
export const XBACKEND_API = 'ainetworking.prototype.x-k8s.io/v0alpha0';
export const AUTH_API = 'kuadrant.io/v1';
export const TRLP_API = 'kuadrant.io/v1alpha1';
export const WG_MANAGED_LABEL = 'aigateway.networking.k8s.io/managed';

/** A list of objects looked up as an API server matches them: by group and kind, whatever the version. */
export class ObjectList {
  readonly items: readonly K8sObject[];

  constructor(items: readonly K8sObject[]) {
    this.items = items;
  }

  list(apiVersion: string, kind: string, namespace?: string): K8sObject[] {
    const group = groupOf(apiVersion);
    return this.items.filter((o) => groupOf(o.apiVersion) === group && o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
    return this.list(apiVersion, kind, namespace).find((o) => o.metadata.name === name);
  }
}

/** What `readTopology` looks at: whole kinds in a namespace, or single objects by name. */
export interface ObjectRead {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
}

/** The objects a topology is read from, so a source of objects (an API server) fetches just these. */
export function topologyReads(cfg: DemoConfig): ObjectRead[] {
  return [
    { apiVersion: GW_API, kind: 'HTTPRoute', namespace: cfg.egress.namespace },
    { apiVersion: AUTH_API, kind: 'AuthPolicy', namespace: cfg.egress.namespace },
    { apiVersion: XBACKEND_API, kind: 'XBackendDestination', namespace: cfg.egress.namespace },
    { apiVersion: TRLP_API, kind: 'TokenRateLimitPolicy', namespace: cfg.maas.gatewayNamespace },
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: cfg.egress.controllerNamespace, name: names.controller },
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: cfg.egress.namespace, name: envoyName(cfg) },
    ...registryNamespaces(cfg).map((namespace) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: cfg.maas.registryName })),
  ];
}

/** Where the registry ConfigMap is looked for: maas-api's namespace first, then where it is misplaced (§9.15). */
function registryNamespaces(cfg: DemoConfig): string[] {
  return [...new Set([cfg.maas.apiNamespace, 'opendatahub', 'redhat-ods-applications', cfg.egress.namespace, cfg.providersNamespace])];
}

/**
 * Known builds of the wg-ai-gateway controller. Fixed: the fork's `:prefix-rewrite-fix` tag, the fork's
 * `:latest` (the seed demo's README names it as including the fix, PR #38), the image the demo
 * configuration names, and any listed in `DEMO_FIXED_CONTROLLER_IMAGES` (comma-separated, exact
 * references). No published build is known to lack the fix; builds someone knows to predate it go in
 * `DEMO_PRE_FIX_CONTROLLER_IMAGES`. Anything else — e.g. upstream's `localhost:5000/wg-ai-gateway:latest`,
 * built from some commit of main — is unknown (null): only a live probe can tell.
 */
export const FIXED_CONTROLLER_IMAGES = ['ghcr.io/nerdalert/wg-ai-gateway:latest', 'ghcr.io/nerdalert/wg-ai-gateway'];

export function controllerFixedOf(image: string | undefined, cfg: DemoConfig, env: Record<string, string | undefined> = {}): boolean | null {
  if (!image) return null;
  const list = (name: string) => (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list('DEMO_PRE_FIX_CONTROLLER_IMAGES').includes(image)) return false;
  if (/prefix-rewrite-fix/.test(image) || image === cfg.egress.controllerImage || FIXED_CONTROLLER_IMAGES.includes(image) || list('DEMO_FIXED_CONTROLLER_IMAGES').includes(image)) return true;
  return null;
}

/** The value of a CEL string literal (`'sk-…'` → `sk-…`); undefined for anything else. */
export function celLiteral(expr: unknown): string | undefined {
  if (typeof expr !== 'string') return undefined;
  const m = /^\s*(['"])((?:\\.|(?!\1).)*)\1\s*$/.exec(expr);
  return m ? m[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c)) : undefined;
}

/**
 * The value of a CEL expression that needs no request data (a literal, literals joined with `+`, string
 * functions over them), evaluated by a CEL implementation; undefined when it reads anything at request
 * time (an unknown variable) or is not a string.
 */
export function celConstant(expr: unknown): string | undefined {
  if (typeof expr !== 'string') return undefined;
  try {
    const v = evaluateCel(expr);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export type Condition = { type?: string; status?: string; reason?: string; message?: string };

export type HttpRoute = K8sObject & {
  spec?: {
    parentRefs?: { name?: string; namespace?: string }[];
    rules?: {
      matches?: { path?: { type?: string; value?: string } }[];
      filters?: { type?: string; urlRewrite?: { path?: { replacePrefixMatch?: string } }; requestHeaderModifier?: { remove?: string[] } }[];
      backendRefs?: { name?: string; kind?: string; port?: number }[];
      timeouts?: { request?: string; backendRequest?: string };
    }[];
  };
  status?: { parents?: { parentRef?: { name?: string; namespace?: string }; controllerName?: string; conditions?: Condition[] }[] };
};

export type AuthPolicySpec = {
  targetRef?: { kind?: string; name?: string };
  rules?: {
    authentication?: Record<string, { kubernetesTokenReview?: { audiences?: string[] } }>;
    response?: { success?: { headers?: Record<string, { plain?: { expression?: string; value?: unknown } }> } };
  };
};

export type Deployment = K8sObject & {
  spec?: { selector?: { matchLabels?: Record<string, string> }; template?: { spec?: { containers?: { name?: string; image?: string; args?: string[]; command?: string[] }[] } } };
  status?: { conditions?: Condition[] };
};

/** The first rule of a route: path prefix, prefix rewrite (null: no URLRewrite), headers removed, backend, request timeout. */
export function routeRule(route: HttpRoute) {
  const r = route.spec?.rules?.[0];
  const prefix = r?.matches?.[0]?.path?.value ?? '';
  const rewrite = r?.filters?.find((f) => f.type === 'URLRewrite')?.urlRewrite?.path?.replacePrefixMatch ?? null;
  const remove = r?.filters?.filter((f) => f.type === 'RequestHeaderModifier').flatMap((f) => f.requestHeaderModifier?.remove ?? []) ?? [];
  const b = r?.backendRefs?.[0];
  const timeout = windowSeconds(r?.timeouts?.request);
  return { prefix, rewrite, remove, backend: b?.name ?? '', backendKind: b?.kind ?? 'Service', backendPort: b?.port ?? 0, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}) };
}

export const onGateway = (r: HttpRoute, name: string, namespace: string) => (r.spec?.parentRefs ?? []).some((p) => p.name === name && (p.namespace ?? r.metadata.namespace) === namespace);

export function routes(objs: ObjectList, cfg: DemoConfig) {
  const all = (objs.list(GW_API, 'HTTPRoute', cfg.egress.namespace)) as HttpRoute[];
  const bridges = all.filter((r) => onGateway(r, cfg.maas.gatewayName, cfg.maas.gatewayNamespace) && (/^\/external\//.test(routeRule(r).prefix) || r.metadata.name.endsWith('-bridge')));
  const egress = all.filter((r) => onGateway(r, cfg.egress.gatewayName, cfg.egress.namespace));
  return { bridges, egress };
}

export const providerOfBridge = (r: HttpRoute) => /^\/external\/([^/]+)\//.exec(routeRule(r).prefix)?.[1] ?? r.metadata.name.replace(/-bridge$/, '');
export const providerOfEgress = (r: HttpRoute) => /^\/([^/]+)\//.exec(routeRule(r).prefix)?.[1] ?? r.metadata.name.replace(/-route$/, '');

export function authPolicyFor(objs: ObjectList, cfg: DemoConfig, route: string): K8sObject | undefined {
  const all = objs.list(AUTH_API, 'AuthPolicy', cfg.egress.namespace);
  return all.find((p) => {
    const t = (p.spec as AuthPolicySpec | undefined)?.targetRef;
    return t?.kind === 'HTTPRoute' && t.name === route;
  });
}

/**
 * What a bridge AuthPolicy does: the audiences its token review asks for, and the header it injects
 * with the key — the value when the CEL needs no request data, else (a Secret lookup, metadata…) the
 * expression's text, which cannot be read here.
 */
export function policyAuth(pol: K8sObject): NonNullable<BridgeSpec['auth']> {
  const rules = (pol.spec as AuthPolicySpec | undefined)?.rules;
  const [header, value] = Object.entries(rules?.response?.success?.headers ?? {})[0] ?? [];
  const literal = value ? (celConstant(value.plain?.expression) ?? (typeof value.plain?.value === 'string' ? value.plain.value : undefined)) : undefined;
  return {
    audiences: Object.values(rules?.authentication ?? {}).flatMap((a) => a.kubernetesTokenReview?.audiences ?? []),
    inject: header ? (literal !== undefined ? { header, value: literal } : { header, value: '', expression: String(value?.plain?.expression ?? '') }) : null,
  };
}

/** The gateway-level TokenRateLimitPolicy of the MaaS gateway (the demo's name first). */
export function trlpOf(objs: ObjectList, cfg: DemoConfig): K8sObject | undefined {
  const all = objs.list(TRLP_API, 'TokenRateLimitPolicy', cfg.maas.gatewayNamespace);
  const onGw = all.filter((p) => {
    const t = (p.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef;
    return t?.kind === 'Gateway' && t.name === cfg.maas.gatewayName;
  });
  return onGw.find((p) => p.metadata.name === DEFAULT_TRLP_NAME) ?? onGw[0];
}

/** `1m` → 60, `90s` → 90, `1h` → 3600. */
export function windowSeconds(w: unknown): number | undefined {
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(w ?? ''));
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
}

export function rateLimitOf(trlp: K8sObject | undefined, cfg: DemoConfig): RateLimitSpec {
  type Limit = { rates?: { limit?: number; window?: string }[]; when?: { predicate?: string }[] };
  const limits = ((trlp?.spec as { limits?: Record<string, Limit> } | undefined)?.limits ?? {}) as Record<string, Limit>;
  const out: RateLimitSpec['limits'] = [];
  let window: number | undefined;
  for (const [name, l] of Object.entries(limits)) {
    const pred = (l.when ?? []).map((w) => /tier\s*==\s*["']([^"']+)["']/.exec(w.predicate ?? '')?.[1]).find(Boolean);
    const tier = pred ?? /^(.+)-user-tokens$/.exec(name)?.[1];
    const tokens = l.rates?.[0]?.limit;
    window ??= windowSeconds(l.rates?.[0]?.window);
    if (tier && typeof tokens === 'number') out.push({ tier, tokens });
  }
  // Whether usage is reported is only visible on a live request: leave it true, the live check decides.
  return { enabled: Boolean(trlp), countUsage: true, windowSeconds: window ?? cfg.rateLimit.windowSeconds, limits: out, strictBudget: false };
}

export function containerOf(d: Deployment | undefined, name?: string) {
  const cs = d?.spec?.template?.spec?.containers ?? [];
  return (name ? cs.find((c) => c.name === name) : undefined) ?? cs[0];
}

/** `--log-level trace`, `--log-level=trace`, `-l trace` in the Envoy container's command line. */
export function envoyLogLevel(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^(?:--log-level|-l)=(.+)$/.exec(a);
    if (eq) return eq[1];
    if ((a === '--log-level' || a === '-l') && args[i + 1]) return args[i + 1];
  }
  return undefined;
}

/** The registry ConfigMap's `models` list; null when the ConfigMap is absent, [] when unreadable. */
export function parseRegistry(cm: K8sObject | undefined): MaasApiSpec['registry'] {
  return readRegistry(cm).models;
}

/** `parseRegistry` with the reason a present ConfigMap yields no models (maas-api only logs it). */
export function readRegistry(cm: K8sObject | undefined): { models: MaasApiSpec['registry']; problem?: string } {
  if (!cm) return { models: null };
  const where = `data.models of ConfigMap ${cm.metadata.namespace ?? ''}/${cm.metadata.name}`;
  const text = (cm.data as Record<string, string> | undefined)?.models;
  if (!text) return { models: [], problem: `${where} is empty or missing: maas-api lists no external model` };
  let v: unknown;
  try {
    v = parseYaml(text) as unknown;
  } catch (err) {
    return { models: [], problem: `${where} is not valid YAML (${(err as Error).message.split('\n')[0]}): maas-api logs the error and lists no external model` };
  }
  if (!Array.isArray(v)) return { models: [], problem: `${where} is not a YAML list of models: maas-api lists no external model` };
  return {
    models: v
      .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'string')
      .map((m) => ({ id: String(m.id), provider: String(m.provider ?? ''), backend: String(m.backend ?? '') })),
  };
}

/** Namespaces a misplaced registry ConfigMap is looked for in (§9.15: the two MaaS namespaces, the demo's). */
function misplacedRegistry(objs: ObjectList, cfg: DemoConfig): string | undefined {
  const elsewhere = registryNamespaces(cfg).filter((ns) => ns !== cfg.maas.apiNamespace);
  for (const ns of elsewhere) {
    if (objs.get('v1', 'ConfigMap', ns, cfg.maas.registryName)) return ns;
  }
  return undefined;
}

export interface TopologyInputs {
  cfg: DemoConfig;
  env: Record<string, string | undefined>;
  /** Host of the MaaS gateway (`maas.<domain>`, or the DEMO_GATEWAY_URL host). */
  host: string;
}

/** The objects as a `TopologySpec` (see the module comment for what stays open). */
export function readTopology(objects: readonly K8sObject[] | ObjectList, inp: TopologyInputs): Partial<TopologySpec> {
  const objs = objects instanceof ObjectList ? objects : new ObjectList(objects);
  const { cfg } = inp;
  const r = routes(objs, cfg);
  const bridges: BridgeSpec[] = [];
  for (const route of r.bridges) {
    const x = routeRule(route);
    const pol = authPolicyFor(objs, cfg, route.metadata.name);
    const auth = pol ? policyAuth(pol) : null;
    bridges.push({
      name: route.metadata.name,
      provider: providerOfBridge(route),
      pathPrefix: x.prefix,
      rewritePrefix: x.rewrite,
      removeHeaders: x.remove.map((h) => h.toLowerCase()),
      auth,
    });
  }
  const egressRoutes: EgressRouteSpec[] = r.egress.map((route) => {
    const x = routeRule(route);
    return { name: route.metadata.name, provider: providerOfEgress(route), pathPrefix: x.prefix, rewritePrefix: x.rewrite, backendRef: { kind: x.backendKind, name: x.backend, port: x.backendPort }, removeHeaders: x.remove.map((h) => h.toLowerCase()), ...(x.timeoutMs ? { timeoutMs: x.timeoutMs } : {}) };
  });
  type XB = { destination?: { fqdn?: { hostname?: string }; ports?: { number?: number; tls?: unknown }[] } };
  const backends: BackendSpec[] = (objs.list(XBACKEND_API, 'XBackendDestination', cfg.egress.namespace)).map((b) => {
    const s = b.spec as XB | undefined;
    const ports = s?.destination?.ports ?? [];
    return { name: b.metadata.name, hostname: s?.destination?.fqdn?.hostname ?? '', ports: ports.map((p) => p.number ?? 0), scheme: ports.some((p) => p.tls) ? 'https' : 'http' };
  });
  const controller = (objs.get('apps/v1', 'Deployment', cfg.egress.controllerNamespace, names.controller)) as Deployment | undefined;
  const envoy = (objs.get('apps/v1', 'Deployment', cfg.egress.namespace, envoyName(cfg))) as Deployment | undefined;
  const level = envoy ? envoyLogLevel(containerOf(envoy, 'envoy')?.args ?? []) : undefined;
  // What the configuration fixes (audience, issuer, tiers, token lifetimes) as the local topology has it; the objects fill in the rest.
  const base = baseSpec(cfg, { host: inp.host, strictBudget: false });
  const maasGateway: MaasGatewaySpec = { ...base.maasGateway, hostnames: [inp.host], bridges, rateLimit: rateLimitOf(trlpOf(objs, cfg), cfg) };
  // controllerFixed and logLevel may be unknown on a cluster (null / undefined); the checks handle both.
  const egress = {
    controllerFixed: controllerFixedOf(containerOf(controller, 'manager')?.image, cfg, inp.env),
    logLevel: envoy ? (level === 'trace' || level === 'debug' ? 'trace' : 'info') : undefined,
    // The controller labels what it manages and force-applies it on every reconcile (contracts §6, §9.20).
    ...(envoy?.metadata.labels?.[WG_MANAGED_LABEL] ? { logLevelForcedBy: cfg.egress.controllerName } : {}),
    routes: egressRoutes,
    backends,
    dns: {},
  } as unknown as EgressSpec;
  const registry = readRegistry(objs.get('v1', 'ConfigMap', cfg.maas.apiNamespace, cfg.maas.registryName));
  const misplaced = registry.models === null ? misplacedRegistry(objs, cfg) : undefined;
  const registryProblem = misplaced
    ? `ConfigMap ${cfg.maas.registryName} is in namespace ${misplaced}, but maas-api runs in ${cfg.maas.apiNamespace} and reads its own namespace only`
    : registry.problem;
  const maasApi: MaasApiSpec = {
    ...base.maasApi,
    registry: registry.models,
    ...(registryProblem ? { registryProblem } : {}),
    ...(misplaced ? { registryElsewhere: misplaced } : {}),
  };
  return { maasGateway, egress, maasApi };
}

