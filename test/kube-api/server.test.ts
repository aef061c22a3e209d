// Behaviour of the test server itself over real sockets: Status shapes, pruning, watches, controllers, faults.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApi, type KObj, type KubeApi } from './server.js';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

let api: KubeApi;

async function call(method: string, path: string, body?: unknown, contentType = 'application/json', token = api.token): Promise<Reply> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType, 'User-Agent': 'server-test/1' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // logs are plain text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Reads watch events from a stream until `until` says stop (or the server closes it). */
async function watchEvents(path: string, until: (e: { type: string; object: KObj }) => boolean, timeoutMs = 5000) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const res = await fetch(`${api.url}${path}`, { headers: { Authorization: `Bearer ${api.token}` }, signal: ctrl.signal });
  const events: { type: string; object: KObj }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { type: string; object: KObj };
        events.push(e);
        if (until(e)) {
          ctrl.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!ctrl.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return events;
}

const condition = (o: KObj | undefined, type: string) =>
  ((o?.['status'] as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

function deployment(ns: string, name: string, image = 'registry.example.com/app:1'): KObj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: name, image }] } },
    },
  };
}

beforeEach(async () => {
  api = await startKubeApi({ tls: false, controllerDelayMs: 20 });
  api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }]);
});

afterEach(async () => {
  await api.close();
});

describe('authentication and Status errors', () => {
  it('rejects requests without the bearer token with a 401 Status', async () => {
    const r = await call('GET', '/api/v1/namespaces', undefined, 'application/json', 'wrong');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  it('answers NotFound for a missing object and for a kind whose CRD is not installed', async () => {
    const missing = await call('GET', '/apis/apps/v1/namespaces/demo/deployments/nope');
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
      code: 404,
    });
    const kind = await call('GET', '/apis/kuadrant.io/v1/namespaces/demo/authpolicies');
    expect(kind.status).toBe(404);
    expect(kind.body['message']).toBe('the server could not find the requested resource');
  });

  it('answers AlreadyExists on a second create and Conflict on a stale PUT', async () => {
    const first = await call('POST', '/api/v1/namespaces/demo/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } });
    expect(first.status).toBe(201);
    const again = await call('POST', '/api/v1/namespaces/demo/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', code: 409, message: 'configmaps "c" already exists' });
    const stale = { ...first.body, metadata: { ...(first.body['metadata'] as object), resourceVersion: '1' }, data: { a: '2' } };
    const put = await call('PUT', '/api/v1/namespaces/demo/configmaps/c', stale);
    expect(put.body).toMatchObject({ reason: 'Conflict', code: 409 });
    expect(put.body['message']).toContain('the object has been modified');
  });

  it('does not persist dryRun=All writes', async () => {
    const r = await call('POST', '/api/v1/namespaces/demo/configmaps?dryRun=All', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } });
    expect(r.status).toBe(201);
    expect(api.get('v1', 'ConfigMap', 'demo', 'dry')).toBeUndefined();
  });

  it('applies merge and JSON patches, bumping generation only for spec changes', async () => {
    api.seed([deployment('demo', 'p')]);
    const label = await call('PATCH', '/apis/apps/v1/namespaces/demo/deployments/p', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect((label.body['metadata'] as KObj['metadata']).generation).toBe(1);
    const replicas = await call('PATCH', '/apis/apps/v1/namespaces/demo/deployments/p', [{ op: 'replace', path: '/spec/replicas', value: 3 }], 'application/json-patch+json');
    expect((replicas.body['metadata'] as KObj['metadata']).generation).toBe(2);
    expect((replicas.body['spec'] as { replicas: number }).replicas).toBe(3);
  });
});

