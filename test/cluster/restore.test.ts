/** The restore behind `doctor --fix` on a cluster: field diffs, merge patches, masking, refusals. */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { Kube } from '../../src/targets/cluster/client.js';
import { changeLines, mergePatchOf, planRestore, planText, safeView } from '../../src/targets/cluster/restore.js';
import { stepContext } from '../../src/targets/cluster/options.js';
import { startCluster, type Cluster } from './helpers.js';

describe('field diffs and merge patches', () => {
  test('changed, added and removed fields are listed by path; equal ones are not', () => {
    const live = { spec: { a: 1, keep: { x: 'same' }, headers: { 'X-Api-Key': 'k' }, list: [1, 2] } };
    const want = { spec: { a: 2, keep: { x: 'same' }, headers: { 'X-Provider-Api-Key': 'k' }, list: [1, 3] } };
    expect(changeLines(live, want)).toEqual([
      '- spec.a: 1',
      '+ spec.a: 2',
      '- spec.headers.X-Api-Key: "k"',
      '+ spec.headers.X-Provider-Api-Key: "k"',
      '- spec.list[1]: 2',
      '+ spec.list[1]: 3',
    ]);
    expect(changeLines(want, structuredClone(want))).toEqual([]);
    // Keys that are not plain identifiers are quoted.
    expect(changeLines({ d: { 'a.b': 1 } }, { d: {} })).toEqual(['- d["a.b"]: 1']);
  });

  test('the merge patch removes what the target lacks, replaces lists whole, and is undefined when equal', () => {
    const live = { spec: { headers: { 'X-Api-Key': 'k', Other: 'o' }, filters: [{ type: 'A' }, { type: 'B' }], n: 1 } };
    const want = { spec: { headers: { Other: 'o', 'X-Provider-Api-Key': 'k' }, filters: [{ type: 'B' }], n: 1 } };
    const patch = mergePatchOf(live, want);
    expect(patch).toEqual({ spec: { headers: { 'X-Api-Key': null, 'X-Provider-Api-Key': 'k' }, filters: [{ type: 'B' }] } });
    expect(mergePatchOf(want, structuredClone(want))).toBeUndefined();
  });

  test('every header literal and configured key is masked; Secret data is hidden', () => {
    const cfg = defaultConfig();
    const openai = cfg.providers[0]!;
    const policy = {
      kind: 'AuthPolicy',
      spec: { rules: { response: { success: { headers: { A: { plain: { expression: "'sk-someone-else-123456'" } }, B: { plain: { expression: `'${openai.key.reveal()}'` } }, C: { plain: { value: 'Bearer sk-plain-value-77' } } } } } } },
    };
    const shown = JSON.stringify(safeView(policy, cfg));
    expect(shown).not.toContain('sk-someone-else-123456');
    expect(shown).not.toContain(openai.key.reveal());
    expect(shown).not.toContain('sk-plain-value-77');
    expect(shown).toContain(openai.key.masked);
    const secret = JSON.stringify(safeView({ kind: 'Secret', data: { key: 'c2stc2VjcmV0' } }, cfg));
    expect(secret).not.toContain('c2stc2VjcmV0');
    // Configured keys elsewhere (e.g. a Deployment's env) are masked too.
    expect(JSON.stringify(safeView({ kind: 'Deployment', spec: { env: [{ value: openai.key.reveal() }] } }, cfg))).not.toContain(openai.key.reveal());
  });
});

describe('planRestore against the API test server', () => {
  let c: Cluster;
  let kube: Kube;
  beforeAll(async () => {
    c = await startCluster();
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    kube = new Kube(kc);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
  });
  const sctx = () => stepContext({ vllm: false, skipCrds: true }, defaultConfig());

  test('an object the demo does not render is refused, with the reason', async () => {
    const plan = await planRestore(kube, sctx(), [{ kind: 'Deployment', name: 'someone-elses-app' }]);
    expect(plan.items).toEqual([]);
    expect(plan.refused).toEqual(['Deployment someone-elses-app: not one of the objects `demo up` applies; change it by hand as shown']);
  });

  test("the platform's own TokenRateLimitPolicy is left alone; an absent one of ours would be created", async () => {
    const name = 'gateway-token-rate-limits';
    const ref = { apiVersion: 'kuadrant.io/v1alpha1', kind: 'TokenRateLimitPolicy', namespace: 'openshift-ingress', name };
    // The MaaS preset ships its own gateway-level policy of that name.
    const own = await kube.get(ref);
    expect(own?.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    const foreign = await planRestore(kube, sctx(), [{ kind: 'TokenRateLimitPolicy', name }]);
    expect(foreign.items).toEqual([]);
    expect(planText(foreign)).toBe(`# not restored: TokenRateLimitPolicy openshift-ingress/${name}: belongs to the platform (not created by the demo); change it by hand as shown`);
    expect(await kube.remove(ref)).toBe(true);
    await c.api.settle();
    const absent = await planRestore(kube, sctx(), [{ kind: 'TokenRateLimitPolicy', name }]);
    expect(absent.refused).toEqual([]);
    expect(absent.items.map((i) => i.changes)).toEqual([[`+ create TokenRateLimitPolicy openshift-ingress/${name} as \`demo up\` renders it (step 4)`]]);
  });
});
