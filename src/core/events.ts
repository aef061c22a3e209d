/**
 * The one stream every command produces. Renderers (plain, json, ndjson, junit, the ink TUI) and the
 * recorder are observers of it; replay feeds a recorded stream back to the same renderers.
 * Every event carries `t`, milliseconds since the run started. Events hold no Secret values: the
 * producers mask before emitting, and sinks run `redact()` once more before writing.
 */

export type TargetKind = 'local' | 'cluster';
export type CommandName = 'up' | 'down' | 'validate' | 'doctor' | 'env' | 'manifests' | 'replay' | 'tour';

/** Who a hop is. The client is the CLI itself; `provider:<name>` and `onprem` are the answering backends. */
export type HopId = 'client' | 'maas-gateway' | 'maas-api' | 'egress-gateway' | 'onprem' | 'payload-processing' | `provider:${string}`;

export type Outcome = 'pass' | 'fail' | 'warn' | 'skip';

export interface RunStartEvent {
  kind: 'run-start';
  t: number;
  command: CommandName;
  target: TargetKind;
  version: string;
  /** Wall-clock start, ISO 8601. */
  startedAt: string;
  /** What the command is about to do, e.g. the step or call list, so a UI can draw it up front. */
  plan?: { id: string; title: string }[];
}

export interface StepStartEvent {
  kind: 'step-start';
  t: number;
  step: string;
  title: string;
  /** Why this step exists, in one or two sentences (shown by the tour and the TUI). */
  explain?: string;
}

export interface ApplyEvent {
  kind: 'apply';
  t: number;
  step: string;
  /** `Kind/namespace/name` on a cluster, `component/name` locally. */
  object: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted' | 'started' | 'stopped' | 'would-apply';
}

export interface WaitEvent {
  kind: 'wait';
  t: number;
  step: string;
  /** Human text of the condition, e.g. `Deployment ai-gateway-system/ai-gateway-controller Available`. */
  condition: string;
  state: 'pending' | 'met' | 'timeout' | 'failed';
  /** The latest reason seen while waiting (e.g. `ContainerCreating`) or why it failed. */
  reason?: string;
  elapsedMs: number;
}

export interface StepEndEvent {
  kind: 'step-end';
  t: number;
  step: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  message?: string;
  hint?: string;
}

export interface CheckStartEvent {
  kind: 'check-start';
  t: number;
  id: string;
  category: string;
  title: string;
}

export interface CheckEvent {
  kind: 'check';
  t: number;
  id: string;
  category: string;
  title: string;
  /** In doctor, a failing check of warning severity reports `warn`. */
  outcome: Outcome;
  expected?: string;
  actual?: string;
  message?: string;
  hint?: string;
  /** The concrete repair: a command or a patch, reviewable before `--fix` applies it. */
  fix?: string;
  /** The hop this result is attributed to (the first hop whose evidence differs from expectation). */
  hop?: HopId;
  /** The object that causes it, `Kind/namespace/name`, where one object does. */
  object?: string;
  /** The field of that object, as a path (`spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch`). */
  field?: string;
  evidence?: string[];
  ms: number;
  /** Extra structured data (e.g. call 10's counts), rendered by json/junit only. */
  data?: Record<string, unknown>;
}

export interface HopEvent {
  kind: 'hop';
  t: number;
  /** The check or call this hop belongs to. */
  check: string;
  requestId: string;
  /** Position in the chain, 0 = client. */
  index: number;
  hop: HopId;
  /** `observed`: reported by the hop itself; `inferred`: deduced from config or response fingerprints. */
  source: 'observed' | 'inferred';
  pathIn?: string;
  pathOut?: string;
  status?: number;
  ms?: number;
  /** Short facts: auth result, tier, key injected (masked), backend chosen, key status, budget left… */
  detail: Record<string, string>;
}

export interface LogEvent {
  kind: 'log';
  t: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/**
 * A heading that groups what follows (doctor's categories, its fixes): a renderer shows it once, above
 * the checks it introduces. Not a log line, so NDJSON holds it as its own kind.
 */
export interface SectionEvent {
  kind: 'section';
  t: number;
  /** Stable slug, e.g. the doctor category `rewrites`; checks of that category carry it as `category`. */
  id: string;
  /** What the heading says. */
  title: string;
}

/** A block of facts for the end of a command: `up` (where the gateway is), validate (the table), doctor (score). */
export interface SummaryEvent {
  kind: 'summary';
  t: number;
  title: string;
  facts: Record<string, string | number | boolean>;
  /** Optional table: header + rows, rendered by plain with cli-table3 and by the TUI. */
  table?: { head: string[]; rows: string[][] };
}

export interface RunEndEvent {
  kind: 'run-end';
  t: number;
  ok: boolean;
  exitCode: number;
  error?: { message: string; hint?: string; name?: string };
}

export type DemoEvent =
  | RunStartEvent
  | StepStartEvent
  | ApplyEvent
  | WaitEvent
  | StepEndEvent
  | CheckStartEvent
  | CheckEvent
  | HopEvent
  | LogEvent
  | SectionEvent
  | SummaryEvent
  | RunEndEvent;

export type EventKind = DemoEvent['kind'];

export const EVENT_KINDS: readonly EventKind[] = [
  'run-start',
  'step-start',
  'apply',
  'wait',
  'step-end',
  'check-start',
  'check',
  'hop',
  'log',
  'section',
  'summary',
  'run-end',
];

/** Distributes Omit over the union so `emit({kind: 'log', …})` type-checks per kind. */
export type EventInput = DemoEvent extends infer E ? (E extends DemoEvent ? Omit<E, 't'> : never) : never;

/** Type guard used by renderers and tests. */
export function isKind<K extends EventKind>(e: DemoEvent, kind: K): e is Extract<DemoEvent, { kind: K }> {
  return e.kind === kind;
}

/** Parses one NDJSON line into an event, rejecting lines that are not one of our kinds. */
export function parseEvent(line: string): DemoEvent {
  const value = JSON.parse(line) as { kind?: unknown; t?: unknown };
  if (typeof value !== 'object' || value === null || !EVENT_KINDS.includes(value.kind as EventKind)) {
    throw new Error(`not a demo event: ${line.slice(0, 80)}`);
  }
  if (typeof value.t !== 'number') throw new Error(`event without a time stamp: ${line.slice(0, 80)}`);
  return value as DemoEvent;
}
