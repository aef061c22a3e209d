/**
 * The security cases of the local topology, over real sockets: no path escapes its provider's prefix
 * (and no provider ever sees a request meant for another with this one's key), hop-internal headers a
 * client sends are dropped, the user's MaaS token never reaches openai/anthropic, every forged token
 * is refused, Authorino- and Envoy-shaped errors, body limits, token minting, streaming through the
 * whole chain, and slow clients cut off.
 *
 * The user is in the premium tier here (config file), so the budget does not run out mid-file.
 */
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, test } from 'vitest';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { serviceAccountName } from '../../src/targets/local/tokens.js';
import { CHAT, DEFAULT_KEYS, adminGet, installFingerprint, expectNoSecrets, gateway, mint, mintToken, signSaToken, useTopology, type HttpResult } from '../helpers/topology.js';

const USER = 'sec-user';
const topo = useTopology({ label: 'security', config: { user: { name: USER, groups: ['premium-group'] } } });

let cachedToken: string | undefined;
async function token(): Promise<string> {
  cachedToken ??= await mintToken(topo.get());
  return cachedToken;
}

const bearer = async () => ({ authorization: `Bearer ${await token()}` });

interface TraceRecord {
  requestId: string;
  status: number;
  pathIn: string;
  pathOut?: string;
  detail: Record<string, string>;
}

async function traces(component: string, requestId: string): Promise<TraceRecord[]> {
  return (await adminGet<{ records: TraceRecord[] }>(topo.get(), component, `/traces?id=${encodeURIComponent(requestId)}`)).records;
}

