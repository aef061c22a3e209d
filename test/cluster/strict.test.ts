/**
 * Server-side apply and its dry run ask for strict field validation: a mis-nested field (contracts §9.3,
 * `headers` one level too high in an AuthPolicy) is an error naming it, not a field the server drops while
 * the policy reports Enforced.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../src/targets/cluster/client.js';
import { ApplyFailedError, applyObject, dryRunStep } from '../../src/targets/cluster/apply.js';
import type { RenderedStep } from '../../src/manifests/render.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { startCluster, type Cluster } from './helpers.js';

let c: Cluster;
let kube: Kube;

beforeAll(async () => {
  c = await startCluster({}, { delayMs: 5 });
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  kube = new Kube(kc);
}, 60_000);
afterAll(async () => c?.close());

const misnested: K8sObject = {
  apiVersion: 'kuadrant.io/v1',
  kind: 'AuthPolicy',
  metadata: { name: 'openai-bridge-auth', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'maas-egress-demo', 'app.kubernetes.io/part-of': 'maas-egress-demo' } },
  spec: {
    targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'openai-bridge' },
    rules: { headers: { 'X-Provider-Api-Key': { plain: { expression: "'sk-not-a-real-key'" } } } },
  },
};

describe('strict field validation', () => {
  test('an apply naming a field the CRD does not declare fails and names it; nothing is stored', async () => {
    const err = await applyObject(kube, misnested, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyFailedError);
    expect((err as Error).message).toMatch(/AuthPolicy\/default\/openai-bridge-auth: the API server refused field \.spec\.rules\.headers: not in the AuthPolicy schema/);
    expect((err as ApplyFailedError).hint).toMatch(/oc explain authpolicy\.spec --recursive/);
    expect(c.api.get('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth')).toBeUndefined();
    const patch = c.api.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/authpolicies/openai-bridge-auth')).at(-1);
    expect(patch?.query).toMatchObject({ fieldManager: 'maas-egress-demo', fieldValidation: 'Strict' });
  });

  test('--dry-run catches it too', async () => {
    const step = { step: { id: '4', title: 'bridge' }, objects: [misnested], patches: [], notes: [] } as unknown as RenderedStep;
    const run = async () => {
      for await (const _e of dryRunStep(kube, step, [])) void _e;
    };
    await expect(run()).rejects.toThrow(/refused field \.spec\.rules\.headers/);
    const patch = c.api.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/authpolicies/openai-bridge-auth')).at(-1);
    expect(patch?.query).toMatchObject({ dryRun: 'All', fieldValidation: 'Strict' });
  });
});
