/**
 * Hostile input against a real local topology, filling the gaps test/local/security.test.ts leaves:
 * mixed-case and oddly encoded prefixes, hop-internal headers a client sends, more forged tokens on
 * every route, malformed and oversized bodies through the whole chain to each provider, the on-prem
 * model and maas-api (the simulator's 400, the gateway's 413) with every hop still healthy after,
 * oversized headers, slow clients trickling headers or body (cut off by the hops' configured
 * timeouts), and unknown models and providers (a clear 404 from whoever does not know them).
 *
 * The hops' timeouts are lowered through the environment `up` passes on to them, so the slow-client
 * tests take seconds, not a minute. The user is in the premium tier, so the budget never runs out here.
 */
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, test } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { classify, lowerHeaders } from '../../src/checks/fingerprint.js';
import { TIMEOUT_ENV } from '../../src/targets/local/request-hardening.js';
import { runCli } from '../helpers/run-cli.js';
import { CHAT, DEFAULT_KEYS, adminGet, installFingerprint, gateway, mintToken, pidAlive, signSaToken, signingKey, useTopology, type HttpResult, type Topology } from '../helpers/topology.js';

const HEADERS_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 5_000;
// Read by `up` (spawned with this process's environment) and passed on to every hop it starts.
process.env[TIMEOUT_ENV.headers] = String(HEADERS_TIMEOUT_MS);
process.env[TIMEOUT_ENV.request] = String(REQUEST_TIMEOUT_MS);
afterAll(() => {
  delete process.env[TIMEOUT_ENV.headers];
  delete process.env[TIMEOUT_ENV.request];
});

const topo = useTopology({ label: 'hostile', config: { user: { name: 'hostile-user', groups: ['premium-group'] } } });

let cached: string | undefined;
async function bearer(): Promise<Record<string, string>> {
  cached ??= await mintToken(topo.get());
  return { authorization: `Bearer ${cached}` };
}

interface TraceRecord {
  requestId: string;
  status: number;
  pathIn: string;
  pathOut?: string;
  answeredBy: string;
  detail: Record<string, string>;
}

async function traces(component: string, requestId: string): Promise<TraceRecord[]> {
  return (await adminGet<{ records: TraceRecord[] }>(topo.get(), component, `/traces?id=${encodeURIComponent(requestId)}`)).records;
}

const PROVIDERS = [
  { name: 'openai', path: '/external/openai/v1/chat/completions', model: 'gpt-4', component: 'provider-openai' },
  { name: 'anthropic', path: '/external/anthropic/v1/chat/completions', model: 'claude-3-sonnet', component: 'provider-anthropic' },
  { name: 'vllm', path: '/external/vllm/v1/chat/completions', model: 'Qwen/Qwen3-0.6B', component: 'provider-vllm' },
] as const;
const ONPREM = { path: '/llm/facebook-opt-125m-simulated/v1/chat/completions', model: 'facebook/opt-125m' };

/** Every hop process alive and answering: hops on their admin /ready, simulators on /health, and a real chat through every route. */
async function expectAllHealthy(t: Topology, why: string): Promise<void> {
  for (const [name, c] of Object.entries(t.state.components)) {
    expect(pidAlive(c.pid), `${name} alive after ${why}`).toBe(true);
    if (c.adminPort) {
      const ready = await adminGet<{ name: string; pid: number }>(t, name, '/ready');
      expect(ready, `${name} /ready after ${why}`).toMatchObject({ name, pid: c.pid });
    } else {
      const res = await fetch(`http://127.0.0.1:${c.port}/health`);
      expect(res.status, `${name} /health after ${why}`).toBe(200);
    }
  }
  for (const { path, model } of [...PROVIDERS, ONPREM]) {
    const res = await gateway(t, { path, headers: await bearer(), body: CHAT(model) });
    expect(res.status, `${path} after ${why}`).toBe(200);
  }
}

function answeredBy(res: HttpResult): string | undefined {
  return res.headers['x-sim-provider'] ?? (res.headers['x-inference-pod'] ? 'onprem' : undefined);
}

