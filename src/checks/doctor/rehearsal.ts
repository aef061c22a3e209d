/**
 * What both generations' doctor self-tests share, rehearsing on a private topology: bringing it up,
 * the healthy run that must raise nothing, and the mutation test (`--mutations N --seed S`). A
 * mutation whose symptom the validation calls see must be named by doctor at the right hop; one with
 * no symptom is benign and doctor must stay clean on it.
 */
import { StepFailedError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { Mutation } from './mutations.js';
import { wantsFix } from './report.js';
import type { DoctorResult } from './types.js';

/** Runs a stream to its end for its return value (a quiet doctor run's results). */
export async function drain<T>(gen: AsyncIterator<EventInput, T>): Promise<T> {
  let step = await gen.next();
  while (!step.done) step = await gen.next();
  return step.value;
}

/** Drains a lifecycle stream; a failed step fails the self-test with its message and how to see it (`upHint`). */
export async function settle(events: AsyncIterable<EventInput>, upHint: string): Promise<void> {
  for await (const e of events) {
    if (e.kind === 'step-end' && !e.ok) throw new StepFailedError(`the private topology did not come up: ${e.message ?? `step ${e.step} failed`}`, upHint);
  }
}

/** What doctor raised: failures and warnings the design does not always raise. */
export const flagged = (results: readonly DoctorResult[]): DoctorResult[] => results.filter(wantsFix);

/** `check@hop, …` of what doctor raised, or `(nothing)`. */
export const flaggedText = (hits: readonly DoctorResult[]): string => hits.map((h) => `${h.id}${h.hop ? `@${h.hop}` : ''}`).join(', ') || '(nothing)';

/** The self-test's first check: on the unedited install doctor raises nothing (and, where asked, no validation call fails). */
export function healthyCheck(title: string, base: readonly DoctorResult[], alarms: readonly DoctorResult[], failingCalls: readonly string[], startedAt: number): EventInput {
  return {
    kind: 'check',
    id: 'self-test-healthy',
    category: 'self-test',
    title,
    outcome: alarms.length || failingCalls.length ? 'fail' : 'pass',
    actual: alarms.length || failingCalls.length ? `false alarms: ${alarms.map((a) => a.id).join(', ') || '-'}; failing calls: ${failingCalls.join(', ') || '-'}` : `${base.filter((r) => r.outcome === 'pass').length} checks passed`,
    ms: Math.round(performance.now() - startedAt),
  };
}

export interface MutationRun {
  healthy: K8sObject[];
  rehearse: { apply(objects: K8sObject[]): Promise<boolean>; resetCounters(): Promise<void> };
  /** The validation calls that fail now (`call@hop`): the symptom, judged apart from doctor. */
  symptoms: () => Promise<string[]>;
  /** A quiet doctor run (counters reset first). */
  doctor: () => Promise<DoctorResult[]>;
  signal: AbortSignal;
}

/**
 * Runs each mutation on the private topology and judges doctor on it (one check event each), putting
 * the healthy objects back after; then the summary, with `facts` first.
 */
export async function* scoreMutations(mutations: readonly Mutation[], run: MutationRun, summary: { title: string; facts?: Record<string, string | number>; falseAlarms: number; seed: number }): AsyncGenerator<EventInput> {
  const rows: string[][] = [];
  let symptomatic = 0;
  let named = 0;
  let benignFlagged = 0;
  for (const [i, m] of mutations.entries()) {
    if (run.signal.aborted) break;
    const ts = performance.now();
    await run.rehearse.apply(m.objects);
    await run.rehearse.resetCounters();
    const seen = await run.symptoms();
    const results = await run.doctor();
    await run.rehearse.apply(run.healthy);
    const hits = flagged(results);
    const right = hits.filter((h) => h.hop && m.hops.includes(h.hop as (typeof m.hops)[number]));
    const symptom = seen.length > 0;
    if (symptom) symptomatic += 1;
    if (symptom && right.length) named += 1;
    if (!symptom && hits.length) benignFlagged += 1;
    const ok = symptom ? right.length > 0 : hits.length === 0;
    const shown = (v: unknown) => (v === undefined ? '(removed)' : JSON.stringify(v).slice(0, 60));
    const text = flaggedText(hits);
    rows.push([String(i + 1), `${m.object} ${m.field}`, `${shown(m.before)} → ${shown(m.after)}`, symptom ? seen.join(', ') : 'benign', text, ok ? 'ok' : symptom ? 'MISSED' : 'FALSE ALARM']);
    yield {
      kind: 'check',
      id: `self-test-mutation-${i + 1}`,
      category: 'self-test',
      title: `${m.family}: ${m.object} ${m.field} ${shown(m.before)} → ${shown(m.after)}`,
      outcome: ok ? 'pass' : 'fail',
      expected: symptom ? `a finding at ${m.hops.join(' or ')}` : 'no finding (no call fails)',
      actual: `calls failing: ${seen.join(', ') || 'none'}; doctor flagged: ${text}`,
      ms: Math.round(performance.now() - ts),
    };
  }
  const score = symptomatic ? named / symptomatic : 1;
  yield {
    kind: 'summary',
    title: summary.title,
    table: { head: ['#', 'object field', 'change', 'symptom (failing calls)', 'doctor flagged', 'result'], rows },
    facts: {
      ...summary.facts,
      score: Math.round(score * 1000) / 1000,
      falseAlarms: summary.falseAlarms,
      named: `${named} of ${symptomatic} mutations with a symptom named at the right hop`,
      benign: `${mutations.length - symptomatic} without a symptom, ${benignFlagged} of them flagged anyway`,
      benignFlagged,
      seed: summary.seed,
    },
  };
}