/** The slow client is started with the first test, so its 10 s header timeout runs alongside the others. */
let slowClient: Promise<{ ms: number; data: string }> | undefined;
function startSlowClient(): Promise<{ ms: number; data: string }> {
  const t = topo.get();
  const [host, port] = t.state.host.split(':');
  const start = Date.now();
  return new Promise((resolvePromise) => {
    let data = '';
    const socket = tlsConnect({ host, port: Number(port), ca: t.ca }, () => {
      // Headers that never end: the server must cut the connection off (headersTimeout).
      socket.write(`GET /v1/models HTTP/1.1\r\nHost: ${t.state.host}\r\nX-Slow: 1\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolvePromise({ ms: Date.now() - start, data }));
  });
}

describe('paths that try to escape their provider prefix', () => {
  const attempts: [string, string][] = [
    ['openai', '/external/openai/../anthropic/v1/chat/completions'],
    ['openai', '/external/openai/%2e%2e/anthropic/v1/chat/completions'],
    ['openai', '/external/openai/%2E%2E/anthropic/v1/chat/completions'],
    ['openai', '/external/openai/.%2e/anthropic/v1/chat/completions'],
    ['openai', '/external/openai%2f..%2fanthropic/v1/chat/completions'],
    ['openai', '/external/openai/..%2fanthropic/v1/chat/completions'],
    ['openai', '/external/openai/..%2Fanthropic/v1/chat/completions'],
    ['openai', '/external/openai/v1/../../anthropic/v1/chat/completions'],
    ['openai', '/external/openai//anthropic/v1/chat/completions'],
    ['openai', '/external/openai/..\\anthropic/v1/chat/completions'],
    ['openai', '/external/openai/%5c../anthropic/v1/chat/completions'],
    ['openai', '/external/openai/%252e%252e/anthropic/v1/chat/completions'],
    ['openai', '/external/openai/anthropic/v1/chat/completions'],
    ['openai', '/external/openai/./v1/chat/completions'],
    ['openai', '/external/openai/v1/chat/completions/..'],
    ['anthropic', '/external/anthropic/%2e%2e/openai/v1/chat/completions'],
    ['vllm', '/external/vllm/../openai/v1/chat/completions'],
    ['vllm', '/external/vllm/%2e%2e%2fopenai/v1/chat/completions'],
    ['onprem', '/llm/facebook-opt-125m-simulated/../../external/openai/v1/chat/completions'],
    ['onprem', '/llm/facebook-opt-125m-simulated/%2e%2e/%2e%2e/external/anthropic/v1/chat/completions'],
  ];

  test('each gets 400 or 404, and never another provider’s answer', async () => {
    slowClient ??= startSlowClient();
    const results: { provider: string; path: string; id: string; res: HttpResult }[] = [];
    for (const [i, [provider, path]] of attempts.entries()) {
      const id = `escape-${i}`;
      const other = provider === 'openai' ? 'claude-3-sonnet' : 'gpt-4';
      const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), 'x-request-id': id }, body: CHAT(other) });
      results.push({ provider, path, id, res });
    }
    for (const { provider, path, res } of results) {
      expect([400, 404], path).toContain(res.status);
      const answeredBy = res.headers['x-sim-provider'];
      if (answeredBy !== undefined) expect(answeredBy, path).toBe(provider);
    }
    // The dot-segment and encoded-slash forms are refused at the first hop, before any key is injected.
    for (const { path, res } of results.filter((r) => /\.\.|%2e|%2f|%5c|\\|\/\/|\/\.\//i.test(r.path) && !r.path.includes('%25'))) {
      expect(res.status, path).toBe(400);
      expect(res.text, path).toBe('Bad Request');
    }
    // No request that carried one provider's key reached another provider's egress route.
    for (const { provider, path, id } of results) {
      for (const rec of await traces('egress-gateway', id)) {
        expect(rec.detail.route, path).toBe(`${provider}-route`);
        if (rec.detail['provider.provider'] !== undefined) expect(rec.detail['provider.provider'], path).toBe(provider);
      }
    }
  });
});

describe('headers only hops may set', () => {
  const forged = {
    'x-maas-username': 'system:serviceaccount:maas-default-gateway-tier-enterprise:admin',
    'x-maas-group': '["enterprise-group","admin-group"]',
    'x-provider-api-key': 'sk-client-supplied-key-0000',
    'x-envoy-original-path': '/anthropic/v1/chat/completions',
  };

  test('openai: forged identity headers are dropped and the client’s key is replaced by the configured one', async () => {
    const res = await gateway(topo.get(), { path: '/external/openai/v1/chat/completions', headers: { ...(await bearer()), ...forged }, body: CHAT('gpt-4') });
    expect(res.status).toBe(200);
    expect(res.headers['x-sim-key-status']).toBe('ok');
    expect(res.headers['x-sim-key-fp']).toBe(installFingerprint(topo.get(), DEFAULT_KEYS['openai key']));
    const names = res.headers['x-sim-header-names']!.split(',');
    expect(names.filter((n) => n === 'x-provider-api-key')).toHaveLength(1);
    expect(names).not.toContain('x-maas-username');
    expect(names).not.toContain('x-maas-group');
  });

  test('vllm: a client X-Provider-Api-Key never reaches the provider; the key arrives once, in Authorization', async () => {
    const res = await gateway(topo.get(), { path: '/external/vllm/v1/chat/completions', headers: { ...(await bearer()), ...forged }, body: CHAT('Qwen/Qwen3-0.6B') });
    expect(res.status).toBe(200);
    const names = res.headers['x-sim-header-names']!.split(',');
    expect(names).not.toContain('x-provider-api-key');
    expect(names).not.toContain('x-maas-username');
    expect(names.filter((n) => n === 'authorization')).toHaveLength(1);
    expect(res.headers['x-sim-authorization']).toBe('bearer');
    expect(res.headers['x-sim-key-fp']).toBe(installFingerprint(topo.get(), DEFAULT_KEYS['vllm key']));
  });

  test('maas-api: forged identity headers cannot mint a token for someone else or in another tier', async () => {
    const t = topo.get();
    const r = await gateway(t, {
      path: '/maas-api/v1/tokens',
      headers: { authorization: `Bearer ${t.state.clusterToken}`, ...forged },
      body: { expiration: '10m' },
    });
    expect(r.status).toBe(201);
    const claims = decodeJwt((JSON.parse(r.text) as { token: string }).token);
    expect(claims.sub).toBe(`system:serviceaccount:maas-default-gateway-tier-premium:${serviceAccountName(USER)}`);
  });

  test('maas-api: identity headers without a credential get the 401, not a token', async () => {
    const r = await gateway(topo.get(), { path: '/maas-api/v1/tokens', headers: forged, body: { expiration: '10m' } });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="openshift-identities"');
  });
});

describe('the user’s MaaS token', () => {
  test.each(['openai', 'anthropic'])('never reaches %s (x-sim-authorization: absent)', async (provider) => {
    const res = await gateway(topo.get(), { path: `/external/${provider}/v1/chat/completions`, headers: await bearer(), body: CHAT(provider === 'openai' ? 'gpt-4' : 'claude-3-sonnet') });
    expect(res.status).toBe(200);
    expect(res.headers['x-sim-authorization']).toBe('absent');
    expect(res.headers['x-sim-header-names']!.split(',')).not.toContain('authorization');
  });

  test('is replaced, not forwarded, on vllm (the injected key is not a JWT)', async () => {
    const res = await gateway(topo.get(), { path: '/external/vllm/v1/models', headers: await bearer() });
    expect(res.status).toBe(200);
    expect(res.headers['x-sim-authorization']).toBe('bearer');
    expect(res.headers['x-sim-key-status']).toBe('ok');
  });

  test('no response carries a key or the token', async () => {
    const res = await gateway(topo.get(), { path: '/external/openai/v1/chat/completions', headers: await bearer(), body: CHAT('gpt-4') });
    expectNoSecrets(JSON.stringify(res.headers) + res.text, { ...DEFAULT_KEYS, 'user token': await token() }, 'response');
  });
});

describe('Authorino-shaped 401s', () => {
  test.each([
    ['/external/openai/v1/models', 'service-accounts'],
    ['/external/anthropic/v1/chat/completions', 'service-accounts'],
    ['/llm/facebook-opt-125m-simulated/v1/models', 'service-accounts'],
    ['/v1/models', 'openshift-identities'],
    ['/maas-api/v1/tokens', 'openshift-identities'],
  ])('%s without a credential: 401, empty body, realm %s, reason "credential not found"', async (path, realm) => {
    const res = await gateway(topo.get(), { path, method: 'GET' });
    expect(res.status).toBe(401);
    expect(res.text).toBe('');
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${realm}"`);
    expect(res.headers['x-ext-auth-reason']).toBe('credential not found');
    expect(res.headers.server).toBe('istio-envoy');
  });

  test('a non-Bearer scheme is "credential not found"; a bad bearer is "not authenticated"', async () => {
    const basic = await gateway(topo.get(), { path: '/external/openai/v1/models', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect([basic.status, basic.headers['x-ext-auth-reason']]).toEqual([401, 'credential not found']);
    const bogus = await gateway(topo.get(), { path: '/external/openai/v1/models', headers: { authorization: 'Bearer bogus-key' } });
    expect([bogus.status, bogus.headers['x-ext-auth-reason'], bogus.text]).toEqual([401, 'not authenticated', '']);
  });
});

describe('forged tokens', () => {
  test('alg none, wrong key, wrong audience, wrong issuer, expired and not-yet-valid tokens get 401 on every route', async () => {
    const t = topo.get();
    const premium = { namespace: 'maas-default-gateway-tier-premium', serviceAccount: 'forger-0badc0de' };
    const other = await generateKeyPair('ES256', { extractable: true });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const genuine = await signSaToken(t, premium);
    const [h, , sig] = genuine.split('.');
    const sub = `system:serviceaccount:${premium.namespace}:${premium.serviceAccount}`;
    const forgedTokens: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: 'https://kubernetes.default.svc', sub, aud: ['maas-default-gateway-sa'], iat: now, nbf: now, exp: now + 600 })}.`,
      'wrong key': await signSaToken(t, { ...premium, key: await exportJWK(other.privateKey) }),
      'wrong audience': await signSaToken(t, { ...premium, audience: 'https://kubernetes.default.svc' }),
      'wrong issuer': await signSaToken(t, { ...premium, issuer: 'https://evil.example' }),
      expired: await signSaToken(t, { ...premium, expiresIn: -60 }),
      'not yet valid': await signSaToken(t, { ...premium, notBefore: 600 }),
      'payload swapped under a genuine signature': `${h}.${b64({ iss: 'https://kubernetes.default.svc', sub: sub.replace('premium', 'enterprise'), aud: ['maas-default-gateway-sa'], iat: now, nbf: now, exp: now + 600 })}.${sig}`,
    };
    const routes: [string, Record<string, unknown> | undefined][] = [
      ['/external/openai/v1/chat/completions', CHAT('gpt-4')],
      ['/llm/facebook-opt-125m-simulated/v1/chat/completions', CHAT('facebook/opt-125m')],
      ['/v1/models', undefined],
    ];
    for (const [path, body] of routes) {
      // the genuine token is the control: the route works with it
      const ok = await gateway(t, { path, headers: { authorization: `Bearer ${genuine}` }, ...(body ? { body } : {}) });
      expect(ok.status, `genuine on ${path}`).toBe(200);
      for (const [name, jwt] of Object.entries(forgedTokens)) {
        const res = await gateway(t, { path, headers: { authorization: `Bearer ${jwt}` }, ...(body ? { body } : {}) });
        expect(res.status, `${name} on ${path}`).toBe(401);
        expect(res.headers['x-ext-auth-reason'], `${name} on ${path}`).toBe('not authenticated');
        expect(res.text, `${name} on ${path}`).toBe('');
      }
    }
  });
});

describe('token mint (POST /maas-api/v1/tokens)', () => {
  test('201 with token, expiration, expiresAt, issuedAt and jti; the token is a tier SA token for the user', async () => {
    const t = topo.get();
    const r = await mint(t, { expiration: '10m' });
    expect(r.status).toBe(201);
    expect(Object.keys(r.json).sort()).toEqual(['expiration', 'expiresAt', 'issuedAt', 'jti', 'token']);
    expect(r.json.expiration).toBe('10m0s');
    expect((r.json.expiresAt as number) - (r.json.issuedAt as number)).toBe(600);
    expect(Math.abs((r.json.issuedAt as number) - Date.now() / 1000)).toBeLessThan(30);
    const claims = decodeJwt(r.json.token as string);
    expect(claims).toMatchObject({ iss: 'https://kubernetes.default.svc', aud: ['maas-default-gateway-sa'], jti: r.json.jti, exp: r.json.expiresAt, iat: r.json.issuedAt });
    expect(claims.sub).toBe(`system:serviceaccount:maas-default-gateway-tier-premium:${serviceAccountName(USER)}`);
  });

  test.each([
    [{}, '4h0m0s', 14400],
    [{ expiration: '' }, '4h0m0s', 14400],
    [{ expiration: 0 }, '4h0m0s', 14400],
    [{ expiration: 3600 }, '1h0m0s', 3600],
    [{ expiration: '1h30m' }, '1h30m0s', 5400],
  ])('%j → 201 for %s', async (body, expiration, seconds) => {
    const r = await mint(topo.get(), body);
    expect(r.status).toBe(201);
    expect(r.json.expiration).toBe(expiration);
    expect((r.json.expiresAt as number) - (r.json.issuedAt as number)).toBe(seconds);
  });

  test.each([
    [{ expiration: '5m' }, { error: 'token expiration must be at least 10 minutes', provided_expiration: '5m0s' }],
    [{ expiration: '9m59s' }, { error: 'token expiration must be at least 10 minutes', provided_expiration: '9m59s' }],
    [{ expiration: 60 }, { error: 'token expiration must be at least 10 minutes', provided_expiration: '1m0s' }],
    [{ expiration: '-1h' }, { error: 'expiration must be positive' }],
    [{ expiration: 'ten minutes' }, { error: 'time: invalid duration "ten minutes"' }],
  ])('%j → 400 %j', async (body, expected) => {
    const r = await mint(topo.get(), body);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(expected);
  });

  test('a body that is not JSON is a 400', async () => {
    const t = topo.get();
    const r = await gateway(t, { path: '/maas-api/v1/tokens', headers: { authorization: `Bearer ${t.state.clusterToken}`, 'content-type': 'application/json' }, body: '{"expiration":' });
    expect(r.status).toBe(400);
  });

  test('minting with an SA token: the identity is that SA’s and the tier its namespace’s, never the cluster user’s', async () => {
    // the maas-api policy accepts SA tokens with the gateway audience (contracts §2.3)
    const sa = await signSaToken(topo.get(), { namespace: 'maas-default-gateway-tier-free', serviceAccount: 'someone-0badc0de' });
    const r = await mint(topo.get(), { expiration: '10m' }, sa);
    expect(r.status).toBe(201);
    const username = 'system:serviceaccount:maas-default-gateway-tier-free:someone-0badc0de';
    expect(decodeJwt(r.json.token as string).sub).toBe(`system:serviceaccount:maas-default-gateway-tier-free:${serviceAccountName(username)}`);
  });
});

describe('body limits', () => {
  const big = Buffer.alloc(1024 * 1024 + 1024, 'a');

  test.each(['/external/openai/v1/chat/completions', '/llm/facebook-opt-125m-simulated/v1/chat/completions', '/maas-api/v1/tokens'])('%s: a declared body over 1 MiB gets 413', async (path) => {
    const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(res.text).toBe('Payload Too Large');
  });

  test('a chunked body over 1 MiB (no content-length) gets 413 too, and no provider sees it', async () => {
    const res = await gateway(topo.get(), {
      path: '/external/openai/v1/chat/completions',
      headers: { ...(await bearer()), 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-request-id': 'chunked-413' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(res.headers['x-sim-provider']).toBeUndefined();
  });

  test('a body just under the limit still goes through', async () => {
    const content = 'a'.repeat(900 * 1024);
    const res = await gateway(topo.get(), { path: '/external/openai/v1/chat/completions', headers: await bearer(), body: CHAT('gpt-4', content) });
    expect(res.status).toBe(200);
  });
});

describe('Envoy-shaped answers', () => {
  test('the egress gateway answers an unknown route 404, empty body, server envoy', async () => {
    const port = topo.get().state.components['egress-gateway']!.port;
    const res = await fetch(`http://127.0.0.1:${port}/nope/v1/models`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
    expect(res.headers.get('server')).toBe('envoy');
  });

  test('the egress gateway routes /openai/… to the simulator with the prefix stripped', async () => {
    const port = topo.get().state.components['egress-gateway']!.port;
    const res = await fetch(`http://127.0.0.1:${port}/openai/v1/models`);
    expect(res.status).toBe(401); // reached the provider, which wants its key
    expect(res.headers.get('x-sim-path')).toBe('/v1/models');
    expect(res.headers.get('x-sim-key-status')).toBe('missing');
  });

  test('the MaaS gateway answers a Host it does not serve with 404 route-not-found', async () => {
    const res = await gateway(topo.get(), { path: '/v1/models', headers: { host: 'evil.example', ...(await bearer()) }, servername: 'localhost' });
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });

  test('an unknown path on the MaaS gateway is 404, empty body', async () => {
    const res = await gateway(topo.get(), { path: '/external/unknown/v1/models', headers: await bearer() });
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });
});