describe('mixed-case, encoded and odd-form prefixes', () => {
  // Gateway API path matching is case-sensitive: none of these is the openai (or any) route.
  const notRoutes = [
    '/External/OpenAI/v1/chat/completions',
    '/EXTERNAL/openai/v1/chat/completions',
    '/external/OpenAI/v1/chat/completions',
    '/external/OPENAI/v1/chat/completions',
    '/External/Anthropic/v1/chat/completions',
    '/external/VLLM/v1/chat/completions',
    '/LLM/facebook-opt-125m-simulated/v1/chat/completions',
    '/llm/Facebook-OPT-125m-Simulated/v1/chat/completions',
    '/MAAS-API/v1/tokens',
    '/Maas-Api/v1/tokens',
    '/V1/models',
    '/external/openai-evil/v1/chat/completions',
    '/external/openaiX/v1/chat/completions',
    '/externalopenai/v1/chat/completions',
  ];

  test.each(notRoutes)('%s → 404 route_not_found from the MaaS gateway; nothing behind it is asked', async (path) => {
    const id = `case-${Math.random().toString(16).slice(2)}`;
    const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), 'x-request-id': id }, body: CHAT('gpt-4') });
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
    expect(res.headers.server).toBe('istio-envoy');
    expect(answeredBy(res)).toBeUndefined();
    expect(res.headers['x-envoy-upstream-service-time']).toBeUndefined();
    expect(classify(res.status, lowerHeaders(res.headers), res.text, { viaEgress: true })).toMatchObject({ kind: 'route-not-found', hop: 'maas-gateway' });
    const [gw] = await traces('maas-gateway', id);
    expect(gw).toMatchObject({ status: 404, answeredBy: 'self', detail: { flags: 'NR', reason: 'route_not_found' } });
    expect(await traces('egress-gateway', id)).toEqual([]);
    expect(await traces('maas-api', id)).toEqual([]);
  });

  // Mixed case combined with an escape attempt is refused before routing.
  test.each([
    '/External/OpenAI/../anthropic/v1/chat/completions',
    '/external/openai/%2E%2e/Anthropic/v1/chat/completions',
    '/external/OpenAI%2F..%2Fanthropic/v1/chat/completions',
  ])('%s → 400 before any route', async (path) => {
    const res = await gateway(topo.get(), { path, headers: await bearer(), body: CHAT('claude-3-sonnet') });
    expect([res.status, res.text]).toEqual([400, 'Bad Request']);
    expect(answeredBy(res)).toBeUndefined();
  });

  // Encodings decodeURIComponent refuses (overlong UTF-8 dots, IIS %u), a NUL: refused as malformed.
  test.each([
    '/external/openai/%c0%ae%c0%ae/anthropic/v1/chat/completions',
    '/external/openai/%u002e%u002e/anthropic/v1/chat/completions',
    '/external/openai/%e0%80%ae%e0%80%ae/anthropic/v1/chat/completions',
    '/external/openai/v1/chat/completions%00',
    '/external/openai/%/v1/chat/completions',
  ])('%s → 400, no provider asked', async (path) => {
    const res = await gateway(topo.get(), { path, headers: await bearer(), body: CHAT('claude-3-sonnet') });
    expect([res.status, res.text]).toEqual([400, 'Bad Request']);
    expect(answeredBy(res)).toBeUndefined();
  });

  // Forms that stay inside the openai prefix: whatever answers, it is openai with openai's key, never anthropic.
  test.each([
    '/external/openai/..;/anthropic/v1/chat/completions',
    '/external/openai/%61nthropic/v1/chat/completions',
    '/external/open%61i/v1/chat/completions',
    '/%65xternal/openai/v1/chat/completions',
    '/external/openai/v1/chat/completions?next=/../../anthropic/v1/chat/completions',
    '/external/openai/v1/chat/completions;/../../anthropic',
  ])('%s never reaches another provider', async (path) => {
    const res = await gateway(topo.get(), { path, headers: await bearer(), body: CHAT('claude-3-sonnet') });
    const who = answeredBy(res);
    if (who === undefined) expect([400, 404]).toContain(res.status);
    else {
      expect(who).toBe('openai');
      expect(res.headers['x-sim-key-fp']).toBe(installFingerprint(topo.get(), DEFAULT_KEYS['openai key']));
    }
  });

  test('a request target in absolute form naming another route is refused', async () => {
    const t = topo.get();
    const res = await gateway(t, { path: `https://${t.state.host}/external/anthropic/v1/chat/completions`, headers: await bearer(), body: CHAT('claude-3-sonnet') });
    expect([400, 404]).toContain(res.status);
    expect(answeredBy(res)).toBeUndefined();
  });
});

