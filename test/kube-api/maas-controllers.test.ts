// The subscription preset's controllers: what maas-controller and the payload processor write for the objects a
// user applies (upstream's external-model setup, steps 3–5), and what they write when something is missing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApi, type KObj, type KubeApi } from './server.js';

let api: KubeApi;

beforeEach(async () => {
  api = await startKubeApi({ tls: false, preset: 'subscription', controllerDelayMs: 5 });
});

afterEach(async () => {
  await api.close();
});

const MAAS = 'maas.opendatahub.io/v1alpha1';
const INFERENCE = 'inference.opendatahub.io/v1alpha1';
type Cond = { type: string; status: string; reason?: string; message?: string; observedGeneration?: number };
const status = (o: KObj | undefined) => (o?.['status'] ?? {}) as Record<string, unknown> & { phase?: string; conditions?: Cond[] };
const cond = (o: KObj | undefined, type: string) => status(o).conditions?.find((c) => c.type === type);

function secret(ns: string, name: string): KObj {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels: { 'inference.llm-d.ai/ipp-managed': 'true' } }, stringData: { 'api-key': 'sk-test-provider-key' } };
}

function legacyModel(name: string, opts: { tls?: boolean; port?: string; secretName?: string } = {}): KObj {
  return {
    apiVersion: MAAS,
    kind: 'ExternalModel',
    metadata: {
      name,
      namespace: 'llm',
      annotations: { ...(opts.tls === false ? { 'maas.opendatahub.io/tls': 'false' } : {}), ...(opts.port ? { 'maas.opendatahub.io/port': opts.port } : {}) },
    },
    spec: { provider: 'openai', endpoint: 'openai-simulator.external-models.svc.cluster.local', targetModel: 'gpt-4o', credentialRef: { name: opts.secretName ?? 'openai-api-key' } },
  };
}

const modelRef = (name: string, kind: string, target: string): KObj => ({ apiVersion: MAAS, kind: 'MaaSModelRef', metadata: { name, namespace: 'llm' }, spec: { modelRef: { kind, name: target } } });

function subscription(name: string, models: string[], ns = 'models-as-a-service'): KObj {
  return {
    apiVersion: MAAS,
    kind: 'MaaSSubscription',
    metadata: { name, namespace: ns },
    spec: { owner: { groups: [{ name: 'system:authenticated' }] }, modelRefs: models.map((m) => ({ name: m, namespace: 'llm', tokenRateLimits: [{ limit: 100, window: '1m' }] })) },
  };
}

function authPolicy(name: string, models: string[], ns = 'models-as-a-service'): KObj {
  return { apiVersion: MAAS, kind: 'MaaSAuthPolicy', metadata: { name, namespace: ns }, spec: { modelRefs: models.map((m) => ({ name: m, namespace: 'llm' })), subjects: { groups: [{ name: 'system:authenticated' }] } } };
}

const phase = (apiVersion: string, kind: string, ns: string, name: string, want: string) =>
  api.waitFor(() => {
    const o = api.get(apiVersion, kind, ns, name);
    return status(o).phase === want ? o : undefined;
  });

