/**
 * `demo validate` against real local topologies: a healthy one passes every call with a hop trace
 * per call; each planted fault fails exactly the calls it affects and names the hop that broke; no
 * output format carries a key or a token.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { DEFAULT_KEYS, expectNoSecrets, startTopology, stopTopology, useTopology } from '../helpers/topology.js';

interface Doc {
  ok: boolean;
  exitCode: number;
  checks: { id: string; outcome: string; expected?: string; actual?: string; hop?: string; message?: string; hops: { hop: string; source: string; pathIn?: string; pathOut?: string }[] }[];
  summaries: { title: string; facts: Record<string, unknown> }[];
}

describe('validate on a healthy local topology', () => {
  // A short budget window: the full run spends the budget (call 10); the runs after it wait for the window.
  const topo = useTopology({ label: 'validate', config: { rateLimit: { windowSeconds: 4 } } });

  it('passes calls 1–10 and reports expected, actual and a hop trace for each', async () => {
    // Given a fresh `up`; When validate runs with JSON output
    const r = await runCli(['validate', '--output', 'json'], { stateDir: topo.get().dir });
    const doc = JSON.parse(r.stdout) as Doc;
    // Then every call passed, exit 0 agrees with ok
    expect(r.code).toBe(0);
    expect(doc.ok).toBe(true);
    expect(doc.checks.map((c) => c.id)).toEqual(['call-1', 'call-2', 'call-3', 'call-4', 'call-5', 'call-6', 'call-7', 'call-8', 'call-9', 'call-10']);
    for (const c of doc.checks) {
      expect(c.outcome, `${c.id}: ${c.message ?? ''}`).toBe('pass');
      expect(c.expected).toBeTruthy();
      expect(c.actual).toBeTruthy();
      expect(c.hops.length).toBeGreaterThan(0);
    }
    // And the OpenAI call's trace shows both rewrites, observed at each hop
    const call4 = doc.checks.find((c) => c.id === 'call-4')!;
    const byHop = Object.fromEntries(call4.hops.map((h) => [h.hop, h]));
    expect(byHop['maas-gateway']).toMatchObject({ source: 'observed', pathIn: '/external/openai/v1/chat/completions', pathOut: '/openai/v1/chat/completions' });
    expect(byHop['egress-gateway']).toMatchObject({ source: 'observed', pathIn: '/openai/v1/chat/completions', pathOut: '/v1/chat/completions' });
    expect(byHop['provider:openai']).toMatchObject({ pathIn: '/v1/chat/completions' });
    // And the budget record came before call 10
    expect(doc.summaries.map((s) => s.title)).toContain('Budget before call 10');
    const table = doc.summaries.find((s) => s.title === 'Expected results')!;
    expect(table.facts.passed).toBe(10);
  });

  it('--only and --skip select calls; a bad id is a usage error', async () => {
    const r = await runCli(['validate', '--only', '4,5', '--output', 'json'], { stateDir: topo.get().dir });
    expect((JSON.parse(r.stdout) as Doc).checks.map((c) => c.id)).toEqual(['call-4', 'call-5']);
    const bad = await runCli(['validate', '--only', '4,42'], { stateDir: topo.get().dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: .*42/m);
    expect(bad.stderr).toMatch(/^hint: /m);
  });
});

describe('validate output formats', () => {
  // A premium user: several validate runs in a row stay well inside the token budget.
  const premium = useTopology({ label: 'validate-leak', config: { user: { name: 'leak-check', groups: ['premium-group'] } } });

  it('never shows a key or a token in plain, json, ndjson, junit or a recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-out-'));
    const state = premium.get().state;
    const secrets = { ...DEFAULT_KEYS, 'cluster token': state.clusterToken, 'admin token': state.adminToken };
    const outputs: string[] = [];
    for (const mode of ['plain', 'json', 'ndjson']) {
      const r = await runCli(['validate', '--skip', '10', '--output', mode, '--junit', join(dir, `${mode}.xml`), '--record', join(dir, `${mode}.ndjson`)], { stateDir: premium.get().dir });
      expect(r.code).toBe(0);
      outputs.push(r.stdout, r.stderr, readFileSync(join(dir, `${mode}.xml`), 'utf8'), readFileSync(join(dir, `${mode}.ndjson`), 'utf8'));
    }
    const all = outputs.join('\n');
    expectNoSecrets(all, secrets, 'validate outputs');
    // The minted MaaS tokens are JWTs: none may appear whole.
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    // Masked forms are what people see instead.
    expect(all).toContain('sk-o…demo');
  });

});

describe('validate without vLLM', () => {
  it('reports calls 6 and 9 as skipped with the reason, never as passed', async () => {
    const topo = await startTopology({ label: 'novllm', args: ['--no-vllm'] });
    try {
      const r = await runCli(['validate', '--skip', '10', '--output', 'json'], { stateDir: topo.dir });
      const doc = JSON.parse(r.stdout) as Doc;
      expect(r.code).toBe(0);
      for (const id of ['call-6', 'call-9']) {
        const c = doc.checks.find((x) => x.id === id)!;
        expect(c.outcome).toBe('skip');
        expect(c.message).toMatch(/vLLM/);
      }
      expect(doc.checks.find((c) => c.id === 'call-8')!.actual).toBe('401, 401');
    } finally {
      await stopTopology(topo.dir, topo.pids);
    }
  });
});

