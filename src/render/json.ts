/**
 * JSON: exactly one document, written at the end of the run; its `ok` always agrees with the exit code.
 *
 * @example
 *   {"ok":true,"exitCode":0,"command":"validate","checks":[{"id":"call-4","outcome":"pass","hops":[…]}],…}
 */
import type { CheckEvent, DemoEvent, HopEvent, RunEndEvent, RunStartEvent, SummaryEvent } from '../core/events.js';
import type { EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';
import { withDocLinks } from './doc-links.js';

export interface JsonDocument {
  ok: boolean;
  exitCode: number;
  command: string;
  target: string;
  version: string;
  startedAt: string;
  durationMs: number;
  steps: {
    id: string;
    title: string;
    ok: boolean | null;
    skipped: boolean;
    ms: number | null;
    message?: string;
    hint?: string;
    applied: { object: string; action: string }[];
    waits: { condition: string; state: string; reason?: string; elapsedMs: number }[];
  }[];
  checks: (Omit<CheckEvent, 'kind' | 't'> & { hops: Omit<HopEvent, 'kind' | 't' | 'check'>[] })[];
  summaries: Omit<SummaryEvent, 'kind' | 't'>[];
  logs: { level: string; message: string }[];
  error?: RunEndEvent['error'];
}

/**
 * Folds a finished stream into the JSON document (also used by replay and tests). A session may hold
 * reruns (the TUI's `r`, checks re-run after `doctor --fix`): the last run-end decides, and every
 * result stays listed in order (the last one per id is the current one). Hints point at docs/.
 */
export function toJsonDocument(stream: DemoEvent[]): JsonDocument {
  const events = stream.map(withDocLinks);
  const start = events.find((e): e is RunStartEvent => e.kind === 'run-start');
  const end = events.findLast((e): e is RunEndEvent => e.kind === 'run-end');
  const doc: JsonDocument = {
    ok: end?.ok ?? false,
    exitCode: end?.exitCode ?? 1,
    command: start?.command ?? 'unknown',
    target: start?.target ?? 'local',
    version: start?.version ?? '',
    startedAt: start?.startedAt ?? '',
    durationMs: end?.t ?? 0,
    steps: [],
    checks: [],
    summaries: [],
    logs: [],
    ...(end?.error ? { error: end.error } : {}),
  };
  const hops = new Map<string, Omit<HopEvent, 'kind' | 't' | 'check'>[]>();
  for (const e of events) {
    if (e.kind === 'step-start') {
      doc.steps.push({ id: e.step, title: e.title, ok: null, skipped: false, ms: null, applied: [], waits: [] });
    } else if (e.kind === 'apply') {
      doc.steps.findLast((s) => s.id === e.step)?.applied.push({ object: e.object, action: e.action });
    } else if (e.kind === 'wait' && e.state !== 'pending') {
      doc.steps.findLast((s) => s.id === e.step)?.waits.push({ condition: e.condition, state: e.state, ...(e.reason ? { reason: e.reason } : {}), elapsedMs: e.elapsedMs });
    } else if (e.kind === 'step-end') {
      const s = doc.steps.findLast((x) => x.id === e.step);
      if (s) Object.assign(s, { ok: e.ok, skipped: Boolean(e.skipped), ms: e.ms, ...(e.message ? { message: e.message } : {}), ...(e.hint ? { hint: e.hint } : {}) });
    } else if (e.kind === 'check-start') {
      hops.delete(e.id);
    } else if (e.kind === 'hop') {
      const { kind: _k, t: _t, check, ...rest } = e;
      const list = hops.get(check) ?? [];
      list.push(rest);
      hops.set(check, list);
    } else if (e.kind === 'check') {
      const { kind: _k, t: _t, ...rest } = e;
      doc.checks.push({ ...rest, hops: hops.get(e.id) ?? [] });
    } else if (e.kind === 'summary') {
      const { kind: _k, t: _t, ...rest } = e;
      doc.summaries.push(rest);
    } else if (e.kind === 'log' && e.level !== 'debug') {
      doc.logs.push({ level: e.level, message: e.message });
    }
  }
  return doc;
}

export function createJsonSink(opts: { write: (text: string) => void }): EventSink {
  const events: DemoEvent[] = [];
  return {
    write: (e) => void events.push(e),
    close: () => opts.write(`${redact(JSON.stringify(toJsonDocument(events), null, 2))}\n`),
  };
}