describe('ExternalModel (maas.opendatahub.io)', () => {
  it('gets Service and HTTPRoute maas-<name>, the route Accepted with ResolvedRefs, and phase Ready', async () => {
    // Given the provider Secret and the ExternalModel of upstream's step 3 and 4
    api.seed([secret('llm', 'openai-api-key'), legacyModel('gpt-4o', { tls: false, port: '8000' })]);
    // When the controllers have run
    const em = await phase(MAAS, 'ExternalModel', 'llm', 'gpt-4o', 'Ready');
    // Then
    const route = api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'llm', 'maas-gpt-4o')!;
    const parent = (route['status'] as { parents: { controllerName: string; conditions: Cond[] }[] }).parents[0]!;
    expect(parent.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Accepted', status: 'True' }), expect.objectContaining({ type: 'ResolvedRefs', status: 'True' })]));
    const rules = (route['spec'] as { rules: { matches: Record<string, unknown>[] }[] }).rules;
    expect(rules[0]!.matches[0]).toEqual({ path: { type: 'PathPrefix', value: '/llm/gpt-4o' } });
    expect(rules[1]!.matches[0]).toMatchObject({ headers: [{ type: 'Exact', name: 'X-Gateway-Model-Name', value: 'gpt-4o' }] });
    expect(route.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ExternalModel', name: 'gpt-4o' });
    const svc = api.get('v1', 'Service', 'llm', 'maas-gpt-4o')!;
    expect(svc['spec']).toMatchObject({ type: 'ExternalName', externalName: 'openai-simulator.external-models.svc.cluster.local', ports: [{ name: 'http', port: 8000 }] });
    expect(status(em)['httpRouteName']).toBeUndefined(); // the legacy kind's status has phase and conditions only
    expect(cond(em, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
  });

  it('stays Pending naming the missing Secret, and fails a port annotation that is no port', async () => {
    api.seed([legacyModel('no-key', { secretName: 'absent' }), legacyModel('bad-port', { port: '70000' })]);
    await api.settle();
    expect(status(api.get(MAAS, 'ExternalModel', 'llm', 'no-key'))).toMatchObject({ phase: 'Pending' });
    expect(cond(api.get(MAAS, 'ExternalModel', 'llm', 'no-key'), 'Ready')).toMatchObject({ status: 'False', reason: 'NotFound', message: 'Secret llm/absent not found' });
    expect(status(api.get(MAAS, 'ExternalModel', 'llm', 'bad-port')).phase).toBe('Failed');
    expect(cond(api.get(MAAS, 'ExternalModel', 'llm', 'bad-port'), 'Ready')?.message).toMatch(/maas.opendatahub.io\/port="70000" is not a port/);
    expect(api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'llm', 'maas-bad-port')).toBeUndefined();
  });

  it('takes its Service and HTTPRoute with it when deleted', async () => {
    api.seed([secret('llm', 'openai-api-key'), legacyModel('gpt-4o')]);
    await phase(MAAS, 'ExternalModel', 'llm', 'gpt-4o', 'Ready');
    await fetch(`${api.url}/apis/maas.opendatahub.io/v1alpha1/namespaces/llm/externalmodels/gpt-4o`, { method: 'DELETE', headers: { Authorization: `Bearer ${api.token}` } });
    expect(api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'llm', 'maas-gpt-4o')).toBeUndefined();
    expect(api.get('v1', 'Service', 'llm', 'maas-gpt-4o')).toBeUndefined();
  });
});

describe('ExternalProvider + ExternalModel (inference.opendatahub.io)', () => {
  it('routes to the provider endpoint and matches the model name', async () => {
    api.seed([
      secret('llm', 'anthropic-api-key'),
      { apiVersion: INFERENCE, kind: 'ExternalProvider', metadata: { name: 'anthropic', namespace: 'llm' }, spec: { provider: 'anthropic', endpoint: 'api.anthropic.com', auth: { type: 'apikey', secretRef: { name: 'anthropic-api-key' } } } },
      { apiVersion: INFERENCE, kind: 'ExternalModel', metadata: { name: 'claude', namespace: 'llm' }, spec: { modelName: 'claude-sonnet', externalProviderRefs: [{ ref: { name: 'anthropic' }, targetModel: 'claude-sonnet-4-20250514', apiFormat: 'messages', path: '/v1/messages' }] } },
    ]);
    const em = await phase(INFERENCE, 'ExternalModel', 'llm', 'claude', 'Ready');
    expect(status(em).httpRouteName).toBe('maas-claude');
    expect(status(api.get(INFERENCE, 'ExternalProvider', 'llm', 'anthropic')).phase).toBe('Ready');
    const route = api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'llm', 'maas-claude')!;
    expect(JSON.stringify(route['spec'])).toContain('"value":"claude-sonnet"');
    expect(api.get('v1', 'Service', 'llm', 'maas-claude')!['spec']).toMatchObject({ externalName: 'api.anthropic.com', ports: [{ name: 'https', port: 443 }] });
  });

  it('names the missing provider', async () => {
    api.seed([{ apiVersion: INFERENCE, kind: 'ExternalModel', metadata: { name: 'orphan', namespace: 'llm' }, spec: { externalProviderRefs: [{ ref: { name: 'nobody' }, targetModel: 'x', apiFormat: 'chat-completions', path: '/v1/chat/completions' }] } }]);
    await api.settle();
    expect(cond(api.get(INFERENCE, 'ExternalModel', 'llm', 'orphan'), 'Ready')).toMatchObject({ status: 'False', message: 'ExternalProvider llm/nobody not found' });
  });
});