describe('headers only hops may set', () => {
  const forged = {
    'x-demo-hop': 'client',
    'x-envoy-upstream-service-time': '1',
    'x-envoy-original-path': '/anthropic/v1/chat/completions',
    'x-envoy-internal': 'true',
    'x-envoy-decorator-operation': 'forged',
    'x-maas-username': 'system:serviceaccount:maas-default-gateway-tier-enterprise:admin',
    'x-maas-group': '["enterprise-group"]',
    'X-Provider-Api-Key': 'sk-client-supplied-key-0000',
  };

  test.each(PROVIDERS)('$name: no hop-internal header a client sent arrives; the key is the configured one, once', async ({ name, path, model }) => {
    const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), ...forged }, body: CHAT(model) });
    expect(res.status).toBe(200);
    expect(res.headers['x-sim-provider']).toBe(name);
    const names = res.headers['x-sim-header-names']!.split(',');
    for (const h of ['x-demo-hop', 'x-envoy-upstream-service-time', 'x-envoy-internal', 'x-envoy-decorator-operation', 'x-maas-username', 'x-maas-group']) expect(names, h).not.toContain(h);
    // the egress gateway sets its own x-envoy-original-path (it rewrote /<provider>/… to /…); the client's is gone
    expect(names.filter((n) => n === 'x-envoy-original-path')).toHaveLength(1);
    const key = name === 'openai' ? DEFAULT_KEYS['openai key'] : name === 'anthropic' ? DEFAULT_KEYS['anthropic key'] : DEFAULT_KEYS['vllm key'];
    expect(res.headers['x-sim-key-status']).toBe('ok');
    expect(res.headers['x-sim-key-fp']).toBe(installFingerprint(topo.get(), key));
    if (name === 'vllm') expect(names).not.toContain('x-provider-api-key');
    else expect(names.filter((n) => n === 'x-provider-api-key')).toHaveLength(1);
  });

  test('a client key header sent twice, or as Authorization on a keyed route, still never reaches the provider', async () => {
    const res = await gateway(topo.get(), {
      path: '/external/openai/v1/chat/completions',
      headers: { ...(await bearer()), 'x-provider-api-key': ['sk-client-one-0000', 'sk-client-two-0000'] },
      body: CHAT('gpt-4'),
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-sim-key-fp']).toBe(installFingerprint(topo.get(), DEFAULT_KEYS['openai key']));
    expect(res.headers['x-sim-authorization']).toBe('absent');
  });
});

