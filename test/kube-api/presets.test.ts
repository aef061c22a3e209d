// The rehearsal cluster's presets (tier, subscription, bare) as a client sees them over the socket: what is
// installed, which generation maas-api answers as through the API server's service proxy, what a review says.
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeApi, type KObj, type KubeApi } from './server.js';

let api: KubeApi | undefined;

afterEach(async () => {
  await api?.close();
  api = undefined;
});

interface Reply {
  status: number;
  type: string;
  text: string;
  body: unknown;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${api!.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${api!.token}`, 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body: parsed };
}

const PROXY = '/api/v1/namespaces/opendatahub/services/https:maas-api:8443/proxy';
const WHO = { 'X-MaaS-Username': 'alice', 'X-MaaS-Group': '["system:authenticated","dev"]' };

const condition = (o: KObj | undefined, type: string) =>
  ((o?.['status'] as { conditions?: { type: string; status: string; reason?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

describe('preset tier', () => {
  it('serves tier-era MaaS: the tier ConfigMap, no MaaS CRDs, and a maas-api that knows /v1/tokens and /v1/tiers/lookup', async () => {
    // Given
    api = await startKubeApi({ tls: false, preset: 'tier' });
    // When
    const lookup = await call('POST', `${PROXY}/v1/tiers/lookup`, { groups: ['system:authenticated'] });
    const mint = await call('POST', `${PROXY}/v1/tokens`, { expiration: '1h' });
    const keys = await call('GET', `${PROXY}/v1/api-keys/config`, undefined, WHO);
    // Then
    expect(api.get('v1', 'ConfigMap', 'opendatahub', 'tier-to-group-mapping')).toBeDefined();
    expect((await call('GET', '/apis/maas.opendatahub.io')).status).toBe(404);
    expect(lookup).toMatchObject({ status: 200, body: { tier: 'free', displayName: 'Free Tier' } });
    expect(mint).toMatchObject({ status: 500, body: { exceptionCode: 'AUTH_FAILURE' } });
    expect(keys).toMatchObject({ status: 404, text: '404 page not found', type: 'text/plain' });
  });

  it('mints a tier-era token only with the identity headers Authorino would inject, creating the tier namespace and ServiceAccount', async () => {
    api = await startKubeApi({ tls: false, preset: 'tier' });
    const r = await call('POST', `${PROXY}/v1/tokens`, { expiration: '20m' }, { 'X-MaaS-Username': 'kube:admin', 'X-MaaS-Group': '["system:authenticated"]' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ expiration: '20m0s', token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) });
    const sa = api.list('v1', 'ServiceAccount', 'maas-default-gateway-tier-free');
    expect(sa.map((s) => s.metadata.name)).toEqual([expect.stringMatching(/^kube-admin-[0-9a-f]{8}$/)]);
    expect((await call('POST', `${PROXY}/v1/tokens`, { expiration: '5m' }, { 'X-MaaS-Username': 'a', 'X-MaaS-Group': '["system:authenticated"]' })).body).toEqual({
      error: 'token expiration must be at least 10 minutes',
      provided_expiration: '5m0s',
    });
  });
});

describe('preset subscription', () => {
  it('installs current MaaS: its CRDs, maas-controller, payload-processing, maas-gateway-auth and gateway-default-deny, no tier ConfigMap', async () => {
    api = await startKubeApi({ tls: false, preset: 'subscription' });
    for (const plural of ['maassubscriptions', 'maasauthpolicies', 'maasmodelrefs', 'externalmodels']) {
      expect((await call('GET', `/apis/maas.opendatahub.io/v1alpha1/${plural}`)).status).toBe(200);
    }
    expect((await call('GET', '/apis/inference.opendatahub.io/v1alpha1/externalproviders')).status).toBe(200);
    for (const [ns, name] of [['opendatahub', 'maas-api'], ['opendatahub', 'maas-controller'], ['openshift-ingress', 'payload-processing'], ['openshift-ingress', 'payload-pre-processing']] as const) {
      expect(condition(api.get('apps/v1', 'Deployment', ns, name), 'Available')?.status, `${ns}/${name}`).toBe('True');
    }
    expect(condition(api.get('kuadrant.io/v1', 'AuthPolicy', 'openshift-ingress', 'maas-gateway-auth'), 'Enforced')?.status).toBe('True');
    expect(condition(api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-default-deny'), 'Enforced')?.status).toBe('True');
    expect(api.get('v1', 'ConfigMap', 'opendatahub', 'tier-to-group-mapping')).toBeUndefined();
    expect(api.get('kuadrant.io/v1', 'AuthPolicy', 'opendatahub', 'maas-api-auth-policy')).toBeUndefined();
    expect(api.get('v1', 'Namespace', undefined, 'models-as-a-service')).toBeDefined();
  });

  it('keeps the fields of its own gateway policies (nothing pruned by the upstream schemas)', async () => {
    api = await startKubeApi({ tls: false, preset: 'subscription' });
    const deny = api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-default-deny')!;
    expect(deny['spec']).toMatchObject({ defaults: { limits: { 'deny-all-by-default': { rates: [{ limit: 0, window: '1m' }] } } } });
    const auth = api.get('kuadrant.io/v1', 'AuthPolicy', 'openshift-ingress', 'maas-gateway-auth')!;
    const rules = (auth['spec'] as { rules: Record<string, Record<string, unknown>> }).rules;
    expect(Object.keys(rules.authentication!)).toEqual(['api-keys', 'openshift-identities']);
    expect(rules.authentication!['openshift-identities']).toMatchObject({ kubernetesTokenReview: { audiences: ['https://kubernetes.default.svc'] } });
    expect(Object.keys(rules.metadata!)).toEqual(['apiKeyValidation', 'subscription-info']);
    expect(Object.keys(rules.authorization!)).toEqual(['auth-valid', 'subscription-valid', 'require-group-membership']);
  });

  it('answers with a subscription-era maas-api: /v1/tokens and /v1/tiers/lookup absent, /v1/api-keys/config behind the identity headers', async () => {
    api = await startKubeApi({ tls: false, preset: 'subscription' });
    expect(await call('POST', `${PROXY}/v1/tokens`, {}, WHO)).toMatchObject({ status: 404, text: '404 page not found' });
    expect(await call('POST', `${PROXY}/v1/tiers/lookup`, { groups: ['dev'] })).toMatchObject({ status: 404, text: '404 page not found' });
    expect(await call('GET', `${PROXY}/v1/api-keys/config`)).toMatchObject({ status: 401, body: { error: { type: 'authentication_error' } } });
    expect(await call('GET', `${PROXY}/v1/api-keys/config`, undefined, WHO)).toMatchObject({ status: 200, body: { max_expiration_days: 90, ephemeral_max_expiration: '1h0m0s' } });
    expect(await call('GET', `${PROXY}/v1/subscriptions`, undefined, WHO)).toMatchObject({ status: 200, body: [] });
    // the API server keeps the caller's credentials: maas-api never sees an Authorization header
    expect(await call('GET', `${PROXY}/v1/models`, undefined, WHO)).toMatchObject({ status: 401, body: { error: { message: 'Authorization required' } } });
    expect(await call('GET', `${PROXY}/health`)).toMatchObject({ status: 200, body: { status: 'healthy' } });
  });
});

describe('preset bare', () => {
  it('is OpenShift with the Gateway API and no MaaS, Kuadrant or KServe', async () => {
    api = await startKubeApi({ tls: false, preset: 'bare' });
    expect((await call('GET', '/apis/gateway.networking.k8s.io/v1/gatewayclasses')).status).toBe(200);
    expect(api.get('config.openshift.io/v1', 'Ingress', undefined, 'cluster')).toBeDefined();
    for (const group of ['kuadrant.io', 'serving.kserve.io', 'maas.opendatahub.io']) expect((await call('GET', `/apis/${group}`)).status, group).toBe(404);
    expect(api.list('apps/v1', 'Deployment')).toEqual([]);
    expect(await call('GET', `${PROXY}/health`)).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'services "maas-api" not found' } });
  });
});

describe('service proxy', () => {
  it('answers as the real one does: plain HTTP to the TLS port, no ready endpoint, a forbidden proxy', async () => {
    api = await startKubeApi({ tls: false, preset: 'subscription', controllerDelayMs: 10 });
    expect(await call('GET', '/api/v1/namespaces/opendatahub/services/maas-api:8443/proxy/health')).toMatchObject({ status: 400, text: 'Client sent an HTTP request to an HTTPS server.\n' });
    expect(await call('GET', '/api/v1/namespaces/opendatahub/services/https:postgres:5432/proxy/')).toMatchObject({
      status: 503,
      body: { reason: 'ServiceUnavailable', message: expect.stringMatching(/^error trying to reach service: dial tcp 10\.128\.0\.\d+:5432: connect: connection refused$/) },
    });
    const denied = api.faults.forbid({ verb: 'get', resource: 'services', subresource: 'proxy', namespace: 'opendatahub' });
    expect(await call('GET', `${PROXY}/health`)).toMatchObject({
      status: 403,
      body: { message: 'services "https:maas-api:8443" is forbidden: User "demo" cannot get resource "services/proxy" in API group "" in the namespace "opendatahub"' },
    });
    denied.clear();
    api.faults.imagePullFailure({ deployment: 'maas-api' });
    await call('PATCH', '/apis/apps/v1/namespaces/opendatahub/deployments/maas-api', { spec: { template: { metadata: { annotations: { restartedAt: 'now' } } } } }, { 'Content-Type': 'application/merge-patch+json' });
    await api.waitFor(() => condition(api!.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api'), 'Available')?.status === 'False');
    await api.settle();
    expect(await call('GET', `${PROXY}/health`)).toMatchObject({ status: 503, body: { message: 'no endpoints available for service "https:maas-api:8443"' } });
  });

  it('lets the image decide the generation: the tier-era fork on a subscription cluster answers /v1/tiers/lookup', async () => {
    api = await startKubeApi({ tls: false, preset: 'subscription', controllerDelayMs: 10 });
    api.seed([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tier-to-group-mapping', namespace: 'opendatahub' }, data: { tiers: '- name: free\n  level: 0\n  groups: [system:authenticated]\n' } }]);
    await call('PATCH', '/apis/apps/v1/namespaces/opendatahub/deployments/maas-api', { spec: { template: { spec: { containers: [{ name: 'maas-api', image: 'ghcr.io/nerdalert/maas-api:external-models' }] } } } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    const r = await api.waitFor(() => {
      const pods = api!.list('v1', 'Pod', 'opendatahub').filter((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'maas-api');
      const ready = pods.length === 1 && condition(pods[0], 'Ready')?.status === 'True';
      return ready && ((pods[0]!['spec'] as { containers: { image: string }[] }).containers[0]!.image.includes('nerdalert') ? pods[0] : undefined);
    });
    expect(r).toBeDefined();
    await api.settle();
    expect(await call('POST', `${PROXY}/v1/tiers/lookup`, { groups: ['system:authenticated'] })).toMatchObject({ status: 200, body: { tier: 'free' } });
  });
});

describe('self-reviews', () => {
  const review = (ns: string) => call('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: ns } });
  type Rules = { status: { resourceRules: { verbs: string[]; apiGroups: string[]; resources: string[] }[]; incomplete: boolean; evaluationError?: string } };

  it('lists everything as allowed for the admin, one rule for all', async () => {
    api = await startKubeApi({ tls: false });
    const r = await review('default');
    expect(r.status).toBe(201);
    expect((r.body as Rules).status).toMatchObject({ resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], incomplete: false });
  });

  it('leaves out what a forbid rule denies, in the namespace it applies to only', async () => {
    api = await startKubeApi({ tls: false });
    api.faults.forbid({ verb: ['create', 'patch'], resource: 'deployments', group: 'apps', namespace: 'team-a' });
    const rulesFor = async (ns: string) => ((await review(ns)).body as Rules).status;
    const deploymentVerbs = (s: Rules['status']) => s.resourceRules.find((x) => x.apiGroups[0] === 'apps' && x.resources[0] === 'deployments')?.verbs;
    expect(deploymentVerbs(await rulesFor('team-a'))).toEqual(['delete', 'deletecollection', 'get', 'list', 'update', 'watch']);
    expect(deploymentVerbs(await rulesFor('team-b'))).toContain('patch');
    expect((await rulesFor('team-a')).incomplete).toBe(false);
  });

  it('says incomplete when a denial is limited to some names, and leaves the verb out', async () => {
    api = await startKubeApi({ tls: false });
    api.faults.forbid({ verb: 'patch', resource: 'deployments', group: 'apps', name: 'maas-api' });
    const s = ((await review('opendatahub')).body as Rules).status;
    expect(s.incomplete).toBe(true);
    expect(s.evaluationError).toMatch(/SelfSubjectAccessReview/);
    expect(s.resourceRules.find((x) => x.resources[0] === 'deployments')?.verbs).not.toContain('patch');
  });
});

describe('request log', () => {
  it('records verb, resource, namespace and name of each request, watches included', async () => {
    api = await startKubeApi({ tls: false });
    const seen: string[] = [];
    api.onRequest = (r) => seen.push(`${r.verb} ${r.resource} ${r.namespace ?? '-'} ${r.name ?? '-'} ${r.status}`);
    await call('GET', '/api/v1/namespaces/default/configmaps');
    await call('GET', '/api/v1/namespaces/default/configmaps/nope');
    const ctrl = new AbortController();
    const res = await fetch(`${api.url}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1`, { headers: { Authorization: `Bearer ${api.token}` }, signal: ctrl.signal });
    await res.text();
    expect(seen).toEqual(['list /configmaps default - 200', 'get /configmaps default nope 404', 'watch /configmaps default - 200']);
    expect(api.requests.map((r) => r.verb)).toEqual(['list', 'get', 'watch']);
  });
});
