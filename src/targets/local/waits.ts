/**
 * A step's readiness conditions (the same `WaitSpec`s a cluster watches) as local probes: a rollout
 * is the process answering its readiness path, a route Accepted with ResolvedRefs is the hop routing
 * its prefix to a backend that answers, a policy Enforced is the gateway refusing a request without
 * a token the way that policy does. Where no process stands for an object (the wg controller, a CRD)
 * the condition says what stands in for it instead.
 */
import { fetch as ufetch, type Agent } from 'undici';
import type { WaitSpec } from '../../core/step.js';
import type { DemoConfig } from '../../core/config.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { ObjectSet } from '../../model/object-source.js';
import { routeRule, type HttpRoute } from '../../model/read-objects.js';
import { envoyName } from '../../../steps/scope.js';
import type { ComponentState } from './state.js';
import type { Workload } from './workloads.js';

export interface LocalWorld {
  cfg: DemoConfig;
  objects: ObjectSet;
  /** host:port of the MaaS gateway (HTTPS). */
  host: string;
  agent: Agent;
  components: Record<string, ComponentState>;
  workloads: readonly Workload[];
  clusterToken: string;
  /** The spec a hop is running, from its admin listener. */
  config(hop: 'maas-gateway' | 'egress-gateway' | 'maas-api'): Promise<Record<string, unknown> | undefined>;
}

export interface LocalWait {
  condition: string;
  probe(): Promise<true | string>;
}

const ok = (r: Response | { status: number }) => r.status;

async function get(url: string, init: { dispatcher?: Agent; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await ufetch(url, { ...init, signal: AbortSignal.timeout(5_000) } as Parameters<typeof ufetch>[1]);
  return { status: ok(r), headers: r.headers as unknown as Headers, text: await r.text() };
}

const met = (condition: string, note: string): LocalWait => ({ condition: `${condition} (local: ${note})`, probe: async () => true });

/** The workload a Deployment or a label selector stands for. */
function workloadFor(world: LocalWorld, namespace: string, name?: string, selector?: string): Workload | undefined {
  const sel = (selector ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]);
  return world.workloads.find((w) => w.namespace === namespace && (name ? w.object === `Deployment/${namespace}/${name}` || w.object.endsWith(`/${namespace}/${name}`) : sel.every(([k, v]) => w.labels[k] === v)));
}

function processReady(world: LocalWorld, w: Workload, condition: string): LocalWait {
  return {
    condition,
    probe: async () => {
      const c = world.components[w.component];
      if (!c) return 'process not started';
      const r = await get(`http://127.0.0.1:${c.port}${w.health}`);
      return r.status < 400 ? true : `GET ${w.health} → HTTP ${r.status}`;
    },
  };
}

function egressAnswers(world: LocalWorld, condition: string): LocalWait {
  return {
    condition,
    probe: async () => {
      const c = world.components['egress-gateway'];
      if (!c) return 'egress Envoy not started';
      const r = await get(`http://127.0.0.1:${c.port}/`);
      return r.status === 404 && r.headers.get('server') === 'envoy' ? true : `HTTP ${r.status}`;
    },
  };
}

/** A path under a route's prefix that the backend serves (`/v1/models`). */
const probePath = (prefix: string) => `${prefix.replace(/\/+$/, '')}/v1/models`;

