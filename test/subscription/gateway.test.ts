/**
 * The MaaS gateway in its current role, in-process with the real era hops around it (maas-api on a
 * PGlite, payload processing, provider simulators with CAs of their own): the auth policy's answers
 * (401, 403 with x-ext-auth-reason, client identity headers, a tier-era token refused), the identity
 * cache and its consequence, body and path routing, payload processing failing open before auth and
 * closed after it, gateway-default-deny, and TLS origination that verifies the provider's certificate
 * for the endpoint's name.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { subscriptionSteps } from '../../src/generations/subscription/plan.js';
import { eraProviders } from '../../src/generations/subscription/providers.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { subscriptionSpecs } from '../../src/model/subscription-read.js';
import { reconcileStatuses } from '../../src/model/subscription-status.js';
import { startProviderSim } from '../../src/sim/provider-sim.js';
import type { RunningSim } from '../../src/sim/sim-program.js';
import { ApiKeyStore } from '../../src/targets/local/api-keys.js';
import { listen } from '../../src/sim/http-server.js';
import { createMaasApiKeys, type MaasApiKeysHop } from '../../src/targets/local/maas-api-keys.js';
import { createPayloadProcessing, type PayloadProcessingHop } from '../../src/targets/local/payload-processor.js';
import { createProviderPki, generateCerts } from '../../src/targets/local/certificates.js';
import { createSubscriptionGateway, type SubscriptionGatewayHop, type SubscriptionGatewaySpec } from '../../src/targets/local/subscription-gateway.js';
import { generateSigningKey, mintServiceAccountToken, type SigningKeyFile } from '../../src/targets/local/tokens.js';
import { startTestDb, type TestDb } from './helpers.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const cfg = defaultConfig();
const providers = eraProviders(cfg, { vllm: false });
const CLUSTER_TOKEN = 'sha256~the-cluster-user-token-for-this-test-000000000';
let objects: K8sObject[];
let db: TestDb;
let api: MaasApiKeysHop;
let pp: PayloadProcessingHop;
let gw: SubscriptionGatewayHop;
const sims: RunningSim[] = [];
let agent: Agent;
let host = '';
let spec: SubscriptionGatewaySpec;
let signingKey: SigningKeyFile;
const caPems: string[] = [];

beforeAll(async () => {
  db = await startTestDb('gateway');
  const store = new ApiKeyStore(db.pg.url, 'models-as-a-service');
  await store.open();
  objects = reconcileStatuses(subscriptionSteps(cfg, providers, { keys: 'reveal' }).flatMap((s) => s.objects), { gatewayHost: 'maas.test', gatewayName: 'maas-default-gateway', gatewayNamespace: 'openshift-ingress' });
  api = createMaasApiKeys({ spec: { ...subscriptionSpecs({ objects }).maasApi, lastUsedDebounceSeconds: 0 }, store });
  pp = createPayloadProcessing(subscriptionSpecs({ objects }).payloadProcessing);
  const dns: Record<string, string> = {};
  for (const p of providers) {
    const pki = await createProviderPki(p.name, [p.endpoint]);
    caPems.push(pki.caPem);
    const sim = await startProviderSim({ apiKey: cfg.providers.find((c) => c.name === p.name)!.key, name: p.name, model: p.targetModel, style: p.style, ...(p.style === 'provider' ? { keyHeader: 'authorization' } : {}), tls: { cert: pki.certPem, key: pki.keyPem }, latencyMs: 0 });
    sims.push(sim);
    dns[`${p.endpoint}:${p.port}`] = `127.0.0.1:${sim.port}`;
  }
  const certs = await generateCerts(['localhost']);
  signingKey = await generateSigningKey();
  spec = {
    era: 'subscription',
    hostnames: [],
    objects,
    audience: cfg.maas.issuer,
    issuer: cfg.maas.issuer,
    user: cfg.user,
    identityCacheSeconds: 2,
    upstreams: { maasApi: `http://127.0.0.1:${await listen(api.server, 0)}`, payloadProcessing: `http://127.0.0.1:${await listen(pp.server, 0)}` },
    dns,
    trustedCas: caPems,
  };
  gw = createSubscriptionGateway({ spec, tls: { cert: certs.certPem, key: certs.keyPem }, signingKey, clusterTokenSha256: createHash('sha256').update(CLUSTER_TOKEN).digest('hex') });
  const port = await listen(gw.server, 0);
  host = `localhost:${port}`;
  gw.setSpec({ ...spec, hostnames: [host] });
  agent = new Agent({ connect: { ca: certs.caPem } });
});

afterAll(async () => {
  await agent?.close();
  await gw?.close();
  await pp?.close();
  await api?.close();
  await Promise.all(sims.map((s) => s.close()));
  await db?.close();
});

async function call(method: string, path: string, auth?: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await request(`https://${host}${path}`, { method: method as 'GET', dispatcher: agent, headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers as Record<string, string | undefined>, text, json: (() => { try { return JSON.parse(text) as Record<string, unknown>; } catch { return undefined; } })() };
}

async function mint(subscription = 'demo-subscription'): Promise<{ key: string; id: string }> {
  const r = await call('POST', '/maas-api/v1/api-keys', CLUSTER_TOKEN, { name: 'gw-test', subscription });
  expect(r.status, r.text).toBe(201);
  return { key: String(r.json!.key), id: String(r.json!.id) };
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, ...extra });

describe('maas-gateway-auth', () => {
  test('401 without credentials; 403 with x-ext-auth-reason for a bogus key; a tier-era MaaS token is refused (wrong audience)', async () => {
    const none = await call('POST', '/v1/chat/completions', undefined, chat('gpt-4'));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/Bearer realm=/);
    const bogus = await call('POST', '/v1/chat/completions', 'sk-oai-FAKE-KEY', chat('gpt-4'));
    expect(bogus.status).toBe(403);
    expect(bogus.headers['x-ext-auth-reason']).toBe('invalid key format');
    const tierToken = await mintServiceAccountToken(signingKey, { namespace: 'maas-default-gateway-tier-free', serviceAccount: 'demo-user', audience: 'maas-default-gateway-sa', issuer: cfg.maas.issuer, seconds: 600 });
    expect((await call('GET', '/v1/models', tierToken.token)).status).toBe(401);
    // A service-account token for the cluster issuer's audience is a user like any other.
    const saToken = await mintServiceAccountToken(signingKey, { namespace: 'team', serviceAccount: 'bot', audience: cfg.maas.issuer, issuer: cfg.maas.issuer, seconds: 600 });
    expect((await call('GET', '/v1/subscriptions', saToken.token)).status).toBe(200);
  });

  test('a client-sent X-MaaS-Username or X-MaaS-Group is refused; X-MaaS-Subscription is an input, replaced by the selection', async () => {
    const { key } = await mint();
    const forged = await call('POST', '/v1/chat/completions', key, chat('gpt-4'), { 'x-maas-username': 'admin' });
    expect(forged.status).toBe(403);
    expect(forged.headers['x-ext-auth-reason']).toMatch(/client-sent identity headers refused: x-maas-username/);
    const sub = await call('POST', '/v1/chat/completions', key, chat('gpt-4'), { 'x-maas-subscription': 'demo-basic' });
    expect(sub.status).toBe(200);
    // The provider never sees the identity headers (maas-headers-guard).
    expect(sub.headers['x-sim-header-names']).not.toMatch(/x-maas-/);
  });

  test('a model outside the key\'s subscription: 403 with the selection\'s reason', async () => {
    const { key } = await mint('demo-basic');
    const r = await call('POST', '/v1/chat/completions', key, chat('claude-3-sonnet'));
    expect(r.status).toBe(403);
    expect(r.headers['x-ext-auth-reason']).toMatch(/^model_not_in_subscription/);
  });

  test('the identity cache: a revoked key keeps working until its entry expires, then 403', async () => {
    const { key, id } = await mint();
    expect((await call('GET', '/v1/models', key)).status).toBe(200);
    expect((await call('DELETE', `/maas-api/v1/api-keys/${id}`, CLUSTER_TOKEN)).status).toBe(200);
    // Cached: still accepted right after the revocation.
    expect((await call('GET', '/v1/models', key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    const after = await call('GET', '/v1/models', key);
    expect(after.status).toBe(403);
    expect(after.headers['x-ext-auth-reason']).toBe('key revoked or expired');
    // With the cache off, a revocation bites at once.
    gw.setSpec({ ...spec, hostnames: [host], identityCacheSeconds: 0 });
    try {
      const other = await mint();
      expect((await call('GET', '/v1/models', other.key)).status).toBe(200);
      await call('DELETE', `/maas-api/v1/api-keys/${other.id}`, CLUSTER_TOKEN);
      expect((await call('GET', '/v1/models', other.key)).status).toBe(403);
    } finally {
      gw.setSpec({ ...spec, hostnames: [host] });
    }
  });
});

describe('routing and payload processing', () => {
  test('body routing re-matches the route on X-Gateway-Model-Name; the path route works too; an unknown model is route_not_found', async () => {
    const { key } = await mint();
    const body = await call('POST', '/v1/chat/completions', key, chat('claude-3-sonnet'));
    expect(body.status).toBe(200);
    expect(body.json!.object).toBe('chat.completion');
    expect(body.headers['x-sim-path']).toBe('/v1/messages');
    const path = await call('POST', '/llm/gpt-4/v1/chat/completions', key, chat('gpt-4'));
    expect(path.status).toBe(200);
    expect(path.headers['x-sim-path']).toBe('/v1/chat/completions');
    const unknown = await call('POST', '/v1/chat/completions', key, chat('no-such-model'));
    expect(unknown.status).toBe(404);
    const trace = gw.traces.recent(1)[0]!;
    expect(trace.detail.flags).toBe('NR');
  });

  test('ipp-pre fails open (a body-routed request then matches nothing: 404), ipp fails closed (500)', async () => {
    const { key } = await mint();
    gw.setSpec({ ...spec, hostnames: [host], upstreams: { ...spec.upstreams, payloadProcessing: 'http://127.0.0.1:1' } });
    try {
      const body = await call('POST', '/v1/chat/completions', key, chat('gpt-4'));
      expect(body.status).toBe(404);
      expect(gw.traces.recent(1)[0]!.detail.ippPre).toMatch(/failed, request let through/);
      const path = await call('POST', '/llm/gpt-4/v1/chat/completions', key, chat('gpt-4'));
      expect(path.status).toBe(500);
      expect(gw.traces.recent(1)[0]!.detail.ipp).toMatch(/failure_mode_allow false/);
    } finally {
      gw.setSpec({ ...spec, hostnames: [host] });
    }
  });

  test('gateway-default-deny: a model no subscription limit covers gets 429, whatever the auth said', async () => {
    const { key } = await mint();
    // The subscription's limits gone (as if its TokenRateLimitPolicy were never made), auth still admits.
    const noLimits = objects.map((o) => (o.kind === 'MaaSSubscription' ? { ...o, status: { ...(o.status as object), phase: 'Active' }, spec: { ...(o.spec as object), modelRefs: ((o.spec as { modelRefs: unknown[] }).modelRefs).map((r) => ({ ...(r as object), tokenRateLimits: [{ limit: 5, window: 'bad' }] })) } } : o));
    gw.setSpec({ ...spec, hostnames: [host], objects: noLimits });
    try {
      const r = await call('POST', '/v1/chat/completions', key, chat('gpt-4'));
      expect(r.status).toBe(429);
      expect(gw.traces.recent(1)[0]!.detail.budget).toMatch(/gateway-default-deny/);
    } finally {
      gw.setSpec({ ...spec, hostnames: [host] });
    }
  });
});

describe('TLS origination', () => {
  test("verifies the provider's certificate for the endpoint's name: an untrusted CA is refused as Envoy refuses it", async () => {
    const { key } = await mint();
    gw.setSpec({ ...spec, hostnames: [host], trustedCas: [] });
    try {
      const r = await call('POST', '/v1/chat/completions', key, chat('gpt-4'));
      expect(r.status).toBe(503);
      expect(r.text).toMatch(/^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: TLS_error:.*CERTIFICATE_VERIFY_FAILED/);
      expect(gw.traces.recent(1)[0]!.detail.tls).toMatch(/verification failed/);
    } finally {
      gw.setSpec({ ...spec, hostnames: [host] });
    }
    // A certificate for another name, from a trusted CA, is refused too: the endpoint is the server name checked.
    const elsewhere = providers[0]!;
    const wrongName = objects.map((o) => (o.kind === 'ExternalModel' && o.metadata.name === elsewhere.modelName ? { ...o, spec: { ...(o.spec as object), endpoint: 'api.example.org' } } : o));
    gw.setSpec({ ...spec, hostnames: [host], objects: wrongName, dns: { ...spec.dns, 'api.example.org:443': spec.dns[`${elsewhere.endpoint}:443`]! } });
    try {
      const r = await call('POST', '/v1/chat/completions', key, chat(elsewhere.modelName));
      expect(r.status).toBe(503);
      expect(gw.traces.recent(1)[0]!.detail.tls).toMatch(/ALTNAME|verification failed/);
    } finally {
      gw.setSpec({ ...spec, hostnames: [host] });
    }
  });
});
