import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_HEADERS, classifyAuthorization, readSimEcho } from '../../src/sim/headers.js';
import { parseProviderSimArgs, startProviderSim, type ProviderSimOptions } from '../../src/sim/provider-sim.js';
import { fingerprintKey } from '../../src/sim/echo-headers.js';
import { type RunningSim, UsageError } from '../../src/sim/sim-program.js';
import { fingerprint } from '../../src/core/secret.js';
import { post, send, sseChunks, sseData, substrings, visibleText, type CompletionBody, type SimResponse, type Usage } from './http-client.js';

const KEY = 'sk-openai-key-for-demo';
const VLLM_KEY = 'change-me-super-secret';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLWJ5dGVz';
const CHAT = { model: 'gpt-4', messages: [{ role: 'user', content: 'Hello from OpenAI' }], max_tokens: 10 };
const keyed = { 'x-provider-api-key': KEY };

const sims: RunningSim[] = [];
async function start(options: Partial<ProviderSimOptions> = {}): Promise<RunningSim> {
  const sim = await startProviderSim({ apiKey: KEY, name: 'openai', model: 'gpt-4', ...options });
  sims.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
});

const fp = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 8);
const errorOf = (res: SimResponse): Record<string, unknown> => (res.json as { error: Record<string, unknown> }).error;