describe('streaming through the chain', () => {
  function events(text: string): string[] {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6));
  }

  test.each([
    ['/external/openai/v1/chat/completions', 'gpt-4'],
    ['/external/vllm/v1/chat/completions', 'Qwen/Qwen3-0.6B'],
    ['/llm/facebook-opt-125m-simulated/v1/chat/completions', 'facebook/opt-125m'],
  ])('%s: server-sent events end with [DONE], with a usage chunk when asked', async (path, model) => {
    const chunks: string[] = [];
    const res = await gateway(topo.get(), {
      path,
      headers: await bearer(),
      body: { ...CHAT(model, 'Tell me a story', 12), stream: true, stream_options: { include_usage: true } },
      onChunk: (c) => chunks.push(c),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['content-length']).toBeUndefined();
    const data = events(res.text);
    expect(data.at(-1)).toBe('[DONE]');
    const parsed = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; model: string; usage?: { total_tokens: number } | null });
    expect(parsed.length).toBeGreaterThan(2);
    for (const p of parsed) expect(p).toMatchObject({ object: 'chat.completion.chunk', model });
    expect(parsed.filter((p) => p.usage).map((p) => p.usage!.total_tokens > 0)).toEqual([true]);
  });
});

describe('slow clients', () => {
  test('a client that never finishes its headers is cut off with 408', async () => {
    slowClient ??= startSlowClient();
    const r = await slowClient;
    expect(r.data).toMatch(/^HTTP\/1\.1 408 /);
    // headersTimeout is 10 s, checked every second
    expect(r.ms).toBeGreaterThanOrEqual(9_000);
    expect(r.ms).toBeLessThan(20_000);
  }, 30_000);
});
