/**
 * Which MaaS generation the cluster runs, decided from evidence, never assumed (contracts-subscription-era §6):
 *
 * - the CRDs it serves: MaaSSubscription, MaaSModelRef, MaaSAuthPolicy (subscription era);
 * - maas-api's own answers, asked through the API server's service proxy: `POST /v1/tokens` and
 *   `POST /v1/tiers/lookup` exist only in the tier era; `GET /v1/api-keys/config` and `GET /v1/subscriptions`
 *   only in the subscription era (each absent route answers gin's `404 page not found`). The probes send no
 *   identity, so nothing is minted: the tier-era mint refuses with AUTH_FAILURE, the key routes with 401;
 * - the maas-api image: the seed's fork (`…/maas-api:external-models`) is tier era; an `odh-YYYY-MM-DD` tag
 *   dates the build (tiers and tokens were removed in March 2026); floating tags (`odh-stable`) say nothing;
 * - the tier ConfigMap `tier-to-group-mapping` (tier era), and payload-processing in the gateway namespace
 *   (subscription era, since April 2026).
 *
 * One generation with evidence and none against it decides; evidence for both (the March 2026 window when
 * API keys and tiers coexisted, or a maas-api of one era on a platform of the other) or none at all is
 * reported as such, with everything that was seen, and the run stops unless `--maas tier|subscription`
 * says which it is.
 *
 * The tier era is what the demo's bridge policies are built for (MaaS ServiceAccount tokens checked by a
 * TokenReview); the subscription era issues `sk-oai-` API keys no TokenReview accepts, so each generation
 * runs its own plan (the tier era's steps 1–5, or the subscription era's in era.ts).
 */
import type { Kube, RawResponse } from './client.js';
import type { K8sObject } from '../../model/k8s-object.js';

export type MaasGeneration = 'tier' | 'subscription';
export const MAAS_GENERATIONS = ['tier', 'subscription'] as const;

export interface Evidence {
  /** What was looked at, and what it said. */
  text: string;
  /** The generation it points to (none: it says nothing either way). */
  points?: MaasGeneration;
  /** maas-api's own answers weigh most: the demo never patches a maas-api they place in another era. */
  fromMaasApi?: boolean;
}

export interface GenerationFacts {
  /** The decision: a generation, or `unknown` / `mixed` when the evidence does not decide. */
  generation: MaasGeneration | 'unknown' | 'mixed';
  evidence: Evidence[];
  /** Set when `--maas` decided it. */
  override?: MaasGeneration;
  /** What maas-api itself answered (undefined: it could not be asked). */
  maasApiSays?: MaasGeneration | 'both' | 'neither';
}

export interface MaasIdentity {
  readonly generation: MaasGeneration;
  /** Can the demo's bridge policies authenticate the credentials this generation issues? */
  readonly supported: boolean;
  /** Gateway path that mints a credential for the calling user. */
  readonly mintPath: string;
  /** Kind of credential minted, for messages. */
  readonly credential: string;
  /** Why the demo cannot run on it and the ways out (only when unsupported). */
  explain(): { message: string; hint: string };
}

const SUBSCRIPTION_KINDS = [
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSSubscription' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSModelRef' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSAuthPolicy' },
];

/** The seed's fork of maas-api (tier era plus the external-model listing). */
export const TIER_FORK_IMAGE = /\/maas-api:external-models$/;

/** What an image says about the generation. */
export function imageEvidence(image: string): Evidence {
  if (TIER_FORK_IMAGE.test(image)) return { text: `maas-api runs ${image}, the seed's tier-era fork`, points: 'tier' };
  const dated = /:odh-(\d{4}-\d{2}-\d{2})/.exec(image)?.[1];
  if (dated && dated < '2026-03-05') return { text: `maas-api runs ${image}, built ${dated}, before API keys replaced tokens (2026-03-05)`, points: 'tier' };
  if (dated && dated >= '2026-03-29') return { text: `maas-api runs ${image}, built ${dated}, after tiers were removed (2026-03-29)`, points: 'subscription' };
  return { text: `maas-api runs ${image}${dated ? ` (built ${dated}, when tiers and API keys coexisted)` : ': a tag that does not date the build'}` };
}

/** gin's answer for a route the server does not have. */
function absent(r: RawResponse): boolean {
  return r.status === 404 && /404 page not found/.test(r.body);
}

/** An answer from maas-api itself (not a Status from the API server about the proxy). */
function fromApp(r: RawResponse): boolean {
  if (absent(r)) return true;
  try {
    const v = JSON.parse(r.body) as { kind?: string };
    return v?.kind !== 'Status';
  } catch {
    return r.status !== 503 && r.status !== 403;
  }
}

function proxyProblem(r: RawResponse): string {
  try {
    const v = JSON.parse(r.body) as { message?: string };
    return v.message ?? `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status} ${r.body.slice(0, 80)}`;
  }
}

/** The Service port maas-api serves on, as the service proxy names it (`https:maas-api:8443`). */
export function proxyTargetOf(svc: K8sObject | undefined): string | undefined {
  const ports = ((svc?.spec as { ports?: { name?: string; port?: number }[] } | undefined)?.ports ?? []);
  const p = ports.find((x) => x.name === 'https') ?? ports.find((x) => x.port === 8443) ?? ports[0];
  if (!p?.port) return undefined;
  const tls = p.name === 'https' || p.port === 8443 || p.port === 443;
  return `${tls ? 'https:' : ''}${svc!.metadata.name}:${p.port}`;
}