describe('provider-sim, provider style', () => {
  let port: number;
  beforeAll(async () => {
    port = (await start()).port;
  });

  it('answers a chat completion on the exact path with an OpenAI-shaped body', async () => {
    // When
    const res = await post(port, '/v1/chat/completions', CHAT, keyed);
    // Then
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json as CompletionBody;
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]+$/);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('gpt-4');
    expect(typeof body.created).toBe('number');
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0]?.index).toBe(0);
    expect(body.choices[0]?.message.role).toBe('assistant');
    expect(typeof body.choices[0]?.message.content).toBe('string');
    expect(['stop', 'length']).toContain(body.choices[0]?.finish_reason);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it.each([
    ['a prefix the gateways failed to strip', 'POST', '/openai/v1/chat/completions'],
    ['a double slash left by a prefix rewrite', 'POST', '//v1/chat/completions'],
    ['a trailing slash', 'POST', '/v1/chat/completions/'],
    ['an unknown path', 'GET', '/v2/models'],
    ['a double slash on the model list', 'GET', '//v1/models'],
  ])('answers 404 like OpenAI for %s', async (_what, method, path) => {
    // When
    const res = await send(port, { method, path, headers: keyed, ...(method === 'POST' ? { body: CHAT } : {}) });
    // Then
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      error: { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null },
    });
    expect(res.headers[SIM_HEADERS.path]).toBe(path);
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('not-required');
  });

  it('ignores the query string when matching and echoes the raw target', async () => {
    const res = await send(port, { path: '/v1/models?limit=1', headers: keyed });
    expect(res.status).toBe(200);
    expect(res.headers[SIM_HEADERS.path]).toBe('/v1/models?limit=1');
  });

  it('answers 405 with Allow for a known path and the wrong method', async () => {
    const res = await send(port, { method: 'GET', path: '/v1/chat/completions', headers: keyed });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(errorOf(res).message).toBe('Invalid method for URL (GET /v1/chat/completions)');
  });

  it.each(['/health', '/ready'])('serves %s without a key', async (path) => {
    const res = await send(port, { path });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'healthy' });
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('not-required');
    expect(res.headers[SIM_HEADERS.keyFingerprint]).toBeUndefined();
  });

  it('rejects a request without the key header, naming the header', async () => {
    const res = await post(port, '/v1/chat/completions', CHAT);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({
      error: { code: 'missing_api_key', message: 'Missing API key. Set X-Provider-Api-Key header.', type: 'authentication_error' },
    });
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('missing');
    expect(res.headers[SIM_HEADERS.keyFingerprint]).toBeUndefined();
  });

  it('rejects a wrong key without showing any part of it, but with its fingerprint', async () => {
    // Given
    const wrong = 'qZ8vWRONGxJ3uP0kYy';
    // When
    const res = await post(port, '/v1/chat/completions', CHAT, { 'x-provider-api-key': wrong });
    // Then
    expect(res.status).toBe(401);
    expect(errorOf(res).code).toBe('invalid_api_key');
    expect(errorOf(res).type).toBe('authentication_error');
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('invalid');
    expect(res.headers[SIM_HEADERS.keyFingerprint]).toBe(fp(wrong));
    const shown = visibleText(res);
    for (const part of substrings(wrong, 4)) expect(shown).not.toContain(part);
  });

  it('reports the fingerprint of an accepted key, never the key', async () => {
    const res = await post(port, '/v1/chat/completions', CHAT, keyed);
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('ok');
    expect(res.headers[SIM_HEADERS.keyFingerprint]).toBe(fp(KEY));
    expect(visibleText(res)).not.toContain(KEY);
    expect(visibleText(res)).not.toContain('key-for-demo');
  });

  it('with the install fingerprint key, x-sim-key-fp is an HMAC: it identifies the key for whoever holds the install key, and confirms no guess without it', async () => {
    // Given: a simulator started as `up` starts it, with the install's key
    const installKey = 'per-install-fingerprint-key-0123456789';
    const keyedPort = (await start({ fingerprintKey: installKey })).port;
    // When
    const ok = await post(keyedPort, '/v1/chat/completions', CHAT, keyed);
    const wrong = await post(keyedPort, '/v1/chat/completions', CHAT, { 'x-provider-api-key': 'sk-guess-0000' });
    // Then: the HMAC of the key under the install key, which validate and doctor compute the same way
    const hmac = (v: string) => createHmac('sha256', installKey).update(v).digest('hex').slice(0, 8);
    expect(ok.headers[SIM_HEADERS.keyFingerprint]).toBe(hmac(KEY));
    expect(ok.headers[SIM_HEADERS.keyFingerprint]).toBe(fingerprint(KEY, installKey));
    expect(fingerprintKey(KEY, installKey)).toBe(fingerprint(KEY, installKey));
    expect(wrong.headers[SIM_HEADERS.keyFingerprint]).toBe(hmac('sk-guess-0000'));
    // a guess hashed without the install key matches neither
    expect(ok.headers[SIM_HEADERS.keyFingerprint]).not.toBe(fp(KEY));
    expect(wrong.headers[SIM_HEADERS.keyFingerprint]).not.toBe(fp('sk-guess-0000'));
    // another install's key gives another fingerprint for the same provider key
    expect(fingerprint(KEY, 'another-install')).not.toBe(ok.headers[SIM_HEADERS.keyFingerprint]);
  });

  it('the program reads the install fingerprint key from SIM_FINGERPRINT_KEY', () => {
    expect(parseProviderSimArgs([], { PROVIDER_API_KEY: KEY, SIM_FINGERPRINT_KEY: 'k-123' }).fingerprintKey).toBe('k-123');
    expect(parseProviderSimArgs([], { PROVIDER_API_KEY: KEY }).fingerprintKey).toBeUndefined();
  });

  it.each(['a', 'ab', 'abc', ' ', 'é'])('survives the short key %j and keeps serving', async (key) => {
    const res = await post(port, '/v1/chat/completions', CHAT, { 'x-provider-api-key': key });
    expect([401]).toContain(res.status);
    const health = await send(port, { path: '/health' });
    expect(health.status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined, 'absent'],
    ['a JWT-shaped bearer (the MaaS token leaking upstream)', `Bearer ${JWT}`, 'jwt'],
    ['an opaque bearer', 'Bearer sk-something-opaque', 'bearer'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'other'],
  ])('classifies %s in x-sim-authorization', async (_what, authorization, expected) => {
    const headers = { ...keyed, ...(authorization ? { authorization } : {}) };
    const res = await post(port, '/v1/chat/completions', CHAT, headers);
    expect(res.status).toBe(200);
    expect(res.headers[SIM_HEADERS.authorization]).toBe(expected);
    if (authorization) expect(visibleText(res)).not.toContain(authorization.split(' ')[1]);
  });

  it('lists the received header names, duplicates included, and echoes x-request-id', async () => {
    // When
    const res = await send(port, {
      method: 'POST',
      path: '/v1/chat/completions',
      body: CHAT,
      headers: { ...keyed, 'X-Request-Id': 'req-123', 'X-Hop-Internal': 'yes', Authorization: [`Bearer ${JWT}`, 'Bearer other'] },
    });
    // Then
    const echo = readSimEcho(res.headers);
    expect(echo.requestId).toBe('req-123');
    expect(echo.headerNames).toEqual(expect.arrayContaining(['x-provider-api-key', 'x-request-id', 'x-hop-internal']));
    expect(echo.headerNames?.filter((name) => name === 'authorization')).toHaveLength(2);
    expect(echo.authorization).toBe('jwt');
    expect(echo.provider).toBe('openai');
  });

  it('puts the echo headers on every response, even an empty x-sim-request-id', async () => {
    for (const res of [
      await send(port, { path: '/nope' }),
      await send(port, { path: '/health' }),
      await post(port, '/v1/chat/completions', CHAT),
      await post(port, '/v1/chat/completions', '{', keyed),
    ]) {
      for (const name of [SIM_HEADERS.provider, SIM_HEADERS.path, SIM_HEADERS.keyStatus, SIM_HEADERS.authorization,
        SIM_HEADERS.requestId, SIM_HEADERS.headerNames]) {
        expect(res.headers, name).toHaveProperty(name);
      }
    }
  });

  it('answers 404 model_not_found for a model it does not serve and the served model when none is given', async () => {
    // When
    const wrong = await post(port, '/v1/chat/completions', { ...CHAT, model: 'gpt-5' }, keyed);
    const none = await post(port, '/v1/chat/completions', { messages: CHAT.messages }, keyed);
    // Then
    expect(wrong.status).toBe(404);
    expect(wrong.json).toEqual({
      error: {
        code: 'model_not_found',
        message: 'The model `gpt-5` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        param: null,
      },
    });
    expect(none.status).toBe(200);
    expect((none.json as { model: string }).model).toBe('gpt-4');
  });

  it.each([
    ['malformed JSON', '{"messages": [', null],
    ['no messages', { model: 'gpt-4' }, 'messages'],
    ['empty messages', { model: 'gpt-4', messages: [] }, 'messages'],
    ['messages not an array', { messages: 'hi' }, 'messages'],
    ['max_tokens of 0', { messages: CHAT.messages, max_tokens: 0 }, 'max_tokens'],
    ['max_tokens not an integer', { messages: CHAT.messages, max_tokens: 2.5 }, 'max_tokens'],
    ['a JSON array body', [1, 2], null],
  ])('answers 400 invalid_request_error for %s', async (_what, body, param) => {
    const res = await post(port, '/v1/chat/completions', body, keyed);
    expect(res.status).toBe(400);
    expect(errorOf(res).type).toBe('invalid_request_error');
    expect(errorOf(res).param).toBe(param);
    expect(typeof errorOf(res).message).toBe('string');
  });

  it('never returns more completion tokens than max_tokens, and says length only when it cut', async () => {
    const reasons = new Set<string>();
    for (let i = 0; i < 300; i += 1) {
      // Given
      const max = 1 + (i % 30);
      // When
      const res = await post(port, '/v1/chat/completions', { ...CHAT, max_tokens: max }, keyed);
      // Then
      const body = res.json as CompletionBody;
      const completion = body.usage.completion_tokens;
      expect(completion).toBeGreaterThanOrEqual(Math.min(5, max));
      expect(completion).toBeLessThanOrEqual(Math.min(24, max));
      if (body.choices[0]?.finish_reason === 'length') expect(completion).toBe(max);
      if (completion < max) expect(body.choices[0]?.finish_reason).toBe('stop');
      expect(body.choices[0]?.message.content.split(' ')).toHaveLength(completion);
      reasons.add(body.choices[0]?.finish_reason ?? '');
    }
    // both conditional assertions above ran: some completions were cut (max_tokens 1–4 always cuts), some not
    expect([...reasons].sort()).toEqual(['length', 'stop']);
  });

  it('draws 5 to 24 completion tokens without max_tokens', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i += 1) {
      const res = await post(port, '/v1/chat/completions', { messages: CHAT.messages }, keyed);
      const usage = (res.json as { usage: Record<string, number> }).usage;
      expect(usage.completion_tokens).toBeGreaterThanOrEqual(5);
      expect(usage.completion_tokens).toBeLessThanOrEqual(24);
      seen.add(usage.completion_tokens ?? 0);
      expect((res.json as { choices: { finish_reason: string }[] }).choices[0]?.finish_reason).toBe('stop');
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('counts prompt tokens from the words of all messages, at least 1', async () => {
    // When
    const two = await post(port, '/v1/chat/completions', {
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Say hi in one sentence.' }] },
      ],
    }, keyed);
    const empty = await post(port, '/v1/chat/completions', { messages: [{ role: 'user', content: '' }] }, keyed);
    // Then
    const usage = (two.json as { usage: Record<string, number> }).usage;
    expect(usage.prompt_tokens).toBe(3 + 5);
    expect(usage.total_tokens).toBe((usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0));
    expect((empty.json as { usage: Record<string, number> }).usage.prompt_tokens).toBe(1);
  });

  it('answers /v1/completions with the text_completion shape', async () => {
    const res = await post(port, '/v1/completions', { model: 'gpt-4', prompt: 'Once upon a time', max_tokens: 3 }, keyed);
    expect(res.status).toBe(200);
    const body = res.json as CompletionBody;
    expect(body.object).toBe('text_completion');
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.choices[0]?.text.split(' ')).toHaveLength(body.usage.completion_tokens);
    expect(body.usage.prompt_tokens).toBe(4);
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0]?.finish_reason).toBe('length');
  });

  it('lists its model on /v1/models and wants the key there', async () => {
    const ok = await send(port, { path: '/v1/models', headers: keyed });
    const missing = await send(port, { path: '/v1/models' });
    expect(ok.json).toEqual({
      object: 'list',
      data: [{ id: 'gpt-4', object: 'model', created: expect.any(Number), owned_by: 'openai' }],
    });
    expect(missing.status).toBe(401);
  });

  it('streams chunks, a usage chunk when include_usage is set, then [DONE]', async () => {
    // When
    const res = await post(port, '/v1/chat/completions', {
      ...CHAT, stream: true, stream_options: { include_usage: true },
    }, keyed);
    // Then
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    const chunks = sseChunks(res.text);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.object).toBe('chat.completion.chunk');
    const usage = chunks.at(-1)?.usage as Usage;
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    const content = chunks.slice(0, -1).map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content.split(' ')).toHaveLength(usage.completion_tokens);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toMatch(/^(stop|length)$/);
  });

  it('streams without any usage when include_usage is not set', async () => {
    const res = await post(port, '/v1/chat/completions', { ...CHAT, stream: true }, keyed);
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    const chunks = sseChunks(res.text);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk).not.toHaveProperty('usage');
      expect(chunk.choices).toHaveLength(1);
    }
  });

  it('streams text completions too', async () => {
    const res = await post(port, '/v1/completions', { prompt: 'hi', stream: true, max_tokens: 2 }, keyed);
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    const text = sseChunks(res.text).map((chunk) => chunk.choices[0]?.text).join('');
    expect(text.split(' ')).toHaveLength(2);
  });

  it('answers 413 to a 2 MiB body and keeps serving', async () => {
    // Given
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] });
    // When
    const res = await post(port, '/v1/chat/completions', big, keyed);
    // Then
    expect(res.status).toBe(413);
    expect(errorOf(res).code).toBe('request_too_large');
    expect((await send(port, { path: '/health' })).status).toBe(200);
  });

  it('accepts a body just under the limit', async () => {
    const content = 'word '.repeat(200_000);
    const res = await post(port, '/v1/chat/completions', { messages: [{ role: 'user', content }], max_tokens: 5 }, keyed);
    expect(res.status).toBe(200);
    expect((res.json as { usage: Record<string, number> }).usage.prompt_tokens).toBe(200_000);
  });
});

