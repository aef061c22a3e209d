/**
 * `demo validate` with one planted fault at a time: exactly the affected calls fail, and each failure
 * names the hop where the mistake lives.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { startTopology, stopTopology } from '../helpers/topology.js';
import { FAULTS } from '../../src/model/faults.js';

interface Doc {
  ok: boolean;
  checks: { id: string; outcome: string; hop?: string; message?: string }[];
}

/** The hop validate must name for each planted fault. */
const EXPECTED_HOP: Record<string, string> = {
  'wrong-key': 'maas-gateway',
  'rewrite-double-slash': 'egress-gateway',
  'egress-route-missing': 'egress-gateway',
  'backend-down': 'provider:openai',
  'ratelimit-missing': 'maas-gateway',
  'egress-no-rewrite': 'egress-gateway',
  'bridge-rewrite-missing': 'maas-gateway',
  'key-header-wrong': 'maas-gateway',
  'no-key': 'maas-gateway',
  'token-forwarded': 'maas-gateway',
  'ratelimit-no-count': 'maas-gateway',
  'registry-missing-model': 'maas-api',
  'bridge-audience-wrong': 'maas-gateway',
  'wasm-append-auth': 'maas-gateway',
};

describe.each(Object.keys(EXPECTED_HOP))('validate with the fault %s planted', (fault) => {
  it('fails exactly the affected calls and names the broken hop', async () => {
    const topo = await startTopology({ label: fault, args: ['--fault', fault] });
    try {
      const r = await runCli(['validate', '--output', 'json'], { stateDir: topo.dir });
      const doc = JSON.parse(r.stdout) as Doc;
      const failed = doc.checks.filter((c) => c.outcome === 'fail');
      const def = FAULTS.find((f) => f.name === fault)!;
      expect(r.code).toBe(1);
      expect(doc.ok).toBe(false);
      expect(failed.map((c) => c.id.replace('call-', '')).sort()).toEqual([...def.calls].sort());
      for (const c of failed) expect(c.hop, `${c.id}: ${c.message ?? ''}`).toBe(EXPECTED_HOP[fault]);
      expect(doc.checks.filter((c) => c.outcome === 'pass').length).toBe(10 - def.calls.length);
    } finally {
      await stopTopology(topo.dir, topo.pids);
    }
  }, 60_000);
});
