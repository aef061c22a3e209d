/**
 * What a target reports to validate and doctor, whatever its kind: the gateway endpoint, the routing
 * facts a trace is judged against, a user's budget, and install-level facts with their repair.
 */
import type { Dispatcher } from 'undici';
import type { HopId } from '../core/events.js';

export interface Endpoint {
  /** https://host[:port] of the MaaS gateway. */
  baseUrl: string;
  /** HTTP client verifying the gateway with the right CA (or, only when asked, not at all). */
  dispatcher: Dispatcher;
  /** True when TLS verification is off (`--insecure`): reported by doctor as an exposure. */
  insecure: boolean;
}

/** The routing facts a trace needs to say what each hop should have done (from config objects). */
export interface RouteModel {
  bridges: { provider: string; pathPrefix: string; rewritePrefix: string | null; removeHeaders: string[]; injectHeader: string | null; injectFingerprint: string | null; audiences: string[] | null }[];
  egress: { provider: string; pathPrefix: string; rewritePrefix: string | null; backend: string; controllerFixed: boolean | null }[];
  onprem: { pathPrefix: string; rewritePrefix: string | null }[];
}

export interface BudgetRecord {
  tier: string;
  limit: number;
  spent: number;
  /** Unix ms when the window resets, when known. */
  resetAt?: number;
  source: 'observed' | 'inferred';
}

/** An object a fix names: kind and name, the namespace when the name alone is ambiguous. */
export interface ObjectName {
  kind: string;
  name: string;
  namespace?: string;
}

/** One install fact: what was found, whether it is healthy, where it lives and how to repair it. */
export interface InstallFact {
  name: string;
  ok: boolean;
  detail: string;
  hop?: HopId;
  /** The short form of the repair (a command), where there is no object to patch. */
  hint?: string;
  /** The doctor check that reports this fact (absent: install-components). */
  check?: string;
  /** The provider a per-provider fact is about. */
  provider?: string;
  /** The repair; `objects` names what `doctor --fix` restores as `demo up` renders it. */
  fix?: { summary: string; patch: string; objects?: ObjectName[] };
}
