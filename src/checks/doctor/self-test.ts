/**
 * `demo doctor --self-test`: the tool proves its own accuracy. On a private local topology it runs
 * doctor on the healthy install (any failure or unexpected warning is a false alarm), then plants
 * each known fault in turn, runs doctor again and checks that the expected check flagged it at the
 * right hop, restoring the healthy configuration between faults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DemoConfig } from '../../core/config.js';
import type { EventInput } from '../../core/events.js';
import { StepFailedError } from '../../core/errors.js';
import { type TopologySpec } from '../../model/topology.js';
import { FAULTS, applyFaults } from '../../model/faults.js';
import { createTarget } from '../../targets/index.js';
import { closedPort } from '../../core/ports.js';
import { runDoctor, type DoctorResult } from './run-doctor.js';
import { drawMutations } from './mutations.js';
import type { TargetSession } from '../../targets/target.js';
import type { GenerationId } from '../../generations/index.js';

async function drain<T>(gen: AsyncIterator<EventInput, T>): Promise<T> {
  let step = await gen.next();
  while (!step.done) step = await gen.next();
  return step.value;
}

/** Drains a lifecycle stream; a failed step fails the self-test with its message. */
async function settle(events: AsyncIterable<EventInput>): Promise<void> {
  for await (const e of events) {
    if (e.kind === 'step-end' && !e.ok) throw new StepFailedError(`the private topology did not come up: ${e.message ?? `step ${e.step} failed`}`, 'run `demo up` by hand to see the failing step');
  }
}

const flagged = (results: DoctorResult[]) => results.filter((r) => r.outcome === 'fail' || (r.outcome === 'warn' && !r.expectedWarning));

export interface SelfTestOptions {
  /** Random single-field mutations of the demo's objects instead of the named faults. */
  mutations?: number;
  seed?: number;
  /** The MaaS generation to test (default: the tier era). */
  maas?: GenerationId;
  env?: NodeJS.ProcessEnv;
}

type Rehearsal = NonNullable<TargetSession['rehearse']>;

/**
 * Runs `body` against a private local topology of its own (never a shared install), started here and
 * removed afterwards whatever happens.
 */
