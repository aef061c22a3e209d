/** What one hop reports about one request: the evidence a per-hop trace is made of, on either target. */
import type { HopId } from '../core/events.js';

export interface HopRecord {
  requestId: string;
  hop: HopId;
  at: number;
  ms: number;
  method: string;
  pathIn: string;
  pathOut?: string;
  status: number;
  /** `self`: this hop produced the response; `upstream`: it relayed one. */
  answeredBy: 'self' | 'upstream';
  /** Short facts for the trace; values are already masked. */
  detail: Record<string, string>;
}
