/**
 * Doctor checks as data (linkerd's shape with our names): id, category, what is verified, the hint
 * anchor, severity, and the function that gathers evidence. A check passes only on evidence of
 * health — a probe that behaved, a counter that moved — never on an object merely existing.
 */
import type { HopId, Outcome } from '../../core/events.js';
import type { Secret } from '../../core/secret.js';
import type { InstallFact, ObjectName } from '../../model/target-facts.js';

export type { InstallFact, ObjectName };
import type { TopologySpec } from '../../model/topology.js';
import type { SpecEdit, TargetSession } from '../../targets/target.js';
import type { Exchange } from '../probe.js';

/** The install fact a cluster reports about its wasm-shim build (injected headers appended or replaced, §9.8). */
export const WASM_SHIM_FACT = 'wasm-shim version';

/** Categories of both MaaS generations (`routing` and `access` are the subscription era's); a run shows those with checks. */
export type Category = 'install' | 'rewrites' | 'routing' | 'key-injection' | 'access' | 'rate-limits' | 'model-listing' | 'exposure';
export const CATEGORIES: readonly Category[] = ['install', 'rewrites', 'routing', 'key-injection', 'access', 'rate-limits', 'model-listing', 'exposure'];

export interface Fix {
  /** One line: what the fix changes. */
  summary: string;
  /** The reviewable change: a command, or a diff of the object (`-` old, `+` new). */
  patch: string;
  /** The cluster objects the change is made to: a cluster restores them as `demo up` renders them. */
  objects?: ObjectName[];
  /** The same change as edits of the topology model: a local topology reprograms what they touch. */
  edits?: SpecEdit[];
}

export interface Finding {
  outcome: 'pass' | 'fail' | 'warn' | 'skip';
  message?: string;
  hop?: HopId;
  /** The object that causes it (`Kind/namespace/name`) and its field, where one object does. */
  object?: string;
  field?: string;
  evidence?: string[];
  fix?: Fix;
  /** A warning that the seed design always raises (e.g. keys as literals in AuthPolicies). */
  expectedWarning?: boolean;
}

export interface DoctorContext {
  target: TargetSession;
  token?: Secret;
  spec: Partial<TopologySpec>;
  /** One traced request per provider, made once and shared by every check. */
  probe(provider: string): Promise<Exchange | undefined>;
  /** The same request without a token. */
  probeNoAuth(provider: string): Promise<Exchange | undefined>;
  /** One small completion (max_tokens 1) through the first provider: the only request doctor spends by default. */
  chat(): Promise<Exchange | undefined>;
  /** One small completion of the on-prem model through its route on the MaaS gateway. */
  onpremChat(): Promise<Exchange | undefined>;
  /** One small streamed completion through the first provider, asking for usage in the stream. */
  streamChat(): Promise<Exchange | undefined>;
  /** The user's budget just before `chat()` ran. */
  budgetBefore?: import('../../model/target-facts.js').BudgetRecord | undefined;
  /** `--probe-rate-limit`: spend the budget until a 429, measure what was admitted. */
  spend(): Promise<{ admitted: number; tokens: number; limit?: number; first429?: number; spentAfter?: number }>;
  probeRateLimit: boolean;
  /** Requests doctor spent that count against the user's budget. */
  spent: number;
}

export interface CheckDef {
  id: string;
  category: Category;
  /** What the check verifies, as the line people read. */
  title: string;
  severity: 'error' | 'warning';
  hint: string;
  run(ctx: DoctorContext): Promise<Finding>;
}

export function defineCheck(c: CheckDef): CheckDef {
  return c;
}

/** What doctor is asked for, whichever generation runs it. */
export interface DoctorOptions {
  categories?: Category[];
  probeRateLimit: boolean;
  fix: boolean;
  confirm?: (question: string) => Promise<boolean>;
  signal: AbortSignal;
  /** Emit nothing but check events (self-test runs doctor many times). */
  quiet?: boolean;
  /** The command's environment (the subscription era reads MAAS_SUBSCRIPTION from it). */
  env?: NodeJS.ProcessEnv;
}

/** One check's result, as the self-test and `--fix` read it. */
export interface DoctorResult {
  id: string;
  outcome: Outcome;
  hop?: string;
  expectedWarning?: boolean;
  /** The fix the finding proposed (for `--fix`, without running the check again). */
  fix?: Fix;
}