/** Asks maas-api its routes (tier: tokens, tier lookup; subscription: key config, subscriptions). */
async function askMaasApi(kube: Kube, ns: string): Promise<{ evidence: Evidence[]; says?: GenerationFacts['maasApiSays'] }> {
  const svc = await kube.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: 'maas-api' }).catch(() => undefined);
  const target = proxyTargetOf(svc);
  if (!target) return { evidence: [{ text: `maas-api not asked: no Service ${ns}/maas-api with a port` }] };
  const probes: { method: string; path: string; era: MaasGeneration; body?: unknown }[] = [
    { method: 'POST', path: '/v1/tokens', era: 'tier', body: {} },
    { method: 'POST', path: '/v1/tiers/lookup', era: 'tier', body: { groups: ['system:authenticated'] } },
    { method: 'GET', path: '/v1/api-keys/config', era: 'subscription' },
    { method: 'GET', path: '/v1/subscriptions', era: 'subscription' },
  ];
  const evidence: Evidence[] = [];
  const has = { tier: 0, subscription: 0 };
  const lacks = { tier: 0, subscription: 0 };
  for (const p of probes) {
    let r: RawResponse;
    try {
      r = await kube.serviceProxy(ns, target, p.method, p.path, p.body);
    } catch (err) {
      return { evidence: [{ text: `maas-api not asked: ${(err as Error).message}` }] };
    }
    if (!fromApp(r)) {
      const why = r.status === 403 ? 'the service proxy (services/proxy) is forbidden to this user' : proxyProblem(r);
      return { evidence: [{ text: `maas-api not asked through the API server's service proxy: ${why}` }] };
    }
    if (absent(r)) {
      lacks[p.era]++;
      evidence.push({ text: `maas-api answers ${p.method} ${p.path} with 404 page not found`, points: p.era === 'tier' ? 'subscription' : 'tier', fromMaasApi: true });
    } else {
      has[p.era]++;
      evidence.push({ text: `maas-api serves ${p.method} ${p.path} (HTTP ${r.status})`, points: p.era, fromMaasApi: true });
    }
  }
  const tier = has.tier > 0;
  const sub = has.subscription > 0;
  return { evidence, says: tier && sub ? 'both' : tier ? 'tier' : sub ? 'subscription' : 'neither' };
}

/** Gathers the evidence and decides (see the module comment). `override` is `--maas`. */
export async function detectMaasGeneration(kube: Kube, maasNamespace: string, opts: { gatewayNamespace?: string; override?: MaasGeneration } = {}): Promise<GenerationFacts> {
  const evidence: Evidence[] = [];
  const served: string[] = [];
  for (const k of SUBSCRIPTION_KINDS) if (await kube.served(k.apiVersion, k.kind).catch(() => undefined)) served.push(k.kind);
  evidence.push(served.length ? { text: `CRDs served: ${served.join(', ')} (maas.opendatahub.io)`, points: 'subscription' } : { text: 'no MaaSSubscription/MaaSModelRef/MaaSAuthPolicy CRD served' });
  const api = await askMaasApi(kube, maasNamespace);
  evidence.push(...api.evidence);
  const deployment = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: maasNamespace, name: 'maas-api' }).catch(() => undefined);
  const containers = ((deployment?.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined)?.template?.spec?.containers ?? []);
  const image = (containers.find((c) => c.name === 'maas-api') ?? containers[0])?.image;
  if (image) evidence.push(imageEvidence(image));
  const tiers = await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: maasNamespace, name: 'tier-to-group-mapping' }).catch(() => undefined);
  if (tiers) evidence.push({ text: `ConfigMap ${maasNamespace}/tier-to-group-mapping exists`, points: 'tier' });
  const gwNs = opts.gatewayNamespace ?? 'openshift-ingress';
  const ipp = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: gwNs, name: 'payload-processing' }).catch(() => undefined);
  if (ipp) evidence.push({ text: `Deployment ${gwNs}/payload-processing exists (the subscription era's payload processor)`, points: 'subscription' });

  const pointing = new Set(evidence.map((e) => e.points).filter((p): p is MaasGeneration => p !== undefined));
  const decided: GenerationFacts['generation'] = pointing.size === 1 ? [...pointing][0]! : pointing.size === 2 ? 'mixed' : 'unknown';
  return {
    generation: opts.override ?? decided,
    evidence,
    ...(opts.override ? { override: opts.override } : {}),
    ...(api.says ? { maasApiSays: api.says } : {}),
  };
}

/** One line of what was seen, for messages. */
export function evidenceText(g: GenerationFacts): string {
  return g.evidence.map((e) => e.text).join('; ');
}

class TierIdentity implements MaasIdentity {
  readonly generation = 'tier' as const;
  readonly supported = true;
  readonly mintPath = '/maas-api/v1/tokens';
  readonly credential = 'MaaS ServiceAccount token (JWT, audience maas-default-gateway-sa)';
  explain() {
    return { message: 'tier-era MaaS is supported', hint: '' };
  }
}

class SubscriptionIdentity implements MaasIdentity {
  readonly generation = 'subscription' as const;
  readonly supported = true;
  readonly mintPath = '/maas-api/v1/api-keys';
  readonly credential = 'MaaS API key (sk-oai-…)';
  explain() {
    return { message: 'subscription-era MaaS is supported: the demo runs its external-model setup (ExternalModel, MaaSModelRef, MaaSAuthPolicy, MaaSSubscription, an API key)', hint: '' };
  }
}

export function identityFor(generation: MaasGeneration): MaasIdentity {
  return generation === 'tier' ? new TierIdentity() : new SubscriptionIdentity();
}