function routeWait(world: LocalWorld, spec: Extract<WaitSpec, { kind: 'route-accepted' }>, condition: string): LocalWait {
  const { cfg } = world;
  return {
    condition,
    probe: async () => {
      const route = (await world.objects.get('gateway.networking.k8s.io/v1', 'HTTPRoute', spec.namespace, spec.name)) as HttpRoute | undefined;
      const onEgress = spec.parent?.name === cfg.egress.gatewayName && spec.parent.namespace === cfg.egress.namespace;
      if (onEgress) {
        // As the wg controller reports it: Accepted once the gateway took the route, ResolvedRefs once
        // its backendRef names a destination (and a port) the gateway knows. Whether the backend
        // answers is not part of the status: validate and doctor find that out.
        if (!route) return 'route not applied';
        const eg = (await world.config('egress-gateway')) as { routes?: { name: string; backendRef: { kind: string; name: string; port: number } }[]; backends?: { name: string; ports: number[] }[] } | undefined;
        const programmed = eg?.routes?.find((x) => x.name === spec.name);
        if (!programmed) return 'Accepted=False: the egress gateway has not taken the route (parentRef)';
        const ref = programmed.backendRef;
        const backend = eg?.backends?.find((b) => b.name === ref.name);
        if (ref.kind !== 'Backend') return `ResolvedRefs=False (InvalidKind): backendRef kind ${ref.kind}`;
        if (!backend) return `ResolvedRefs=False (BackendNotFound): no XBackendDestination ${ref.name}`;
        if (!backend.ports.includes(ref.port)) return `ResolvedRefs=False: XBackendDestination ${ref.name} lists no port ${ref.port}`;
        return true;
      }
      // A route on the MaaS gateway (KServe's on-prem route): the gateway policy answers for it.
      const prefix = route ? routeRule(route).prefix : ((await onpremPrefix(world, spec.namespace, spec.name)) ?? '');
      if (!prefix) return 'route not known';
      const r = await get(`https://${world.host}${probePath(prefix)}`, { dispatcher: world.agent });
      return r.status === 401 && r.headers.get('www-authenticate') ? true : `HTTP ${r.status}`;
    },
  };
}

async function onpremPrefix(world: LocalWorld, namespace: string, routeName: string): Promise<string | undefined> {
  const name = routeName.replace(/-kserve-route$/, '');
  const llm = await world.objects.get('serving.kserve.io/v1alpha1', 'LLMInferenceService', namespace, name);
  return llm ? `/${namespace}/${name}` : undefined;
}