describe('forged tokens on the routes security.test.ts leaves out', () => {
  test('alg confusion, alg casing, stripped or swapped signatures and embedded keys get 401 on anthropic, vllm and the token mint', async () => {
    const t = topo.get();
    const k = signingKey(t);
    const premium = { namespace: 'maas-default-gateway-tier-premium', serviceAccount: 'forger-0badc0de' };
    const now = Math.floor(Date.now() / 1000);
    const sub = `system:serviceaccount:${premium.namespace}:${premium.serviceAccount}`;
    const claims = { iss: 'https://kubernetes.default.svc', sub, aud: ['maas-default-gateway-sa'], iat: now, nbf: now, exp: now + 600 };
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const genuine = await signSaToken(t, premium);
    const [, , sig] = genuine.split('.');
    const attacker = await generateKeyPair('ES256', { extractable: true });
    // HS256 keyed with the install's *public* key: the classic algorithm-confusion forgery
    const hmacKey = new TextEncoder().encode(JSON.stringify(k.publicJwk));
    const forgedTokens: Record<string, string> = {
      'HS256 keyed with the public key': await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: k.kid, typ: 'JWT' }).sign(hmacKey),
      'alg None': `${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims)}.`,
      'alg NONE with the genuine signature': `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims)}.${sig}`,
      'signature stripped': genuine.split('.').slice(0, 2).join('.') + '.',
      'two segments': genuine.split('.').slice(0, 2).join('.'),
      'attacker key embedded as jwk header': await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: k.kid, jwk: await exportJWK(attacker.publicKey) })
        .sign(await importJWK(await exportJWK(attacker.privateKey), 'ES256')),
      'attacker key with the install kid': await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: k.kid }).sign(attacker.privateKey),
      'not a service account subject': await new SignJWT({ ...claims, sub: 'admin' }).setProtectedHeader({ alg: 'ES256', kid: k.kid }).sign(await importJWK(k.privateJwk, 'ES256')),
    };
    const routes: [string, Record<string, unknown>][] = [
      ['/external/anthropic/v1/chat/completions', CHAT('claude-3-sonnet')],
      ['/external/vllm/v1/chat/completions', CHAT('Qwen/Qwen3-0.6B')],
      ['/maas-api/v1/tokens', { expiration: '10m' }],
    ];
    for (const [path, body] of routes) {
      const ok = await gateway(t, { path, headers: { authorization: `Bearer ${genuine}` }, body });
      expect(ok.status, `genuine on ${path}`).toBe(path.startsWith('/maas-api') ? 201 : 200);
      for (const [name, jwt] of Object.entries(forgedTokens)) {
        const res = await gateway(t, { path, headers: { authorization: `Bearer ${jwt}` }, body });
        expect(res.status, `${name} on ${path}`).toBe(401);
        expect(res.text, `${name} on ${path}`).toBe('');
        expect(answeredBy(res), `${name} on ${path}`).toBeUndefined();
      }
    }
  });
});

