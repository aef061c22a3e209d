/**
 * Which object makes a provider's backend unreachable, read from the objects themselves the way the
 * wg translator and cluster DNS follow them: the egress route's backendRef (kind, name, port) → the
 * XBackendDestination (hostname, ports) → the Service its cluster name stands for → the workload
 * behind it. The first link that does not hold is the culprit (hop, object, field); when every link
 * holds, the provider itself does not answer.
 */
import type { ProviderConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { EgressRouteSpec } from '../../model/topology.js';
import type { DoctorContext } from './types.js';

export interface Culprit {
  hop: HopId;
  /** `Kind/namespace/name`. */
  object: string;
  field?: string;
  /** What does not hold, in words. */
  reason: string;
  /** The change that repairs it: `- old` / `+ new` lines for the field. */
  change?: [string | null, string | null];
  /** The object as `{kind, name, namespace}` for `--fix`. */
  ref: { kind: string; name: string; namespace?: string };
}

const XBACKEND_API = 'ainetworking.prototype.x-k8s.io/v0alpha0';

type XSpec = { destination?: { fqdn?: { hostname?: string }; ports?: { number?: number }[] } };
type SvcSpec = { ports?: { port?: number }[]; selector?: Record<string, string> };

const svcName = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/;

export async function backendCulprit(ctx: DoctorContext, p: ProviderConfig, route: EgressRouteSpec | undefined, answer: string): Promise<Culprit | undefined> {
  const cfg = ctx.target.cfg;
  const ns = cfg.egress.namespace;
  const objs = ctx.target.objects();
  if (!route) return undefined;
  const routeKey = `HTTPRoute/${ns}/${route.name}`;
  const routeRef = { kind: 'HTTPRoute', name: route.name, namespace: ns };
  const ref = route.backendRef;
  const xbdOf = (name: string) => objs.get(XBACKEND_API, 'XBackendDestination', ns, name);
  if (ref.kind !== 'Backend' && ref.kind !== 'Service') {
    return { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].backendRefs[0].kind', reason: `backendRef kind ${ref.kind}: the wg translator resolves only Backend (an XBackendDestination) and Service`, change: [`kind: ${ref.kind}`, 'kind: Backend'], ref: routeRef };
  }
  if (ref.kind === 'Service') {
    const svc = await objs.get('v1', 'Service', ns, ref.name);
    if (svc) return undefined;
    const xbd = await xbdOf(ref.name);
    return xbd
      ? { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].backendRefs[0].kind', reason: `backendRef kind Service names ${ref.name}, which is an XBackendDestination (kind Backend); no Service ${ns}/${ref.name} exists`, change: ['kind: Service', 'kind: Backend'], ref: routeRef }
      : { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].backendRefs[0].name', reason: `backendRef names Service ${ref.name}, which does not exist in ${ns}`, change: [`name: ${ref.name}`, `name: ${p.backend}`], ref: routeRef };
  }
  const xbd = await xbdOf(ref.name);
  if (!xbd) {
    const known = (await objs.list(XBACKEND_API, 'XBackendDestination', ns)).map((o) => o.metadata.name);
    return { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].backendRefs[0].name', reason: `backendRef names XBackendDestination ${ref.name}, which does not exist (there are: ${known.join(', ') || 'none'})`, change: [`name: ${ref.name}`, `name: ${known.includes(p.backend) ? p.backend : (known[0] ?? p.backend)}`], ref: routeRef };
  }
  const xKey = `XBackendDestination/${ns}/${ref.name}`;
  const xRef = { kind: 'XBackendDestination', name: ref.name, namespace: ns };
  const dest = (xbd.spec as XSpec | undefined)?.destination;
  const host = dest?.fqdn?.hostname ?? '';
  const ports = (dest?.ports ?? []).map((x) => x.number ?? 0);
  const m = svcName.exec(host);
  const svc = m ? await objs.get('v1', 'Service', m[2], m[1]!) : undefined;
  const svcPorts = ((svc?.spec as SvcSpec | undefined)?.ports ?? []).map((x) => x.port ?? 80);
  if (!ports.includes(ref.port)) {
    // The route and the destination disagree on the port: the one the Service does not serve is wrong.
    const destWrong = svc ? !ports.some((x) => svcPorts.includes(x)) : false;
    return destWrong
      ? { hop: 'egress-gateway', object: xKey, field: 'spec.destination.ports[0].number', reason: `XBackendDestination ${ref.name} lists port ${ports.join(', ')}, but the route sends to ${ref.port} and Service ${m![1]} serves ${svcPorts.join(', ')}`, change: [`number: ${ports[0]}`, `number: ${ref.port}`], ref: xRef }
      : { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].backendRefs[0].port', reason: `backendRef port ${ref.port} is not among XBackendDestination ${ref.name}'s ports (${ports.join(', ') || 'none'}): the route does not resolve`, change: [`port: ${ref.port}`, `port: ${ports[0] ?? 8000}`], ref: routeRef };
  }
  // The backend took the connection and answered too slowly: the route's timeout is what cut it off.
  if (/\bUT\b|upstream request timeout|upstream-timeout/.test(answer)) {
    const current = route.timeoutMs !== undefined ? `timeouts: {request: ${route.timeoutMs / 1000}s}` : 'timeouts: (none: Envoy default 15 s)';
    return { hop: 'egress-gateway', object: routeKey, field: 'spec.rules[0].timeouts.request', reason: `${host}:${ref.port} answers more slowly than the route allows (${route.timeoutMs !== undefined ? `${route.timeoutMs / 1000} s` : "Envoy's 15 s default"}): Envoy cut the request off (UT)`, change: [current, 'timeouts: {request: 60s}'], ref: routeRef };
  }
  if (m) {
    if (!svc) {
      const others = (await objs.list('v1', 'Service', m[2])).map((o) => o.metadata.name);
      const likely = p.simulator && others.includes(p.simulator) ? `${p.simulator}.${m[2]}.svc.cluster.local` : undefined;
      return { hop: 'egress-gateway', object: xKey, field: 'spec.destination.fqdn.hostname', reason: `${host} names Service ${m[2]}/${m[1]}, which does not exist: the name does not resolve from the egress Envoy${others.length ? ` (Services there: ${others.join(', ')})` : ''}`, change: [`hostname: ${host}`, likely ? `hostname: ${likely}` : 'hostname: <the simulator Service>'], ref: xRef };
    }
    if (!svcPorts.includes(ref.port)) {
      return { hop: 'egress-gateway', object: xKey, field: 'spec.destination.ports[0].number', reason: `Service ${m[2]}/${m[1]} serves port ${svcPorts.join(', ')}, not ${ref.port}: nothing accepts the connection`, change: [`number: ${ref.port}`, `number: ${svcPorts[0]}`], ref: xRef };
    }
    // Every link holds: the workload behind the Service does not answer.
    const deployment = await workloadOf(ctx, m[2]!, (svc.spec as SvcSpec | undefined)?.selector ?? {});
    return { hop: `provider:${p.name}`, object: deployment ? `Deployment/${m[2]}/${deployment.metadata.name}` : `Service/${m[2]}/${m[1]}`, reason: `route, XBackendDestination and Service agree, but nothing answers behind Service ${m[2]}/${m[1]}:${ref.port} (${answer})`, ref: deployment ? { kind: 'Deployment', name: deployment.metadata.name, namespace: m[2] } : { kind: 'Service', name: m[1]!, namespace: m[2] } };
  }
  if (/no healthy upstream|UH/.test(answer)) {
    return { hop: 'egress-gateway', object: xKey, field: 'spec.destination.fqdn.hostname', reason: `${host} does not resolve to an IPv4 address from the egress Envoy (LOGICAL_DNS, IPv4 only)`, change: [`hostname: ${host}`, 'hostname: <a name the cluster resolves>'], ref: xRef };
  }
  return { hop: `provider:${p.name}`, object: xKey, reason: `nothing accepts connections at ${host}:${ref.port} from the egress gateway (the provider is down, or an egress firewall or NetworkPolicy blocks it)`, ref: xRef };
}

async function workloadOf(ctx: DoctorContext, namespace: string, selector: Record<string, string>): Promise<K8sObject | undefined> {
  const sel = Object.entries(selector);
  if (!sel.length) return undefined;
  const ds = await ctx.target.objects().list('apps/v1', 'Deployment', namespace);
  return ds.find((d) => sel.every(([k, v]) => ((d.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels ?? {})[k] === v));
}

