/**
 * What validate and doctor need from a target. Only endpoint and token discovery, and how much of
 * each hop can be observed, differ between local and cluster; the calls and checks are the same.
 */
import type { Dispatcher } from 'undici';
import type { DemoConfig } from '../core/config.js';
import type { TargetKind } from '../core/events.js';
import type { Secret } from '../core/secret.js';
import type { HopRecord } from './local/hop-kit.js';

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
  onprem: { pathPrefix: string; rewritePrefix: string }[];
}

export interface BudgetRecord {
  tier: string;
  limit: number;
  spent: number;
  /** Unix ms when the window resets, when known. */
  resetAt?: number;
  source: 'observed' | 'inferred';
}

export interface ValidateTarget {
  readonly kind: TargetKind;
  readonly cfg: DemoConfig;
  endpoint(): Promise<Endpoint>;
  /** The cluster user's token (`oc whoami -t`, or the local stand-in). */
  clusterToken(): Promise<Secret>;
  /** Providers deployed (vLLM only with step 3a). */
  providers(): DemoConfig['providers'];
  /** Direct URL of the vLLM server for call 9, when known. */
  vllmDirectUrl(): Promise<string | undefined>;
  /** What each hop reported for a request id; empty where hops cannot be asked (a cluster). */
  hopRecords(requestId: string): Promise<HopRecord[]>;
  routeModel(): Promise<RouteModel>;
  budget(userid: string, tier: string): Promise<BudgetRecord | undefined>;
  close(): Promise<void>;
}
