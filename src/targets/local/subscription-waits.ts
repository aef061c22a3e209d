/**
 * The subscription era's readiness conditions (the WaitSpecs a cluster watches) as local probes:
 * a MaaSModelRef, MaaSSubscription or MaaSAuthPolicy is Ready when the status its controller gives it
 * says so (and, for a model, maas-api lists it); an ExternalModel's HTTPRoute is Accepted when the
 * gateway routes its path (the auth policy answers instead of a 404); maas-gateway-auth is enforced
 * when a model route refuses a request without credentials; `maas-trlp-<model>` is enforced when the
 * gateway holds a limit for the model; payload processing has rolled out when it answers and holds
 * the Secrets its reconciler would select.
 */
import { fetch as ufetch, type Agent } from 'undici';
import type { DemoConfig } from '../../core/config.js';
import type { WaitSpec } from '../../core/step.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { ObjectSet } from '../../model/object-source.js';
import { readSubscriptionGateway } from '../../model/subscription-gateway.js';
import { IPP_MANAGED_LABEL, PROVIDER_SECRET_KEY } from '../../model/subscription.js';
import { readProviderSecret } from '../../model/subscription-read.js';
import type { ComponentState } from './state.js';
import type { LocalWait } from './waits.js';

export interface EraWorld {
  cfg: DemoConfig;
  /** The objects with their statuses, as the hops were programmed with them. */
  objects: ObjectSet;
  host: string;
  agent: Agent;
  clusterToken: string;
  components: Record<string, ComponentState>;
  config(hop: string): Promise<Record<string, unknown> | undefined>;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

async function get(world: EraWorld, path: string, auth?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await ufetch(`https://${world.host}${path}`, { dispatcher: world.agent, headers: auth ? { authorization: `Bearer ${auth}` } : {}, signal: AbortSignal.timeout(5_000) });
  return { status: r.status, text: await r.text(), headers: r.headers as unknown as Headers };
}

function find(world: EraWorld, kind: string, namespace: string, name: string): K8sObject | undefined {
  return world.objects.all().find((o) => o.kind === kind && (o.metadata.namespace ?? '') === namespace && o.metadata.name === name);
}

function conditionWait(world: EraWorld, spec: Extract<WaitSpec, { kind: 'condition' }>): LocalWait {
  const text = `${spec.resource} ${spec.namespace ? `${spec.namespace}/` : ''}${spec.name} ${spec.type}`;
  return {
    condition: spec.resource === 'MaaSModelRef' ? `${text} (local: its status, as maas-api reads it)` : `${text} (local: the status its controller sets)`,
    probe: async () => {
      const o = find(world, spec.resource, spec.namespace ?? '', spec.name);
      if (!o) return 'not applied';
      const status = rec(o.status);
      const c = (Array.isArray(status.conditions) ? status.conditions : []).map(rec).find((x) => x.type === spec.type);
      if (!c || c.status !== 'True') return `${spec.type}=${String(c?.status ?? 'Unknown')}${c?.reason ? ` (${String(c.reason)}: ${String(c.message ?? '')})` : ''}, phase ${String(status.phase ?? '-')}`;
      if (spec.resource !== 'MaaSModelRef') return true;
      // maas-api lists what its informer holds: the MaaSModelRef Ready in its programmed objects.
      const api = (await world.config('maas-api')) as { objects?: K8sObject[] } | undefined;
      const held = (api?.objects ?? []).find((x) => x.kind === 'MaaSModelRef' && x.metadata.name === spec.name && (x.metadata.namespace ?? '') === (spec.namespace ?? ''));
      return held && rec(held.status).phase === 'Ready' ? true : 'Ready, but maas-api has not read it yet';
    },
  };
}

/** The local form of one of the era's readiness conditions. */
export function subscriptionWait(spec: WaitSpec, world: EraWorld): LocalWait {
  switch (spec.kind) {
    case 'condition':
      return conditionWait(world, spec);
    case 'route-accepted':
      return {
        condition: `HTTPRoute ${spec.namespace}/${spec.name} Accepted and ResolvedRefs by ${spec.parent?.namespace ?? ''}/${spec.parent?.name ?? ''} (local: the gateway routes its path)`,
        probe: async () => {
          const route = readSubscriptionGateway(world.objects.all()).routes.find((r) => r.namespace === spec.namespace && r.name === spec.name);
          if (!route) return 'the ExternalModel reconciler made no route (ExternalModel not Ready)';
          const r = await get(world, `${route.pathPrefix}/v1/models`);
          return r.status === 401 ? true : `GET ${route.pathPrefix}/v1/models without credentials → HTTP ${r.status}`;
        },
      };
    case 'policy-enforced':
      if (spec.resource === 'TokenRateLimitPolicy') {
        return {
          condition: `TokenRateLimitPolicy ${spec.namespace}/${spec.name} Accepted and Enforced (local: the gateway holds its limits)`,
          probe: async () => {
            const model = `${spec.namespace}/${spec.name.replace(/^maas-trlp-/, '')}`;
            const gw = (await world.config('maas-gateway')) as { objects?: K8sObject[] } | undefined;
            const limits = readSubscriptionGateway(gw?.objects ?? []).limits.filter((l) => l.model === model);
            return limits.length ? true : `no subscription limit for ${model} is programmed`;
          },
        };
      }
      return {
        condition: `${spec.resource} ${spec.namespace}/${spec.name} Accepted and Enforced (local: model routes refuse a request without credentials)`,
        probe: async () => {
          const route = readSubscriptionGateway(world.objects.all()).routes[0];
          if (!route) return 'no model route to probe';
          const r = await get(world, `${route.pathPrefix}/v1/models`);
          return r.status === 401 && r.headers.get('www-authenticate') ? true : `HTTP ${r.status}`;
        },
      };
    case 'rollout':
    case 'deployment-available':
      return {
        condition: `Deployment ${spec.namespace}/${spec.name} rolled out (local: payload processing answers and reads the labelled Secrets)`,
        probe: async () => {
          const c = world.components['payload-processing'];
          if (!c) return 'payload processing not started';
          const r = await ufetch(`http://127.0.0.1:${c.port}/health`, { signal: AbortSignal.timeout(3_000) });
          if (r.status !== 200) return `GET /health → HTTP ${r.status}`;
          const secrets = world.objects.all().filter((o) => o.kind === 'Secret').map(readProviderSecret);
          const pp = (await world.config('payload-processing')) as { objects?: K8sObject[] } | undefined;
          const held = (pp?.objects ?? []).filter((o) => o.kind === 'Secret').length;
          if (held < secrets.length) return `payload processing holds ${held} of ${secrets.length} Secrets`;
          const usable = secrets.filter((s) => s.managed && s.apiKey !== undefined).length;
          return usable || !secrets.length ? true : `none of the Secrets has the label ${IPP_MANAGED_LABEL}=true and a ${PROVIDER_SECRET_KEY} key`;
        },
      };
    default:
      return { condition: `${spec.kind} ${'name' in spec ? spec.name : ''}`, probe: async () => `no local stand-in for a ${spec.kind} wait in the subscription era` };
  }
}
