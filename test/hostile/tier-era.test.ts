/**
 * The cases of issue 14 against the default topology, which stays faithful to the tier-era
 * components, weaknesses included: streams without usage are not counted, a MaaS token mints another
 * for a fresh budget, token lifetimes have no cap, tokens of no tier are never limited — and doctor
 * names each of them as an exposure with the object change that closes it. Around them, the bugs that
 * are fixed in every mode: more than 100 headers get 431 (no silent truncation), headers named in
 * `Connection` are dropped, client request ids are validated before logs and traces, `100 Continue`
 * comes only after auth, key fingerprints are HMACs under the install's key, slow uploads of one user
 * leave the others answered (upstream pools sized like Envoy's, a request-body idle timeout), and the
 * strict budget estimates the text of content parts, not their JSON.
 *
 * Tests that spend a budget use free-tier identities of their own (service-account tokens signed with the
 * install's key, as maas-api's TokenRequest would make them), so each starts at zero.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, test } from 'vitest';
import { decodeJwt } from 'jose';
import { TIMEOUT_ENV } from '../../src/targets/local/request-hardening.js';
import { runCli } from '../helpers/run-cli.js';
import { CHAT, DEFAULT_KEYS, adminGet, expectNoSecrets, gateway, installFingerprint, mint, mintToken, signSaToken, useTopology, type Topology } from '../helpers/topology.js';

const BODY_IDLE_MS = 6_000;
// Read by `up` (spawned with this environment) and passed on to every hop.
process.env[TIMEOUT_ENV.bodyIdle] = String(BODY_IDLE_MS);
afterAll(() => {
  delete process.env[TIMEOUT_ENV.bodyIdle];
});

// The user is in the premium tier, so the many requests of this file never spend its budget before validate
// and doctor run at the end; the budget cases use identities of the free tier of their own.
const topo = useTopology({ label: 'tier-era', config: { user: { name: 'tier-era-user', groups: ['premium-group'] } } });

const FREE = 'maas-default-gateway-tier-free';
const OPENAI = '/external/openai/v1/chat/completions';
const ONPREM = '/llm/facebook-opt-125m-simulated/v1/chat/completions';
const ROUTES = [
  { path: OPENAI, model: 'gpt-4' },
  { path: '/external/anthropic/v1/chat/completions', model: 'claude-3-sonnet' },
  { path: '/external/vllm/v1/chat/completions', model: 'Qwen/Qwen3-0.6B' },
  { path: ONPREM, model: 'facebook/opt-125m' },
];

/** A token for a fresh identity of a tier (its own rate-limit counter), as maas-api's TokenRequest makes one. */
const identity = (name: string, namespace = FREE) => signSaToken(topo.get(), { namespace, serviceAccount: name });
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function counter(key: string): Promise<{ spent: number; reserved: number } | undefined> {
  return (await adminGet<{ counters: Record<string, { spent: number; reserved: number }> }>(topo.get(), 'maas-gateway', '/ratelimit')).counters[key];
}

interface TraceRecord {
  requestId: string;
  status: number;
  detail: Record<string, string>;
}

async function traces(component: string, query: string): Promise<TraceRecord[]> {
  return (await adminGet<{ records: TraceRecord[] }>(topo.get(), component, `/traces?${query}`)).records;
}

/** The `data:` payloads of a server-sent event stream. */
const events = (text: string) => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));

describe('streams without stream_options.include_usage (tier era: Limitador has nothing to count)', () => {
  test('20 streams of up to 16 tokens against a 100-token budget all get 200, on a provider and on-prem, and the counter never moves', async () => {
    const token = await identity('stream-hog-0001');
    for (let i = 0; i < 20; i++) {
      const { path, model } = i % 2 ? ROUTES[3]! : ROUTES[0]!;
      const res = await gateway(topo.get(), { path, headers: auth(token), body: { ...CHAT(model, 'Tell me a story', 16), stream: true } });
      expect(res.status, `stream ${i + 1}`).toBe(200);
      expect(events(res.text).at(-1)).toBe('[DONE]');
    }
    expect(await counter('free-user-tokens/stream-hog-0001')).toBeUndefined();
  });

  test('a stream that asks for usage is counted (the faithful control)', async () => {
    const token = await identity('stream-usage-0002');
    const res = await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: { ...CHAT('gpt-4', 'Hello', 8), stream: true, stream_options: { include_usage: true } } });
    expect(res.status).toBe(200);
    const usage = JSON.parse(events(res.text).at(-2)!) as { usage: { total_tokens: number } };
    expect((await counter('free-user-tokens/stream-usage-0002'))?.spent).toBe(usage.usage.total_tokens);
  });
});

