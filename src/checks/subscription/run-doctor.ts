/**
 * Runs the subscription era's doctor: mints an API key for the subscription, shares one probe of each
 * kind between the checks, runs the categories in order and turns findings into check events (with the
 * hop trace of the probe behind a failure). `--fix` applies each proposed object patch after
 * confirmation, then runs the failed checks again with fresh probes.
 */
import type { EventInput, Outcome } from '../../core/events.js';
import type { TargetSession } from '../../targets/target.js';
import { GENERATIONS } from '../../generations/index.js';
import { subscriptionOf } from '../catalog.js';
import type { Category } from '../doctor/types.js';

/** What doctor is asked for (the shape of doctor/run-doctor.ts's options, which dispatches here). */
export interface DoctorOptions {
  categories?: Category[];
  probeRateLimit: boolean;
  fix: boolean;
  confirm?: (question: string) => Promise<boolean>;
  signal: AbortSignal;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface DoctorResult {
  id: string;
  outcome: Outcome;
  hop?: string;
  expectedWarning?: boolean;
}
import { ERA_CHECKS, type EraCheck, type EraDoctorContext, type EraFinding, withProbes } from './doctor.js';
import { eraTrace } from './exchange.js';
import { eraValidateContext, mintKey } from './validate.js';

/** The era's categories, in the order they run (what is under the others' feet first). */
export const ERA_CATEGORIES: readonly Category[] = ['install', 'key-injection', 'routing', 'access', 'rate-limits', 'model-listing'];

async function context(session: TargetSession, opts: DoctorOptions): Promise<EraDoctorContext> {
  const ctx = await eraValidateContext(session, subscriptionOf(opts.env ?? {}));
  const m = await mintKey(ctx, ctx.subscription, 'demo-doctor', () => undefined, opts.signal).catch(() => undefined);
  if (m?.key) {
    ctx.key = m.key;
    ctx.keyId = m.id;
  }
  return withProbes(ctx);
}

async function* runOne(check: EraCheck, ctx: EraDoctorContext, quiet: boolean): AsyncGenerator<EventInput, DoctorResult & { finding: EraFinding }> {
  const t0 = performance.now();
  if (!quiet) yield { kind: 'check-start', id: check.id, category: check.category, title: check.title };
  let f: EraFinding;
  try {
    f = await check.run(ctx);
  } catch (err) {
    f = { outcome: 'fail', message: `the check itself failed: ${(err as Error).message}` };
  }
  const outcome: Outcome = f.outcome === 'fail' && check.severity === 'warning' ? 'warn' : f.outcome;
  if (!quiet && f.exchange && (outcome === 'fail' || outcome === 'warn')) for (const h of eraTrace(check.id, f.exchange)) yield h;
  yield {
    kind: 'check',
    id: check.id,
    category: check.category,
    title: check.title,
    outcome,
    ...(f.message ? { message: f.message } : {}),
    ...(f.hop ? { hop: f.hop } : {}),
    ...(f.object && outcome !== 'pass' ? { object: f.object, ...(f.field ? { field: f.field } : {}) } : {}),
    ...(f.evidence?.length && outcome !== 'pass' ? { evidence: f.evidence.filter(Boolean) } : {}),
    ...(f.fix && outcome !== 'pass' ? { fix: `${f.fix.summary}\n${f.fix.patch}` } : {}),
    ...(outcome !== 'pass' && outcome !== 'skip' ? { hint: check.hint } : {}),
    ...(f.expectedWarning ? { data: { expectedWarning: true } } : {}),
    ms: Math.round(performance.now() - t0),
  };
  return { id: check.id, outcome, ...(f.hop ? { hop: f.hop } : {}), ...(f.expectedWarning ? { expectedWarning: true } : {}), finding: f };
}

export async function* runSubscriptionDoctor(session: TargetSession, opts: DoctorOptions): AsyncGenerator<EventInput, DoctorResult[]> {
  const asked = opts.categories?.length ? opts.categories : [...ERA_CATEGORIES];
  const categories = ERA_CATEGORIES.filter((c) => asked.includes(c));
  let ctx = await context(session, opts);
  if (!ctx.key && !opts.quiet) yield { kind: 'log', level: 'warn', message: `could not mint an API key for ${ctx.subscription}: checks that need one are skipped` };
  const results: (DoctorResult & { finding: EraFinding })[] = [];
  for (const category of categories) {
    if (opts.signal.aborted) break;
    if (!opts.quiet) yield { kind: 'section', id: category, title: category };
    for (const check of ERA_CHECKS.filter((c) => c.category === category)) results.push(yield* runOne(check, ctx, Boolean(opts.quiet)));
  }
  const fixable = results.filter((r) => (r.outcome === 'fail' || (r.outcome === 'warn' && !r.expectedWarning)) && r.finding.fix?.apply.length);
  if (opts.fix && fixable.length) {
    yield { kind: 'section', id: 'fixes', title: 'fixes' };
    let applied = 0;
    for (const r of fixable) {
      if (opts.signal.aborted) break;
      const fix = r.finding.fix!;
      const proposal = await session.proposeFix({ summary: fix.summary, apply: fix.apply });
      if (!proposal) {
        yield { kind: 'log', level: 'info', message: `not applied: ${r.id}: this target cannot make that change (the printed fix is done by hand)` };
        continue;
      }
      yield { kind: 'log', level: 'info', message: `${r.id}: ${fix.summary}\n${proposal.patch}` };
      if (!proposal.changes) {
        yield { kind: 'log', level: 'info', message: `not applied: ${r.id}: the objects are already as proposed` };
        continue;
      }
      const ok = opts.confirm ? await opts.confirm(`change ${proposal.changes === 1 ? 'this object' : `these ${proposal.changes} objects`} for ${r.id}: ${fix.summary}?`) : false;
      if (!ok) {
        yield { kind: 'log', level: 'info', message: `not applied: ${r.id}` };
        continue;
      }
      const t0 = performance.now();
      yield { kind: 'step-start', step: 'fix', title: `fix for ${r.id}: ${fix.summary}` };
      const notReady = yield* proposal.apply(opts.signal);
      yield { kind: 'step-end', step: 'fix', ok: notReady.length === 0, ms: Math.round(performance.now() - t0) };
      yield { kind: 'log', level: 'info', message: `applied: ${fix.summary}` };
      applied += 1;
    }
    if (applied) {
      ctx = await context(session, opts);
      for (const r of fixable) {
        const again = yield* runOne(ERA_CHECKS.find((c) => c.id === r.id)!, ctx, Boolean(opts.quiet));
        results[results.indexOf(r)] = again;
      }
    }
  } else if (opts.fix && !opts.quiet) {
    yield { kind: 'log', level: 'info', message: 'nothing to fix automatically' };
  }
  if (!opts.quiet) {
    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    const expected = results.filter((r) => r.outcome === 'warn' && r.expectedWarning).length;
    yield {
      kind: 'summary',
      title: 'Doctor summary',
      facts: {
        MaaS: GENERATIONS.subscription.title,
        subscription: ctx.subscription,
        passed: count('pass'),
        failed: count('fail'),
        warnings: `${count('warn')}${expected ? ` (${expected} expected for the demo's design)` : ''}`,
        skipped: count('skip'),
        'requests counted against the budget': ctx.spent,
        ...(results.some((r) => r.outcome === 'fail') && !opts.fix ? { next: session.fixable ? 'review the fixes above; `demo doctor --fix` applies them after asking' : 'review the fixes above and apply them to the objects named' } : {}),
      },
    };
  }
  return results.map(({ finding: _f, ...r }) => r);
}
