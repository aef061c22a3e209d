/**
 * The MaaS generations the demo can run, and the one place that lists them. A generation says *what*
 * runs (the target says *where*): its steps and platform processes, its validation calls, its doctor
 * checks and its faults. The tier era is the seed demo's (tokens minted per tier, a bridge route per
 * provider); the subscription era is current upstream MaaS (API keys in PostgreSQL, subscriptions,
 * external models behind payload processing and TLS origination).
 *
 * Where each generation keeps its parts:
 *   tier          steps/ (and manifests/), src/checks/validate.ts, src/checks/doctor/, src/model/faults.ts
 *   subscription  src/generations/subscription/ (plan, providers, faults, mutations),
 *                 src/checks/subscription/ (validation calls, doctor checks, self-test)
 * A target runs either through one lifecycle; the checks pick their catalog from the session's generation.
 */
import { UserError } from '../core/errors.js';

export const GENERATION_IDS = ['tier', 'subscription'] as const;
export type GenerationId = (typeof GENERATION_IDS)[number];

export interface GenerationInfo {
  id: GenerationId;
  /** How people call it, e.g. in the summary of `up`. */
  title: string;
  /** One sentence: what runs in this generation. */
  summary: string;
}

export const GENERATIONS: Record<GenerationId, GenerationInfo> = {
  tier: {
    id: 'tier',
    title: 'tier era (the seed demo)',
    summary: 'MaaS tokens minted per tier, one bridge route and AuthPolicy per provider, an egress gateway in front of the providers',
  },
  subscription: {
    id: 'subscription',
    title: 'subscription era (current MaaS)',
    summary: 'sk-oai- API keys stored as hashes in PostgreSQL, MaaSSubscriptions, ExternalModels behind payload processing and TLS origination',
  },
};

/** What `up` runs when nothing says otherwise (the seed demo). */
export const DEFAULT_GENERATION: GenerationId = 'tier';

export function isGeneration(v: unknown): v is GenerationId {
  return typeof v === 'string' && (GENERATION_IDS as readonly string[]).includes(v);
}

/** The generation a flag or a state names; unknown text is a usage error. */
export function parseGeneration(raw: string): GenerationId {
  if (isGeneration(raw)) return raw;
  throw new UserError(`--maas must be one of ${GENERATION_IDS.join(', ')}; got "${raw}"`, 'e.g. --maas subscription (current MaaS) or --maas tier (the seed demo)');
}