describe('token chaining (tier era: maas-api-auth-policy accepts MaaS tokens on /v1/tokens)', () => {
  test('a MaaS token that already gets 429 mints another, for a new service account whose budget starts at zero', async () => {
    const t = topo.get();
    const first = await identity('chain-user-0003');
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i++) status = (await gateway(t, { path: OPENAI, headers: auth(first), body: CHAT('gpt-4') })).status;
    expect(status).toBe(429);
    const chained = await mint(t, { expiration: '10m' }, first);
    expect(chained.status).toBe(201);
    const next = chained.json.token as string;
    expect(decodeJwt(next).sub).not.toBe(decodeJwt(first).sub);
    const res = await gateway(t, { path: OPENAI, headers: auth(next), body: CHAT('gpt-4') });
    expect(res.status).toBe(200);
  });
});

describe('token lifetime (tier era: no cap)', () => {
  test('{"expiration":"9223372036s"} mints a token valid for about 292 years', async () => {
    const r = await mint(topo.get(), { expiration: '9223372036s' });
    expect(r.status).toBe(201);
    expect(new Date((r.json.expiresAt as number) * 1000).getUTCFullYear()).toBeGreaterThan(2300);
  });
});

describe('tokens whose namespace maps to no tier (tier era: no limit applies)', () => {
  test('30 chats with a token of namespace "default" all get 200 and no counter exists for it', async () => {
    const token = await identity('no-tier-0004', 'default');
    for (let i = 0; i < 30; i++) expect((await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: CHAT('gpt-4') })).status, `chat ${i + 1}`).toBe(200);
    const counters = (await adminGet<{ counters: Record<string, unknown> }>(topo.get(), 'maas-gateway', '/ratelimit')).counters;
    expect(Object.keys(counters).filter((k) => k.endsWith('/no-tier-0004'))).toEqual([]);
  });
});

describe('more than 100 request headers (every mode: 431 as Envoy answers, never a silent truncation)', () => {
  /** A chat with exactly `total` request headers: Host, Authorization, Content-Type, Content-Length, Connection and fillers. */
  async function withHeaders(total: number): Promise<string> {
    const t = topo.get();
    const token = await mintToken(t);
    const body = JSON.stringify(CHAT('gpt-4'));
    // short lines: 1,000 of them stay under the 16 KiB header size limit, so the count is what is refused
    const fillers = Array.from({ length: total - 5 }, (_, i) => `X${i}: 1\r\n`).join('');
    return rawHttps(t, `POST ${OPENAI} HTTP/1.1\r\nHost: ${t.state.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${fillers}\r\n`, body, { now: true });
  }

  test.each([1000, 150, 101])('%i headers → 431 from the MaaS gateway, no provider asked', async (total) => {
    const reply = await withHeaders(total);
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply.toLowerCase()).toContain('server: istio-envoy');
    expect(reply.toLowerCase()).not.toContain('x-sim-provider');
  });

  test('100 headers pass the MaaS gateway; the egress Envoy counts the ones the gateway added and refuses too (a 431, not a lost key)', async () => {
    const reply = await withHeaders(100);
    // relayed from the egress hop (x-envoy-upstream-service-time), which got 100 − Connection − Authorization + 4 added by the gateway
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply.toLowerCase()).toContain('x-envoy-upstream-service-time');
    expect(reply.toLowerCase()).not.toContain('x-sim-provider');
  });

  test('95 headers are served end to end, and the provider key still arrives (nothing was dropped)', async () => {
    const reply = await withHeaders(95);
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.toLowerCase()).toContain('x-sim-key-status: ok');
  });
});

