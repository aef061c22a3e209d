/**
 * The cluster as validate and doctor see it. Requests go to the MaaS gateway at
 * `https://maas.<cluster domain>` (or `DEMO_GATEWAY_URL`), verified with the system CAs, `--ca-file`,
 * or not at all only with `--insecure` (said on stderr, and reported by doctor as an exposure).
 * Hops cannot be asked on a cluster, so `hopRecords` is empty and traces are inferred from the route
 * objects read here; the token budget comes from the TokenRateLimitPolicy (what was spent is unknown).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { DemoConfig } from '../../core/config.js';
import { UnreachableError, UserError } from '../../core/errors.js';
import { Secret, fingerprint } from '../../core/secret.js';
import type { BudgetRecord, Endpoint, FixProposal, FixRequest, RouteModel, SessionOptions, TargetOptions, TargetSession } from '../target.js';
import type { HopRecord } from '../../model/hop-record.js';
import { DEMO_SELECTOR } from '../../model/k8s-object.js';
import { Kube, toKubeError, UNREACHABLE_HINT } from './client.js';
import { kubeconfigToken, loadKubeconfig, type LoadedKubeconfig } from './kubeconfig.js';
import { clusterDomain, MAAS_NAMESPACES, XBACKEND } from './preflight.js';
import { DEFAULT_TRLP_NAME, names } from '../../../steps/scope.js';
import type { TopologySpec } from '../../model/topology.js';
import { celLiteral, policyAuth, controllerFixedOf, readTopology, routeRule, topologyReads, type HttpRoute } from '../../model/read-objects.js';
import { ClusterObjects } from './cluster-objects.js';
import { readInstallFacts } from './install-facts.js';
import type { InstallFact } from '../../model/target-facts.js';
import type { EventInput } from '../../core/events.js';
import type { StepContext } from '../../core/step.js';
import type { ObjectName } from '../../model/target-facts.js';
import type { ObjectSource } from '../../model/object-source.js';
import { stepContext } from './options.js';
import { detectMaasGeneration } from './identity.js';
import type { GenerationId } from '../../generations/index.js';

export { celLiteral };

export class ClusterSession implements TargetSession {
  // `--fix` puts objects back as `up` renders them.
  readonly kind = 'cluster' as const;
  readonly fixable = true;
  readonly apiServer = true;
  readonly cfg: DemoConfig;
  /** The MaaS generation the cluster runs, from evidence (`--maas` where it does not decide); validate and doctor pick their catalog by it. */
  readonly generation: GenerationId;
  readonly kube: Kube;
  readonly loaded: LoadedKubeconfig;
  readonly #opts: TargetOptions;
  readonly #fixTimeoutMs: number;
  readonly #domain: string | undefined;
  #agent: Agent | undefined;
  #token: Secret | undefined;
  #routes: HttpRoute[] | undefined;

  private constructor(opts: TargetOptions, loaded: LoadedKubeconfig, kube: Kube, cfg: DemoConfig, domain: string | undefined, fixTimeoutMs: number, generation: GenerationId) {
    this.#opts = opts;
    this.generation = generation;
    this.#fixTimeoutMs = fixTimeoutMs;
    this.loaded = loaded;
    this.kube = kube;
    this.cfg = cfg;
    this.#domain = domain;
  }

  /** Connects to the cluster of the kubeconfig/--context and reads what validate needs up front. */
  static async open(opts: TargetOptions, session: SessionOptions = {}): Promise<ClusterSession> {
    const loaded = loadKubeconfig({ env: opts.env, ...(opts.kubeconfig ? { file: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
    const kube = new Kube(loaded.kc);
    const override = opts.env.DEMO_GATEWAY_URL;
    let domain: string | undefined;
    try {
      domain = await clusterDomain(kube);
    } catch (err) {
      if (toKubeError(err, 'discovery').errorKind === 'unreachable') throw new UnreachableError(`cannot reach the API server ${loaded.server}: ${(err as Error).message}`, UNREACHABLE_HINT);
      if (!override) throw new UserError(`cannot read the cluster domain from ${loaded.server}: ${(err as Error).message}`, 'check `oc whoami` works for this context, or set DEMO_GATEWAY_URL to the MaaS gateway URL');
    }
    if (!domain && !override) {
      throw new UserError(`${loaded.server} has no OpenShift apps domain (ingresses.config.openshift.io/cluster)`, 'set DEMO_GATEWAY_URL=https://<MaaS gateway host> to say where the gateway is');
    }
    const cfg: DemoConfig = { ...opts.cfg, maas: { ...opts.cfg.maas } };
    for (const ns of [...new Set([cfg.maas.apiNamespace, ...MAAS_NAMESPACES])]) {
      const d = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'maas-api' }).catch(() => undefined);
      if (d) {
        cfg.maas.apiNamespace = ns;
        break;
      }
    }
    // The evidence decides the generation; where it cannot (unknown, mixed), the tier era's checks run and say so.
    const g = await detectMaasGeneration(kube, cfg.maas.apiNamespace, { gatewayNamespace: cfg.maas.gatewayNamespace, ...(opts.maas ? { override: opts.maas } : {}) }).catch(() => undefined);
    const generation: GenerationId = g?.generation === 'subscription' ? 'subscription' : 'tier';
    const t = new ClusterSession(opts, loaded, kube, cfg, domain, session.fixTimeoutMs ?? 60_000, generation);
    await t.#ourRoutes();
    if (opts.insecure && !opts.caFile) {
      opts.warn(`warning: TLS verification of ${t.baseUrl()} is OFF (--insecure): anyone on the path can read tokens and keys`);
    }
    return t;
  }

  baseUrl(): string {
    const override = this.#opts.env.DEMO_GATEWAY_URL;
    if (override) return override.replace(/\/+$/, '');
    return `https://maas.${this.#domain}`;
  }

  async endpoint(): Promise<Endpoint> {
    const caFile = this.#opts.caFile;
    const insecure = Boolean(this.#opts.insecure) && caFile === undefined;
    if (!this.#agent) {
      let ca: string | undefined;
      if (caFile !== undefined) {
        try {
          ca = readFileSync(caFile, 'utf8');
        } catch {
          throw new UserError(`cannot read --ca-file ${caFile}`, 'give the PEM file of the CA that signed the MaaS gateway certificate');
        }
      }
      this.#agent = new Agent({ connect: { ...(ca ? { ca } : {}), ...(insecure ? { rejectUnauthorized: false } : {}) }, keepAliveTimeout: 2_000 });
    }
    return { baseUrl: this.baseUrl(), dispatcher: this.#agent, insecure };
  }

  /** `--token` (or DEMO_TOKEN), else the kubeconfig user's token, else `oc whoami -t`. */
  async clusterToken(): Promise<Secret> {
    if (this.#token) return this.#token;
    const flag = this.#opts.token;
    if (flag) return (this.#token = new Secret(flag));
    const direct = kubeconfigToken(this.loaded.kc);
    if (direct) return (this.#token = new Secret(direct));
    const headers = ((await this.loaded.kc.applyToFetchOptions({}).catch(() => ({}))) as { headers?: Record<string, string> | { get?: (k: string) => string | null } }).headers;
    const auth = headers && typeof (headers as { get?: unknown }).get === 'function' ? (headers as { get: (k: string) => string | null }).get('Authorization') : (headers as Record<string, string> | undefined)?.Authorization ?? (headers as Record<string, string> | undefined)?.authorization;
    if (typeof auth === 'string' && /^Bearer\s+\S+/.test(auth)) return (this.#token = new Secret(auth.replace(/^Bearer\s+/, '')));
    let why = 'oc is not installed';
    try {
      const { $ } = await import('zx');
      const r = await $({ quiet: true, nothrow: true, timeout: '10s', env: { ...this.#opts.env } })`oc whoami -t`;
      const out = r.stdout.trim();
      if (r.exitCode === 0 && out) return (this.#token = new Secret(out));
      why = `\`oc whoami -t\` failed: ${(r.stderr.trim().split('\n')[0] ?? '') || `exit ${r.exitCode}`}`;
    } catch (err) {
      why = `\`oc whoami -t\` could not run: ${(err as Error).message.split('\n')[0]}`;
    }
    throw new UserError(
      `no cluster token: --token (or DEMO_TOKEN) not given, the kubeconfig user ${this.loaded.user} has no token (client certificate or exec plugin), and ${why}`,
      'log in with `oc login` and pass --token "$(oc whoami -t)", or set DEMO_TOKEN',
    );
  }

  async #ourRoutes(): Promise<HttpRoute[]> {
    this.#routes ??= (await this.kube.list('gateway.networking.k8s.io/v1', 'HTTPRoute', undefined, { labelSelector: DEMO_SELECTOR }).catch(() => ({ items: [] }))).items as HttpRoute[];
    return this.#routes;
  }

  providers(): DemoConfig['providers'] {
    // Step 3a ran when its bridge route exists; known once routeModel() or vllmDirectUrl() has read them.
    const routes = this.#routes;
    return this.cfg.providers.filter((p) => !p.optional || (routes ?? []).some((r) => r.metadata.name === names.bridgeRoute(p)));
  }

  async vllmDirectUrl(): Promise<string | undefined> {
    const explicit = this.#opts.env.DEMO_VLLM_URL;
    if (explicit) return explicit.replace(/\/+$/, '');
    const vllm = this.cfg.providers.find((p) => p.optional);
    if (!vllm) return undefined;
    const b = await this.kube.get({ apiVersion: XBACKEND.apiVersion, kind: XBACKEND.kind, namespace: this.cfg.egress.namespace, name: vllm.backend }).catch(() => undefined);
    const spec = b?.spec as { destination?: { fqdn?: { hostname?: string }; ports?: { number?: number; tls?: unknown }[] } } | undefined;
    const host = spec?.destination?.fqdn?.hostname;
    const port = spec?.destination?.ports?.[0];
    // An in-cluster simulator is not reachable from here.
    if (!host || /\.svc(\.cluster\.local)?$/.test(host)) return undefined;
    return `${port?.tls ? 'https' : 'http'}://${host}:${port?.number ?? 8000}`;
  }

  async hopRecords(_requestId: string): Promise<HopRecord[]> {
    return [];
  }

  async routeModel(): Promise<RouteModel> {
    const routes = await this.#ourRoutes();
    const { maas, egress } = this.cfg;
    const policies = (await this.kube.list('kuadrant.io/v1', 'AuthPolicy', egress.namespace, { labelSelector: DEMO_SELECTOR }).catch(() => ({ items: [] }))).items;
    const onMaas = (r: HttpRoute) => (r.spec?.parentRefs ?? []).some((p) => p.name === maas.gatewayName && (p.namespace ?? r.metadata.namespace) === maas.gatewayNamespace);
    const onEgress = (r: HttpRoute) => (r.spec?.parentRefs ?? []).some((p) => p.name === egress.gatewayName && (p.namespace ?? r.metadata.namespace) === egress.namespace);
    const controller = await this.kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: egress.controllerNamespace, name: names.controller }).catch(() => undefined);
    const image = (controller?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image;
    const controllerFixed = controllerFixedOf(image, this.cfg, this.#opts.env);
    const bridges = routes.filter(onMaas).map((r) => {
      const x = routeRule(r);
      const provider = /^\/external\/([^/]+)\//.exec(x.prefix)?.[1] ?? r.metadata.name.replace(/-bridge$/, '');
      const pol = policies.find((p) => ((p.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef?.name === r.metadata.name));
      const auth = pol ? policyAuth(pol) : undefined;
      const inject = auth?.inject;
      return {
        provider,
        pathPrefix: x.prefix,
        rewritePrefix: x.rewrite,
        removeHeaders: x.remove,
        injectHeader: inject?.header ?? null,
        injectFingerprint: inject && inject.expression === undefined ? fingerprint(inject.header.toLowerCase() === 'authorization' ? inject.value.replace(/^Bearer\s+/i, '') : inject.value) : null,
        audiences: auth?.audiences ?? null,
      };
    });
    const egressRoutes = routes.filter(onEgress).map((r) => {
      const x = routeRule(r);
      return { provider: /^\/([^/]+)\//.exec(x.prefix)?.[1] ?? r.metadata.name.replace(/-route$/, ''), pathPrefix: x.prefix, rewritePrefix: x.rewrite, backend: x.backend, controllerFixed };
    });
    const kserve = (await this.kube.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: this.cfg.onprem.namespace, name: names.onpremRoute(this.cfg) }).catch(() => undefined)) as HttpRoute | undefined;
    const onprem = kserve ? [{ pathPrefix: routeRule(kserve).prefix, rewritePrefix: routeRule(kserve).rewrite ?? '/' }] : [];
    return { bridges, egress: egressRoutes, onprem };
  }

  /** The demo's objects in the local topology's shape, for doctor (see inventory.ts for what stays unknown). */
  async topology(): Promise<Partial<TopologySpec>> {
    const objects = await new ClusterObjects(this.kube).read(topologyReads(this.cfg));
    return readTopology(objects, { cfg: this.cfg, env: this.#opts.env, host: new URL(this.baseUrl()).host });
  }

  /** What the controllers say: CRDs, Deployments, Gateway, policy and route status, the §6 hazard. */
  async installFacts(): Promise<InstallFact[]> {
    if (this.generation === 'subscription') {
      const { eraInstallFacts } = await import('./era-session.js');
      return eraInstallFacts(new ClusterObjects(this.kube), this.cfg, this.#opts.maas ? { maas: this.#opts.maas } : {});
    }
    await this.#ourRoutes();
    return readInstallFacts(new ClusterObjects(this.kube), { cfg: this.cfg, env: this.#opts.env, providers: this.providers(), ...(this.#opts.maas ? { maas: this.#opts.maas } : {}) });
  }

  objects(): ObjectSource {
    return new ClusterObjects(this.kube);
  }

  /** The tier's limit from the gateway TokenRateLimitPolicy; what was spent cannot be read (0, inferred). */
  async budget(_userid: string, tier: string): Promise<BudgetRecord | undefined> {
    if (this.generation === 'subscription') {
      // `tier` is the limit's name in maas-trlp-<model> in this era.
      const { eraBudget } = await import('./era-session.js');
      return eraBudget(this.kube, tier);
    }
    const trlp = await this.kube.get({ apiVersion: 'kuadrant.io/v1alpha1', kind: 'TokenRateLimitPolicy', namespace: this.cfg.maas.gatewayNamespace, name: DEFAULT_TRLP_NAME }).catch(() => undefined);
    type Limit = { rates?: { limit?: number }[]; when?: { predicate?: string }[] };
    const limits = ((trlp?.spec as { limits?: Record<string, Limit> } | undefined)?.limits ?? {}) as Record<string, Limit>;
    const entry = limits[`${tier}-user-tokens`] ?? Object.values(limits).find((l) => (l.when ?? []).some((w) => new RegExp(`tier\\s*==\\s*["']${tier}["']`).test(w.predicate ?? '')));
    const limit = entry?.rates?.[0]?.limit;
    if (typeof limit !== 'number') return undefined;
    return { tier, limit, spent: 0, source: 'inferred' };
  }

  /** The render context of this install: its providers (3a when its route exists), the run's flags. */
  #stepContext(): StepContext {
    const base = stepContext({ vllm: false, skipCrds: true }, this.cfg);
    return { ...base, providers: this.providers() };
  }

  /** `doctor --fix`: the named objects as `demo up` renders them, reviewable first (see restore.ts). */
  async proposeFix(fix: FixRequest): Promise<FixProposal | undefined> {
    if (fix.apply?.length) {
      // The subscription era's fixes are the objects as they should be: applied by server-side apply.
      const { eraFix } = await import('./era-session.js');
      return eraFix(this.kube, fix.apply);
    }
    if (!fix.objects?.length) return undefined;
    return this.restore(fix.objects);
  }

  async restore(objects: ObjectName[]): Promise<FixProposal> {
    const { planRestore, planText, applyRestore } = await import('./restore.js');
    await this.#ourRoutes();
    const sctx = this.#stepContext();
    const plan = await planRestore(this.kube, sctx, objects);
    const timeoutMs = this.#fixTimeoutMs;
    const forget = () => {
      this.#routes = undefined;
    };
    const kube = this.kube;
    return {
      patch: planText(plan),
      changes: plan.items.filter((i) => i.changes.length).length,
      async *apply(signal: AbortSignal): AsyncGenerator<EventInput, string[]> {
        try {
          return yield* applyRestore(kube, sctx, { ...plan, items: plan.items.filter((i) => i.changes.length) }, { timeoutMs, signal });
        } finally {
          forget();
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }
}
