/**
 * `demo doctor --self-test --maas subscription`: doctor proves its accuracy on the subscription era.
 * On a private local topology of the era it runs doctor on the unedited objects (anything flagged is a
 * false alarm), then plants each named fault of the era (or, with `--mutations N`, random single-field
 * mutations of its objects), judges the symptom with the era's validation calls, runs doctor and
 * checks that it names the right hop — the same scoring as the tier era's self-test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoConfig } from '../../core/config.js';
import { StepFailedError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import { ERA_FAULTS, applyEraFaults } from '../../generations/subscription/faults.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { createTarget } from '../../targets/index.js';
import type { TargetSession } from '../../targets/target.js';
import { subscriptionOf } from '../catalog.js';
import { drawEraMutations } from './mutations.js';
import { runSubscriptionDoctor, type DoctorResult } from './run-doctor.js';
import { runSubscriptionValidate, selectEraCalls, subscriptionCalls } from './validate.js';

async function drain<T>(gen: AsyncIterator<EventInput, T>): Promise<T> {
  let step = await gen.next();
  while (!step.done) step = await gen.next();
  return step.value;
}

async function settle(events: AsyncIterable<EventInput>): Promise<void> {
  for await (const e of events) {
    if (e.kind === 'step-end' && !e.ok) throw new StepFailedError(`the private topology did not come up: ${e.message ?? `step ${e.step} failed`}`, 'run `demo up --maas subscription` by hand to see the failing step');
  }
}

const flagged = (results: DoctorResult[]) => results.filter((r) => r.outcome === 'fail' || (r.outcome === 'warn' && !r.expectedWarning));

/** The era's validation calls that fail on the running topology: the symptom, judged apart from doctor. */
async function symptoms(target: TargetSession, signal: AbortSignal, env: NodeJS.ProcessEnv): Promise<string[]> {
  const failed: string[] = [];
  // The revoked-key call waits out the identity cache: its symptom never depends on the objects.
  const calls = selectEraCalls(subscriptionCalls().filter((c) => c.slug !== 'revoked-key'));
  for await (const e of runSubscriptionValidate(target, calls, signal, subscriptionOf(env))) {
    if (e.kind === 'check' && e.outcome === 'fail') failed.push(`${e.id}${e.hop ? `@${e.hop}` : ''}`);
  }
  return failed;
}

export interface EraSelfTestOptions {
  mutations?: number;
  seed?: number;
  env?: NodeJS.ProcessEnv;
}