describe('headers named in Connection (every mode: hop-by-hop, RFC 9110 §7.6.1)', () => {
  test('are not forwarded to the provider, whatever their name', async () => {
    const token = await mintToken(topo.get());
    const res = await gateway(topo.get(), {
      path: OPENAI,
      headers: { ...auth(token), connection: 'keep-alive, X-Route-Hint, x-tenant', 'x-route-hint': 'anthropic', 'x-tenant': 'other', 'x-kept': 'yes' },
      body: CHAT('gpt-4'),
    });
    expect(res.status).toBe(200);
    const names = res.headers['x-sim-header-names']!.split(',');
    expect(names).not.toContain('x-route-hint');
    expect(names).not.toContain('x-tenant');
    expect(names).toContain('x-kept');
  });
});

describe('client request ids (every mode: validated before logs and traces)', () => {
  test('a request id carrying a forged log line, quotes or kilobytes of text is replaced; a well-formed one is kept', async () => {
    const t = topo.get();
    const token = await mintToken(t);
    const forged = 'x" 200 - route=admin request_id=forged';
    const long = 'a'.repeat(4000);
    for (const id of [forged, long]) {
      const res = await gateway(t, { path: OPENAI, headers: { ...auth(token), 'x-request-id': id }, body: CHAT('gpt-4') });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(res.headers['x-sim-request-id']).toBe(res.headers['x-request-id']);
      const [gw] = await traces('maas-gateway', `id=${res.headers['x-request-id']}`);
      expect(gw?.detail.requestId).toMatch(/refused/);
    }
    const kept = await gateway(t, { path: OPENAI, headers: { ...auth(token), 'x-request-id': 'client-id-0005' }, body: CHAT('gpt-4') });
    expect(kept.headers['x-request-id']).toBe('client-id-0005');
    const recent = JSON.stringify(await traces('maas-gateway', 'n=2000')) + JSON.stringify(await traces('egress-gateway', 'n=2000'));
    expect(recent).not.toContain('request_id=forged');
    expect(recent).not.toContain(long);
    const logs = ['maas-gateway', 'egress-gateway'].map((h) => readFileSync(join(t.dir, 'logs', `${h}.log`), 'utf8')).join('');
    expect(logs).not.toContain('request_id=forged');
    expect(logs).not.toContain(long.slice(0, 200));
    expect(logs).toContain('request_id=client-id-0005');
  });
});

/**
 * One raw exchange over TLS (the request says `Connection: close`): writes `head`, and `body` only
 * once a `100 Continue` came back (or at once when `now`); resolves with everything the gateway sent.
 */
function rawHttps(t: Topology, head: string, body = '', opts: { now?: boolean } = {}): Promise<string> {
  const [host, port] = t.state.host.split(':');
  return new Promise((resolve) => {
    let data = '';
    let sent = false;
    const socket = tlsConnect({ host, port: Number(port), ca: t.ca }, () => socket.write(opts.now ? head + body : head));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (!opts.now && !sent && data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sent = true;
        socket.write(body);
      }
    });
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
}

