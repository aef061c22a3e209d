/**
 * Runs the subscription era's doctor: mints an API key for the subscription, shares one probe of each
 * kind between the checks, runs the categories in order and turns findings into check events (with the
 * hop trace of the probe behind a failure). `--fix` applies each proposed object patch after
 * confirmation, then runs the failed checks again with fresh probes.
 */
import type { EventInput } from '../../core/events.js';
import type { TargetSession } from '../../targets/target.js';
import { GENERATIONS } from '../../generations/index.js';
import { subscriptionOf } from '../catalog.js';
import type { Category, DoctorOptions, DoctorResult } from '../doctor/types.js';
import { applyFix, checkEvent, doctorSummary, findingOf, outcomeOf, wantsFix } from '../doctor/report.js';

export type { DoctorResult };

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
  const f = await findingOf(() => check.run(ctx));
  const outcome = outcomeOf(check, f);
  if (!quiet && f.exchange && (outcome === 'fail' || outcome === 'warn')) for (const h of eraTrace(check.id, f.exchange)) yield h;
  yield checkEvent(check, check.id, { ...f, ...(f.evidence ? { evidence: f.evidence.filter(Boolean) } : {}) }, outcome, f.object, t0);
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
  const fixable = results.filter((r) => wantsFix(r) && r.finding.fix?.apply.length);
  if (opts.fix && fixable.length) {
    yield { kind: 'section', id: 'fixes', title: 'fixes' };
    let applied = 0;
    for (const r of fixable) {
      if (opts.signal.aborted) break;
      const fix = r.finding.fix!;
      if (yield* applyFix(session, r.id, { summary: fix.summary, apply: fix.apply }, opts)) applied += 1;
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
    yield doctorSummary(results, {
      generation: GENERATIONS.subscription.title,
      facts: { subscription: ctx.subscription },
      expectedBecause: "for the demo's design",
      spent: ctx.spent,
      fix: opts.fix,
      fixable: session.fixable,
      byHand: 'review the fixes above and apply them to the objects named',
    });
  }
  return results.map(({ finding: _f, ...r }) => r);
}
