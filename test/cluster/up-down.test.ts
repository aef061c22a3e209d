/** `up`/`down --target cluster` against the Kubernetes API test server with the tier-era MaaS preset. */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { demo, LABELS, ofKind, runEnd, startCluster, type Cluster } from './helpers.js';

let c: Cluster;
beforeEach(async () => {
  c = await startCluster();
});
afterEach(async () => {
  await c.close();
});

/** Every kind the demo creates; a custom kind names its CRD (the demo installs and removes XBackendDestination's). */
const KINDS: [apiVersion: string, kind: string, crd?: string][] = [
  ['v1', 'Namespace'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'Service'],
  ['v1', 'ServiceAccount'],
  ['apps/v1', 'Deployment'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
  ['gateway.networking.k8s.io/v1', 'GatewayClass', 'gatewayclasses.gateway.networking.k8s.io'],
  ['gateway.networking.k8s.io/v1', 'Gateway', 'gateways.gateway.networking.k8s.io'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes.gateway.networking.k8s.io'],
  ['kuadrant.io/v1', 'AuthPolicy', 'authpolicies.kuadrant.io'],
  ['kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'tokenratelimitpolicies.kuadrant.io'],
  ['serving.kserve.io/v1alpha1', 'LLMInferenceService', 'llminferenceservices.serving.kserve.io'],
  ['ainetworking.prototype.x-k8s.io/v0alpha0', 'XBackendDestination', 'xbackenddestinations.ainetworking.prototype.x-k8s.io'],
];

/**
 * `Kind/namespace/name` of every object carrying the demo's labels. A kind whose CRD is absent has no
 * objects; any other failure to list is an error of the test, never an empty answer.
 */
function labelled(): string[] {
  const out: string[] = [];
  for (const [v, k, crd] of KINDS) {
    if (crd && !c.api.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, crd)) continue;
    for (const o of c.api.list(v, k)) {
      const l = o.metadata.labels ?? {};
      if (l['app.kubernetes.io/managed-by'] === 'maas-egress-demo' && l['app.kubernetes.io/part-of'] === 'maas-egress-demo') out.push(`${k}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    }
  }
  return out;
}

function maasApi() {
  const d = c.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api')!;
  const spec = d['spec'] as { template: { spec: { containers: { name: string; image: string }[] } } };
  return { image: spec.template.spec.containers[0]!.image, annotations: d.metadata.annotations ?? {}, containers: spec.template.spec.containers.length };
}

describe('up --target cluster', () => {
  test('applies every step in order, waits on watch events and exits 0', async () => {
    // Given the tier-era MaaS cluster
    const before = maasApi();
    // When
    const r = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    // Then
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const steps = ofKind(r.events, 'step-start').map((e) => e.step);
    expect(steps).toEqual(['preflight', '1', '2', '3', '4', '5']);
    expect(ofKind(r.events, 'step-end').every((e) => e.ok === true)).toBe(true);
    const applies = ofKind(r.events, 'apply');
    expect(applies.filter((e) => e.action === 'created').length).toBeGreaterThan(25);
    expect(applies.map((e) => e.object)).toContain('Deployment/ai-gateway-system/ai-gateway-controller');
    expect(applies.find((e) => String(e.object).startsWith('Deployment/opendatahub/maas-api'))?.action).toBe('configured');
    const met = ofKind(r.events, 'wait').filter((e) => e.state === 'met').map((e) => e.condition);
    expect(met).toContain('Gateway default/poc-gateway Programmed');
    expect(met).toContain('Service default/envoy-poc-gateway has ready endpoints');
    expect(met).toContain('AuthPolicy default/openai-bridge-auth Accepted and Enforced');
    expect(met).toContain('LLMInferenceService llm/facebook-opt-125m-simulated Ready');
    expect(met).toContain('Deployment opendatahub/maas-api rolled out');
    // the waits watched (server-side watch requests), with our field manager on every apply
    expect(c.api.requests.filter((q) => q.query.watch === 'true').length).toBeGreaterThan(10);
    const patches = c.api.requests.filter((q) => q.method === 'PATCH' && q.contentType?.startsWith('application/apply-patch'));
    expect(patches.every((q) => q.query.fieldManager === 'maas-egress-demo')).toBe(true);
    // labels on what we created; maas-api patched and recorded
    expect(labelled()).toEqual(expect.arrayContaining(['Namespace//ai-gateway-system', 'XBackendDestination/default/openai-backend', 'AuthPolicy/default/openai-bridge-auth']));
    expect(maasApi().image).toBe('ghcr.io/nerdalert/maas-api:external-models');
    expect(maasApi().annotations['opendatahub.io/managed']).toBe('false');
    const state = c.api.get('v1', 'ConfigMap', 'opendatahub', 'maas-egress-demo-state')!;
    expect(JSON.parse((state['data'] as Record<string, string>)['maas-api.json']!).image).toBe(before.image);
    expect(c.api.get('v1', 'ConfigMap', 'opendatahub', 'external-model-registry')).toBeTruthy();
    // the gateway's own TokenRateLimitPolicy is kept, not taken over
    const trlp = c.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-token-rate-limits')!;
    expect(trlp.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    // no key in the output
    expect(r.stdout).not.toContain('sk-openai-key-for-demo');
    expect(r.stdout).not.toContain('demo-token');
  }, 60_000);

  test('a second up changes nothing and says so', async () => {
    const first = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(first.code, first.stdout).toBe(0);
    await c.api.settle();
    const rv = c.api.store.resourceVersion;
    const second = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(second.code, second.stdout).toBe(0);
    const actions = ofKind(second.events, 'apply').map((e) => e.action);
    expect(new Set(actions)).toEqual(new Set(['unchanged']));
    const summary = ofKind(second.events, 'summary')[0]!;
    expect(summary.title).toMatch(/nothing changed/);
    expect(c.api.store.resourceVersion).toBe(rv);
  }, 60_000);

  test('down leaves zero labelled objects and maas-api as it was', async () => {
    const before = maasApi();
    const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(up.code, up.stdout).toBe(0);
    expect(labelled().length).toBeGreaterThan(20);
    const r = await demo(c, ['down', '--timeout', '20']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(labelled()).toEqual([]);
    expect(maasApi()).toEqual(before);
    expect(c.api.get('v1', 'Namespace', undefined, 'ai-gateway-system')).toBeUndefined();
    expect(c.api.get('v1', 'ConfigMap', 'opendatahub', 'maas-egress-demo-state')).toBeUndefined();
    // what MaaS had stays
    expect(c.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-token-rate-limits')).toBeTruthy();
    expect(c.api.get('v1', 'Namespace', undefined, 'default')).toBeTruthy();
    const deleted = ofKind(r.events, 'apply').filter((e) => e.action === 'deleted').map((e) => String(e.object));
    // reverse order: step 5 objects first, CRDs last
    expect(deleted[0]).toMatch(/external-model-registry/);
    expect(deleted[deleted.length - 1]).toMatch(/^CustomResourceDefinition\//);
    const summary = ofKind(r.events, 'summary')[0]!;
    expect((summary.facts as Record<string, unknown>)['labelled objects left']).toBe(0);
  }, 60_000);

  test('down never deletes a namespace that existed before up', async () => {
    c.api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'llm', labels: { team: 'ml' } } }]);
    const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(up.code, up.stdout).toBe(0);
    expect(ofKind(up.events, 'apply').find((e) => e.object === 'Namespace/llm (existed before the demo; left as it is)')).toBeTruthy();
    const r = await demo(c, ['down', '--timeout', '20']);
    expect(r.code, r.stdout).toBe(0);
    const ns = c.api.get('v1', 'Namespace', undefined, 'llm');
    expect(ns?.metadata.labels).toEqual({ team: 'ml' });
    expect(c.api.get('serving.kserve.io/v1alpha1', 'LLMInferenceService', 'llm', 'facebook-opt-125m-simulated')).toBeUndefined();
  }, 60_000);

  test('--dry-run validates every object on the server and changes nothing', async () => {
    const rv = c.api.store.resourceVersion;
    const r = await demo(c, ['up', '--wg-dir', c.wgDir, '--dry-run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const applies = ofKind(r.events, 'apply');
    expect(applies.length).toBeGreaterThan(25);
    expect(new Set(applies.map((e) => e.action))).toEqual(new Set(['would-apply']));
    expect(c.api.store.resourceVersion).toBe(rv);
    expect(c.api.requests.some((q) => q.query.dryRun === 'All')).toBe(true);
    expect(ofKind(r.events, 'summary')[0]?.title).toMatch(/nothing was changed/);
  }, 60_000);

  test('Ctrl-C stops cleanly, says where to resume, and the next up finishes', async () => {
    const others = process.listeners('SIGINT');
    for (const l of others) process.removeListener('SIGINT', l);
    try {
      const run = demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
      await c.api.waitFor(() => c.api.get('v1', 'Namespace', undefined, 'llm'), 20_000);
      process.emit('SIGINT');
      const r = await run;
      expect(r.code).toBe(130);
      const end = runEnd(r.events);
      expect(end.error?.message).toMatch(/interrupted during step 2/);
      expect(end.error?.hint).toMatch(/demo up --target cluster/);
    } finally {
      for (const l of others) process.on('SIGINT', l);
    }
    const again = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(again.code, again.stdout).toBe(0);
    expect(ofKind(again.events, 'apply').find((e) => e.object === 'Namespace/ai-gateway-system')?.action).toBe('unchanged');
  }, 60_000);
});

test('the labels selector in helpers matches the renderer', async () => {
  const { DEMO_SELECTOR } = await import('../../src/model/k8s-object.js');
  expect(DEMO_SELECTOR).toBe(LABELS);
});
