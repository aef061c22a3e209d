/**
 * `demo doctor --self-test --mutations 40 --seed 7 --output json`: random single-field mutations of the
 * demo's objects, run on a private local topology; doctor must name every mutation that has a symptom
 * at the right hop (score ≥ 0.95) and raise nothing on the unedited objects. The draw itself is tested
 * to be reproducible and to cover every family of field.
 */
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { defaultConfig } from '../../src/core/config.js';
import { candidates, drawMutations, getAt } from '../../src/checks/doctor/mutations.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { runCli } from '../helpers/run-cli.js';

describe('the mutations', () => {
  test('are drawn the same for the same seed, each changes exactly one field, and every family is drawn', async () => {
    const m = await runCli(['manifests', '--reveal-keys', '--vllm', '--include-platform']);
    const objects = parseAllDocuments(m.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
    const cfg = defaultConfig();
    const a = drawMutations(objects, cfg, 40, 7);
    const b = drawMutations(objects, cfg, 40, 7);
    expect(a.map((x) => [x.object, x.field, x.after])).toEqual(b.map((x) => [x.object, x.field, x.after]));
    expect(drawMutations(objects, cfg, 40, 8).map((x) => x.field)).not.toEqual(a.map((x) => x.field));
    for (const x of a) {
      const changed = x.objects.filter((o, i) => JSON.stringify(o) !== JSON.stringify(objects[i]));
      expect(changed).toHaveLength(1);
      // A removal leaves the field gone (or, in a list, the next entry in its place).
      if (x.after === undefined) expect(JSON.stringify(getAt(changed[0], x.field))).not.toBe(JSON.stringify(x.before));
      else expect(JSON.stringify(getAt(changed[0], x.field))).toBe(JSON.stringify(x.after));
    }
    const families = new Set(candidates(objects, cfg).map((c) => c.family));
    expect([...families].sort()).toEqual(['audience', 'backend host', 'backend kind', 'backend port', 'counter', 'header name', 'key', 'limit', 'path prefix', 'predicate', 'registry entry', 'rewrite target', 'route prefix', 'window']);
    expect(new Set(a.map((x) => x.family))).toEqual(families);
  });
});

describe('demo doctor --self-test --mutations 40 --seed 7', () => {
  test('scores at least 0.95 with no false alarm, and says so in --output json', async () => {
    const r = await runCli(['doctor', '--self-test', '--mutations', '40', '--seed', '7', '--output', 'json'], { timeoutMs: 300_000 });
    const doc = JSON.parse(r.stdout) as { ok: boolean; summaries: { title: string; facts: Record<string, unknown> }[]; checks: { id: string; outcome: string; actual?: string }[] };
    const facts = doc.summaries.find((s) => s.title === 'Doctor self-test (mutations)')!.facts;
    expect(facts.falseAlarms).toBe(0);
    expect(facts.benignFlagged).toBe(0);
    expect(facts.score as number, doc.checks.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.actual}`).join('\n')).toBeGreaterThanOrEqual(0.95);
    expect(doc.checks.filter((c) => c.id.startsWith('self-test-mutation-'))).toHaveLength(40);
    expect(r.code).toBe(doc.ok ? 0 : 1);
  }, 300_000);

  test('--mutations without --self-test, or not a number, is a usage error', async () => {
    const a = await runCli(['doctor', '--mutations', '5']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--mutations and --seed belong to --self-test');
    const b = await runCli(['doctor', '--self-test', '--mutations', 'many']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--mutations must be a whole number of at least 1; got "many"');
  });
});
