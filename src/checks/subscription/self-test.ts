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
import { runSubscriptionDoctor } from './run-doctor.js';
import { drain, flagged, flaggedText, healthyCheck, scoreMutations, settle } from '../doctor/rehearsal.js';

const UP_BY_HAND = 'run `demo up --maas subscription` by hand to see the failing step';
import { runSubscriptionValidate, selectEraCalls, subscriptionCalls } from './validate.js';

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
  await settle(local.up({ maas: 'subscription', vllm: true, faults: [], strictBudget: false, dryRun: false, skipCrds: false, timeoutMs: 30_000 }, signal), UP_BY_HAND);
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
    yield healthyCheck(opts.mutations !== undefined ? 'unedited objects: validate passes, doctor raises nothing' : 'healthy topology: no failure and no unexpected warning', base, alarms, baseSymptoms, t0);
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
        const seen = flaggedText(hits);
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
    const seed = opts.seed ?? 1;
    yield* scoreMutations(drawEraMutations(healthy, cfg, opts.mutations, seed), { healthy, rehearse, symptoms: () => symptoms(target, signal, env), doctor, signal }, {
      title: 'Doctor self-test (subscription era, mutations)',
      facts: { MaaS: 'subscription era (current MaaS)' },
      falseAlarms: alarms.length,
      seed,
    });
  } finally {
    await target.close();
    await settle(local.down({}, signal), UP_BY_HAND);
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}