describe('Expect: 100-continue (every mode: 100 Continue only after auth)', () => {
  test('without a valid token the 401 comes first and no 100 Continue is sent; with one, 100 Continue, then the answer', async () => {
    const t = topo.get();
    const body = JSON.stringify(CHAT('gpt-4'));
    const head = (authLine: string) =>
      `POST ${OPENAI} HTTP/1.1\r\nHost: ${t.state.host}\r\n${authLine}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const none = await rawHttps(t, head(''), body);
    const bogus = await rawHttps(t, head('Authorization: Bearer bogus-key\r\n'), body);
    for (const reply of [none, bogus]) {
      expect(reply).toMatch(/^HTTP\/1\.1 401 /);
      expect(reply).not.toContain('100 Continue');
    }
    const token = await mintToken(t);
    const ok = await rawHttps(t, head(`Authorization: Bearer ${token}\r\n`), body);
    expect(ok).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(ok).toContain('chat.completion');
  });
});

describe('key fingerprints (every mode: HMAC under the install key)', () => {
  test('x-sim-key-fp identifies the key for the install, but a guess hashed without the install key never matches it', async () => {
    const t = topo.get();
    const token = await mintToken(t);
    const res = await gateway(t, { path: OPENAI, headers: auth(token), body: CHAT('gpt-4') });
    const fp = res.headers['x-sim-key-fp'];
    expect(fp).toBe(installFingerprint(t, DEFAULT_KEYS['openai key']));
    expect(fp).not.toBe(createHash('sha256').update(DEFAULT_KEYS['openai key']).digest('hex').slice(0, 8));
    // the install key is kept like the other secrets of the state dir
    const file = join(t.dir, 'tls', 'fingerprint.key');
    expect((await import('node:fs')).statSync(file).mode & 0o777).toBe(0o600);
    expectNoSecrets(JSON.stringify(res.headers) + res.text, { ...DEFAULT_KEYS, 'fingerprint key': readFileSync(file, 'utf8').trim() }, 'response');
  });

  test('validate and doctor compare fingerprints under the same key: key checks pass', async () => {
    const t = topo.get();
    const v = await runCli(['validate', '--only', '4,5,6', '--output', 'json'], { stateDir: t.dir });
    expect(v.code, v.stdout.slice(0, 1500)).toBe(0);
    const d = await runCli(['doctor', '--category', 'key-injection', '--output', 'json'], { stateDir: t.dir });
    const doc = JSON.parse(d.stdout) as { checks: { id: string; outcome: string }[] };
    expect(doc.checks.find((c) => c.id === 'key-injected')?.outcome).toBe('pass');
    expectNoSecrets(v.stdout + d.stdout, { ...DEFAULT_KEYS, 'fingerprint key': readFileSync(join(t.dir, 'tls', 'fingerprint.key'), 'utf8').trim() }, 'validate and doctor output');
  });
});

interface Upload {
  socket: TLSSocket;
  data: () => string;
  /** Resolves once the headers and the first bytes are written. */
  sent: Promise<void>;
  closed: Promise<string>;
}

/** A slow upload: the headers, then a few bytes of a declared 4 KB body, then nothing. */
function slowUpload(t: Topology, token: string, path: string): Upload {
  const [host, port] = t.state.host.split(':');
  let data = '';
  let wrote: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => (wrote = resolve));
  const socket = tlsConnect({ host, port: Number(port), ca: t.ca }, () =>
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${t.state.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"model":`, () => wrote()),
  );
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(data)));
  return { socket, data: () => data, sent, closed };
}

describe('slow uploads (every mode: upstream pools sized like Envoy, a request-body idle timeout)', () => {
  test('70 stalled uploads of one user leave another user answered on every route while they hang; then they get 408 stream timeout', async () => {
    const t = topo.get();
    const hog = await identity('upload-hog-0006');
    const other = await identity('other-user-0007');
    const uploads = Array.from({ length: 70 }, (_, i) => slowUpload(t, hog, ROUTES[i % 3]!.path));
    // every upload's headers and first bytes are on the wire; a moment for the gateway to relay them
    await Promise.all(uploads.map((u) => u.sent));
    await new Promise((r) => setTimeout(r, 500));
    const answers = await Promise.all(ROUTES.map(({ path, model }) => gateway(t, { path, headers: auth(other), body: CHAT(model), timeoutMs: BODY_IDLE_MS * 3 })));
    // every other-user answer came while all 70 uploads were still waiting for their bodies
    const pendingWhenAnswered = uploads.filter((u) => u.data() === '').length;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(pendingWhenAnswered).toBe(70);
    const ends = await Promise.all(uploads.map((u) => u.closed));
    for (const end of ends) {
      expect(end).toMatch(/^HTTP\/1\.1 408 /);
      expect(end).toContain('stream timeout');
    }
  }, 40_000);
});