function policyWait(world: LocalWorld, spec: Extract<WaitSpec, { kind: 'policy-enforced' }>, condition: string): LocalWait {
  return {
    condition,
    probe: async () => {
      const pol = await world.objects.get(spec.apiVersion, spec.resource, spec.namespace, spec.name);
      if (!pol) return 'policy not applied';
      if (spec.resource === 'TokenRateLimitPolicy') {
        const rl = (await world.config('maas-gateway'))?.rateLimit as { enabled?: boolean; limits?: unknown[] } | undefined;
        return rl?.enabled && (rl.limits?.length ?? 0) > 0 ? true : 'the gateway has no token limits programmed';
      }
      // An AuthPolicy is enforced when its route refuses a request without a token as this policy does.
      const target = (pol.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef;
      const route = target?.kind === 'HTTPRoute' ? ((await world.objects.get('gateway.networking.k8s.io/v1', 'HTTPRoute', spec.namespace, target.name ?? '')) as HttpRoute | undefined) : undefined;
      if (!route) return `its target ${target?.kind ?? '?'}/${target?.name ?? '?'} is not applied`;
      const r = await get(`https://${world.host}${probePath(routeRule(route).prefix)}`, { dispatcher: world.agent });
      return r.status === 401 && (r.headers.get('www-authenticate') ?? '').includes('service-accounts') ? true : `HTTP ${r.status}`;
    },
  };
}

function maasApiRollout(world: LocalWorld, condition: string): LocalWait {
  // maas-api rolls out with the registry it reads: ready when it lists every model the registry names.
  return {
    condition: `${condition} (local: maas-api lists the registry's models)`,
    probe: async () => {
      const cm = (await world.objects.get('v1', 'ConfigMap', world.cfg.maas.apiNamespace, world.cfg.maas.registryName)) as (K8sObject & { data?: Record<string, string> }) | undefined;
      const api = (await world.config('maas-api'))?.registry as { id: string }[] | null | undefined;
      const want = (api ?? []).map((m) => m.id);
      if (cm && !api) return 'maas-api has not read the registry yet';
      const r = await get(`https://${world.host}/v1/models`, { dispatcher: world.agent, headers: { authorization: `Bearer ${world.clusterToken}` } });
      if (r.status !== 200) return `HTTP ${r.status}`;
      const ids = ((JSON.parse(r.text) as { data?: { id: string }[] }).data ?? []).map((m) => m.id);
      const missing = want.filter((id) => !ids.includes(id));
      return missing.length ? `missing ${missing.join(', ')}` : true;
    },
  };
}

/** The local form of one readiness condition. */
export function localWait(spec: WaitSpec, world: LocalWorld): LocalWait {
  const { cfg } = world;
  const envoy = envoyName(cfg);
  switch (spec.kind) {
    case 'crd-established':
      return met(`CustomResourceDefinition ${spec.name} Established`, 'the hops read this kind natively');
    case 'rollout':
    case 'deployment-available': {
      const text = `Deployment ${spec.namespace}/${spec.name} ${spec.kind === 'rollout' ? 'rolled out' : 'Available'}`;
      if (spec.namespace === cfg.egress.controllerNamespace) return met(text, 'no controller runs; the egress hop is programmed directly');
      if (spec.namespace === cfg.egress.namespace && spec.name === envoy) return egressAnswers(world, `${text} (local: the egress Envoy answers)`);
      if (spec.namespace === cfg.maas.apiNamespace && spec.name === 'maas-api') return maasApiRollout(world, text);
      const w = workloadFor(world, spec.namespace, spec.name);
      return w ? processReady(world, w, `${text} (local: its process answers ${w.health})`) : { condition: text, probe: async () => 'no process stands for this Deployment' };
    }
    case 'pods-ready': {
      const text = `Pods ${spec.namespace}/${spec.selector} Ready`;
      if (spec.namespace === cfg.egress.controllerNamespace) return met(text, 'no controller runs');
      if (spec.namespace === cfg.egress.namespace && spec.selector === `app=${envoy}`) return egressAnswers(world, `${text} (local: the egress Envoy answers)`);
      const w = workloadFor(world, spec.namespace, undefined, spec.selector);
      return w ? processReady(world, w, `${text} (local: its process answers ${w.health})`) : { condition: text, probe: async () => 'no process matches the selector' };
    }
    case 'service-endpoints': {
      const text = `Service ${spec.namespace}/${spec.name} has ready endpoints`;
      if (spec.namespace === cfg.egress.namespace && spec.name === envoy) return egressAnswers(world, `${text} (local: the egress Envoy answers)`);
      const svc = world.objects.all().find((o) => o.kind === 'Service' && o.metadata.namespace === spec.namespace && o.metadata.name === spec.name);
      const sel = Object.entries(((svc?.spec as { selector?: Record<string, string> } | undefined)?.selector) ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      const w = sel ? workloadFor(world, spec.namespace, undefined, sel) : undefined;
      return w ? processReady(world, w, `${text} (local: its process answers ${w.health})`) : { condition: text, probe: async () => 'no process behind this Service' };
    }
    case 'condition': {
      const text = `${spec.resource} ${spec.namespace ? `${spec.namespace}/` : ''}${spec.name} ${spec.type}`;
      if (spec.resource === 'GatewayClass') return met(text, 'the egress hop implements it');
      if (spec.resource === 'Gateway') return egressAnswers(world, `${text} (local: the egress Envoy answers)`);
      if (spec.resource === 'LLMInferenceService') {
        const w = world.workloads.find((x) => x.object === `LLMInferenceService/${spec.namespace}/${spec.name}`);
        return w ? processReady(world, w, `${text} (local: the model server answers ${w.health})`) : { condition: text, probe: async () => 'no model server started' };
      }
      return { condition: text, probe: async () => `no local stand-in for ${spec.resource} ${spec.type}` };
    }
    case 'route-accepted':
      return routeWait(world, spec, `HTTPRoute ${spec.namespace}/${spec.name} ${(spec.conditions ?? ['Accepted', 'ResolvedRefs']).join(' and ')}${spec.parent ? ` by ${spec.parent.namespace}/${spec.parent.name}` : ''}`);
    case 'policy-enforced':
      return policyWait(world, spec, `${spec.resource} ${spec.namespace}/${spec.name} Accepted and Enforced`);
  }
}
