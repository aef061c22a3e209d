/**
 * What validate and doctor need from a target. Only endpoint and token discovery, and how much of
 * each hop can be observed, differ between local and cluster; the calls and checks are the same.
 */
import type { DemoConfig } from '../core/config.js';
import type { TargetKind } from '../core/events.js';
import type { Secret } from '../core/secret.js';
import type { HopRecord } from '../model/hop-record.js';
import type { BudgetRecord, Endpoint, RouteModel } from '../model/target-facts.js';

export type { BudgetRecord, Endpoint, RouteModel };

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