describe('malformed and oversized bodies through the whole chain', () => {
  const malformed: [string, string | Buffer][] = [
    ['truncated', '{"model":'],
    ['empty', ''],
    ['not JSON', 'model=gpt-4&messages=hi'],
    ['a JSON array', '[]'],
    ['a JSON string', '"hello"'],
    ['JSON null', 'null'],
    ['nested 500 000 deep', '['.repeat(500_000)],
    ['a byte-order mark first', '\ufeff{"model":"gpt-4","messages":[]}'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['messages not a list', JSON.stringify({ model: 'gpt-4', messages: 'hi' })],
    ['negative max_tokens', JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: -5 })],
  ];

  test.each([...PROVIDERS.map((p) => ({ who: p.name, path: p.path })), { who: 'onprem', path: ONPREM.path }])(
    '$who: every malformed body gets the 400 of the model server, with its reason',
    async ({ who, path }) => {
      for (const [label, body] of malformed) {
        const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), 'content-type': 'application/json' }, body });
        expect(res.status, label).toBe(400);
        expect(answeredBy(res), label).toBe(who);
        const json = JSON.parse(res.text) as { message?: string; error?: { message?: string } };
        expect(json.error?.message ?? json.message, label).toMatch(/not valid JSON|must be a JSON object|Missing required parameter|Invalid type|Invalid 'max_tokens'/);
      }
    },
  );

  test('maas-api: a token request body that is null, a list, a string, a number or truncated is a 400, and maas-api lives on', async () => {
    const t = topo.get();
    for (const body of ['null', '[]', '"10m"', '42', 'true', '{"expiration":', '\u0000']) {
      const res = await gateway(t, { path: '/maas-api/v1/tokens', headers: { authorization: `Bearer ${t.state.clusterToken}`, 'content-type': 'application/json' }, body });
      if (body === 'null') expect([201, 400], body).toContain(res.status); // Go decodes null into the request as a no-op
      else expect(res.status, body).toBe(400);
    }
    expect(pidAlive(t.state.components['maas-api']!.pid)).toBe(true);
    const after = await gateway(t, { path: '/maas-api/v1/tokens', headers: { authorization: `Bearer ${t.state.clusterToken}` }, body: { expiration: '10m' } });
    expect(after.status).toBe(201);
  });

  const big = Buffer.alloc(1024 * 1024 + 1, 'a');
  test.each([...PROVIDERS.map((p) => p.path), ONPREM.path, '/maas-api/v1/tokens'])('%s: over 1 MiB, declared or chunked, is the gateway’s 413', async (path) => {
    const t = topo.get();
    const auth = path.startsWith('/maas-api') ? { authorization: `Bearer ${t.state.clusterToken}` } : await bearer();
    for (const chunked of [false, true]) {
      const res = await gateway(t, { path, headers: { ...auth, 'content-type': 'application/json', ...(chunked ? { 'transfer-encoding': 'chunked' } : {}) }, body: big });
      expect(answeredBy(res)).toBeUndefined();
      // A streamed body races two limits on the token route: maas-api's own 64 KiB (its 400) and the gateway's 1 MiB.
      if (chunked && path.startsWith('/maas-api') && res.status === 400) {
        expect(JSON.parse(res.text)).toEqual({ error: 'request body too large' });
        continue;
      }
      expect(res.status, chunked ? 'chunked' : 'declared').toBe(413);
      expect(res.text).toBe('Payload Too Large');
    }
  });

  test('a header over 16 KiB gets 431; so do 150 headers (none silently dropped)', async () => {
    const t = topo.get();
    const huge = await gateway(t, { path: ONPREM.path, headers: { ...(await bearer()), 'x-big': 'a'.repeat(20 * 1024) }, body: CHAT(ONPREM.model) });
    expect(huge.status).toBe(431);
    const many: Record<string, string> = { ...(await bearer()) };
    for (let i = 0; i < 150; i++) many[`x-filler-${i}`] = String(i);
    const res = await gateway(t, { path: '/external/openai/v1/chat/completions', headers: many, body: CHAT('gpt-4') });
    // Envoy's max_headers_count is 100: past it the answer is 431, never a request with some headers lost
    expect(res.status).toBe(431);
    expect(res.headers['x-sim-provider']).toBeUndefined();
  });

  test('after all of that every hop is still up and serving', async () => {
    await expectAllHealthy(topo.get(), 'malformed and oversized input');
  });
});

interface SlowResult {
  ms: number;
  data: string;
}

/** A raw TLS client that sends `head` and then one byte of `trickle` every `everyMs`, until the server hangs up. */
function trickle(t: Topology, head: string, drip: string, everyMs: number): Promise<SlowResult> {
  const [host, port] = t.state.host.split(':');
  const start = Date.now();
  return new Promise((resolvePromise) => {
    let data = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = tlsConnect({ host, port: Number(port), ca: t.ca }, () => {
      socket.write(head);
      timer = setInterval(() => {
        if (socket.destroyed || i >= drip.length) return;
        socket.write(drip[i++]!);
      }, everyMs);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolvePromise({ ms: Date.now() - start, data });
    });
    // a bound on the test itself: never wait past twice the request timeout
    setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS * 2 + 5_000).unref();
  });
}

