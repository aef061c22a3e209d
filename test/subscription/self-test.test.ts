/**
 * doctor on the subscription era proves its accuracy: `--self-test --maas subscription` plants each of
 * the era's named faults on a private topology and must name every one at its hop with no false alarm;
 * `--mutations N --seed S` draws single-field mutations of the era's objects (reproducibly, every
 * family) and must name the ones with a symptom at the right hop (score ≥ 0.95), raising nothing on
 * the unedited objects. No key appears in any of it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { drawEraMutations, eraCandidates } from '../../src/checks/subscription/mutations.js';
import { ERA_FAULTS, applyEraFaults } from '../../src/generations/subscription/faults.js';
import { subscriptionSteps } from '../../src/generations/subscription/plan.js';
import { eraProviders } from '../../src/generations/subscription/providers.js';
import { runCli } from '../helpers/run-cli.js';
import { CANARY_CONFIG, canarySecrets, expectNoLeaks } from '../leaks/scan.js';
import { SHARED_CACHE } from './helpers.js';

const cfg = defaultConfig();
const objects = subscriptionSteps(cfg, eraProviders(cfg, { vllm: true }), { keys: 'reveal' }).flatMap((s) => s.objects);
const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-sub-self-'));
const configFile = join(work, 'config.json');
writeFileSync(configFile, JSON.stringify(CANARY_CONFIG));

describe("the era's faults and mutations, as data", () => {
  test('every named fault changes exactly the object it is about, and plants nothing where there is nothing to change', () => {
    for (const f of ERA_FAULTS) {
      const { objects: broken, planted } = applyEraFaults(objects, [f.name], cfg);
      expect(planted.map((p) => p.name), f.name).toEqual([f.name]);
      const changed = broken.filter((o, i) => JSON.stringify(o) !== JSON.stringify(objects[i]));
      expect(changed, f.name).toHaveLength(1);
    }
    // A fault with nothing to act on plants nothing (the vLLM's TLS fault without the vLLM).
    const noVllm = subscriptionSteps(cfg, eraProviders(cfg, { vllm: false }), { keys: 'reveal' }).flatMap((s) => s.objects);
    expect(applyEraFaults(noVllm, ['tls-on-plain'], cfg).planted).toEqual([]);
    expect(() => applyEraFaults(objects, ['no-such-fault'], cfg)).toThrow(/unknown fault/);
  });

  test('mutations are drawn the same for the same seed, change one object each, and cover every family', () => {
    const a = drawEraMutations(objects, cfg, 30, 7);
    const b = drawEraMutations(objects, cfg, 30, 7);
    expect(a.map((x) => [x.object, x.field, x.after])).toEqual(b.map((x) => [x.object, x.field, x.after]));
    expect(drawEraMutations(objects, cfg, 30, 8).map((x) => `${x.object} ${x.field} ${String(x.after)}`)).not.toEqual(a.map((x) => `${x.object} ${x.field} ${String(x.after)}`));
    for (const x of a) expect(x.objects.filter((o, i) => JSON.stringify(o) !== JSON.stringify(objects[i])), `${x.object} ${x.field}`).toHaveLength(1);
    const families = [...new Set(eraCandidates(objects).map((c) => c.family))].sort();
    expect(families).toEqual(['credential reference', 'endpoint', 'limit', 'model reference', 'plugin chain', 'policy models', 'policy subjects', 'port annotation', 'provider', 'secret data', 'secret label', 'subscription models', 'subscription owner', 'target model', 'tls annotation']);
    expect(new Set(drawEraMutations(objects, cfg, families.length, 3).map((x) => x.family)).size).toBe(families.length);
  });
});

describe('demo doctor --self-test --maas subscription', () => {
  const secrets = canarySecrets();

  test('names every fault of the era at its hop, with no false alarm, and shows no key', async () => {
    const r = await runCli(['doctor', '--self-test', '--maas', 'subscription', '--config', configFile, '--output', 'json'], { env: { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE }, timeoutMs: 240_000 });
    const doc = JSON.parse(r.stdout) as { ok: boolean; summaries: { title: string; facts: Record<string, unknown> }[]; checks: { id: string; outcome: string; actual?: string }[] };
    const facts = doc.summaries.find((s) => s.title === 'Doctor self-test (subscription era)')!.facts;
    expect(facts.score, doc.checks.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.actual}`).join('\n')).toBe(`${ERA_FAULTS.length}/${ERA_FAULTS.length} faults named correctly`);
    expect(facts['false alarms on the healthy topology']).toBe(0);
    expect(facts.MaaS).toBe('subscription era (current MaaS)');
    expect(r.code).toBe(0);
    expectNoLeaks(r.stdout, secrets, 'self-test stdout');
    expectNoLeaks(r.stderr, secrets, 'self-test stderr');
  }, 240_000);

  test('--mutations 16 --seed 7: score ≥ 0.95, no false alarm, no benign mutation flagged', async () => {
    const r = await runCli(['doctor', '--self-test', '--maas', 'subscription', '--mutations', '16', '--seed', '7', '--output', 'json'], { env: { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE }, timeoutMs: 400_000 });
    const doc = JSON.parse(r.stdout) as { ok: boolean; summaries: { title: string; facts: Record<string, unknown> }[]; checks: { id: string; outcome: string; actual?: string }[] };
    const facts = doc.summaries.find((s) => s.title === 'Doctor self-test (subscription era, mutations)')!.facts;
    expect(facts.falseAlarms).toBe(0);
    expect(facts.benignFlagged).toBe(0);
    expect(facts.score as number, doc.checks.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.actual}`).join('\n')).toBeGreaterThanOrEqual(0.95);
    expect(doc.checks.filter((c) => c.id.startsWith('self-test-mutation-'))).toHaveLength(16);
  }, 400_000);
});