describe('provider-sim, vllm style', () => {
  let port: number;
  const bearer = { authorization: `Bearer ${VLLM_KEY}` };
  const QWEN = { model: 'Qwen/Qwen3-0.6B', messages: [{ role: 'user', content: 'Say hi in one sentence.' }], max_tokens: 20 };
  beforeAll(async () => {
    port = (await start({ apiKey: VLLM_KEY, name: 'vllm', model: 'Qwen/Qwen3-0.6B', style: 'vllm' })).port;
  });

  it('answers with the bearer key on the exact path', async () => {
    const res = await post(port, '/v1/chat/completions', QWEN, bearer);
    expect(res.status).toBe(200);
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe('ok');
    expect(res.headers[SIM_HEADERS.keyFingerprint]).toBe(fp(VLLM_KEY));
    expect(res.headers[SIM_HEADERS.authorization]).toBe('bearer');
  });

  it.each(['/vllm/v1/chat/completions', '//v1/chat/completions'])('answers FastAPI 404 for %s', async (path) => {
    const res = await post(port, path, QWEN, bearer);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ detail: 'Not Found' });
    expect(res.headers[SIM_HEADERS.path]).toBe(path);
  });

  it('answers FastAPI 405 for the wrong method', async () => {
    const res = await send(port, { method: 'DELETE', path: '/v1/models', headers: bearer });
    expect(res.status).toBe(405);
    expect(res.json).toEqual({ detail: 'Method Not Allowed' });
  });

  it.each([
    ['missing', {}, 'missing'],
    ['wrong', { authorization: 'Bearer bogus-key' }, 'invalid'],
    ['the MaaS token instead of the key', { authorization: `Bearer ${JWT}` }, 'invalid'],
    ['the key in the provider header', { 'x-provider-api-key': VLLM_KEY }, 'missing'],
    ['a one-character key', { authorization: 'Bearer x' }, 'invalid'],
  ])('answers 401 Unauthorized when the key is %s', async (_what, headers, status) => {
    const res = await post(port, '/v1/chat/completions', QWEN, headers);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: 'Unauthorized' });
    expect(res.headers[SIM_HEADERS.keyStatus]).toBe(status);
    expect(res.text).not.toContain('bogus');
  });

  it('answers the vLLM model error for another model', async () => {
    const res = await post(port, '/v1/chat/completions', { ...QWEN, model: 'gpt-4' }, bearer);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      object: 'error', message: 'The model `gpt-4` does not exist.', type: 'NotFoundError', param: null, code: 404,
    });
  });

  it('answers a vLLM BadRequestError for malformed JSON', async () => {
    const res = await post(port, '/v1/chat/completions', 'not json', bearer);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
  });

  it('serves /health without a key', async () => {
    expect((await send(port, { path: '/health' })).json).toEqual({ status: 'healthy' });
  });
});