describe('the strict budget (--strict-budget, reprogrammed on this topology)', () => {
  async function strict(on: boolean): Promise<void> {
    const spec = (await adminGet<{ spec: { rateLimit: { strictBudget: boolean } } }>(topo.get(), 'maas-gateway', '/config')).spec;
    spec.rateLimit.strictBudget = on;
    const c = topo.get().state.components['maas-gateway']!;
    const res = await fetch(`http://127.0.0.1:${c.adminPort}/config`, { method: 'PUT', headers: { authorization: `Bearer ${topo.get().state.adminToken}` }, body: JSON.stringify({ spec }) });
    expect(res.status).toBe(200);
  }

  test('estimates the text of content parts: a 5,000-part prompt of blank text parts is a 1-token prompt, not its JSON', async () => {
    await strict(true);
    try {
      const token = await identity('parts-user-0008');
      const parts = Array.from({ length: 5000 }, () => ({ type: 'text', text: ' ' }));
      const res = await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: { model: 'gpt-4', messages: [{ role: 'user', content: parts }], max_tokens: 5 } });
      expect(res.status).toBe(200);
      const usage = (JSON.parse(res.text) as { usage: { prompt_tokens: number } }).usage;
      expect(usage.prompt_tokens).toBe(1);
      // and 5,000 one-word parts are a 5,000-token prompt: over the free budget before anything is sent
      const words = Array.from({ length: 5000 }, () => ({ type: 'text', text: 'word' }));
      const over = await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: { model: 'gpt-4', messages: [{ role: 'user', content: words }], max_tokens: 5 } });
      expect(over.status).toBe(429);
    } finally {
      await strict(false);
    }
  });

  test('a stream that reports no usage is charged its reservation, so streams reach 429', async () => {
    await strict(true);
    try {
      const token = await identity('strict-streams-0009');
      const statuses: number[] = [];
      for (let i = 0; i < 20 && statuses.at(-1) !== 429; i++) statuses.push((await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: { ...CHAT('gpt-4', 'Tell me a story', 16), stream: true } })).status);
      expect(statuses.at(-1)).toBe(429);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(100 / 17 + 1);
    } finally {
      await strict(false);
    }
  });
});

describe('doctor names every exposure of the tier era, with its fix', () => {
  test('streams not counted, token chaining, unbounded lifetime, burst overshoot and tier-less tokens: warnings of the design, each with the object change', async () => {
    const t = topo.get();
    const r = await runCli(['doctor', '--category', 'exposure', '--output', 'json'], { stateDir: t.dir });
    expect(r.code, r.stdout.slice(0, 2000)).toBe(0);
    const doc = JSON.parse(r.stdout) as { checks: { id: string; outcome: string; message?: string; fix?: string; hop?: string; data?: { expectedWarning?: boolean } }[] };
    const byId = Object.fromEntries(doc.checks.map((c) => [c.id, c]));
    const expected: [string, RegExp, RegExp][] = [
      ['exposure-stream-usage', /not counted/, /ConfigMap .*payload-processing-plugins[\s\S]*stream-usage-enforcer/],
      ['exposure-token-chaining', /minted another token/, /AuthPolicy .*maas-api-auth-policy spec\.rules\.authorization[\s\S]*system:serviceaccount:/],
      ['exposure-token-lifetime', /no lifetime cap/, /maxTokenSeconds: 86400/],
      ['exposure-burst-overshoot', /in flight when the budget runs out is admitted/, /RateLimitPolicy/],
      ['exposure-tierless-tokens', /never limited/, /AuthPolicy <provider>-bridge-auth[\s\S]*known-tier/],
    ];
    for (const [id, message, fix] of expected) {
      const c = byId[id];
      expect(c?.outcome, id).toBe('warn');
      expect(c?.message, id).toMatch(message);
      expect(c?.fix, id).toMatch(fix);
      expect(c?.data?.expectedWarning, id).toBe(true);
    }
    expectNoSecrets(r.stdout, { ...DEFAULT_KEYS, 'cluster token': t.state.clusterToken, 'fingerprint key': readFileSync(join(t.dir, 'tls', 'fingerprint.key'), 'utf8').trim() }, 'doctor output');
  });
});
