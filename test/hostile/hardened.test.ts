/**
 * `demo up --hardened`: the cases of issue 14 that the tier era lets through, closed by the object
 * changes doctor proposes — the tokens route takes only the user's identity, streams are counted (the
 * stream-usage enforcer), budgets are reserved at admission, token lifetimes are capped, tokens of no
 * tier are refused, and one user has a bounded number of requests in flight. Doctor on this topology
 * reports none of the exposures, and validate still passes.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { connect as tlsConnect } from 'node:tls';
import { TIMEOUT_ENV } from '../../src/targets/local/request-hardening.js';
import { runCli } from '../helpers/run-cli.js';
import { CHAT, DEFAULT_KEYS, adminGet, expectNoSecrets, gateway, mint, mintToken, signSaToken, useTopology, type Topology } from '../helpers/topology.js';

const BODY_IDLE_MS = 8_000;
process.env[TIMEOUT_ENV.bodyIdle] = String(BODY_IDLE_MS);
afterAll(() => {
  delete process.env[TIMEOUT_ENV.bodyIdle];
});

const topo = useTopology({ label: 'hardened', args: ['--hardened'] });

const FREE = 'maas-default-gateway-tier-free';
const OPENAI = '/external/openai/v1/chat/completions';
const ONPREM = '/llm/facebook-opt-125m-simulated/v1/chat/completions';
const identity = (name: string, namespace = FREE) => signSaToken(topo.get(), { namespace, serviceAccount: name });
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const events = (text: string) => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));

async function counter(key: string): Promise<{ spent: number; reserved: number } | undefined> {
  return (await adminGet<{ counters: Record<string, { spent: number; reserved: number }> }>(topo.get(), 'maas-gateway', '/ratelimit')).counters[key];
}

describe('the hardened topology is what up says it is', () => {
  test('up reports it, the state records it, and the configuration objects carry every change', async () => {
    const t = topo.get();
    expect(t.state.hardened).toBe(true);
    expect(t.up.stdout).toMatch(/hardened/);
    const gw = (await adminGet<{ spec: Record<string, unknown> & { rateLimit: Record<string, unknown>; bridges: { auth: { allowedTiers?: string[] } }[] } }>(t, 'maas-gateway', '/config')).spec;
    expect(gw).toMatchObject({ tokensRequireUserIdentity: true, streamUsageEnforcer: true, rateLimit: { strictBudget: true, maxConcurrentPerUser: 32 } });
    for (const b of gw.bridges) expect(b.auth.allowedTiers).toEqual(['free', 'premium', 'enterprise']);
    const api = (await adminGet<{ spec: { maxTokenSeconds?: number } }>(t, 'maas-api', '/config')).spec;
    expect(api.maxTokenSeconds).toBe(24 * 3600);
  });
});

describe('token minting takes only the cluster user', () => {
  test('a MaaS token minting another → 403 from the policy; the cluster user still mints', async () => {
    const t = topo.get();
    const token = await mintToken(t);
    const chained = await mint(t, { expiration: '10m' }, token);
    expect(chained.status).toBe(403);
    expect(chained.headers['x-ext-auth-reason']).toBe('Unauthorized');
    // a MaaS token still lists models on the same route (only the tokens path is closed)
    const models = await gateway(t, { path: '/maas-api/v1/models', headers: auth(token) });
    expect(models.status).toBe(200);
    expect((await mint(t)).status).toBe(201);
  });
});

describe('token lifetimes are capped (24 h by default)', () => {
  test.each([['9223372036s'], ['8760h'], ['24h0m1s']])('%s → 400 naming the cap', async (expiration) => {
    const r = await mint(topo.get(), { expiration });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('token expiration must be at most 24h0m0s');
  });

  test('24h is granted', async () => {
    const r = await mint(topo.get(), { expiration: '24h' });
    expect(r.status).toBe(201);
    expect((r.json.expiresAt as number) - (r.json.issuedAt as number)).toBe(24 * 3600);
  });
});

describe('streams are counted (the stream-usage enforcer)', () => {
  test('30 streams without include_usage reach 429; the client never sees a usage chunk it did not ask for', async () => {
    const token = await identity('stream-user-0101');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { path, model } = i % 2 ? { path: ONPREM, model: 'facebook/opt-125m' } : { path: OPENAI, model: 'gpt-4' };
      const res = await gateway(topo.get(), { path, headers: auth(token), body: { ...CHAT(model, 'Tell me a story', 16), stream: true } });
      statuses.push(res.status);
      if (res.status === 200) {
        expect(res.text).not.toContain('"usage"');
        expect(events(res.text).at(-1)).toBe('[DONE]');
        expect(events(res.text).some((e) => e.includes('"choices":[]'))).toBe(false);
      }
    }
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);
    const c = await counter('free-user-tokens/stream-user-0101');
    expect(c?.spent).toBeGreaterThan(0);
    expect(c?.spent).toBeLessThanOrEqual(100);
  });

  test('a client that asks for usage gets the usage chunk, and exactly that is counted', async () => {
    const token = await identity('stream-user-0102');
    const res = await gateway(topo.get(), { path: OPENAI, headers: auth(token), body: { ...CHAT('gpt-4', 'Hello', 8), stream: true, stream_options: { include_usage: true } } });
    expect(res.status).toBe(200);
    const usage = (JSON.parse(events(res.text).at(-2)!) as { usage: { total_tokens: number } }).usage.total_tokens;
    expect((await counter('free-user-tokens/stream-user-0102'))?.spent).toBe(usage);
  });
});

describe('budgets are reserved at admission', () => {
  test('64 requests at once admit no more tokens than the budget', async () => {
    const token = await identity('burst-user-0103');
    const results = await Promise.all(Array.from({ length: 64 }, () => gateway(topo.get(), { path: OPENAI, headers: auth(token), body: CHAT('gpt-4', 'Hello', 10) })));
    const admitted = results.filter((r) => r.status === 200);
    const tokens = admitted.reduce((sum, r) => sum + (JSON.parse(r.text) as { usage: { total_tokens: number } }).usage.total_tokens, 0);
    expect(admitted.length).toBeGreaterThan(0);
    expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    expect(tokens).toBeLessThanOrEqual(100);
  });
});

describe('tokens of no tier are refused', () => {
  test('a token of namespace "default" → 403 on every bridge, before any provider is asked', async () => {
    const token = await identity('no-tier-0104', 'default');
    for (const [path, model] of [[OPENAI, 'gpt-4'], ['/external/anthropic/v1/chat/completions', 'claude-3-sonnet'], ['/external/vllm/v1/chat/completions', 'Qwen/Qwen3-0.6B']] as const) {
      const res = await gateway(topo.get(), { path, headers: auth(token), body: CHAT(model) });
      expect(res.status, path).toBe(403);
      expect(res.headers['x-ext-auth-reason']).toBe('Unauthorized');
      expect(res.headers['x-sim-provider']).toBeUndefined();
    }
  });
});

describe('more than 100 request headers', () => {
  test('1,000 headers → 431', async () => {
    const t = topo.get();
    const token = await mintToken(t);
    const headers: Record<string, string> = auth(token);
    for (let i = 0; i < 1000; i++) headers[`x${i}`] = '1';
    const res = await gateway(t, { path: OPENAI, headers, body: CHAT('gpt-4') });
    expect(res.status).toBe(431);
    expect(res.headers['x-sim-provider']).toBeUndefined();
  });
});

/** The first status line a stalled upload gets (its body never comes). */
function stalledUpload(t: Topology, token: string): Promise<string> {
  const [host, port] = t.state.host.split(':');
  return new Promise((resolve) => {
    let data = '';
    const socket = tlsConnect({ host, port: Number(port), ca: t.ca }, () =>
      socket.write(`POST ${OPENAI} HTTP/1.1\r\nHost: ${t.state.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"model":`),
    );
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (data.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    setTimeout(() => socket.destroy(), BODY_IDLE_MS * 4).unref();
  });
}

describe('one user has a bounded number of requests in flight', () => {
  test('70 stalled uploads of one user: 32 held, 38 refused at once with 429; another user is answered meanwhile', async () => {
    const t = topo.get();
    const hog = await identity('upload-hog-0105');
    const other = await identity('other-user-0106');
    const uploads = Array.from({ length: 70 }, () => stalledUpload(t, hog));
    const settled: string[] = [];
    for (const u of uploads) void u.then((line) => settled.push(line));
    // the refusals come as soon as each upload's headers are in; the held ones wait for their bodies
    for (let i = 0; i < 200 && settled.length < 38; i++) await new Promise((r) => setTimeout(r, 25));
    const refusedBeforeOthers = settled.filter((l) => / 429 /.test(l)).length;
    const answers = await Promise.all([OPENAI, '/external/anthropic/v1/chat/completions', ONPREM].map((path, i) => gateway(t, { path, headers: auth(other), body: CHAT(['gpt-4', 'claude-3-sonnet', 'facebook/opt-125m'][i]!) })));
    const heldWhenAnswered = 70 - settled.length;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(refusedBeforeOthers).toBe(38);
    expect(heldWhenAnswered).toBe(32);
    const lines = await Promise.all(uploads);
    expect(lines.filter((l) => / 429 /.test(l))).toHaveLength(38);
    // the held ones end at the request-body idle timeout
    expect(lines.filter((l) => / 408 /.test(l))).toHaveLength(32);
  }, 40_000);
});

describe('doctor and validate on the hardened topology', () => {
  test('doctor reports none of the exposures; validate passes', async () => {
    const t = topo.get();
    const d = await runCli(['doctor', '--category', 'exposure', '--output', 'json'], { stateDir: t.dir });
    const doc = JSON.parse(d.stdout) as { ok: boolean; checks: { id: string; outcome: string; message?: string }[] };
    for (const id of ['exposure-stream-usage', 'exposure-token-chaining', 'exposure-token-lifetime', 'exposure-burst-overshoot', 'exposure-tierless-tokens']) {
      expect(doc.checks.find((c) => c.id === id)?.outcome, `${id}: ${doc.checks.find((c) => c.id === id)?.message}`).toBe('pass');
    }
    expect(doc.checks.filter((c) => c.outcome === 'warn').map((c) => c.id)).toEqual(['exposure-keys-in-policies']);
    expect(d.code).toBe(0);
    const v = await runCli(['validate', '--output', 'json'], { stateDir: t.dir });
    expect(v.code, v.stdout.slice(0, 2000)).toBe(0);
    expectNoSecrets(d.stdout + v.stdout, { ...DEFAULT_KEYS, 'cluster token': t.state.clusterToken }, 'doctor and validate output');
  });
});
