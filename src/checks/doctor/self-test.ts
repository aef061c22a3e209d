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
import { runDoctor } from './run-doctor.js';
import { drawMutations } from './mutations.js';
import { drain, flagged, flaggedText, healthyCheck, scoreMutations, settle } from './rehearsal.js';
import type { TargetSession } from '../../targets/target.js';
import type { GenerationId } from '../../generations/index.js';

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
    await settle(local.up({ vllm: true, faults: [], strictBudget: false, dryRun: false, skipCrds: false, timeoutMs: 15_000 }, signal), 'run `demo up` by hand to see the failing step');
    const target = await local.open();
    try {
      if (!target.rehearse) throw new StepFailedError('the private topology cannot be reprogrammed', 'report this as a bug');
      yield* body(target, target.rehearse);
    } finally {
      await target.close();
    }
  } finally {
    await settle(local.down({}, signal), 'run `demo up` by hand to see the failing step');
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
    const seen = flaggedText(hits);
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

/** `--mutations N --seed S` on the tier era's objects (see rehearsal.ts). */
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
  yield healthyCheck('unedited objects: validate passes, doctor raises nothing', base, alarms, baseSymptoms, t0);
  yield* scoreMutations(drawMutations(healthy, cfg, n, seed), { healthy, rehearse, symptoms: () => symptoms(target, signal), doctor, signal }, { title: 'Doctor self-test (mutations)', falseAlarms: alarms.length, seed });
}
