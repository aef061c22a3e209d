/**
 * `demo doctor` on real local topologies: healthy → no failure and only the expected warning; each
 * planted fault → the right check fails at the right hop with a concrete fix; --fix repairs and
 * re-runs; the self-test scores every known fault.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { DEFAULT_KEYS, expectNoSecrets, startTopology, stopTopology, useTopology } from '../helpers/topology.js';
import { FAULTS } from '../../src/model/faults.js';

interface Doc {
  ok: boolean;
  exitCode: number;
  checks: { id: string; category: string; outcome: string; hop?: string; message?: string; fix?: string; evidence?: string[]; data?: { expectedWarning?: boolean } }[];
  summaries: { title: string; facts: Record<string, unknown> }[];
}

const run = async (dir: string, args: string[]) => {
  const r = await runCli(['doctor', '--output', 'json', ...args], { stateDir: dir });
  return { r, doc: JSON.parse(r.stdout) as Doc };
};

describe('doctor on a healthy topology', () => {
  const topo = useTopology({ label: 'doctor' });

  it('gives zero failures and no warning but the expected ones (the seed design and the tier era), and spends three requests (a completion, a streamed completion, an on-prem completion)', async () => {
    const { r, doc } = await run(topo.get().dir, []);
    expect(r.code).toBe(0);
    expect(doc.ok).toBe(true);
    expect(doc.checks.filter((c) => c.outcome === 'fail')).toEqual([]);
    const warns = doc.checks.filter((c) => c.outcome === 'warn');
    expect(warns.map((w) => w.id)).toEqual(['exposure-keys-in-policies', 'exposure-token-chaining', 'exposure-token-lifetime', 'exposure-tierless-tokens', 'exposure-stream-usage', 'exposure-burst-overshoot']);
    for (const w of warns) expect(w.data?.expectedWarning, w.id).toBe(true);
    expect(doc.summaries[0]!.facts['requests counted against the budget']).toBe(3);
    expectNoSecrets(r.stdout + r.stderr, { ...DEFAULT_KEYS, 'cluster token': topo.get().state.clusterToken }, 'doctor output');
  });

  it('--category runs one category; an unknown one is a usage error', async () => {
    const { doc } = await run(topo.get().dir, ['--category', 'rewrites']);
    expect(new Set(doc.checks.map((c) => c.category))).toEqual(new Set(['rewrites']));
    const bad = await runCli(['doctor', '--category', 'nonsense'], { stateDir: topo.get().dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^hint: categories: install, rewrites/m);
  });

  it('--fail-on warning fails on unexpected warnings only', async () => {
    const { r } = await run(topo.get().dir, ['--fail-on', 'warning', '--category', 'exposure']);
    expect(r.code).toBe(0);
  });

  it('--probe-rate-limit spends the budget until 429s arrive and reports the over-admission', async () => {
    const { doc } = await run(topo.get().dir, ['--category', 'rate-limits', '--probe-rate-limit']);
    const probe = doc.checks.find((c) => c.id === 'ratelimit-probe')!;
    expect(probe.outcome).toBe('pass');
    expect(probe.message).toMatch(/429 after \d+ requests; over-admission \d+ tokens/);
  });
});

/** Faults planted with `up --fault` and what doctor must say. */
const CASES: { fault: string; check: string; hop: string; fix: RegExp }[] = [
  { fault: 'rewrite-double-slash', check: 'rewrite-egress-strips-prefix', hop: 'egress-gateway', fix: /prefix-rewrite fix/ },
  { fault: 'egress-no-rewrite', check: 'rewrite-egress-strips-prefix', hop: 'egress-gateway', fix: /ReplacePrefixMatch \/ to HTTPRoute openai-route/ },
  { fault: 'bridge-rewrite-missing', check: 'rewrite-bridge-prefix', hop: 'maas-gateway', fix: /ReplacePrefixMatch \/openai\/ to HTTPRoute openai-bridge/ },
  { fault: 'key-header-wrong', check: 'key-injected', hop: 'maas-gateway', fix: /rename the injected header to x-provider-api-key/ },
  { fault: 'wrong-key', check: 'key-injected', hop: 'maas-gateway', fix: /inject the right key/ },
  { fault: 'no-key', check: 'key-injected', hop: 'maas-gateway', fix: /inject the provider key/ },
  { fault: 'token-forwarded', check: 'exposure-user-token-forwarded', hop: 'maas-gateway', fix: /remove Authorization in HTTPRoute openai-bridge/ },
  { fault: 'ratelimit-missing', check: 'ratelimit-policy-present', hop: 'maas-gateway', fix: /TokenRateLimitPolicy/ },
  { fault: 'ratelimit-no-count', check: 'ratelimit-counts-tokens', hop: 'maas-gateway', fix: /usage\.total_tokens/ },
  { fault: 'backend-down', check: 'rewrite-backend-reachable', hop: 'provider:openai', fix: /openai-simulator/ },
  { fault: 'registry-missing-model', check: 'models-listed-routable', hop: 'maas-api', fix: /add gpt-4 to ConfigMap opendatahub\/external-model-registry/ },
  { fault: 'wasm-append-auth', check: 'key-injected', hop: 'maas-gateway', fix: /wasm-shim that replaces injected headers[\s\S]*v0\.12\.1 or later/ },
];