export async function* subscriptionSelfTest(cfg: DemoConfig, signal: AbortSignal, opts: EraSelfTestOptions = {}): AsyncGenerator<EventInput> {
  const env = opts.env ?? {};
  const dir = join(mkdtempSync(join(tmpdir(), 'maas-egress-demo-self-test-')), 'state');
  yield { kind: 'log', level: 'info', message: `starting a private local topology of the subscription era in ${dir} (the self-test never touches a shared install)` };
  const local = await createTarget({ kind: 'local', cfg, env: { MAAS_EGRESS_DEMO_STATE_DIR: dir, ...(env.MAAS_EGRESS_DEMO_CACHE_DIR ? { MAAS_EGRESS_DEMO_CACHE_DIR: env.MAAS_EGRESS_DEMO_CACHE_DIR } : {}) }, warn: () => undefined });
  await settle(local.up({ maas: 'subscription', vllm: true, faults: [], strictBudget: false, dryRun: false, skipCrds: false, timeoutMs: 30_000 }, signal));
  const target = await local.open();
  try {
    const rehearse = target.rehearse;
    if (!rehearse) throw new StepFailedError('the private topology cannot be reprogrammed', 'report this as a bug');
    const healthy: K8sObject[] = rehearse.objects();
    const doctor = async () => {
      await rehearse.resetCounters();
      return drain(runSubscriptionDoctor(target, { probeRateLimit: false, fix: false, signal, quiet: true, env }));
    };
    const t0 = performance.now();
    await rehearse.resetCounters();
    const baseSymptoms = opts.mutations !== undefined ? await symptoms(target, signal, env) : [];
    const base = await doctor();
    const alarms = flagged(base);
    yield {
      kind: 'check',
      id: 'self-test-healthy',
      category: 'self-test',
      title: opts.mutations !== undefined ? 'unedited objects: validate passes, doctor raises nothing' : 'healthy topology: no failure and no unexpected warning',
      outcome: alarms.length || baseSymptoms.length ? 'fail' : 'pass',
      actual: alarms.length || baseSymptoms.length ? `false alarms: ${alarms.map((a) => a.id).join(', ') || '-'}; failing calls: ${baseSymptoms.join(', ') || '-'}` : `${base.filter((r) => r.outcome === 'pass').length} checks passed`,
      ms: Math.round(performance.now() - t0),
    };
    const rows: string[][] = [];
    if (opts.mutations === undefined) {
      let named = 0;
      for (const fault of ERA_FAULTS) {
        if (signal.aborted) break;
        const ts = performance.now();
        await rehearse.apply(applyEraFaults(healthy, [fault.name], cfg).objects);
        const results = await doctor();
        await rehearse.apply(healthy);
        const hits = flagged(results);
        const hit = results.find((r) => r.id === fault.check);
        const ok = Boolean(hit && (hit.outcome === 'fail' || hit.outcome === 'warn') && (!hit.hop || hit.hop === fault.hop || (fault.hop === 'provider' && hit.hop.startsWith('provider:'))));
        if (ok) named += 1;
        const seen = hits.map((h) => `${h.id}${h.hop ? `@${h.hop}` : ''}`).join(', ') || '(nothing)';
        rows.push([fault.name, `${fault.check}@${fault.hop}`, seen, ok ? 'named' : 'MISSED']);
        yield { kind: 'check', id: `self-test-${fault.name}`, category: 'self-test', title: `planted ${fault.name}: ${fault.description}`, outcome: ok ? 'pass' : 'fail', expected: `${fault.check} fails at ${fault.hop}`, actual: `flagged: ${seen}`, ms: Math.round(performance.now() - ts) };
      }
      yield {
        kind: 'summary',
        title: 'Doctor self-test (subscription era)',
        table: { head: ['planted fault', 'expected check@hop', 'flagged', 'result'], rows },
        facts: { MaaS: 'subscription era (current MaaS)', score: `${named}/${ERA_FAULTS.length} faults named correctly`, 'false alarms on the healthy topology': alarms.length },
      };
      return;
    }
    let symptomatic = 0;
    let named = 0;
    let benignFlagged = 0;
    const seed = opts.seed ?? 1;
    const mutations = drawEraMutations(healthy, cfg, opts.mutations, seed);
    for (const [i, m] of mutations.entries()) {
      if (signal.aborted) break;
      const ts = performance.now();
      await rehearse.apply(m.objects);
      await rehearse.resetCounters();
      const seen = await symptoms(target, signal, env);
      const results = await doctor();
      await rehearse.apply(healthy);
      const hits = flagged(results);
      const right = hits.filter((h) => h.hop && m.hops.includes(h.hop as (typeof m.hops)[number]));
      const symptom = seen.length > 0;
      if (symptom) symptomatic += 1;
      if (symptom && right.length) named += 1;
      if (!symptom && hits.length) benignFlagged += 1;
      const ok = symptom ? right.length > 0 : hits.length === 0;
      const shown = (v: unknown) => (v === undefined ? '(removed)' : JSON.stringify(v).slice(0, 60));
      const flaggedText = hits.map((h) => `${h.id}${h.hop ? `@${h.hop}` : ''}`).join(', ') || '(nothing)';
      rows.push([String(i + 1), `${m.object} ${m.field}`, `${shown(m.before)} → ${shown(m.after)}`, symptom ? seen.join(', ') : 'benign', flaggedText, ok ? 'ok' : symptom ? 'MISSED' : 'FALSE ALARM']);
      yield {
        kind: 'check',
        id: `self-test-mutation-${i + 1}`,
        category: 'self-test',
        title: `${m.family}: ${m.object} ${m.field} ${shown(m.before)} → ${shown(m.after)}`,
        outcome: ok ? 'pass' : 'fail',
        expected: symptom ? `a finding at ${m.hops.join(' or ')}` : 'no finding (no call fails)',
        actual: `calls failing: ${seen.join(', ') || 'none'}; doctor flagged: ${flaggedText}`,
        ms: Math.round(performance.now() - ts),
      };
    }
    const score = symptomatic ? named / symptomatic : 1;
    yield {
      kind: 'summary',
      title: 'Doctor self-test (subscription era, mutations)',
      table: { head: ['#', 'object field', 'change', 'symptom (failing calls)', 'doctor flagged', 'result'], rows },
      facts: {
        MaaS: 'subscription era (current MaaS)',
        score: Math.round(score * 1000) / 1000,
        falseAlarms: alarms.length,
        named: `${named} of ${symptomatic} mutations with a symptom named at the right hop`,
        benign: `${mutations.length - symptomatic} without a symptom, ${benignFlagged} of them flagged anyway`,
        benignFlagged,
        seed,
      },
    };
  } finally {
    await target.close();
    await settle(local.down({}, signal));
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}