describe('MaaSModelRef', () => {
  it('is Ready with the gateway endpoint for an ExternalModel and the LLMInferenceService URL for an on-prem model', async () => {
    api.seed([secret('llm', 'openai-api-key'), legacyModel('gpt-4o'), modelRef('gpt-4o', 'ExternalModel', 'gpt-4o')]);
    await api.seedPreset({ generation: 'subscription', onpremModel: true });
    api.seed([modelRef('opt-125m', 'LLMInferenceService', 'facebook-opt-125m-simulated')]);
    const ext = await phase(MAAS, 'MaaSModelRef', 'llm', 'gpt-4o', 'Ready');
    const onprem = await phase(MAAS, 'MaaSModelRef', 'llm', 'opt-125m', 'Ready');
    expect(status(ext)).toMatchObject({
      endpoint: 'https://maas.apps.demo.example.com/llm/gpt-4o',
      httpRouteName: 'maas-gpt-4o',
      httpRouteNamespace: 'llm',
      httpRouteGatewayName: 'maas-default-gateway',
      httpRouteGatewayNamespace: 'openshift-ingress',
      httpRouteHostnames: ['maas.apps.demo.example.com'],
    });
    expect(status(onprem)).toMatchObject({ endpoint: 'http://maas.apps.demo.example.com/llm/facebook-opt-125m-simulated', httpRouteName: 'facebook-opt-125m-simulated-kserve-route' });
  });

  it('is Pending with no endpoint while the backend is missing, and follows the backend once it appears', async () => {
    api.seed([modelRef('late', 'ExternalModel', 'late')]);
    await api.settle();
    const ref = api.get(MAAS, 'MaaSModelRef', 'llm', 'late');
    expect(status(ref)).toMatchObject({ phase: 'Pending', endpoint: '' });
    expect(cond(ref, 'Ready')).toMatchObject({ status: 'False', reason: 'NotFound', message: 'ExternalModel llm/late not found' });
    api.seed([secret('llm', 'openai-api-key'), legacyModel('late')]);
    expect(status(await phase(MAAS, 'MaaSModelRef', 'llm', 'late', 'Ready')).endpoint).toBe('https://maas.apps.demo.example.com/llm/late');
  });
});

describe('MaaSAuthPolicy and MaaSSubscription', () => {
  async function readyModel(name: string): Promise<void> {
    api.seed([secret('llm', 'openai-api-key'), legacyModel(name), modelRef(name, 'ExternalModel', name)]);
    await phase(MAAS, 'MaaSModelRef', 'llm', name, 'Ready');
  }

  it('become Active: the gateway AuthPolicy is listed per model, maas-trlp-<model> carries each subscription and is Enforced', async () => {
    await readyModel('gpt-4o');
    api.seed([authPolicy('gpt-4o-access', ['gpt-4o']), subscription('gold', ['gpt-4o']), subscription('silver', ['gpt-4o'])]);
    const pol = await phase(MAAS, 'MaaSAuthPolicy', 'models-as-a-service', 'gpt-4o-access', 'Active');
    const sub = await phase(MAAS, 'MaaSSubscription', 'models-as-a-service', 'gold', 'Active');
    expect(status(pol)['authPolicies']).toEqual([expect.objectContaining({ name: 'maas-gateway-auth', namespace: 'openshift-ingress', model: 'gpt-4o', modelNamespace: 'llm', ready: true })]);
    expect(status(sub)['tokenRateLimitStatuses']).toEqual([expect.objectContaining({ name: 'maas-trlp-gpt-4o', namespace: 'llm', model: 'gpt-4o', ready: true })]);
    const trlp = await api.waitFor(() => {
      const t = api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'llm', 'maas-trlp-gpt-4o');
      return cond(t, 'Enforced')?.status === 'True' && t?.metadata.annotations?.['maas.opendatahub.io/subscriptions'] === 'gold,silver' ? t : undefined;
    });
    expect(trlp.metadata.labels).toMatchObject({ 'maas.opendatahub.io/model': 'gpt-4o' });
    const limits = (trlp['spec'] as { targetRef: unknown; limits: Record<string, { when: { predicate: string }[] }> });
    expect(limits.targetRef).toEqual({ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'maas-gpt-4o' });
    expect(limits.limits['models-as-a-service-gold-gpt-4o-tokens']!.when[0]!.predicate).toBe('auth.identity.selected_subscription_key == "models-as-a-service/gold@llm/gpt-4o" && !request.path.endsWith("/v1/models")');
  });

  it('are Pending while a model is missing, Degraded while one of two is, and Invalid without subjects', async () => {
    await readyModel('gpt-4o');
    api.seed([subscription('one-missing', ['gpt-4o', 'absent']), subscription('all-missing', ['absent'])]);
    api.seed([{ ...authPolicy('nobody', ['gpt-4o']), spec: { modelRefs: [{ name: 'gpt-4o', namespace: 'llm' }], subjects: {} } }]);
    await phase(MAAS, 'MaaSSubscription', 'models-as-a-service', 'one-missing', 'Degraded');
    await phase(MAAS, 'MaaSSubscription', 'models-as-a-service', 'all-missing', 'Pending');
    await phase(MAAS, 'MaaSAuthPolicy', 'models-as-a-service', 'nobody', 'Invalid');
    const sub = api.get(MAAS, 'MaaSSubscription', 'models-as-a-service', 'one-missing');
    expect(status(sub)['modelRefStatuses']).toContainEqual(expect.objectContaining({ name: 'absent', ready: false, reason: 'NotFound', message: 'MaaSModelRef llm/absent not found' }));
  });

  it('get no status at all outside models-as-a-service, where maas-controller does not look', async () => {
    await readyModel('gpt-4o');
    api.seed([subscription('elsewhere', ['gpt-4o'], 'llm'), authPolicy('elsewhere', ['gpt-4o'], 'llm')]);
    await api.settle();
    expect(api.get(MAAS, 'MaaSSubscription', 'llm', 'elsewhere')!['status']).toBeUndefined();
    expect(api.get(MAAS, 'MaaSAuthPolicy', 'llm', 'elsewhere')!['status']).toBeUndefined();
    expect(api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'llm', 'maas-trlp-gpt-4o')).toBeUndefined();
  });

  it('removes maas-trlp-<model> with the last subscription that names the model', async () => {
    await readyModel('gpt-4o');
    api.seed([subscription('gold', ['gpt-4o'])]);
    await api.waitFor(() => api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'llm', 'maas-trlp-gpt-4o'));
    await fetch(`${api.url}/apis/maas.opendatahub.io/v1alpha1/namespaces/models-as-a-service/maassubscriptions/gold`, { method: 'DELETE', headers: { Authorization: `Bearer ${api.token}` } });
    await api.waitFor(() => !api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'llm', 'maas-trlp-gpt-4o'));
  });
});

