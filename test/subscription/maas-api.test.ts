/**
 * maas-api (subscription era) through its HTTP interface, backed by a real PostgreSQL (PGlite over
 * the wire protocol): minting, reading, revoking and searching keys, the internal validate and select
 * callbacks, and the listings — with upstream's status codes, bodies and field names.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyStore, parseApiKey } from '../../src/targets/local/api-keys.js';
import { createMaasApiKeys, type MaasApiKeysHop } from '../../src/targets/local/maas-api-keys.js';
import { listen } from '../../src/sim/http-server.js';
import { startTestDb, type TestDb } from './helpers.js';
import { as, worldSpec } from './fixtures.js';

// The first PGlite of a run may run initdb in WASM (seconds, more on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let db: TestDb;
let hop: MaasApiKeysHop;
let base: string;

beforeAll(async () => {
  db = await startTestDb('maas-api');
  const store = new ApiKeyStore(db.pg.url, 'models-as-a-service');
  await store.open();
  hop = createMaasApiKeys({ spec: worldSpec(), store });
  base = `http://127.0.0.1:${await listen(hop.server, 0)}`;
});
afterAll(async () => {
  await hop?.close();
  await db?.close();
});
beforeEach(() => hop.setSpec(worldSpec()));

interface Res {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

async function call(method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}): Promise<Res> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body, text, headers: res.headers };
}

const mint = (user: string, body: Record<string, unknown>, groups?: string[]) => call('POST', '/v1/api-keys', { headers: as(user, groups), body });
const validate = (key: string) => call('POST', '/internal/v1/api-keys/validate', { body: { key } });

describe('POST /v1/api-keys', () => {
  it('mints an sk-oai- key bound to the named subscription, shown once, and stores only its salted hash', async () => {
    // When alice mints a key for the demo subscription
    const r = await mint('alice', { name: 'demo-key', description: 'for the demo', subscription: 'demo-subscription', labels: { env: 'demo' } });
    // Then 201 with upstream's fields, the key in sk-oai-{id}_{secret} form
    expect(r.status).toBe(201);
    const b = r.body as Record<string, unknown>;
    expect(Object.keys(b)).toEqual(['key', 'keyPrefix', 'id', 'name', 'subscription', 'createdAt', 'expiresAt', 'ephemeral', 'labels']);
    const key = String(b.key);
    expect(key).toMatch(/^sk-oai-[0-9A-Za-z]+_[0-9A-Za-z]+$/);
    expect(b.keyPrefix).toBe(`${key.slice(0, 19)}...`);
    expect(b.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatchObject({ name: 'demo-key', subscription: 'demo-subscription', ephemeral: false, labels: { env: 'demo' } });
    expect(String(b.createdAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const days = (Date.parse(String(b.expiresAt)) - Date.parse(String(b.createdAt))) / 86_400_000;
    expect(Math.round(days)).toBe(90);

    // And the database row holds SHA-256(key_id NUL secret), never the key or its secret
    const c = await db.client();
    const row = (await c.query('SELECT key_hash, username, user_groups, subscription, tenant, row_to_json(api_keys)::text AS everything FROM api_keys WHERE id = $1', [b.id])).rows[0];
    const { keyId, secret } = parseApiKey(key)!;
    expect(row.key_hash).toBe(createHash('sha256').update(`${keyId}\0${secret}`).digest('hex'));
    expect(row).toMatchObject({ username: 'alice', user_groups: ['system:authenticated'], subscription: 'demo-subscription', tenant: 'models-as-a-service' });
    expect(row.everything).not.toContain(secret);
    expect(row.everything).not.toContain(key);
    // And the trace of the call names the key id, not the key
    expect(JSON.stringify(hop.traces.recent(5))).not.toContain(secret);
  });

  it('binds the highest-priority accessible subscription when none is named', async () => {
    // bob owns premium (priority 20) and, as any authenticated user, demo-subscription (10)
    expect(((await mint('bob', { name: 'k' })).body as { subscription: string }).subscription).toBe('premium');
    expect(((await mint('carol', { name: 'k' })).body as { subscription: string }).subscription).toBe('demo-subscription');
  });

  it('answers one invalid_subscription 400 whether the subscription is missing or not the caller\'s', async () => {
    const missing = await mint('alice', { name: 'k', subscription: 'nope' });
    const notHers = await mint('alice', { name: 'k', subscription: 'premium' });
    for (const r of [missing, notHers]) {
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: 'Unable to resolve a subscription for this API key', code: 'invalid_subscription' });
    }
    const none = await mint('dave', { name: 'k' }, ['nobody']);
    expect(none.body).toEqual({ error: 'Unable to resolve a subscription for this API key', code: 'invalid_subscription' });
  });

  it('refuses a key for a Failed subscription with 403 subscription_not_ready', async () => {
    const r = await mint('erin', { name: 'k', subscription: 'broken' }, ['failers']);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'subscription is in Failed phase (cannot create API keys)', code: 'subscription_not_ready' });
  });

  it('validates expiresIn, names and labels with upstream\'s messages', async () => {
    const cases: [Record<string, unknown>, number, string | RegExp][] = [
      [{ name: 'k', expiresIn: '2h' }, 201, ''],
      [{ name: 'k', expiresIn: 604800 }, 201, ''],
      [{ name: 'k', expiresIn: '1.5d' }, 201, ''],
      [{ name: 'k', expiresIn: '100d' }, 400, 'requested expiration (2400h0m0s) exceeds maximum allowed (90 days): expiration exceeds maximum allowed'],
      [{ name: 'k', expiresIn: 0 }, 400, 'expiration must be positive'],
      [{ name: 'k', expiresIn: '-1h' }, 400, 'expiration must be positive'],
      [{ name: 'k', expiresIn: 'soon' }, 400, 'time: invalid duration "soon"'],
      [{ name: 'k', expiresIn: '5' }, 400, 'time: missing unit in duration "5"'],
      [{ name: 'k', expiresIn: true }, 400, 'invalid duration'],
      [{ ephemeral: true, expiresIn: '2h' }, 400, 'ephemeral key expiration (2h0m0s) cannot exceed 1h0m0s: expiration exceeds maximum allowed'],
      [{}, 400, 'name is required for non-ephemeral keys'],
      [{ name: '   ' }, 400, 'key name cannot be whitespace only'],
      [{ name: 'x'.repeat(129) }, 400, 'key name cannot exceed 128 characters'],
      [{ name: 'bad\u0007name' }, 400, 'key name contains invalid control characters'],
      [{ name: 'k', labels: { 'bad key!': 'v' } }, 400, "label key 'bad key!' contains invalid characters (only alphanumerics, dots, underscores, hyphens allowed)"],
      [{ name: 'k', labels: { env: '' } }, 400, "label value for key 'env' cannot be empty"],
      [{ name: 7 }, 400, 'json: cannot unmarshal number into Go struct field CreateAPIKeyRequest.name of type string'],
    ];
    for (const [body, status, message] of cases) {
      const r = await mint('alice', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      if (status !== 201) expect((r.body as { error: string }).error, JSON.stringify(body)).toBe(message);
    }
    expect((await call('POST', '/v1/api-keys', { headers: as('alice'), raw: '' })).body).toEqual({ error: 'EOF' });
    expect((await call('POST', '/v1/api-keys', { headers: as('alice'), raw: 'key=value' })).body).toEqual({ error: "invalid character 'k' looking for beginning of value" });
  });

  it('gives an ephemeral key a generated name and at most an hour', async () => {
    const r = await mint('alice', { ephemeral: true });
    const b = r.body as Record<string, string | boolean>;
    expect(r.status).toBe(201);
    expect(b.name).toMatch(/^ephemeral-\d+$/);
    expect(b.ephemeral).toBe(true);
    expect(Math.round((Date.parse(String(b.expiresAt)) - Date.parse(String(b.createdAt))) / 60_000)).toBe(60);
  });

  it('answers 500 AUTH_FAILURE when the gateway did not inject the identity headers', async () => {
    const r = await call('POST', '/v1/api-keys', { body: { name: 'k' } });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'Exception thrown while generating token', exceptionCode: 'AUTH_FAILURE', refId: '001' });
    const noGroups = await call('POST', '/v1/api-keys', { headers: { 'x-maas-username': 'alice' }, body: { name: 'k' } });
    expect((noGroups.body as { refId: string }).refId).toBe('002');
  });
});

describe('GET/DELETE /v1/api-keys/:id', () => {
  it('shows the owner their key, and answers another user exactly as for a key that does not exist', async () => {
    // Given alice's key
    const id = ((await mint('alice', { name: 'mine', description: 'd' })).body as { id: string }).id;
    // When alice, mallory and an admin ask for it, and someone asks for a random id
    const own = await call('GET', `/v1/api-keys/${id}`, { headers: as('alice') });
    const other = await call('GET', `/v1/api-keys/${id}`, { headers: as('mallory') });
    const admin = await call('GET', `/v1/api-keys/${id}`, { headers: as('root', ['maas-admins']) });
    const missing = await call('GET', '/v1/api-keys/00000000-0000-0000-0000-000000000000', { headers: as('alice') });
    // Then only the owner and the admin see it; the other user gets the not-found answer
    expect(own.status).toBe(200);
    expect(Object.keys(own.body as object)).toEqual(['id', 'name', 'description', 'username', 'subscription', 'tenant', 'creationDate', 'expirationDate', 'status', 'ephemeral']);
    expect(own.body).toMatchObject({ id, name: 'mine', username: 'alice', status: 'active', subscription: 'demo-subscription' });
    expect(JSON.stringify(own.body)).not.toMatch(/sk-oai-|key_hash/);
    expect(admin.status).toBe(200);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ error: 'API key not found' });
    expect(missing.body).toEqual(other.body);
  });

  it('revokes the key (200 with its metadata), after which it no longer validates', async () => {
    const minted = (await mint('alice', { name: 'to-revoke' })).body as { id: string; key: string };
    expect((await validate(minted.key)).body).toMatchObject({ valid: true });
    // Another user cannot revoke it
    expect((await call('DELETE', `/v1/api-keys/${minted.id}`, { headers: as('mallory') })).status).toBe(404);
    // The owner can
    const r = await call('DELETE', `/v1/api-keys/${minted.id}`, { headers: as('alice') });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: minted.id, status: 'revoked' });
    expect((await validate(minted.key)).body).toEqual({ valid: false, tenant: '', reason: 'key revoked or expired' });
    // A second revoke finds no active key
    expect((await call('DELETE', `/v1/api-keys/${minted.id}`, { headers: as('alice') })).status).toBe(404);
  });

  it('has no list route (GET /v1/api-keys was removed upstream) and answers gin\'s 404 for unknown paths', async () => {
    const r = await call('GET', '/v1/api-keys', { headers: as('alice') });
    expect(r.status).toBe(404);
    expect(r.text).toBe('404 page not found');
    expect((await call('POST', '/v1/tokens', { headers: as('alice') })).status).toBe(404);
  });
});

describe('POST /internal/v1/api-keys/validate', () => {
  it('always answers 200 with valid/reason, and the identity for a good key', async () => {
    const minted = (await mint('bob', { name: 'v', subscription: 'premium' }, ['system:authenticated', 'devs'])).body as { id: string; key: string };
    const good = await validate(minted.key);
    expect(good.status).toBe(200);
    expect(good.body).toEqual({
      valid: true, userId: minted.id, username: 'bob', keyId: minted.id, keyName: 'v', groups: ['system:authenticated', 'devs'], subscription: 'premium', tenant: 'models-as-a-service',
    });
    expect((await validate('sk-oai-FAKE-KEY')).body).toEqual({ valid: false, tenant: '', reason: 'invalid key format' });
    expect((await validate('sk-oai-abc_def')).body).toEqual({ valid: false, tenant: '', reason: 'key not found' });
    expect((await validate('Bearer something')).body).toMatchObject({ valid: false, reason: 'invalid key format' });
    // The request itself must carry a key
    const empty = await call('POST', '/internal/v1/api-keys/validate', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ error: 'key is required' });
  });

  it('rejects an expired key and marks its row expired', async () => {
    const minted = (await mint('alice', { name: 'short', expiresIn: '1h' })).body as { id: string; key: string };
    const c = await db.client();
    await c.query("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1", [minted.id]);
    expect((await validate(minted.key)).body).toEqual({ valid: false, tenant: '', reason: 'key revoked or expired' });
    expect((await c.query('SELECT status FROM api_keys WHERE id = $1', [minted.id])).rows[0]?.status).toBe('expired');
  });

  it('fails closed on a key row without a subscription', async () => {
    const minted = (await mint('alice', { name: 'nosub' })).body as { id: string; key: string };
    const c = await db.client();
    await c.query("UPDATE api_keys SET subscription = '' WHERE id = $1", [minted.id]);
    expect((await validate(minted.key)).body).toEqual({ valid: false, tenant: '', reason: 'key has no subscription bound' });
  });

  it('records last use of a key', async () => {
    const minted = (await mint('alice', { name: 'used' })).body as { id: string; key: string };
    await validate(minted.key);
    const c = await db.client();
    for (let i = 0; i < 50; i++) {
      const row = (await c.query('SELECT last_used_at FROM api_keys WHERE id = $1', [minted.id])).rows[0];
      if (row?.last_used_at) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('last_used_at never written');
  });
});

describe('POST /internal/v1/subscriptions/select', () => {
  const selectCall = (body: unknown) => call('POST', '/internal/v1/subscriptions/select', { body });

  it('always answers 200: the subscription with accessAllowed, or an error code and message', async () => {
    const ok = await selectCall({ groups: ['system:authenticated'], username: 'alice', requestedSubscription: 'demo-subscription', requestedModel: 'llm/gpt-4o' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'demo-subscription', namespace: 'models-as-a-service', priority: 10, organizationId: 'demo-org', resolvedModel: 'llm/gpt-4o', accessAllowed: true, phase: 'Active', ready: true });
    expect((ok.body as { modelRefs: unknown[] }).modelRefs[0]).toEqual({ name: 'gpt-4o', display_name: 'GPT-4o', source: 'external', token_rate_limits: [{ limit: 1000, window: '1m' }] });

    const cases: [unknown, Record<string, unknown>][] = [
      [{ groups: ['x'], username: 'alice', requestedSubscription: 'premium' }, { error: 'access_denied', message: 'access denied to requested subscription' }],
      [{ groups: ['x'], username: 'alice', requestedSubscription: 'models-as-a-service/nope' }, { error: 'not_found', message: 'requested subscription not found' }],
      [{ groups: ['team-b'], username: 'tb', requestedSubscription: 'team-b', requestedModel: 'llm/gpt-4o' }, { error: 'model_not_in_subscription', message: 'subscription team-b does not include model llm/gpt-4o' }],
      [{ groups: ['system:authenticated'], username: 'bob' }, { error: 'multiple_subscriptions' }],
      [{ groups: ['nobody'], username: 'zed' }, { error: 'not_found', message: 'no matching subscription found for user' }],
      [{ groups: ['failers'], username: 'f', requestedSubscription: 'broken', requestedModel: 'llm/gpt-4o' }, { error: 'model_unhealthy', message: 'subscription is in Failed phase (allowed: Active, Degraded)', phase: 'Failed' }],
      [{ groups: ['x'] }, { error: 'bad_request' }],
    ];
    for (const [body, expected] of cases) {
      const r = await selectCall(body);
      expect(r.status, JSON.stringify(body)).toBe(200);
      expect(r.body, JSON.stringify(body)).toMatchObject({ ...expected, accessAllowed: false });
    }
  });

  it('resolves a body-routed alias to the MaaSModelRef and reports access from the MaaSAuthPolicies', async () => {
    const alias = await selectCall({ groups: ['team-b'], username: 'tb', requestedSubscription: 'team-b', requestedModel: 'publishers/llm/models/granite' });
    expect(alias.body).toMatchObject({ name: 'team-b', resolvedModel: 'llm/onprem-granite', accessAllowed: true });
    // Given a spec where no policy grants claude-sonnet any more
    const spec = worldSpec();
    spec.authPolicies[0]!.modelRefs = [{ name: 'gpt-4o', namespace: 'llm' }];
    hop.setSpec(spec);
    const denied = await selectCall({ groups: ['system:authenticated'], username: 'alice', requestedSubscription: 'demo-subscription', requestedModel: 'claude-sonnet' });
    expect(denied.body).toMatchObject({ name: 'demo-subscription', accessAllowed: false });
  });
});

describe('POST /v1/api-keys/search and /bulk-revoke', () => {
  it('finds only the caller\'s keys, hides ephemeral ones by default, filters by labels, pages', async () => {
    // Given keys of two users
    for (const n of ['s1', 's2', 's3']) await mint('sam', { name: n, labels: { team: n === 's3' ? 'b' : 'a' } });
    await mint('sam', { ephemeral: true });
    await mint('tom', { name: 't1' });
    const search = (user: string, body: unknown, groups?: string[]) => call('POST', '/v1/api-keys/search', { headers: as(user, groups), body });

    const all = await search('sam', { filters: { status: ['active'] }, sort: { by: 'name', order: 'asc' } });
    expect(all.status).toBe(200);
    expect(all.headers.get('cache-control')).toBe('no-store');
    expect((all.body as { data: { name: string }[] }).data.map((k) => k.name)).toEqual(['s1', 's2', 's3']);
    expect((all.body as { object: string }).object).toBe('list');

    const withEphemeral = await search('sam', { filters: { includeEphemeral: true } });
    expect((withEphemeral.body as { data: unknown[] }).data).toHaveLength(4);
    const labelled = await search('sam', { filters: { labelsContain: { team: 'b' } } });
    expect((labelled.body as { data: { name: string }[] }).data.map((k) => k.name)).toEqual(['s3']);
    const page = await search('sam', { pagination: { limit: 2, offset: 0 } });
    expect(page.body).toMatchObject({ has_more: true });
    expect((page.body as { data: unknown[] }).data).toHaveLength(2);

    expect((await search('sam', { filters: { username: 'tom' } })).status).toBe(403);
    expect((await search('root', { filters: { username: 'tom' } }, ['maas-admins'])).body).toMatchObject({ data: [{ name: 't1', username: 'tom' }] });
    expect((await search('sam', { filters: { status: ['paused'] } })).body).toEqual({ error: "invalid status 'paused': must be active, revoked, or expired" });
    expect((await search('sam', { pagination: { offset: 1 } })).body).toEqual({ error: 'pagination.limit must be at least 1' });
    expect((await search('sam', { sort: { by: 'key_hash' } })).body).toEqual({ error: 'invalid sort.by: must be one of: created_at, expires_at, last_used_at, name' });
    // Without identity headers: an empty list, not an error (optional-auth route)
    expect((await call('POST', '/v1/api-keys/search', { body: {} })).body).toEqual({ object: 'list', data: [], has_more: false });
  });

  it('bulk-revokes the caller\'s own keys, dry run first; other scopes need an admin', async () => {
    await mint('uma', { name: 'u1' });
    await mint('uma', { name: 'u2' });
    const bulk = (user: string, body: unknown, groups?: string[]) => call('POST', '/v1/api-keys/bulk-revoke', { headers: as(user, groups), body });
    expect((await bulk('uma', { username: 'uma', dryRun: true })).body).toEqual({ revokedCount: 2, message: 'Dry run: 2 active key(s) would be revoked for user uma', dryRun: true });
    expect((await bulk('uma', { username: 'uma' })).body).toEqual({ revokedCount: 2, message: 'Successfully revoked 2 active API key(s) for user uma' });
    expect((await bulk('uma', { username: 'uma' })).body).toMatchObject({ revokedCount: 0 });
    expect((await bulk('uma', { subscription: 'demo-subscription' })).status).toBe(403);
    expect((await bulk('uma', { username: 'tom' })).body).toEqual({ error: 'Access denied: admin privileges required for this bulk revoke operation' });
    expect((await bulk('uma', {})).body).toEqual({ error: 'at least one of username or subscription is required' });
    expect((await bulk('root', { subscription: 'team-b', dryRun: true }, ['maas-admins'])).status).toBe(200);
  });
});

describe('listings', () => {
  it('GET /v1/api-keys/config gives the limits', async () => {
    const r = await call('GET', '/v1/api-keys/config', { headers: as('alice') });
    expect(r.body).toEqual({ max_expiration_days: 90, ephemeral_max_expiration: '1h0m0s' });
  });

  it('GET /v1/subscriptions lists the caller\'s Active subscriptions with the models a policy grants them', async () => {
    const r = await call('GET', '/v1/subscriptions', { headers: as('bob') });
    expect(r.status).toBe(200);
    const list = r.body as { subscription_id_header: string; model_refs: { name: string }[] }[];
    // bob owns premium and demo-subscription; team-b and broken are not his
    expect(list.map((s) => s.subscription_id_header)).toEqual(['demo-subscription', 'premium']);
    expect(list[0]).toMatchObject({ subscription_description: 'The demo subscription', display_name: 'Demo', priority: 10, organization_id: 'demo-org', cost_center: 'cc-1' });
    expect(list[0]!.model_refs.map((m) => m.name)).toEqual(['gpt-4o', 'claude-sonnet', 'not-ready']);
    expect((await call('GET', '/v1/subscriptions')).body).toEqual([]);
  });

  it('GET /v1/models with an API key lists the bound subscription\'s Ready models in upstream\'s shape', async () => {
    // As the gateway forwards it: the key in Authorization, the key's subscription injected
    const headers = { ...as('alice'), authorization: 'Bearer sk-oai-abc_def', 'x-maas-subscription': 'demo-subscription' };
    const r = await call('GET', '/v1/models', { headers });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-access-checked-at')).toMatch(/Z$/);
    const body = r.body as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id)).toEqual(['claude-sonnet', 'gpt-4o']);
    expect(body.data[1]).toEqual({
      id: 'gpt-4o', created: 1_767_225_600, object: 'model', owned_by: 'llm/gpt-4o', kind: 'ExternalModel', url: 'https://maas.example.test/llm/gpt-4o', ready: true,
      modelDetails: { displayName: 'GPT-4o' }, subscriptions: [{ name: 'demo-subscription', displayName: 'Demo', description: 'The demo subscription' }],
    });
    // A key bound to team-b sees only its model, under its alias
    const teamB = await call('GET', '/v1/models', { headers: { ...as('tb', ['team-b']), authorization: 'Bearer sk-oai-x_y', 'x-maas-subscription': 'team-b' } });
    expect((teamB.body as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['publishers/llm/models/granite']);
  });

  it('GET /v1/models: a user token sees every accessible subscription\'s models; errors as upstream', async () => {
    const all = await call('GET', '/v1/models', { headers: { ...as('bob'), authorization: 'Bearer user-token' } });
    const data = (all.body as { data: { id: string; subscriptions: { name: string }[] }[] }).data;
    expect(data.map((m) => m.id)).toEqual(['claude-sonnet', 'gpt-4o']);
    expect(data[1]!.subscriptions.map((s) => s.name).sort()).toEqual(['demo-subscription', 'premium']);

    expect((await call('GET', '/v1/models', { headers: as('bob') })).body).toEqual({ error: { message: 'Authorization required', type: 'authentication_error' } });
    const unbound = await call('GET', '/v1/models', { headers: { ...as('bob'), authorization: 'Bearer sk-oai-a_b' } });
    expect(unbound.status).toBe(403);
    expect(unbound.body).toEqual({ error: { message: 'API key has no subscription bound', type: 'permission_error' } });
    const foreign = await call('GET', '/v1/models', { headers: { ...as('alice'), authorization: 'Bearer sk-oai-a_b', 'x-maas-subscription': 'premium' } });
    expect(foreign.body).toEqual({ error: { message: 'access denied to requested subscription', type: 'permission_error' } });
    // No identity at all: an empty list
    expect((await call('GET', '/v1/models')).body).toEqual({ data: [], object: 'list' });
  });
});

describe('persistence', () => {
  it('keeps keys across a restart of maas-api (a new process on the same database)', async () => {
    // Given a key minted through this instance
    const minted = (await mint('pat', { name: 'durable' })).body as { key: string };
    // When a second maas-api is started against the same PostgreSQL
    const store2 = new ApiKeyStore(db.pg.url, 'models-as-a-service');
    const migrated = await store2.open();
    const hop2 = createMaasApiKeys({ spec: worldSpec(), store: store2 });
    const port = await listen(hop2.server, 0);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/internal/v1/api-keys/validate`, { method: 'POST', body: JSON.stringify({ key: minted.key }) });
      // Then it migrated nothing and knows the key
      expect(migrated.applied).toEqual([]);
      expect(await r.json()).toMatchObject({ valid: true, username: 'pat' });
    } finally {
      await hop2.close();
    }
  });
});

describe('as a local hop process (component.js maas-api-subscription)', () => {
  it('starts against DB_CONNECTION_URL, is programmed over its admin listener, and keeps keys across its own restart', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ensureDirs, paths } = await import('../../src/targets/local/state.js');
    const { AdminClient, launch, scriptPath, stopAndWait, writeSpecFile } = await import('../../src/targets/local/launcher.js');
    // Given a state dir with maas-api's spec and the database URL in its environment
    const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-maas-api-proc-'));
    ensureDirs(dir);
    writeSpecFile(dir, 'maas-api-subscription', { generation: 1, spec: worldSpec() });
    const env = { MAAS_EGRESS_DEMO_ADMIN_TOKEN: 'admin-token-for-test', DB_CONNECTION_URL: db.pg.url };
    const start = () => launch(dir, { name: 'maas-api-subscription', script: scriptPath('targets/local/component.js'), args: ['maas-api-subscription', dir], env }, { timeoutMs: 30_000 });
    let proc = await start();
    try {
      const url = `http://127.0.0.1:${proc.port}`;
      const minted = (await (await fetch(`${url}/v1/api-keys`, { method: 'POST', headers: { ...as('quinn'), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'p' }) })).json()) as { key: string };
      expect(minted.key).toMatch(/^sk-oai-/);
      // When it is reprogrammed (bob loses premium) and restarted
      const spec = worldSpec();
      spec.subscriptions = spec.subscriptions.filter((s) => s.name !== 'premium');
      expect(await new AdminClient(proc.adminPort!, env.MAAS_EGRESS_DEMO_ADMIN_TOKEN).program(spec)).toBe(2);
      await stopAndWait(proc.pid);
      proc = await start();
      // Then the restarted process still validates the key, with the new spec in force
      const again = `http://127.0.0.1:${proc.port}`;
      const v = (await (await fetch(`${again}/internal/v1/api-keys/validate`, { method: 'POST', body: JSON.stringify({ key: minted.key }) })).json()) as { valid: boolean };
      expect(v.valid).toBe(true);
      const bobs = (await (await fetch(`${again}/v1/subscriptions`, { headers: as('bob') })).json()) as { subscription_id_header: string }[];
      expect(bobs.map((s) => s.subscription_id_header)).toEqual(['demo-subscription']);
      // And neither its log nor its traces ever held the key
      const log = readFileSync(paths(dir).logFile('maas-api-subscription'), 'utf8');
      expect(log).toMatch(/api_keys schema at version 6/);
      expect(log).not.toContain(minted.key.split('_')[1]!);
      const traces = await new AdminClient(proc.adminPort!, env.MAAS_EGRESS_DEMO_ADMIN_TOKEN).call<{ records: unknown[] }>('GET', '/traces');
      expect(traces.records.length).toBeGreaterThan(0);
      expect(JSON.stringify(traces)).not.toContain(minted.key.split('_')[1]!);
    } finally {
      await stopAndWait(proc.pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a database URL that is not postgres://, saying why in one line', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ensureDirs, paths } = await import('../../src/targets/local/state.js');
    const { launch, scriptPath, writeSpecFile } = await import('../../src/targets/local/launcher.js');
    const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-maas-api-bad-'));
    try {
      ensureDirs(dir);
      writeSpecFile(dir, 'maas-api-subscription', { generation: 1, spec: worldSpec() });
      const env = { MAAS_EGRESS_DEMO_ADMIN_TOKEN: 't', DB_CONNECTION_URL: 'mysql://root:hunter2@db/x' };
      await expect(launch(dir, { name: 'maas-api-subscription', script: scriptPath('targets/local/component.js'), args: ['maas-api-subscription', dir], env }, { timeoutMs: 20_000 })).rejects.toThrow(/exited with code 1/);
      const log = readFileSync(paths(dir).logFile('maas-api-subscription'), 'utf8').trim();
      expect(log).toBe('maas-api-subscription: failed to start: invalid database URL: must start with postgresql:// or postgres://');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
