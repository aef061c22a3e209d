/**
 * What doctor reads from a cluster: the demo's objects mapped into the local topology's shape
 * (`TopologySpec`), and the install facts — what the controllers say about those objects.
 *
 * Configuration (`readTopology`): bridges = HTTPRoutes on the MaaS gateway + their AuthPolicies
 * (audiences from `kubernetesTokenReview`, injected key from `response.success.headers` with the CEL
 * literal parsed, RequestHeaderModifier `remove` lower-cased); egress routes + XBackendDestinations;
 * the controller image (does it carry the prefix-rewrite fix?); the egress Envoy's `--log-level`; the
 * gateway-level TokenRateLimitPolicy; the external model registry ConfigMap in the maas-api namespace.
 *
 * What can only be known on a live request stays open: `countUsage` is left true (the live check
 * decides), `controllerFixed` is null for an image we cannot vouch for (the rewrite check then relies
 * on its probe), `logLevel` is undefined when the Envoy Deployment is missing.
 *
 * Install facts (`readInstallFacts`): each names a hop and a concrete fix. Facts with `check` set are
 * reported by that doctor check (the policy status by key-policy-enforced, the TRLP by
 * ratelimit-policy-present, …); the rest by install-components.
 */
import { parse as parseYaml } from 'yaml';
import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import { baseSpec, type BackendSpec, type BridgeSpec, type EgressRouteSpec, type EgressSpec, type MaasApiSpec, type MaasGatewaySpec, type RateLimitSpec, type TopologySpec } from '../../model/topology.js';
import type { Kube } from './client.js';
import { WASM_SHIM_FACT } from '../../checks/doctor/types.js';
import { evaluateCel } from './cel.js';
import { detectMaasGeneration, evidenceText, identityFor, type MaasGeneration } from './identity.js';
import { diagnosePod, verdictLine } from './pod-reasons.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { DEFAULT_TRLP_NAME, envoyName, names } from '../../../steps/scope.js';
import { MANAGED_ANNOTATION } from './state.js';
import type { InstallFact } from '../../model/target-facts.js';
import type { ObjectSource } from '../../model/object-source.js';

const GW_API = 'gateway.networking.k8s.io/v1';
const XBACKEND_API = 'ainetworking.prototype.x-k8s.io/v0alpha0';
const XBACKEND_CRD = 'xbackenddestinations.ainetworking.prototype.x-k8s.io';
const AUTH_API = 'kuadrant.io/v1';
const TRLP_API = 'kuadrant.io/v1alpha1';
const WG_MANAGED_LABEL = 'aigateway.networking.k8s.io/managed';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';


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
 * The value of a CEL expression that needs no request data: a literal, or literals joined with `+`
 * (`'Bearer ' + 'sk-…'`); undefined when it reads anything at request time.
 */
export function celConstant(expr: unknown): string | undefined {
  const lit = celLiteral(expr);
  if (lit !== undefined || typeof expr !== 'string') return lit;
  try {
    const v = evaluateCel(expr, undefined);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

type Condition = { type?: string; status?: string; reason?: string; message?: string };

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

type AuthPolicySpec = {
  targetRef?: { kind?: string; name?: string };
  rules?: {
    authentication?: Record<string, { kubernetesTokenReview?: { audiences?: string[] } }>;
    response?: { success?: { headers?: Record<string, { plain?: { expression?: string; value?: unknown } }> } };
  };
};

type Deployment = K8sObject & {
  spec?: { selector?: { matchLabels?: Record<string, string> }; template?: { spec?: { containers?: { name?: string; image?: string; args?: string[]; command?: string[] }[] } } };
  status?: { conditions?: Condition[] };
};

/** The first rule of a route: path prefix, prefix rewrite (null: no URLRewrite), headers removed, backend. */
export function routeRule(route: HttpRoute) {
  const r = route.spec?.rules?.[0];
  const prefix = r?.matches?.[0]?.path?.value ?? '';
  const rewrite = r?.filters?.find((f) => f.type === 'URLRewrite')?.urlRewrite?.path?.replacePrefixMatch ?? null;
  const remove = r?.filters?.filter((f) => f.type === 'RequestHeaderModifier').flatMap((f) => f.requestHeaderModifier?.remove ?? []) ?? [];
  const b = r?.backendRefs?.[0];
  const timeout = windowSeconds(r?.timeouts?.request);
  return { prefix, rewrite, remove, backend: b?.name ?? '', backendKind: b?.kind ?? 'Service', backendPort: b?.port ?? 0, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}) };
}