describe('maas-api over the subscription objects', () => {
  const PROXY = '/api/v1/namespaces/opendatahub/services/https:maas-api:8443/proxy';
  const post = (path: string, body: unknown, who = 'alice') =>
    fetch(`${api.url}${PROXY}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/json', 'X-MaaS-Username': who, 'X-MaaS-Group': '["system:authenticated"]' },
      body: JSON.stringify(body),
    });

  it('mints an sk-oai- key for an Active subscription, validates it, lists the subscription, and refuses an unknown one', async () => {
    api.seed([secret('llm', 'openai-api-key'), legacyModel('gpt-4o'), modelRef('gpt-4o', 'ExternalModel', 'gpt-4o'), subscription('gold', ['gpt-4o'])]);
    await phase(MAAS, 'MaaSSubscription', 'models-as-a-service', 'gold', 'Active');
    const created = await post('/v1/api-keys', { name: 'demo', subscription: 'gold' });
    const body = (await created.json()) as { key: string; subscription: string; id: string };
    expect(created.status).toBe(201);
    expect(body.key).toMatch(/^sk-oai-[0-9A-Za-z]+_[0-9A-Za-z]+$/);
    expect(body.subscription).toBe('gold');
    expect(await (await post('/internal/v1/api-keys/validate', { key: body.key })).json()).toMatchObject({ valid: true, username: 'alice', subscription: 'gold' });
    expect(await (await post('/internal/v1/api-keys/validate', { key: 'sk-oai-FAKE_KEY' })).json()).toEqual({ valid: false, reason: 'key not found' });
    expect(api.maasApi.apiKeys()).toEqual([expect.objectContaining({ name: 'demo', subscription: 'gold', status: 'active' })]);
    expect(JSON.stringify(api.maasApi.apiKeys())).not.toContain(body.key.slice(20));
    const bad = await post('/v1/api-keys', { name: 'x', subscription: 'platinum' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_subscription' } });
    const subs = await fetch(`${api.url}${PROXY}/v1/subscriptions`, { headers: { Authorization: `Bearer ${api.token}`, 'X-MaaS-Username': 'alice', 'X-MaaS-Group': '["system:authenticated"]' } });
    expect(await subs.json()).toEqual([expect.objectContaining({ subscription_id_header: 'gold', model_refs: [expect.objectContaining({ name: 'gpt-4o', token_rate_limits: [{ limit: 100, window: '1m' }] })] })]);
    // another user's key is not there for them
    const other = await fetch(`${api.url}${PROXY}/v1/api-keys/${body.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${api.token}`, 'X-MaaS-Username': 'mallory', 'X-MaaS-Group': '[]' } });
    expect(other.status).toBe(404);
  });
});