async function* onPrivateTopology(cfg: DemoConfig, signal: AbortSignal, body: (target: TargetSession, rehearse: Rehearsal) => AsyncGenerator<EventInput>): AsyncGenerator<EventInput> {
  const dir = join(mkdtempSync(join(tmpdir(), 'maas-egress-demo-self-test-')), 'state');
  yield { kind: 'log', level: 'info', message: `starting a private local topology in ${dir} (the self-test never touches a shared install)` };
  const local = await createTarget({ kind: 'local', cfg, env: { MAAS_EGRESS_DEMO_STATE_DIR: dir }, warn: () => undefined });
  try {
    await settle(local.up({ vllm: true, faults: [], strictBudget: false, dryRun: false, skipCrds: false, timeoutMs: 15_000 }, signal));
    const target = await local.open();
    try {
      if (!target.rehearse) throw new StepFailedError('the private topology cannot be reprogrammed', 'report this as a bug');
      yield* body(target, target.rehearse);
    } finally {
      await target.close();
    }
  } finally {
    await settle(local.down({}, signal));
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

export async function* selfTest(cfg: DemoConfig, signal: AbortSignal, opts: SelfTestOptions = {}): AsyncGenerator<EventInput> {
  if (opts.maas === 'subscription') {
    const { subscriptionSelfTest } = await import('../subscription/self-test.js');
    yield* subscriptionSelfTest(cfg, signal, opts);
    return;
  }
  if (opts.mutations !== undefined) {
    const n = opts.mutations;
    yield* onPrivateTopology(cfg, signal, (target, rehearse) => mutationTest(target, rehearse, cfg, signal, n, opts.seed ?? 1));
    return;
  }
  yield* onPrivateTopology(cfg, signal, (target, rehearse) => faultTest(target, rehearse, signal));
}

async function* faultTest(target: TargetSession, rehearse: Rehearsal, signal: AbortSignal): AsyncGenerator<EventInput> {
  const rows: string[][] = [];
  let named = 0;
  const healthy = (await target.topology()) as TopologySpec;
  const program = async (spec: TopologySpec) => {
    await rehearse.program(spec);
    await rehearse.resetCounters();
  };
  const t0 = performance.now();
  const base = await drain(runDoctor(target, { probeRateLimit: false, fix: false, signal, quiet: true }));
  const alarms = flagged(base);
  yield {
    kind: 'check',
    id: 'self-test-healthy',
    category: 'self-test',
    title: 'healthy topology: no failure and no unexpected warning',
    outcome: alarms.length ? 'fail' : 'pass',
    actual: alarms.length ? `false alarms: ${alarms.map((a) => a.id).join(', ')}` : `${base.filter((r) => r.outcome === 'pass').length} checks passed`,
    ms: Math.round(performance.now() - t0),
  };
  const deadPort = await closedPort();
  for (const fault of FAULTS) {
    if (signal.aborted) break;
    const ts = performance.now();
    await program(applyFaults(healthy, [fault.name], { deadPort }));
    const results = await drain(runDoctor(target, { probeRateLimit: false, fix: false, signal, quiet: true }));
    await program(healthy);
    const hits = flagged(results);
    const hit = results.find((r) => r.id === fault.check);
    const hopOk = !hit?.hop || (fault.hop === 'provider' ? hit.hop.startsWith('provider:') : hit.hop === fault.hop);
    const ok = Boolean(hit && (hit.outcome === 'fail' || hit.outcome === 'warn') && hopOk);
    if (ok) named += 1;
    const seen = hits.map((h) => `${h.id}${h.hop ? `@${h.hop}` : ''}`).join(', ') || '(nothing)';
    rows.push([fault.name, `${fault.check}@${fault.hop}`, seen, ok ? 'named' : 'MISSED']);
    yield {
      kind: 'check',
      id: `self-test-${fault.name}`,
      category: 'self-test',
      title: `planted ${fault.name}: ${fault.description}`,
      outcome: ok ? 'pass' : 'fail',
      expected: `${fault.check} fails at ${fault.hop}`,
      actual: `flagged: ${seen}`,
      ms: Math.round(performance.now() - ts),
    };
  }
  yield {
    kind: 'summary',
    title: 'Doctor self-test',
    table: { head: ['planted fault', 'expected check@hop', 'flagged', 'result'], rows },
    facts: { score: `${named}/${FAULTS.length} faults named correctly`, 'false alarms on the healthy topology': alarms.length },
  };
}

/** The validation calls' verdicts on the running topology: the symptom a mutation causes, judged apart from doctor. */
async function symptoms(target: TargetSession, signal: AbortSignal): Promise<string[]> {
  const { validationCalls } = await import('../validate.js');
  const { runValidate, selectCalls } = await import('../run-validate.js');
  const failed: string[] = [];
  for await (const e of runValidate(target, selectCalls(validationCalls(target.cfg, target.providers())), signal)) {
    if (e.kind === 'check' && e.outcome === 'fail') failed.push(`${e.id}${e.hop ? `@${e.hop}` : ''}`);
  }
  return failed;
}

/**
 * `--mutations N --seed S`: N random single-field mutations of the demo's objects, each run on a
 * private local topology. A mutation whose symptom the validation calls see must be named by doctor
 * at the right hop; one with no symptom is benign and doctor must stay clean on it.
 */
async function* mutationTest(target: TargetSession, rehearse: Rehearsal, cfg: DemoConfig, signal: AbortSignal, n: number, seed: number): AsyncGenerator<EventInput> {
  const healthy = rehearse.objects();
  const doctor = async () => {
    await rehearse.resetCounters();
    return drain(runDoctor(target, { probeRateLimit: false, fix: false, signal, quiet: true }));
  };
  const t0 = performance.now();
  await rehearse.resetCounters();
  const baseSymptoms = await symptoms(target, signal);
  const base = await doctor();
  const alarms = flagged(base);
  yield {
    kind: 'check',
    id: 'self-test-healthy',
    category: 'self-test',
    title: 'unedited objects: validate passes, doctor raises nothing',
    outcome: alarms.length || baseSymptoms.length ? 'fail' : 'pass',
    actual: alarms.length || baseSymptoms.length ? `false alarms: ${alarms.map((a) => a.id).join(', ') || '-'}; failing calls: ${baseSymptoms.join(', ') || '-'}` : `${base.filter((r) => r.outcome === 'pass').length} checks passed`,
    ms: Math.round(performance.now() - t0),
  };
  const rows: string[][] = [];
  let symptomatic = 0;
  let named = 0;
  let benignFlagged = 0;
  for (const [i, m] of drawMutations(healthy, cfg, n, seed).entries()) {
    if (signal.aborted) break;
    const ts = performance.now();
    await rehearse.apply(m.objects);
    await rehearse.resetCounters();
    const seen = await symptoms(target, signal);
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
    title: 'Doctor self-test (mutations)',
    table: { head: ['#', 'object field', 'change', 'symptom (failing calls)', 'doctor flagged', 'result'], rows },
    facts: {
      score: Math.round(score * 1000) / 1000,
      falseAlarms: alarms.length,
      named: `${named} of ${symptomatic} mutations with a symptom named at the right hop`,
      benign: `${n - symptomatic} without a symptom, ${benignFlagged} of them flagged anyway`,
      benignFlagged,
      seed,
    },
  };
}