const cond = (obj: K8sObject | undefined, type: string): Condition | undefined => ((obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const condText = (c: Condition | undefined, type: string) => (c ? `${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}` : `${type} not reported`);

/** The objects doctor reads, fetched once per call; a kind the cluster does not serve reads as empty. */
export class ClusterObjects implements ObjectSource {
  readonly #kube: Kube;
  readonly #cache = new Map<string, Promise<unknown>>();

  constructor(kube: Kube) {
    this.#kube = kube;
  }

  list(apiVersion: string, kind: string, namespace?: string): Promise<K8sObject[]> {
    const key = `list ${apiVersion} ${kind} ${namespace ?? '*'}`;
    if (!this.#cache.has(key)) this.#cache.set(key, this.#kube.list(apiVersion, kind, namespace).then((r) => r.items, () => []));
    return this.#cache.get(key) as Promise<K8sObject[]>;
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<K8sObject | undefined> {
    const key = `get ${apiVersion} ${kind} ${namespace ?? ''} ${name}`;
    if (!this.#cache.has(key)) this.#cache.set(key, this.#kube.get({ apiVersion, kind, ...(namespace ? { namespace } : {}), name }).catch(() => undefined));
    return this.#cache.get(key) as Promise<K8sObject | undefined>;
  }

  get kube(): Kube {
    return this.#kube;
  }
}

const onGateway = (r: HttpRoute, name: string, namespace: string) => (r.spec?.parentRefs ?? []).some((p) => p.name === name && (p.namespace ?? r.metadata.namespace) === namespace);

async function routes(objs: ObjectSource, cfg: DemoConfig) {
  const all = (await objs.list(GW_API, 'HTTPRoute', cfg.egress.namespace)) as HttpRoute[];
  const bridges = all.filter((r) => onGateway(r, cfg.maas.gatewayName, cfg.maas.gatewayNamespace) && (/^\/external\//.test(routeRule(r).prefix) || r.metadata.name.endsWith('-bridge')));
  const egress = all.filter((r) => onGateway(r, cfg.egress.gatewayName, cfg.egress.namespace));
  return { bridges, egress };
}

const providerOfBridge = (r: HttpRoute) => /^\/external\/([^/]+)\//.exec(routeRule(r).prefix)?.[1] ?? r.metadata.name.replace(/-bridge$/, '');
const providerOfEgress = (r: HttpRoute) => /^\/([^/]+)\//.exec(routeRule(r).prefix)?.[1] ?? r.metadata.name.replace(/-route$/, '');

async function authPolicyFor(objs: ObjectSource, cfg: DemoConfig, route: string): Promise<K8sObject | undefined> {
  const all = await objs.list(AUTH_API, 'AuthPolicy', cfg.egress.namespace);
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
async function trlpOf(objs: ObjectSource, cfg: DemoConfig): Promise<K8sObject | undefined> {
  const all = await objs.list(TRLP_API, 'TokenRateLimitPolicy', cfg.maas.gatewayNamespace);
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

function rateLimitOf(trlp: K8sObject | undefined, cfg: DemoConfig): RateLimitSpec {
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

function containerOf(d: Deployment | undefined, name?: string) {
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
async function misplacedRegistry(objs: ObjectSource, cfg: DemoConfig): Promise<string | undefined> {
  const elsewhere = [...new Set(['opendatahub', 'redhat-ods-applications', cfg.egress.namespace, cfg.providersNamespace])].filter((ns) => ns !== cfg.maas.apiNamespace);
  for (const ns of elsewhere) {
    if (await objs.get('v1', 'ConfigMap', ns, cfg.maas.registryName)) return ns;
  }
  return undefined;
}

export interface TopologyInputs {
  cfg: DemoConfig;
  env: Record<string, string | undefined>;
  /** Host of the MaaS gateway (`maas.<domain>`, or the DEMO_GATEWAY_URL host). */
  host: string;
}

/** The cluster's objects as a `TopologySpec` (see the module comment for what stays open). */
export async function readTopology(objs: ObjectSource, inp: TopologyInputs): Promise<Partial<TopologySpec>> {
  const { cfg } = inp;
  const r = await routes(objs, cfg);
  const bridges: BridgeSpec[] = [];
  for (const route of r.bridges) {
    const x = routeRule(route);
    const pol = await authPolicyFor(objs, cfg, route.metadata.name);
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
  const backends: BackendSpec[] = (await objs.list(XBACKEND_API, 'XBackendDestination', cfg.egress.namespace)).map((b) => {
    const s = b.spec as XB | undefined;
    const ports = s?.destination?.ports ?? [];
    return { name: b.metadata.name, hostname: s?.destination?.fqdn?.hostname ?? '', ports: ports.map((p) => p.number ?? 0), scheme: ports.some((p) => p.tls) ? 'https' : 'http' };
  });
  const controller = (await objs.get('apps/v1', 'Deployment', cfg.egress.controllerNamespace, names.controller)) as Deployment | undefined;
  const envoy = (await objs.get('apps/v1', 'Deployment', cfg.egress.namespace, envoyName(cfg))) as Deployment | undefined;
  const level = envoy ? envoyLogLevel(containerOf(envoy, 'envoy')?.args ?? []) : undefined;
  // What the configuration fixes (audience, issuer, tiers, token lifetimes) as the local topology has it; the objects fill in the rest.
  const base = baseSpec(cfg, { host: inp.host, strictBudget: false });
  const maasGateway: MaasGatewaySpec = { ...base.maasGateway, hostnames: [inp.host], bridges, rateLimit: rateLimitOf(await trlpOf(objs, cfg), cfg) };
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
  const registry = readRegistry(await objs.get('v1', 'ConfigMap', cfg.maas.apiNamespace, cfg.maas.registryName));
  const misplaced = registry.models === null ? await misplacedRegistry(objs, cfg) : undefined;
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

// ---------------------------------------------------------------------------------------------------
// Install facts

async function deploymentFact(objs: ClusterObjects, ns: string, name: string, what: string, hop: HopId, extra: { missingFix: { summary: string; patch: string } }): Promise<InstallFact & { deployment?: Deployment }> {
  const d = (await objs.get('apps/v1', 'Deployment', ns, name)) as Deployment | undefined;
  if (!d) return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not found`, fix: extra.missingFix };
  const avail = cond(d, 'Available');
  const image = containerOf(d)?.image ?? '?';
  if (avail?.status === 'True') return { name: what, ok: true, hop, detail: `Deployment ${ns}/${name} Available (${image})`, deployment: d };
  // Why: the first pod that is not Ready, in the cluster's words (pull error, crash loop, Insufficient cpu…).
  const sel = Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = sel ? await objs.kube.list('v1', 'Pod', ns, { labelSelector: sel }).then((r) => r.items, () => []) : [];
  let why = '';
  let hint = `kubectl -n ${ns} rollout status deployment/${name} && kubectl -n ${ns} describe deployment/${name}`;
  for (const p of pods) {
    const dx = await diagnosePod(objs.kube, p).catch(() => undefined);
    if (dx) {
      why = `; ${verdictLine(dx)}`;
      hint = `${dx.hint}\nkubectl -n ${ns} describe pod ${dx.pod}`;
      break;
    }
  }
  return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not available: ${condText(avail, 'Available')}${why}`, fix: { summary: `make Deployment ${ns}/${name} available`, patch: hint }, deployment: d };
}

function policyFact(kind: string, pol: K8sObject, hop: HopId, extra: Pick<InstallFact, 'check' | 'provider'>): InstallFact {
  const ns = pol.metadata.namespace ?? '';
  const name = pol.metadata.name;
  const accepted = cond(pol, 'Accepted');
  const enforced = cond(pol, 'Enforced');
  const ok = accepted?.status === 'True' && enforced?.status === 'True';
  const ref = `${kind} ${ns}/${name}`;
  const resource = kind === 'AuthPolicy' ? 'authpolicy' : 'tokenratelimitpolicy';
  const detail = `${ref}: ${condText(accepted, 'Accepted')}, ${condText(enforced, 'Enforced')}`;
  if (ok) return { name: ref, ok, hop, detail, ...extra };
  const target = (pol.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef;
  const reason = accepted?.status !== 'True' ? accepted?.reason : enforced?.reason;
  const show = `kubectl -n ${ns} get ${resource} ${name} -o jsonpath='{.status.conditions}'`;
  const fix =
    reason === 'TargetNotFound'
      ? { summary: `create ${target?.kind ?? 'the target'} ${target?.name ?? ''} that ${ref} targets, or fix spec.targetRef`, patch: `kubectl -n ${ns} get ${String(target?.kind ?? 'httproute').toLowerCase()} ${target?.name ?? ''}\n${show}` }
      : reason === 'Overridden'
        ? { summary: `${ref} is overridden by a policy with overrides on the gateway: remove the override or move the rule into it`, patch: `kubectl get ${resource} -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,TARGET:.spec.targetRef.name,OVERRIDES:.spec.overrides\n${show}` }
        : reason === 'Conflicted'
          ? { summary: `another ${kind} targets the same object: keep one`, patch: `kubectl get ${resource} -A\n${show}` }
          : reason === 'MissingDependency' || reason === 'MissingResource'
            ? { summary: `Kuadrant lacks a component for ${ref} (Authorino/Limitador, or the gateway's wasm plugin)`, patch: `kubectl -n kuadrant-system get kuadrant,authorino,limitador -o yaml\n${show}` }
            : { summary: `find why Kuadrant does not enforce ${ref}${enforced?.message ? ` (${enforced.message})` : ''}`, patch: `${show}\nkubectl -n kuadrant-system logs deployment/kuadrant-operator-controller-manager --tail 50` };
  return { name: ref, ok: false, hop, detail, fix, ...extra };
}

/** Fields in the last client-side applied object that the stored object lacks (pruned by the schema). */
export function prunedFields(obj: K8sObject): string[] {
  const text = obj.metadata.annotations?.[LAST_APPLIED];
  if (!text) return [];
  let applied: unknown;
  try {
    applied = JSON.parse(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (a: unknown, s: unknown, path: string) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return;
    for (const [k, v] of Object.entries(a)) {
      const here = path ? `${path}.${k}` : k;
      if (typeof s !== 'object' || s === null || !(k in s)) out.push(here);
      else walk(v, (s as Record<string, unknown>)[k], here);
    }
  };
  walk((applied as { spec?: unknown }).spec, obj.spec, 'spec');
  return out;
}

/** The hazard of contracts §6: the wg controller reconciling the MaaS gateway and its routes. */
async function foreignReconcileFact(objs: ClusterObjects, cfg: DemoConfig): Promise<InstallFact> {
  const { gatewayName, gatewayNamespace } = cfg.maas;
  const stray = `envoy-${gatewayNamespace}-${gatewayName}`.toLowerCase().replace(/_/g, '-');
  const found: string[] = [];
  const d = await objs.get('apps/v1', 'Deployment', gatewayNamespace, stray);
  if (d) found.push(`Deployment ${gatewayNamespace}/${stray} exists${d.metadata.labels?.[WG_MANAGED_LABEL] ? ' (created by the wg-ai-gateway controller)' : ''}`);
  let all = (await objs.list(GW_API, 'HTTPRoute')) as HttpRoute[];
  // Listing every namespace may be forbidden: then the namespaces where routes on the MaaS gateway live.
  if (!all.length) all = (await Promise.all([...new Set([cfg.egress.namespace, cfg.maas.apiNamespace, cfg.onprem.namespace])].map((ns) => objs.list(GW_API, 'HTTPRoute', ns)))).flat() as HttpRoute[];
  for (const r of all) {
    if (!onGateway(r, gatewayName, gatewayNamespace)) continue;
    const wg = (r.status?.parents ?? []).filter((p) => p.controllerName === cfg.egress.controllerName && (p.parentRef?.name ?? gatewayName) === gatewayName);
    if (wg.length) found.push(`HTTPRoute ${r.metadata.namespace}/${r.metadata.name} has a parent status written by ${cfg.egress.controllerName}`);
  }
  const name = `wg-ai-gateway controller leaves ${gatewayNamespace}/${gatewayName} alone`;
  if (!found.length) return { name, ok: true, hop: 'maas-gateway', check: 'install-no-foreign-reconcile', detail: `no ${stray} Deployment; no route on ${gatewayName} carries a status from ${cfg.egress.controllerName}` };
  return {
    name,
    ok: false,
    hop: 'maas-gateway',
    check: 'install-no-foreign-reconcile',
    detail: found.join('; '),
    fix: {
      summary: `the controller reconciles every parent Gateway of a route, not only class ${cfg.egress.className} (upstream bug): delete what it created for ${gatewayName} and run a build that checks the class`,
      patch: [
        `kubectl -n ${gatewayNamespace} delete deployment,service,configmap,serviceaccount ${stray} --ignore-not-found`,
        `kubectl -n ${cfg.egress.controllerNamespace} set image deployment/${names.controller} manager=<a wg-ai-gateway build whose HTTPRoute handler skips Gateways of other classes>`,
        '# until then the route statuses on the MaaS gateway are fought over by Istio and the wg controller; Istio rewrites them on its next sync',
      ].join('\n'),
    },
  };
}

export interface FactInputs {
  cfg: DemoConfig;
  env: Record<string, string | undefined>;
  providers: readonly ProviderConfig[];
  /** `--maas`: the generation when the evidence does not decide. */
  maas?: MaasGeneration;
}

export async function readInstallFacts(objs: ClusterObjects, inp: FactInputs): Promise<InstallFact[]> {
  const { cfg } = inp;
  const kube = objs.kube;
  const facts: InstallFact[] = [];

  // MaaS generation: the bridges authenticate tier-era ServiceAccount tokens only (contracts §4.5).
  const gen = await detectMaasGeneration(kube, cfg.maas.apiNamespace, { gatewayNamespace: cfg.maas.gatewayNamespace, ...(inp.maas ? { override: inp.maas } : {}) }).catch(() => undefined);
  if (gen) {
    const seen = evidenceText(gen);
    if (gen.generation === 'tier') {
      facts.push({ name: 'MaaS generation', ok: true, hop: 'maas-api', detail: `tier era${gen.override ? ' (--maas)' : ''}: ${seen}` });
    } else if (gen.generation === 'subscription') {
      const why = identityFor('subscription').explain();
      facts.push({ name: 'MaaS generation', ok: false, hop: 'maas-api', detail: `subscription era: ${seen} — ${why.message}`, fix: { summary: 'the demo needs a tier-era MaaS', patch: why.hint } });
    } else {
      facts.push({ name: 'MaaS generation', ok: false, hop: 'maas-api', detail: `${gen.generation === 'mixed' ? 'the evidence points to both generations' : 'could not tell the generation'}: ${seen}`, fix: { summary: 'say which MaaS generation the cluster runs', patch: 'demo doctor --target cluster --maas tier   # or --maas subscription' } });
    }
  }
  const tierEra = !gen || gen.generation === 'tier';

  // Kuadrant: both policy kinds served.
  const missing: string[] = [];
  if (!(await kube.served(AUTH_API, 'AuthPolicy').catch(() => undefined))) missing.push('AuthPolicy (kuadrant.io/v1)');
  if (!(await kube.served(TRLP_API, 'TokenRateLimitPolicy').catch(() => undefined))) missing.push('TokenRateLimitPolicy (kuadrant.io/v1alpha1)');
  facts.push(
    missing.length
      ? { name: 'Kuadrant', ok: false, hop: 'maas-gateway', detail: `not served: ${missing.join(', ')}`, fix: { summary: 'install Red Hat Connectivity Link (Kuadrant) and create the Kuadrant CR', patch: 'kubectl get crd authpolicies.kuadrant.io tokenratelimitpolicies.kuadrant.io\nkubectl -n kuadrant-system get kuadrant' } }
      : { name: 'Kuadrant', ok: true, hop: 'maas-gateway', detail: 'AuthPolicy and TokenRateLimitPolicy served' },
  );

  // The XBackendDestination CRD, Established.
  const crd = await objs.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, XBACKEND_CRD);
  const est = cond(crd, 'Established');
  facts.push(
    est?.status === 'True'
      ? { name: 'XBackendDestination CRD', ok: true, hop: 'egress-gateway', detail: `${XBACKEND_CRD} Established` }
      : { name: 'XBackendDestination CRD', ok: false, hop: 'egress-gateway', detail: crd ? `${XBACKEND_CRD}: ${condText(est, 'Established')}` : `${XBACKEND_CRD} not installed`, fix: { summary: 'install the wg-ai-gateway backend CRDs (step 1)', patch: 'kubectl apply --server-side -f "$WG_DIR/backend/k8s/crds/"   # older checkouts: $WG_DIR/../internal/backend/k8s/crds/\ndemo up --target cluster --wg-dir "$WG_DIR"' } },
  );

  // The controller: running, and built with the prefix-rewrite fix (its own check).
  const ctl = await deploymentFact(objs, cfg.egress.controllerNamespace, names.controller, 'wg-ai-gateway controller', 'egress-gateway', {
    missingFix: { summary: 'deploy the wg-ai-gateway controller (step 1)', patch: 'demo up --target cluster --wg-dir "$WG_DIR"' },
  });
  const { deployment: ctlDeployment, ...ctlFact } = ctl;
  facts.push(ctlFact);
  if (ctlDeployment) {
    const image = containerOf(ctlDeployment, 'manager')?.image;
    const fixed = controllerFixedOf(image, cfg, inp.env);
    const setImage = `kubectl -n ${cfg.egress.controllerNamespace} set image deployment/${names.controller} manager=${cfg.egress.controllerImage}`;
    facts.push({
      name: 'controller image',
      ok: fixed !== false,
      hop: 'egress-gateway',
      check: 'install-controller-rewrite-fix',
      detail:
        fixed === true
          ? `${image} carries the prefix-rewrite fix (wg-ai-gateway PR #38)`
          : fixed === false
            ? `${image} predates the prefix-rewrite fix (wg-ai-gateway PR #38): /<provider>/v1/… reaches the provider as //v1/…`
            : `${image}: not a build known to carry the prefix-rewrite fix; only a live probe can tell (list verified images in DEMO_FIXED_CONTROLLER_IMAGES)`,
      ...(fixed === true ? {} : { fix: { summary: `run a wg-ai-gateway controller built with the prefix-rewrite fix (PR #38): ${cfg.egress.controllerImage}`, patch: `# Deployment ${cfg.egress.controllerNamespace}/${names.controller} container manager\n- image: ${image}\n+ image: ${cfg.egress.controllerImage}\n${setImage}\nkubectl -n ${cfg.egress.controllerNamespace} rollout status deployment/${names.controller}`, objects: [{ kind: 'Deployment', name: names.controller, namespace: cfg.egress.controllerNamespace }] } }),
    });
  }

  // The egress Gateway: Programmed, and — Programmed says nothing about the pod (§9.11) — its Envoy available.
  const gw = await objs.get(GW_API, 'Gateway', cfg.egress.namespace, cfg.egress.gatewayName);
  const prog = cond(gw, 'Programmed');
  const gwRef = `Gateway ${cfg.egress.namespace}/${cfg.egress.gatewayName}`;
  facts.push(
    !gw
      ? { name: 'egress Gateway', ok: false, hop: 'egress-gateway', detail: `${gwRef} not found`, fix: { summary: 'create the egress Gateway (step 1)', patch: 'demo up --target cluster --wg-dir "$WG_DIR"' } }
      : prog?.status === 'True'
        ? { name: 'egress Gateway', ok: true, hop: 'egress-gateway', detail: `${gwRef} Programmed` }
        : {
            name: 'egress Gateway',
            ok: false,
            hop: 'egress-gateway',
            detail: `${gwRef}: ${condText(prog, 'Programmed')}`,
            fix: {
              summary: (gw.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== cfg.egress.className ? `the controller serves only class ${cfg.egress.className}: set spec.gatewayClassName` : `read the controller's log for the translation error`,
              patch: (gw.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== cfg.egress.className ? `# ${gwRef}\n- gatewayClassName: ${(gw.spec as { gatewayClassName?: string }).gatewayClassName}\n+ gatewayClassName: ${cfg.egress.className}` : `kubectl -n ${cfg.egress.controllerNamespace} logs deployment/${names.controller} --tail 50`,
            },
          },
  );
  const envoy = await deploymentFact(objs, cfg.egress.namespace, envoyName(cfg), 'egress Envoy', 'egress-gateway', {
    missingFix: { summary: `the controller creates ${envoyName(cfg)} for ${gwRef}: is it running and is the Gateway of class ${cfg.egress.className}?`, patch: `kubectl -n ${cfg.egress.controllerNamespace} logs deployment/${names.controller} --tail 50` },
  });
  const { deployment: _envoyDeployment, ...envoyFact } = envoy;
  if (!envoyFact.ok && envoyFact.fix) envoyFact.fix.patch += `\n# the controller force-applies ${envoyName(cfg)} on every reconcile: patching its requests does not last`;
  facts.push(envoyFact);

  // maas-api: available, the external-models image, and not managed by the operator (else it reverts, §9.15).
  const api = await deploymentFact(objs, cfg.maas.apiNamespace, names.maasApi, 'maas-api', 'maas-api', { missingFix: { summary: 'install MaaS (maas-api)', patch: `kubectl get deployment -A -l app.kubernetes.io/name=maas-api` } });
  const { deployment: apiDeployment, ...apiFact } = api;
  facts.push(apiFact);
  // On another generation, maas-api is not the tier-era fork's to replace: no image advice there.
  if (apiDeployment && tierEra) {
    const image = containerOf(apiDeployment, 'maas-api')?.image ?? '';
    const managed = apiDeployment.metadata.annotations?.[MANAGED_ANNOTATION];
    const ns = cfg.maas.apiNamespace;
    const external = image === cfg.maas.maasApiImage || /external-models/.test(image);
    facts.push(
      !external
        ? { name: 'maas-api lists external models', ok: false, hop: 'maas-api', detail: `image ${image} does not read the external model registry`, fix: { summary: `run the maas-api build with the external-models patch (step 5)`, patch: `# Deployment ${ns}/maas-api\n- image: ${image}\n+ image: ${cfg.maas.maasApiImage}\nkubectl -n ${ns} annotate deployment maas-api ${MANAGED_ANNOTATION}=false --overwrite\nkubectl -n ${ns} set image deployment/maas-api maas-api=${cfg.maas.maasApiImage}` } }
        : managed !== 'false'
          ? { name: 'maas-api lists external models', ok: false, hop: 'maas-api', detail: `image ${image}, but without ${MANAGED_ANNOTATION}=false the operator reverts it`, fix: { summary: `mark maas-api unmanaged so the operator keeps the patched image`, patch: `kubectl -n ${ns} annotate deployment maas-api ${MANAGED_ANNOTATION}=false --overwrite` } }
          : { name: 'maas-api lists external models', ok: true, hop: 'maas-api', detail: `image ${image}, ${MANAGED_ANNOTATION}=false` },
    );
  }

  // The foreign-gateway hazard (§6).
  facts.push(await foreignReconcileFact(objs, cfg));

  // Routes: accepted by their gateway's controller, references resolved.
  const r = await routes(objs, cfg);
  const routeFact = (route: HttpRoute, gwName: string, gwNs: string, check: string, provider: string, hop: HopId): InstallFact => {
    const ref = `HTTPRoute ${route.metadata.namespace}/${route.metadata.name}`;
    const parent = (route.status?.parents ?? []).find((p) => (p.parentRef?.name ?? '') === gwName && (p.parentRef?.namespace ?? route.metadata.namespace) === gwNs) ?? route.status?.parents?.[0];
    const acc = parent?.conditions?.find((c) => c.type === 'Accepted');
    const res = parent?.conditions?.find((c) => c.type === 'ResolvedRefs');
    const detail = `${ref} on ${gwName}: ${condText(acc, 'Accepted')}, ${condText(res, 'ResolvedRefs')}`;
    if (!parent) return { name: ref, ok: false, hop, check, provider, detail: `${ref}: no status from ${gwName}'s controller (not reconciled)`, fix: { summary: `the controller of ${gwNs}/${gwName} has not taken ${ref}: check parentRefs and the Gateway`, patch: `kubectl -n ${route.metadata.namespace} get httproute ${route.metadata.name} -o yaml` } };
    if (acc?.status === 'True' && res?.status !== 'False') return { name: ref, ok: true, hop, check, provider, detail };
    const x = routeRule(route);
    const kindWrong = res?.status === 'False' && x.backendKind !== 'Backend' && x.backendKind !== 'Service';
    return {
      name: ref,
      ok: false,
      hop,
      check,
      provider,
      detail: `${detail}${res?.status === 'False' ? ' — Envoy answers 500 for this path' : ''}`,
      fix: kindWrong
        ? { summary: `backendRef kind must be Backend (an XBackendDestination of that name) or Service`, patch: `# ${ref} rules[0].backendRefs[0]\n- kind: ${x.backendKind}\n+ kind: Backend`, objects: [{ kind: 'HTTPRoute', name: route.metadata.name, ...(route.metadata.namespace ? { namespace: route.metadata.namespace } : {}) }] }
        : res?.status === 'False'
          ? { summary: `make backendRef ${x.backendKind}/${x.backend}:${x.backendPort} resolve: the object must exist in ${route.metadata.namespace} and list the port`, patch: `kubectl -n ${route.metadata.namespace} get ${x.backendKind === 'Backend' ? 'xbackenddestination' : 'service'} ${x.backend} -o yaml` }
          : { summary: `${ref} is not accepted by ${gwName}: ${acc?.reason ?? 'see its status'}`, patch: `kubectl -n ${route.metadata.namespace} get httproute ${route.metadata.name} -o jsonpath='{.status.parents}'` },
    };
  };
  for (const route of r.egress) facts.push(routeFact(route, cfg.egress.gatewayName, cfg.egress.namespace, 'rewrite-egress-route-present', providerOfEgress(route), 'egress-gateway'));
  for (const route of r.bridges) facts.push(routeFact(route, cfg.maas.gatewayName, cfg.maas.gatewayNamespace, 'rewrite-bridge-prefix', providerOfBridge(route), 'maas-gateway'));

  // Policies: accepted by Kuadrant and enforced on their target; fields the API server pruned.
  for (const route of r.bridges) {
    const pol = await authPolicyFor(objs, cfg, route.metadata.name);
    if (!pol) continue;
    const provider = providerOfBridge(route);
    facts.push(policyFact('AuthPolicy', pol, 'maas-gateway', { check: 'key-policy-enforced', provider }));
    const pruned = prunedFields(pol);
    if (pruned.length) {
      facts.push({
        name: `AuthPolicy ${pol.metadata.namespace}/${pol.metadata.name} fields`,
        ok: false,
        hop: 'maas-gateway',
        check: 'key-injected',
        provider,
        detail: `the API server dropped ${pruned.join(', ')} (not in the AuthPolicy schema; kubectl only warned)`,
        fix: { summary: 'put the headers under spec.rules.response.success.headers and apply with strict field validation', patch: `kubectl apply --server-side --field-validation=Strict -f <the AuthPolicy file>   # rejects unknown fields instead of dropping them`, objects: [{ kind: 'AuthPolicy', name: pol.metadata.name, ...(pol.metadata.namespace ? { namespace: pol.metadata.namespace } : {}) }] },
      });
    }
  }
  const trlp = await trlpOf(objs, cfg);
  if (trlp) facts.push(policyFact('TokenRateLimitPolicy', trlp, 'maas-gateway', { check: 'ratelimit-policy-present' }));
  facts.push(...(await wasmShimFacts(objs, cfg, inp.providers)));
  return facts;
}

/**
 * The wasm-shim build Kuadrant put on the MaaS gateway (Istio: WasmPlugin `kuadrant-<gateway>`): v0.12.0
 * appends injected headers instead of replacing them (§9.8), which breaks every provider whose key
 * replaces Authorization. A digest or an unknown tag says nothing; the live probe decides then.
 */
export function wasmShimVersion(url: string): string | undefined {
  return /wasm-shim(?:-rhel\d+)?:(v?\d+\.\d+\.\d+)/.exec(url)?.[1]?.replace(/^(?!v)/, 'v');
}

async function wasmShimFacts(objs: ClusterObjects, cfg: DemoConfig, providers: readonly ProviderConfig[]): Promise<InstallFact[]> {
  const replacing = providers.filter((p) => p.keyHeader === 'authorization');
  if (!replacing.length) return [];
  const name = `kuadrant-${cfg.maas.gatewayName}`;
  const plugin = await objs.get('extensions.istio.io/v1alpha1', 'WasmPlugin', cfg.maas.gatewayNamespace, name);
  const url = (plugin?.spec as { url?: string } | undefined)?.url;
  const version = url ? wasmShimVersion(url) : undefined;
  if (!url || !version) return [];
  const ref = `WasmPlugin ${cfg.maas.gatewayNamespace}/${name}`;
  return replacing.map((p): InstallFact => {
    if (version !== 'v0.12.0') return { name: WASM_SHIM_FACT, ok: true, hop: 'maas-gateway', check: 'key-injected', provider: p.name, detail: `${ref} runs wasm-shim ${version}, which replaces injected headers` };
    return {
      name: WASM_SHIM_FACT,
      ok: false,
      hop: 'maas-gateway',
      check: 'key-injected',
      provider: p.name,
      detail: `${ref} runs wasm-shim v0.12.0 (${url}), which appends injected headers: ${p.name} receives the MaaS token and its key as two Authorization headers and reads the first`,
    };
  });
}