describe('custom resources', () => {
  const misNested = {
    apiVersion: 'kuadrant.io/v1',
    kind: 'AuthPolicy',
    metadata: { name: 'bridge', namespace: 'demo' },
    spec: {
      targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'openai-bridge' },
      rules: { headers: { 'X-Provider-Api-Key': { plain: { expression: "'sk-openai-key-for-demo'" } } } },
    },
  };

  it('prunes unknown fields by the CRD schema and warns in a Warning header', async () => {
    api.installCrds(['AuthPolicy']);
    const r = await call('PATCH', '/apis/kuadrant.io/v1/namespaces/demo/authpolicies/bridge?fieldManager=t', misNested, 'application/apply-patch+yaml');
    expect(r.status).toBe(201);
    expect(r.headers.get('warning')).toBe('299 - "unknown field \\"spec.rules.headers\\""');
    expect((r.body['spec'] as { rules: unknown }).rules).toEqual({});
    expect((api.get('kuadrant.io/v1', 'AuthPolicy', 'demo', 'bridge')!['spec'] as { rules: unknown }).rules).toEqual({});
  });

  it('refuses unknown fields with 422 Invalid under fieldValidation=Strict', async () => {
    api.installCrds('kuadrant');
    const r = await call('POST', '/apis/kuadrant.io/v1/namespaces/demo/authpolicies?fieldValidation=Strict', misNested);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message: 'AuthPolicy.kuadrant.io "bridge" is invalid: .spec.rules.headers: field not declared in schema',
      details: { name: 'bridge', group: 'kuadrant.io', kind: 'AuthPolicy', causes: [{ field: '.spec.rules.headers' }] },
    });
    expect(api.get('kuadrant.io/v1', 'AuthPolicy', 'demo', 'bridge')).toBeUndefined();
  });

  it('keeps schemaless values (x-kubernetes-preserve-unknown-fields) and fills schema defaults', async () => {
    api.installCrds('gateway-api');
    const gw = await call('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/demo/gateways', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'g' },
      spec: { gatewayClassName: 'none', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', bogus: 1 }] },
    });
    const listener = (gw.body['spec'] as { listeners: Record<string, unknown>[] }).listeners[0]!;
    expect(listener['bogus']).toBeUndefined();
    expect(listener['allowedRoutes']).toEqual({ namespaces: { from: 'Same' } });
    expect(condition(gw.body as KObj, 'Programmed')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
  });

  it('serves a new CRD kind only after the simulated controller marks it Established', async () => {
    // A kind no earlier test registered, so no controller timer of a previous install can race this one.
    const name = 'widgets.late.example.com';
    api.controllers.delayMs = 400; // wide enough that the early read always lands before Established
    const created = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: 'late.example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    expect(created.status).toBe(201);
    const early = await call('GET', '/apis/late.example.com/v1/namespaces/demo/widgets');
    expect(early.status).toBe(404);
    await api.waitFor(() => condition(api.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, name), 'Established')?.status === 'True');
    const later = await call('GET', '/apis/late.example.com/v1/namespaces/demo/widgets');
    expect(later.status).toBe(200);
    const disco = await call('GET', '/apis/late.example.com/v1');
    expect(disco.body['resources']).toContainEqual(expect.objectContaining({ name: 'widgets', kind: 'Widget', namespaced: true }));
  });

});

describe('watch', () => {
  it('replays events after a resourceVersion and answers 410 Expired for a compacted one', async () => {
    const list = await call('GET', '/api/v1/namespaces/demo/configmaps');
    const rv = (list.body['metadata'] as { resourceVersion: string }).resourceVersion;
    await call('POST', '/api/v1/namespaces/demo/configmaps', { metadata: { name: 'w1' } });
    await call('DELETE', '/api/v1/namespaces/demo/configmaps/w1');
    const events = await watchEvents(`/api/v1/namespaces/demo/configmaps?watch=true&resourceVersion=${rv}`, (e) => e.type === 'DELETED');
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    api.store.compact();
    const expired = await watchEvents(`/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=${rv}`, () => true);
    expect(expired).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', reason: 'Expired', code: 410 }) }]);
  });

  it('closes the stream after timeoutSeconds and sends bookmarks when allowed', async () => {
    // 2 s: longer than the 1 s bookmark interval, so at least one bookmark must arrive (with 1 s the
    // first bookmark raced the close and an empty stream passed)
    const t0 = Date.now();
    const events = await watchEvents('/api/v1/namespaces/demo/pods?watch=true&timeoutSeconds=2&allowWatchBookmarks=true&resourceVersion=' + api.store.resourceVersion, () => false, 6000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.type === 'BOOKMARK')).toBe(true);
  });
});

