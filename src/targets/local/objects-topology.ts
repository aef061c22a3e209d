/**
 * What the hops run, from the applied objects: the same reading of HTTPRoutes, AuthPolicies, the
 * TokenRateLimitPolicy, XBackendDestinations and the registry that the cluster target uses, plus
 * what a cluster's own controllers and DNS would add — KServe's route for an LLMInferenceService,
 * loopback addresses for Service names, the upstream of each gateway.
 */
import type { DemoConfig } from '../../core/config.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { ObjectSource } from '../../model/object-source.js';
import { baseSpec, harden, type OnpremRouteSpec, type TopologySpec } from '../../model/topology.js';
import { readTopology, routeRule, type HttpRoute } from '../../model/read-objects.js';
import { serviceAddresses, type Workload } from './workloads.js';

export interface LocalWiring {
  cfg: DemoConfig;
  env: Record<string, string | undefined>;
  /** host:port of the MaaS gateway. */
  host: string;
  /** Loopback ports of the running processes, by component. */
  ports: Record<string, number>;
  workloads: readonly Workload[];
  strictBudget: boolean;
  /** `--hardened`: the tier era's exposures closed, as fields of the topology (harden in model/topology.ts). */
  hardened?: boolean;
}

/** KServe's route for an LLMInferenceService on the MaaS gateway: `/<namespace>/<name>` rewritten to `/`. */
function onpremRoutes(objects: readonly K8sObject[], cfg: DemoConfig): OnpremRouteSpec[] {
  const out: OnpremRouteSpec[] = [];
  for (const llm of objects.filter((o) => o.kind === 'LLMInferenceService')) {
    const ns = llm.metadata.namespace ?? '';
    const name = llm.metadata.name;
    const spec = llm.spec as { model?: { name?: string }; router?: { route?: unknown; gateway?: { refs?: { name?: string; namespace?: string }[] } } } | undefined;
    if (!spec?.router?.route) continue;
    const refs = spec.router.gateway?.refs ?? [];
    if (refs.length && !refs.some((r) => r.name === cfg.maas.gatewayName && (r.namespace ?? ns) === cfg.maas.gatewayNamespace)) continue;
    // A route KServe already made (a dump from a cluster) wins over the one it would make.
    const made = objects.find((o) => o.kind === 'HTTPRoute' && o.metadata.namespace === ns && o.metadata.name === `${name}-kserve-route`) as HttpRoute | undefined;
    const rule = made ? routeRule(made) : undefined;
    let allowedTiers: string[] = [];
    try {
      const raw = llm.metadata.annotations?.['alpha.maas.opendatahub.io/tiers'];
      if (raw) allowedTiers = (JSON.parse(raw) as unknown[]).map(String);
    } catch {
      allowedTiers = [];
    }
    out.push({
      name: `${name}-kserve-route`,
      pathPrefix: rule?.prefix ?? `/${ns}/${name}`,
      rewritePrefix: rule ? rule.rewrite : '/',
      namespace: ns,
      model: spec.model?.name ?? name,
      allowedTiers,
    });
  }
  return out;
}

export async function topologyFromObjects(objects: ObjectSource & { all(): K8sObject[] }, w: LocalWiring): Promise<TopologySpec> {
  const { cfg } = w;
  const all = objects.all();
  const read = readTopology(all, { cfg, env: w.env, host: w.host });
  const base = baseSpec(cfg, { host: w.host, strictBudget: w.strictBudget });
  const port = (c: string) => w.ports[c];
  const onprem = onpremRoutes(all, cfg);
  const onpremPort = port('onprem-sim');
  const dns = serviceAddresses(all, w.workloads, w.ports);
  const backends = read.egress?.backends ?? [];
  for (const b of backends) {
    for (const p of b.ports) if (!(`${b.hostname}:${p}` in dns) && !/\.svc(\.cluster\.local)?$/.test(b.hostname)) dns[`${b.hostname}:${p}`] = `${b.hostname}:${p}`;
  }
  const upstream = (c: string) => (port(c) ? `http://127.0.0.1:${port(c)}` : undefined);
  const egressUp = upstream('egress-gateway');
  const apiUp = upstream('maas-api');
  const onpremUp = upstream('onprem-sim');
  const gwPort = w.host.split(':')[1] ?? '';
  const spec: TopologySpec = {
    maasGateway: {
      ...base.maasGateway,
      ...read.maasGateway,
      hostnames: [w.host, `localhost:${gwPort}`],
      onprem,
      rateLimit: { ...(read.maasGateway?.rateLimit ?? base.maasGateway.rateLimit), strictBudget: w.strictBudget },
      upstreams: { ...(egressUp ? { egress: egressUp } : {}), ...(apiUp ? { maasApi: apiUp } : {}), ...(onpremUp ? { onprem: onpremUp } : {}) },
    },
    egress: {
      ...base.egress,
      ...read.egress,
      // Unknown on objects without the controller Deployment: the local egress hop runs the fixed translation.
      controllerFixed: read.egress?.controllerFixed ?? true,
      logLevel: read.egress?.logLevel ?? 'info',
      routes: read.egress?.routes ?? [],
      backends,
      dns,
      services: all
        .filter((o) => o.kind === 'Service' && o.metadata.namespace === cfg.egress.namespace)
        .map((o) => ({ name: o.metadata.name, namespace: cfg.egress.namespace, ports: ((o.spec as { ports?: { port?: number }[] } | undefined)?.ports ?? []).map((p) => p.port ?? 80) })),
    },
    maasApi: {
      ...base.maasApi,
      ...read.maasApi,
      registry: read.maasApi?.registry ?? null,
      onprem: onpremUp && onpremPort ? onprem.map((r) => ({ id: r.model, namespace: r.namespace, name: r.name.replace(/-kserve-route$/, ''), upstream: onpremUp, publicUrl: `https://${w.host}${r.pathPrefix}` })) : [],
    },
  };
  return w.hardened ? harden(spec, cfg) : spec;
}
