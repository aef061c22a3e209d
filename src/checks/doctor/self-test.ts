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
import { closedPort, localDown, localUp } from '../../targets/local/local-target.js';
import { type TopologySpec } from '../../model/topology.js';
import { FAULTS, applyFaults } from '../../model/faults.js';
import { LocalTarget } from '../../targets/local/validate-target.js';
import { runDoctor, type DoctorResult } from './run-doctor.js';

async function drain<T>(gen: AsyncGenerator<EventInput, T>): Promise<T> {
  let step = await gen.next();
  while (!step.done) step = await gen.next();
  return step.value;
}

const flagged = (results: DoctorResult[]) => results.filter((r) => r.outcome === 'fail' || (r.outcome === 'warn' && !r.expectedWarning));

export async function* selfTest(cfg: DemoConfig, signal: AbortSignal): AsyncGenerator<EventInput> {
  const dir = join(mkdtempSync(join(tmpdir(), 'maas-egress-demo-self-test-')), 'state');
  yield { kind: 'log', level: 'info', message: `starting a private local topology in ${dir}` };
  await drain(localUp(cfg, { vllm: true, faults: [], strictBudget: false, timeoutMs: 15_000 }, dir, signal) as AsyncGenerator<EventInput, void>);
  const target = await LocalTarget.open({ MAAS_EGRESS_DEMO_STATE_DIR: dir });
  const rows: string[][] = [];
  let named = 0;
  try {
    const healthy = (await target.topology()) as TopologySpec;
    const reset = () => target.admin('maas-gateway')?.call('POST', '/ratelimit/reset');
    const program = async (spec: TopologySpec) => {
      await target.reprogram('maasGateway', spec.maasGateway);
      await target.reprogram('egress', spec.egress);
      await target.reprogram('maasApi', spec.maasApi);
      await reset();
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
    await drain(localDown(dir) as AsyncGenerator<EventInput, void>);
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}
