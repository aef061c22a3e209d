/**
 * Which MaaS generation the cluster runs, and how users get a credential from it (contracts §4.5).
 *
 * - `tier` (MaaS up to early 2026): maas-api mints ServiceAccount tokens at `POST /v1/tokens` for a
 *   tier namespace; the bridge AuthPolicies check them with a TokenReview and read the tier from the
 *   username. This is what the demo's step 4 is built for.
 * - `api-key` (MaaS since the subscription redesign): `POST /v1/api-keys` returns `sk-oai-` keys,
 *   access is MaaSSubscription / MaaSAuthPolicy objects, tiers are gone. A TokenReview never accepts
 *   those keys, so the bridges would answer 401 to every caller.
 *
 * The rest of the target asks this module only through `MaasIdentity`, so supporting the newer
 * generation later means a second implementation (an AuthPolicy checking API keys), not edits
 * spread over preflight, apply and validate.
 */
import type { Kube } from './client.js';

export type MaasGeneration = 'tier' | 'api-key';

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

export interface GenerationFacts {
  generation: MaasGeneration;
  /** What the decision rests on, e.g. `CRD maassubscriptions.maas.opendatahub.io served`. */
  evidence: string[];
  /** True when nothing decided it and `tier` was assumed. */
  assumed: boolean;
}

const API_KEY_KINDS = [
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSSubscription' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSModelRef' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSAuthPolicy' },
];

/** Decides the generation from what the cluster serves: the api-key era's CRDs, or the tier ConfigMap. */
export async function detectMaasGeneration(kube: Kube, maasNamespace: string): Promise<GenerationFacts> {
  const evidence: string[] = [];
  for (const k of API_KEY_KINDS) {
    if (await kube.served(k.apiVersion, k.kind)) evidence.push(`${k.kind} (${k.apiVersion}) is served`);
  }
  if (evidence.length) return { generation: 'api-key', evidence, assumed: false };
  const tiers = await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: maasNamespace, name: 'tier-to-group-mapping' }).catch(() => undefined);
  if (tiers) return { generation: 'tier', evidence: [`ConfigMap ${maasNamespace}/tier-to-group-mapping exists`], assumed: false };
  return { generation: 'tier', evidence: ['neither the api-key CRDs nor the tier ConfigMap were found'], assumed: true };
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

class ApiKeyIdentity implements MaasIdentity {
  readonly generation = 'api-key' as const;
  readonly supported = false;
  readonly mintPath = '/maas-api/v1/api-keys';
  readonly credential = 'MaaS API key (sk-oai-…)';
  explain() {
    return {
      message:
        'this cluster runs the newer MaaS (API keys and subscriptions, no tiers): it issues sk-oai- API keys at /v1/api-keys ' +
        'and has no /v1/tokens, but the demo bridge policies authenticate MaaS ServiceAccount tokens with a TokenReview, ' +
        'which never accepts an API key — every call through /external/… would get 401 at step 4',
      hint:
        'run the demo on a tier-era MaaS (OpenShift AI / ODH built from models-as-a-service before the March 2026 subscription ' +
        'redesign), or try it without a cluster: `demo up` (local target); support for API keys is tracked as a later issue',
    };
  }
}

export function identityFor(generation: MaasGeneration): MaasIdentity {
  return generation === 'tier' ? new TierIdentity() : new ApiKeyIdentity();
}