describe('provider-sim options', () => {
  it('reads the key from another header, e.g. authorization with Bearer, and names it in messages', async () => {
    // Given
    const { port } = await start({ keyHeader: 'authorization' });
    // When
    const ok = await post(port, '/v1/chat/completions', CHAT, { authorization: `Bearer ${KEY}` });
    const missing = await post(port, '/v1/chat/completions', CHAT, keyed);
    // Then
    expect(ok.status).toBe(200);
    expect(missing.status).toBe(401);
    expect(errorOf(missing).message).toBe('Missing API key. Set Authorization header.');
  });

  it('refuses a key header with the vllm style, which always reads Authorization', async () => {
    await expect(startProviderSim({ apiKey: KEY, style: 'vllm', keyHeader: 'x-provider-api-key' })).rejects.toThrow(UsageError);
  });

  it('takes the key from anything with reveal(), like core Secret', async () => {
    const { port } = await start({ apiKey: { reveal: () => 'k' } });
    expect((await post(port, '/v1/chat/completions', CHAT, { 'x-provider-api-key': 'k' })).status).toBe(200);
  });

  it('adds --latency-ms before answering', async () => {
    const { port } = await start({ latencyMs: 150 });
    const began = Date.now();
    await post(port, '/v1/chat/completions', CHAT, keyed);
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
  });

  it('logs one line per response without keys or Authorization values', async () => {
    // Given
    const lines: string[] = [];
    const { port } = await start({ log: (line) => lines.push(line) });
    // When
    await post(port, '/v1/chat/completions', CHAT, { 'x-provider-api-key': 'wrong-key-value', authorization: `Bearer ${JWT}` });
    await post(port, '/v1/chat/completions', CHAT, keyed);
    // Then
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^openai POST \/v1\/chat\/completions 401 key=invalid auth=jwt \d+ms$/);
    const all = lines.join('\n');
    for (const secret of ['wrong-key-value', KEY, JWT]) expect(all).not.toContain(secret);
  });

  it('closes while a slow stream is in flight', async () => {
    const sim = await startProviderSim({ apiKey: KEY, latencyMs: 5_000 });
    const pending = post(sim.port, '/v1/chat/completions', { ...CHAT, stream: true }, keyed).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const began = Date.now();
    await sim.close();
    await pending;
    expect(Date.now() - began).toBeLessThan(3_000);
  });

  it('refuses to start on a port in use', async () => {
    const { port } = await start();
    await expect(startProviderSim({ apiKey: KEY, port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('classifyAuthorization', () => {
  it.each([
    [undefined, 'absent'],
    ['', 'absent'],
    [`Bearer ${JWT}`, 'jwt'],
    [`bearer   ${JWT}`, 'jwt'],
    ['Bearer a.b.c', 'jwt'],
    ['Bearer a.b', 'bearer'],
    ['Bearer a.b.c.d', 'bearer'],
    ['Bearer a+b.c.d', 'bearer'],
    ['Bearer change-me-super-secret', 'bearer'],
    ['Bearer', 'other'],
    [JWT, 'other'],
    ['Basic dXNlcjpwYXNz', 'other'],
  ])('classifies %j as %s', (value, expected) => {
    expect(classifyAuthorization(value)).toBe(expected);
  });
});

describe('parseProviderSimArgs', () => {
  it('takes the key from PROVIDER_API_KEY and the rest from flags', () => {
    const args = parseProviderSimArgs(
      ['--port', '8000', '--host', '0.0.0.0', '--name', 'anthropic', '--model', 'claude-3-sonnet', '--style', 'provider',
        '--key-header', 'x-api-key', '--latency-ms', '20', '--port-file', '/tmp/p'],
      { PROVIDER_API_KEY: 'sk-ant\n' },
    );
    expect(args).toMatchObject({
      apiKey: 'sk-ant', port: 8000, host: '0.0.0.0', name: 'anthropic', model: 'claude-3-sonnet', style: 'provider',
      keyHeader: 'x-api-key', latencyMs: 20, portFile: '/tmp/p',
    });
  });

  it('prefers --api-key-file over the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provider-sim-'));
    writeFileSync(join(dir, 'key'), 'from-file\n');
    const args = parseProviderSimArgs(['--api-key-file', join(dir, 'key')], { PROVIDER_API_KEY: 'from-env' });
    expect(args.apiKey).toBe('from-file');
  });

  it('refuses to run without a key', () => {
    expect(() => parseProviderSimArgs([], {})).toThrow(UsageError);
    expect(() => parseProviderSimArgs([], {})).toThrow('no API key: set PROVIDER_API_KEY or pass --api-key-file FILE');
  });

  it.each([
    [['--api-key', 'sk-pasted-secret']],
    [['--api-key=sk-pasted-secret']],
    [['sk-pasted-secret']],
  ])('refuses a key on the command line without repeating it: %j', (argv) => {
    try {
      parseProviderSimArgs(argv, { PROVIDER_API_KEY: 'k' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).not.toContain('pasted');
    }
  });

  it('rejects a bad style, port or unknown flag', () => {
    const env = { PROVIDER_API_KEY: 'k' };
    expect(() => parseProviderSimArgs(['--style', 'claude'], env)).toThrow('--style must be provider, vllm or anthropic');
    expect(() => parseProviderSimArgs(['--port', '70000'], env)).toThrow('--port must be an integer');
    expect(() => parseProviderSimArgs(['--port', '80x'], env)).toThrow('--port must be an integer');
    expect(() => parseProviderSimArgs(['--verbose'], env)).toThrow('unknown option --verbose');
  });
});
