/**
 * Each planted fault ends `up --target cluster` with exit 1 and a message naming the object, the
 * reason the cluster gave and the fix; terminal reasons stop the wait long before its timeout.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { demo, ofKind, runEnd, startCluster, type Cluster } from './helpers.js';

let c: Cluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

async function upWith(plant: (c: Cluster) => void, args: string[] = [], preset = {}) {
  c = await startCluster(preset);
  plant(c);
  const t0 = Date.now();
  const r = await demo(c, ['up', '--wg-dir', c.wgDir, ...args]);
  return { ...r, ms: Date.now() - t0, end: runEnd(r.events) };
}

describe('planted faults', () => {
  test('an image that cannot be pulled stops the step early with the pull error and the fix', async () => {
    const r = await upWith((x) => x.api.faults.imagePullFailure({ namespace: 'external-models', deployment: 'openai-simulator' }), ['--timeout', '30']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000);
    expect(r.end.error?.message).toMatch(/step 3 failed: Deployment external-models\/openai-simulator: pod openai-simulator-\S+ container \S+: (ImagePullBackOff|ErrImagePull)\b/);
    expect(r.end.error?.message).toMatch(/manifest unknown/);
    expect(r.end.error?.hint).toMatch(/cannot be pulled.*--simulator-image/);
    expect(r.end.error?.hint).toMatch(/resume with `demo up --target cluster` \(steps 1, 2 are complete\)/);
    const failed = ofKind(r.events, 'wait').find((e) => e.state === 'failed');
    expect(failed?.condition).toBe('Deployment external-models/openai-simulator rolled out');
    // the pod's events were captured at that moment
    expect(ofKind(r.events, 'log').some((e) => /event Warning Failed.*Failed to pull image/.test(String(e.message)))).toBe(true);
  }, 60_000);

  test('a crash loop stops early and shows the last log lines', async () => {
    const r = await upWith((x) => x.api.faults.crashLoop({ labelSelector: 'app=envoy-poc-gateway' }, { exitCode: 2, logs: ['loading bootstrap', 'error: invalid listener port'] }), ['--timeout', '30']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000);
    expect(r.end.error?.message).toMatch(/Deployment default\/envoy-poc-gateway: pod envoy-poc-gateway-\S+ container envoy: CrashLoopBackOff/);
    expect(r.end.error?.hint).toMatch(/exits right after it starts \(exit code 2\)/);
    const logs = ofKind(r.events, 'log').map((e) => String(e.message));
    expect(logs.some((l) => l.includes('error: invalid listener port'))).toBe(true);
  }, 60_000);

  test('a container config error names the missing reference', async () => {
    const r = await upWith((x) => x.api.faults.createContainerConfigError({ namespace: 'ai-gateway-system' }, { message: 'secret "controller-tls" not found' }), ['--timeout', '30']);
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/ai-gateway-controller.*CreateContainerConfigError \(secret "controller-tls" not found\)/);
    expect(r.end.error?.hint).toMatch(/refers to something missing/);
  }, 60_000);

  test('an unschedulable pod is reported with the scheduler message when the wait times out', async () => {
    const r = await upWith((x) => x.api.faults.failedScheduling({ deployment: 'envoy-poc-gateway' }), ['--timeout', '1.5']);
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/envoy-poc-gateway.*FailedScheduling.*Insufficient cpu.*not met within 1.5 s/);
    expect(r.end.error?.hint).toMatch(/no node can run the pod/);
  }, 60_000);

  test('a missing CRD (the XBackendDestination never established) fails step 1 with the fix', async () => {
    const r = await upWith((x) => x.api.faults.missingCrd('xbackenddestinations.ainetworking.prototype.x-k8s.io'), ['--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/step 1 failed: CustomResourceDefinition xbackenddestinations\.ainetworking\.prototype\.x-k8s\.io is not Established: Established=False Installing/);
    expect(r.end.error?.hint).toMatch(/oc get crd xbackenddestinations/);
  }, 60_000);

  test('a missing Kuadrant CRD stops preflight before anything is applied', async () => {
    const r = await upWith((x) => x.api.faults.missingCrd('authpolicies.kuadrant.io'));
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/does not serve AuthPolicy \(kuadrant\.io\/v1\)/);
    expect(r.end.error?.hint).toMatch(/Kuadrant/);
    expect(ofKind(r.events, 'apply')).toEqual([]);
    expect(c!.api.get('v1', 'Namespace', undefined, 'ai-gateway-system')).toBeUndefined();
  }, 60_000);

  test('a forbidden verb is found by preflight (one SelfSubjectRulesReview per namespace) and named', async () => {
    const r = await upWith((x) => x.api.faults.forbid({ verb: ['create', 'patch'], resource: 'clusterroles', group: 'rbac.authorization.k8s.io' }));
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/user demo may not create clusterroles\.rbac\.authorization\.k8s\.io \(cluster-wide\); patch clusterroles/);
    expect(r.end.error?.hint).toMatch(/cluster admin/);
    expect(ofKind(r.events, 'apply')).toEqual([]);
    // the plan's namespaces: ai-gateway-system, default, external-models, llm, opendatahub, openshift-ingress
    const reviews = c!.api.requests.filter((q) => q.resource === 'authorization.k8s.io/selfsubjectrulesreviews');
    expect(reviews).toHaveLength(6);
    expect(c!.api.requests.filter((q) => q.resource === 'authorization.k8s.io/selfsubjectaccessreviews')).toEqual([]);
  }, 60_000);

  test('a denial limited to one object name makes the review incomplete: preflight asks a SelfSubjectAccessReview for what it does not cover', async () => {
    const r = await upWith((x) => x.api.faults.forbid({ verb: 'patch', resource: 'deployments', group: 'apps', name: 'maas-api' }), ['--timeout', '20']);
    const met = ofKind(r.events, 'wait').find((e) => String(e.condition).startsWith('permissions for applying'));
    expect(met?.condition).toMatch(/\(6 SelfSubjectRulesReviews, \d+ SelfSubjectAccessReviews? where a review was incomplete\)/);
    expect(c!.api.requests.filter((q) => q.resource === 'authorization.k8s.io/selfsubjectaccessreviews').length).toBeGreaterThan(0);
    // the name-limited denial itself shows when step 5 patches maas-api
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/step 5 failed: Deployment\/opendatahub\/maas-api: deployments.apps "maas-api" is forbidden: User "demo" cannot patch/);
  }, 60_000);

  test('a verb forbidden only at request time fails the apply with the API server message', async () => {
    c = await startCluster();
    // allowed by SelfSubjectAccessReview at preflight, refused once step 3 runs
    const r0 = demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    await c.api.waitFor(() => c!.api.get('v1', 'Namespace', undefined, 'llm'), 20_000);
    c.api.faults.forbid({ verb: 'patch', resource: 'secrets', namespace: 'external-models' });
    const r = await r0;
    const end = runEnd(r.events);
    expect(r.code).toBe(1);
    expect(end.error?.message).toMatch(/step 3 failed: Secret\/external-models\/\S+: .*forbidden/i);
    expect(end.error?.hint).toMatch(/lacks this permission/);
  }, 60_000);

  test('a condition that never arrives times out naming the object and its last state', async () => {
    const r = await upWith((x) => x.api.faults.neverCondition({ kind: 'Gateway', name: 'poc-gateway', type: 'Programmed' }), ['--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/step 1 failed: Gateway default\/poc-gateway: Programmed=Unknown .*not met within 1 s/);
    expect(r.end.error?.hint).toMatch(/raise --timeout/);
    expect(ofKind(r.events, 'wait').find((e) => e.state === 'timeout')?.condition).toBe('Gateway default/poc-gateway Programmed');
  }, 60_000);

  test('a condition False with a terminal reason stops the wait at once', async () => {
    const r = await upWith((x) => x.api.faults.conditionFalse({ kind: 'AuthPolicy', name: 'openai-bridge-auth', type: 'Enforced', reason: 'Overridden', message: 'AuthPolicy is overridden by [openshift-ingress/gateway-auth-policy]' }), ['--timeout', '30']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000);
    expect(r.end.error?.message).toMatch(/step 4 failed: AuthPolicy default\/openai-bridge-auth: Enforced=False Overridden: AuthPolicy is overridden/);
    expect(r.end.error?.hint).toMatch(/overrides/);
  }, 60_000);
});

describe('preflight', () => {
  test('on the newer MaaS (API keys), payload processing missing stops preflight before any change, with the fix', async () => {
    const r = await upWith((x) => x.api.store.delete(x.api.store.typeOf('apps/v1', 'Deployment'), 'openshift-ingress', 'payload-processing'), [], { generation: 'api-key' });
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/no Deployment openshift-ingress\/payload-processing/);
    expect(r.end.error?.hint).toMatch(/no body-routed request and injects no provider key/);
    expect(ofKind(r.events, 'apply')).toEqual([]);
  }, 60_000);

  test('on the newer MaaS, a maas-api that does not answer stops preflight before any change', async () => {
    const r = await upWith((x) => x.api.faults.forbid({ resource: 'services', subresource: 'proxy', verb: ['get', 'create'], namespace: 'opendatahub' }), ['--maas', 'subscription'], { generation: 'api-key' });
    expect(r.code).toBe(1);
    expect(r.end.error?.message).toMatch(/service proxy to maas-api is forbidden/);
    expect(r.end.error?.hint).toMatch(/services\/proxy/);
    expect(ofKind(r.events, 'apply')).toEqual([]);
  }, 60_000);

  test('without the CRD in the cluster and without --wg-dir, names both ways out', async () => {
    c = await startCluster();
    const r = await demo(c, ['up']);
    const end = runEnd(r.events);
    expect(r.code).toBe(1);
    expect(end.error?.message).toMatch(/no XBackendDestination CRD and no --wg-dir/);
    expect(end.error?.hint).toMatch(/--wg-dir .*or install the CRD yourself/);
  }, 60_000);

  test('uses the CRD the cluster already has and does not install it', async () => {
    c = await startCluster();
    c.api.installCrds('wg-backends');
    const r = await demo(c, ['up', '--timeout', '20']);
    expect(r.code, r.stdout).toBe(0);
    expect(ofKind(r.events, 'apply').some((e) => String(e.object).startsWith('CustomResourceDefinition/'))).toBe(false);
    const down = await demo(c, ['down']);
    expect(down.code, down.stdout).toBe(0);
    expect(c.api.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'xbackenddestinations.ainetworking.prototype.x-k8s.io')).toBeTruthy();
  }, 60_000);

  test('on RHOAI the registry and the state go to redhat-ods-applications', async () => {
    c = await startCluster({ maasNamespace: 'redhat-ods-applications' });
    const r = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
    expect(r.code, r.stdout).toBe(0);
    expect(c.api.get('v1', 'ConfigMap', 'redhat-ods-applications', 'external-model-registry')).toBeTruthy();
    expect(c.api.get('v1', 'ConfigMap', 'redhat-ods-applications', 'maas-egress-demo-state')).toBeTruthy();
    expect(c.api.get('v1', 'Namespace', undefined, 'opendatahub')).toBeUndefined();
  }, 60_000);

  test('an unreachable cluster fails preflight with the server and the fix, exit 3 (the README exit codes)', async () => {
    c = await startCluster();
    await c.api.close();
    const r = await demo(c, ['up', '--wg-dir', c.wgDir]);
    const end = runEnd(r.events);
    expect(r.code).toBe(3);
    expect(ofKind(r.events, 'wait')[0]?.condition).toMatch(/cluster reachable at https:\/\/127\.0\.0\.1/);
    expect(end.error?.hint).toMatch(/network|API server URL/);
  }, 60_000);

  test('an unknown --context is a usage error listing the known ones', async () => {
    c = await startCluster();
    const r = await demo(c, ['up', '--context', 'nope']);
    expect(r.code).toBe(2);
    expect(runEnd(r.events).error?.message).toMatch(/context "nope" is not in/);
    expect(runEnd(r.events).error?.hint).toMatch(/known contexts: kube-api-test/);
  }, 60_000);
});