describe('slow clients', () => {
  test('headers trickled a byte at a time are cut off with 408 at the headers timeout; a trickled body at the request timeout, before any provider answers', async () => {
    const t = topo.get();
    const headers = await bearer();
    const body = JSON.stringify(CHAT('gpt-4', 'a request that arrives one byte at a time'));
    const bodyId = 'slow-body-1';
    const [slowHeaders, slowBody] = await Promise.all([
      // every byte arrives well within any idle timeout; the headers never finish within headersTimeout
      trickle(t, `POST /external/openai/v1/chat/completions HTTP/1.1\r\nHost: ${t.state.host}\r\n`, `Authorization: ${headers.authorization}\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`, 100),
      trickle(
        t,
        `POST /external/openai/v1/chat/completions HTTP/1.1\r\nHost: ${t.state.host}\r\nAuthorization: ${headers.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-Id: ${bodyId}\r\n\r\n`,
        body.slice(0, -1),
        200,
      ),
    ]);
    expect(slowHeaders.data).toMatch(/^HTTP\/1\.1 408 /);
    // checked every second: cut between the timeout and the timeout plus one check (and some scheduling)
    expect(slowHeaders.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 200);
    expect(slowHeaders.ms).toBeLessThan(HEADERS_TIMEOUT_MS + 2_500);

    expect(slowBody.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(slowBody.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 200);
    expect(slowBody.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2_500);
    // the body never completed, so no provider produced an answer for it
    expect(slowBody.data).not.toMatch(/x-sim-provider/i);
    for (const component of ['maas-gateway', 'egress-gateway']) {
      for (const rec of await traces(component, bodyId)) expect(rec.status, component).not.toBe(200);
    }
  }, 30_000);

  test('after the slow clients every hop is still up and serving', async () => {
    await expectAllHealthy(topo.get(), 'slow clients');
  });
});

describe('unknown models and providers', () => {
  test.each([
    { who: 'openai', path: '/external/openai/v1/chat/completions', hop: 'provider:openai' },
    { who: 'anthropic', path: '/external/anthropic/v1/chat/completions', hop: 'provider:anthropic' },
    { who: 'vllm', path: '/external/vllm/v1/chat/completions', hop: 'provider:vllm' },
    { who: 'onprem', path: ONPREM.path, hop: 'onprem' },
  ])('$who: an unknown model is the model server’s 404 naming the model', async ({ who, path, hop }) => {
    const res = await gateway(topo.get(), { path, headers: await bearer(), body: CHAT('no-such-model-9000') });
    expect(res.status).toBe(404);
    expect(answeredBy(res)).toBe(who);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const json = JSON.parse(res.text) as { message?: string; error?: { message?: string; code?: string } };
    expect(json.error?.message ?? json.message).toMatch(/The model `no-such-model-9000` does not exist/);
    expect(classify(res.status, lowerHeaders(res.headers), res.text, { viaEgress: who !== 'onprem', ...(who !== 'onprem' ? { provider: who } : {}) })).toMatchObject({ kind: 'provider-not-found', hop });
  });

  test.each(['/external/nope/v1/chat/completions', '/external/nope/v1/models', '/external/', '/external', '/llm/no-such-model/v1/chat/completions'])(
    '%s: an unknown provider or model route is the MaaS gateway’s 404 route_not_found',
    async (path) => {
      const id = `unknown-${Math.random().toString(16).slice(2)}`;
      const res = await gateway(topo.get(), { path, headers: { ...(await bearer()), 'x-request-id': id }, body: CHAT('gpt-4') });
      expect(res.status).toBe(404);
      expect(res.text).toBe('');
      expect(answeredBy(res)).toBeUndefined();
      const [gw] = await traces('maas-gateway', id);
      expect(gw?.detail).toMatchObject({ flags: 'NR', reason: 'route_not_found' });
      expect(await traces('egress-gateway', id)).toEqual([]);
    },
  );

  test('doctor’s install category finds every component running after the whole file', async () => {
    const r = await runCli(['doctor', '--category', 'install', '--output', 'json'], { stateDir: topo.get().dir });
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; outcome: string; message?: string }[] };
    expect(doc.checks.filter((c) => c.outcome === 'fail' || c.outcome === 'warn'), r.stdout.slice(0, 2000)).toEqual([]);
    expect(doc.checks.find((c) => c.id === 'install-components')?.outcome).toBe('pass');
    expect(r.code).toBe(0);
  });
});