describe.each(CASES)('doctor with $fault planted', ({ fault, check, hop, fix }) => {
  it(`fails ${check} at ${hop} and prints the fix`, async () => {
    const topo = await startTopology({ label: `dr-${fault}`, args: ['--fault', fault] });
    try {
      const { r, doc } = await run(topo.dir, []);
      expect(r.code).toBe(1);
      expect(doc.ok).toBe(false);
      const c = doc.checks.find((x) => x.id === check)!;
      expect(c.outcome, c.message).toBe('fail');
      expect(c.hop).toBe(hop);
      expect(c.fix).toMatch(fix);
      expect(c.evidence?.length).toBeGreaterThan(0);
      expectNoSecrets(r.stdout, DEFAULT_KEYS, 'doctor output');
    } finally {
      await stopTopology(topo.dir, topo.pids);
    }
  }, 60_000);
});

describe('doctor --fix', () => {
  it('applies the fix after confirmation, re-runs the failed check, and validate passes again', async () => {
    const topo = await startTopology({ label: 'dr-fix', args: ['--fault', 'egress-no-rewrite', '--fault', 'no-key:anthropic'] });
    try {
      // Without a terminal and without --yes nothing is applied.
      const refused = await run(topo.dir, ['--fix']);
      expect(refused.r.code).toBe(1);
      const { r, doc } = await run(topo.dir, ['--fix', '--yes']);
      expect(r.code).toBe(0);
      const last = (id: string) => doc.checks.filter((c) => c.id === id).at(-1)!;
      expect(doc.checks.filter((c) => c.id === 'rewrite-egress-strips-prefix').map((c) => c.outcome)).toEqual(['fail', 'pass']);
      expect(last('key-injected').outcome).toBe('pass');
      const v = await runCli(['validate', '--skip', '10', '--output', 'json'], { stateDir: topo.dir });
      expect(v.code).toBe(0);
    } finally {
      await stopTopology(topo.dir, topo.pids);
    }
  }, 60_000);
});

describe('doctor --self-test', () => {
  it('names every known fault and raises no false alarm', async () => {
    const r = await runCli(['doctor', '--self-test', '--output', 'json'], { timeoutMs: 120_000 });
    const doc = JSON.parse(r.stdout) as Doc;
    expect(r.code).toBe(0);
    expect(doc.summaries[0]!.facts.score).toBe(`${FAULTS.length}/${FAULTS.length} faults named correctly`);
    expect(doc.summaries[0]!.facts['false alarms on the healthy topology']).toBe(0);
  }, 120_000);
});
