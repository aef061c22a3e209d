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

export async function* selfTest(cfg: DemoConfig, signal: AbortSignal): AsyncGenerator<EventInput> {
  const dir = join(mkdtempSync(join(tmpdir(), 'maas-egress-demo-self-test-')), 'state');
  yield { kind: 'log', level: 'info', message: `starting a private local topology in ${dir} (the self-test never touches a shared install)` };
  const local = await createTarget({ kind: 'local', cfg, env: { MAAS_EGRESS_DEMO_STATE_DIR: dir }, warn: () => undefined });
  await settle(local.up({ vllm: true, faults: [], strictBudget: false, dryRun: false, skipCrds: false, timeoutMs: 15_000 }, signal));
  const target = await local.open();
  const rows: string[][] = [];
  let named = 0;
  try {
    const rehearse = target.rehearse;
    if (!rehearse) throw new StepFailedError('the private topology cannot be reprogrammed', 'report this as a bug');
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
  } finally {
    await target.close();
    await settle(local.down({}, signal));
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}
