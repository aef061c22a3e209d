/**
 * What both MaaS generations' doctors do with their checks' findings: one check event per finding
 * (a failing warning becomes `warn`), a proposed fix shown, confirmed and applied, and the summary
 * that closes a run.
 */
import type { EventInput, Outcome } from '../../core/events.js';
import type { FixRequest, TargetSession } from '../../targets/target.js';
import type { DoctorOptions, DoctorResult, Finding } from './types.js';

/** What a check event needs of a check, whichever generation declared it. */
export interface CheckLine {
  id: string;
  category: string;
  title: string;
  severity: 'error' | 'warning';
  hint: string;
}

/** What a finding shows, whichever generation made it (a fix as its summary and its reviewable patch). */
export type FindingLine = Omit<Finding, 'fix'> & { fix?: { summary: string; patch: string } };

/** A failing check of severity warning is a warning. */
export function outcomeOf(check: Pick<CheckLine, 'severity'>, f: Pick<Finding, 'outcome'>): Outcome {
  return f.outcome === 'fail' && check.severity === 'warning' ? 'warn' : f.outcome;
}

/** Runs a check's evidence gathering; a check that throws fails, saying so. */
export async function findingOf<F extends FindingLine>(run: () => Promise<F>): Promise<F> {
  try {
    return await run();
  } catch (err) {
    // Every field of a finding but its outcome is optional: this one is a finding of either generation.
    return { outcome: 'fail', message: `the check itself failed: ${(err as Error).message}` } as F;
  }
}

/**
 * The check event of a finding: what, where (hop, object and field) and why, shown when the check did
 * not pass, with its fix and the hint's anchor; `startedAt` is when the check began.
 */
export function checkEvent(check: CheckLine, id: string, f: FindingLine, outcome: Outcome, object: string | undefined, startedAt: number): EventInput {
  return {
    kind: 'check',
    id,
    category: check.category,
    title: check.title,
    outcome,
    ...(f.message ? { message: f.message } : {}),
    ...(f.hop ? { hop: f.hop } : {}),
    ...(object && outcome !== 'pass' ? { object, ...(f.field ? { field: f.field } : {}) } : {}),
    ...(f.evidence?.length && outcome !== 'pass' ? { evidence: f.evidence } : {}),
    ...(f.fix && outcome !== 'pass' ? { fix: `${f.fix.summary}\n${f.fix.patch}` } : {}),
    ...(outcome !== 'pass' && outcome !== 'skip' ? { hint: check.hint } : {}),
    ...(f.expectedWarning ? { data: { expectedWarning: true } } : {}),
    ms: Math.round(performance.now() - startedAt),
  };
}

/** A result that `--fix` should repair: a failure, or a warning the design does not always raise. */
export function wantsFix(r: Pick<DoctorResult, 'outcome' | 'expectedWarning'>): boolean {
  return r.outcome === 'fail' || (r.outcome === 'warn' && !r.expectedWarning);
}

/**
 * `--fix` for one finding: what the change would be on this target is shown, then asked about, then
 * applied with its readiness waited for. Returns whether it was applied.
 */
export async function* applyFix(session: TargetSession, id: string, fix: FixRequest, opts: Pick<DoctorOptions, 'confirm' | 'signal'>): AsyncGenerator<EventInput, boolean> {
  const proposal = await session.proposeFix(fix);
  if (!proposal) {
    yield { kind: 'log', level: 'info', message: `not applied: ${id}: this target cannot make that change (the printed fix is done by hand)` };
    return false;
  }
  yield { kind: 'log', level: 'info', message: `${id}: ${fix.summary}\n${proposal.patch}` };
  if (!proposal.changes) {
    yield { kind: 'log', level: 'info', message: `not applied: ${id}: the objects are already as proposed (the printed fix is done by hand)` };
    return false;
  }
  const ok = opts.confirm ? await opts.confirm(`${proposal.changes === 1 ? 'change this object' : `change these ${proposal.changes} objects`} for ${id}: ${fix.summary}?`) : false;
  if (!ok) {
    yield { kind: 'log', level: 'info', message: `not applied: ${id}` };
    return false;
  }
  const t0 = performance.now();
  yield { kind: 'step-start', step: 'fix', title: `fix for ${id}: ${fix.summary}` };
  const notReady = yield* proposal.apply(opts.signal);
  yield { kind: 'step-end', step: 'fix', ok: notReady.length === 0, ms: Math.round(performance.now() - t0), ...(notReady.length ? { message: notReady.join('; ') } : {}) };
  yield { kind: 'log', level: notReady.length ? 'warn' : 'info', message: notReady.length ? `applied for ${id}, but not ready yet: ${notReady.join('; ')}` : `applied: ${fix.summary}` };
  return true;
}

/** The summary a doctor run ends with: the generation, the counts, what it cost, and what to do next. */
export function doctorSummary(
  results: readonly DoctorResult[],
  run: {
    generation: string;
    /** Facts of the generation, after its name (the subscription the era's doctor used). */
    facts?: Record<string, string | number>;
    /** Why some warnings are expected (e.g. `for the seed design`). */
    expectedBecause: string;
    spent: number;
    fix: boolean;
    fixable: boolean;
    /** What to do with a failure's fix on a target that prints fixes only. */
    byHand: string;
  },
): EventInput {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  const expected = results.filter((r) => r.outcome === 'warn' && r.expectedWarning).length;
  return {
    kind: 'summary',
    title: 'Doctor summary',
    facts: {
      MaaS: run.generation,
      ...run.facts,
      passed: count('pass'),
      failed: count('fail'),
      warnings: `${count('warn')}${expected ? ` (${expected} expected ${run.expectedBecause})` : ''}`,
      skipped: count('skip'),
      'requests counted against the budget': run.spent,
      ...(results.some((r) => r.outcome === 'fail') && !run.fix ? { next: run.fixable ? 'review the fixes above; `demo doctor --fix` applies them after asking' : run.byHand } : {}),
    },
  };
}