describe('simulated controllers', () => {
  it('makes a wg-ai-gateway Gateway Programmed, creates envoy-<gw> with ownerReferences, and garbage-collects it', async () => {
    api.installCrds('gateway-api');
    api.seed([
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'wg-ai-gateway' }, spec: { controllerName: 'sigs.k8s.io/wg-ai-gateway-envoy-controller' } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'poc-gateway', namespace: 'default' }, spec: { gatewayClassName: 'wg-ai-gateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
    ]);
    const envoy = await api.waitFor(() => {
      const d = api.get('apps/v1', 'Deployment', 'default', 'envoy-poc-gateway');
      return condition(d, 'Available')?.status === 'True' ? d : undefined;
    });
    const gw = api.get('gateway.networking.k8s.io/v1', 'Gateway', 'default', 'poc-gateway')!;
    expect(condition(gw, 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed' });
    expect(envoy.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Gateway', name: 'poc-gateway', uid: gw.metadata.uid });
    expect((api.get('v1', 'Service', 'default', 'envoy-poc-gateway')!['spec'] as { type: string }).type).toBe('LoadBalancer');
    await call('DELETE', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/poc-gateway');
    expect(api.get('apps/v1', 'Deployment', 'default', 'envoy-poc-gateway')).toBeUndefined();
    expect(api.list('v1', 'Pod', 'default')).toEqual([]);
  });

  it('accepts routes per parent and reports a missing XBackendDestination as BackendNotFound', async () => {
    api.installCrds('gateway-api');
    api.installCrds('wg-backends');
    api.seed([
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'wg-ai-gateway' }, spec: { controllerName: 'sigs.k8s.io/wg-ai-gateway-envoy-controller' } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'poc-gateway', namespace: 'default' }, spec: { gatewayClassName: 'wg-ai-gateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'openai-route', namespace: 'default' },
        spec: { parentRefs: [{ name: 'poc-gateway' }], rules: [{ backendRefs: [{ group: 'ainetworking.prototype.x-k8s.io', kind: 'Backend', name: 'openai-backend', port: 8000 }] }] },
      },
    ]);
    const route = await api.waitFor(() => {
      const r = api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-route');
      return (r?.['status'] as { parents?: unknown[] } | undefined)?.parents?.length ? r : undefined;
    });
    const parent = (route['status'] as { parents: { controllerName: string; conditions: { type: string; status: string; reason: string; message: string }[] }[] }).parents[0]!;
    expect(parent.controllerName).toBe('sigs.k8s.io/wg-ai-gateway-envoy-controller');
    expect(parent.conditions).toContainEqual(expect.objectContaining({ type: 'Accepted', status: 'True' }));
    expect(parent.conditions).toContainEqual(expect.objectContaining({ type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'Backend default/openai-backend not found' }));
  });

  it('seeds the OpenShift + MaaS preset with maas-api Available and the MaaS Gateway Programmed', async () => {
    await api.seedPreset({ onpremModel: true });
    expect(condition(api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api'), 'Available')?.status).toBe('True');
    expect(condition(api.get('gateway.networking.k8s.io/v1', 'Gateway', 'openshift-ingress', 'maas-default-gateway'), 'Programmed')?.status).toBe('True');
    expect(api.get('v1', 'ConfigMap', 'opendatahub', 'tier-to-group-mapping')).toBeDefined();
    expect((api.get('config.openshift.io/v1', 'Ingress', undefined, 'cluster')!['spec'] as { domain: string }).domain).toBe('apps.demo.example.com');
    expect(condition(api.get('kuadrant.io/v1', 'AuthPolicy', 'openshift-ingress', 'gateway-auth-policy'), 'Enforced')?.status).toBe('True');
    const llm = await api.waitFor(() => {
      const o = api.get('serving.kserve.io/v1alpha1', 'LLMInferenceService', 'llm', 'facebook-opt-125m-simulated');
      return condition(o, 'Ready')?.status === 'True' ? o : undefined;
    });
    expect((llm['status'] as { url: string }).url).toBe('http://maas.apps.demo.example.com/llm/facebook-opt-125m-simulated');
  });

  it('reports a policy whose target is missing as Accepted=False TargetNotFound', async () => {
    api.installCrds('kuadrant');
    api.installCrds('gateway-api');
    api.seed([{ apiVersion: 'kuadrant.io/v1', kind: 'AuthPolicy', metadata: { name: 'p', namespace: 'demo' }, spec: { targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'missing' } } }]);
    const accepted = await api.waitFor(() => condition(api.get('kuadrant.io/v1', 'AuthPolicy', 'demo', 'p'), 'Accepted'));
    expect(accepted).toMatchObject({ status: 'False', reason: 'TargetNotFound' });
  });

  it('deletes the contents of a namespace with it', async () => {
    api.seed([deployment('demo', 'x')]);
    await call('DELETE', '/api/v1/namespaces/demo');
    expect(api.list('apps/v1', 'Deployment', 'demo')).toEqual([]);
    expect((await call('POST', '/api/v1/namespaces/demo/configmaps', { metadata: { name: 'c' } })).body).toMatchObject({ reason: 'NotFound', message: 'namespaces "demo" not found' });
  });
});

describe('faults', () => {
  it('keeps pods Pending with ImagePullBackOff and Failed/BackOff events', async () => {
    api.faults.imagePullFailure({ deployment: 'bad' });
    api.seed([deployment('demo', 'bad', 'registry.example.com/bad:9')]);
    const pod = await api.waitFor(() => {
      const p = api.list('v1', 'Pod', 'demo')[0];
      const w = (p?.['status'] as { containerStatuses?: { state: { waiting?: { reason: string } } }[] } | undefined)?.containerStatuses?.[0]?.state.waiting;
      return w?.reason === 'ImagePullBackOff' ? p : undefined;
    });
    expect((pod['status'] as { phase: string }).phase).toBe('Pending');
    const events = await call('GET', `/api/v1/namespaces/demo/events?fieldSelector=involvedObject.name=${pod.metadata.name}`);
    const items = events.body['items'] as { reason: string; message: string; type: string }[];
    expect(items).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'Failed', message: expect.stringMatching(/^Failed to pull image "registry.example.com\/bad:9": /) }));
    expect(items).toContainEqual(expect.objectContaining({ reason: 'BackOff', message: 'Back-off pulling image "registry.example.com/bad:9"' }));
    expect(condition(api.get('apps/v1', 'Deployment', 'demo', 'bad'), 'Available')?.status).toBe('False');
  });

  it('crash-loops with rising restartCount, last exit code and log lines', async () => {
    api.faults.crashLoop({ deployment: 'crash' }, { logs: ['boot', 'panic: no key'] });
    api.seed([deployment('demo', 'crash')]);
    const pod = await api.waitFor(() => {
      const p = api.list('v1', 'Pod', 'demo')[0];
      const cs = (p?.['status'] as { containerStatuses?: { restartCount: number }[] } | undefined)?.containerStatuses?.[0];
      return cs && cs.restartCount >= 2 ? p : undefined;
    });
    const cs = (pod['status'] as { containerStatuses: Record<string, Record<string, Record<string, unknown>>>[] }).containerStatuses[0]!;
    expect(cs['state']!['waiting']).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(cs['lastState']!['terminated']).toMatchObject({ exitCode: 1, reason: 'Error' });
    const log = await call('GET', `/api/v1/namespaces/demo/pods/${pod.metadata.name}/log?tailLines=1`);
    expect(log.text).toBe('panic: no key\n');
  });

  it('leaves pods unschedulable with a FailedScheduling event', async () => {
    api.faults.failedScheduling({ namespace: 'demo' });
    api.seed([deployment('demo', 'big')]);
    const pod = await api.waitFor(() => {
      const p = api.list('v1', 'Pod', 'demo')[0];
      return condition(p, 'PodScheduled')?.status === 'False' ? p : undefined;
    });
    expect(condition(pod, 'PodScheduled')).toMatchObject({ reason: 'Unschedulable', message: expect.stringContaining('0/3 nodes are available: 3 Insufficient cpu.') });
    const ev = api.list('v1', 'Event', 'demo').find((e) => e['reason'] === 'FailedScheduling');
    expect(ev?.['type']).toBe('Warning');
  });

  it('forbids a verb with a 403 Status and answers SelfSubjectAccessReview allowed=false', async () => {
    api.faults.forbid({ verb: 'create', resource: 'deployments', group: 'apps' });
    const r = await call('POST', '/apis/apps/v1/namespaces/demo/deployments', deployment('demo', 'f'));
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps is forbidden: User "demo" cannot create resource "deployments" in API group "apps" in the namespace "demo"',
      reason: 'Forbidden',
      details: { group: 'apps', kind: 'deployments' },
      code: 403,
    });
    const review = (verb: string) =>
      call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace: 'demo', verb, group: 'apps', resource: 'deployments' } },
      });
    expect(((await review('create')).body['status'] as { allowed: boolean }).allowed).toBe(false);
    expect(((await review('get')).body['status'] as { allowed: boolean }).allowed).toBe(true);
  });

  it('never delivers a condition, or delivers it False with a terminal reason', async () => {
    api.installCrds('gateway-api');
    api.faults.neverCondition({ kind: 'Gateway', name: 'stuck', type: 'Programmed' });
    api.faults.conditionFalse({ kind: 'Gateway', name: 'broken', type: 'Programmed', reason: 'TranslationError', message: 'bad listener' });
    const gw = (name: string): KObj => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name, namespace: 'default' }, spec: { gatewayClassName: 'wg-ai-gateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
    api.seed([gw('stuck'), gw('broken')]);
    await api.waitFor(() => condition(api.get('gateway.networking.k8s.io/v1', 'Gateway', 'default', 'broken'), 'Programmed')?.status === 'False');
    await api.settle();
    expect(condition(api.get('gateway.networking.k8s.io/v1', 'Gateway', 'default', 'broken'), 'Programmed')).toMatchObject({ reason: 'TranslationError', message: 'bad listener' });
    expect(condition(api.get('gateway.networking.k8s.io/v1', 'Gateway', 'default', 'stuck'), 'Accepted')?.status).toBe('True');
    expect(condition(api.get('gateway.networking.k8s.io/v1', 'Gateway', 'default', 'stuck'), 'Programmed')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
  });

  it('removes a CRD and keeps it from becoming Established again (missing CRD)', async () => {
    api.installCrds('kuadrant');
    api.faults.missingCrd('TokenRateLimitPolicy');
    expect((await call('GET', '/apis/kuadrant.io/v1alpha1/tokenratelimitpolicies')).status).toBe(404);
    expect((await call('GET', '/apis/kuadrant.io/v1/authpolicies')).status).toBe(200);
    api.installCrds(['TokenRateLimitPolicy']);
    await api.settle();
    expect((await call('GET', '/apis/kuadrant.io/v1alpha1/tokenratelimitpolicies')).status).toBe(404);
    const crd = api.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'tokenratelimitpolicies.kuadrant.io');
    expect(condition(crd, 'Established')).toMatchObject({ status: 'False' });
  });
});
