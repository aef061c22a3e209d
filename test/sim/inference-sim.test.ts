import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_HEADERS, SIM_HEADERS } from '../../src/sim/headers.js';
import { parseInferenceSimArgs, startInferenceSim, type InferenceSimOptions } from '../../src/sim/inference-sim.js';
import { type RunningSim, UsageError } from '../../src/sim/sim-program.js';
import { requireTool } from '../helpers/prereq.js';
import { post, send, sseChunks, sseData, type CompletionBody, type Usage } from './http-client.js';

const MODEL = 'facebook/opt-125m';
const CHAT = { model: MODEL, messages: [{ role: 'user', content: 'Hello from on-prem' }], max_tokens: 10 };

const sims: RunningSim[] = [];
async function start(options: Partial<InferenceSimOptions> = {}): Promise<RunningSim> {
  const sim = await startInferenceSim({ model: MODEL, podName: '', podNamespace: '', ...options });
  sims.push(sim);
  return sim;
}
afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
});

describe('inference-sim, random mode', () => {
  let port: number;
  beforeAll(async () => {
    port = (await start({ servedModelNames: ['opt'] })).port;
  });

  it('answers a chat completion in the llm-d shape', async () => {
    // When
    const res = await post(port, '/v1/chat/completions', CHAT, { 'x-request-id': 'abc' });
    // Then
    expect(res.status).toBe(200);
    const body = res.json as CompletionBody;
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe(MODEL);
    expect(body.kv_transfer_params).toBeNull();
    expect(body.choices[0]?.message.role).toBe('assistant');
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(body.usage.prompt_tokens).toBe(3);
    expect(res.headers[SIM_HEADERS.path]).toBe('/v1/chat/completions');
    expect(res.headers[SIM_HEADERS.requestId]).toBe('abc');
  });

  it('keeps completions within max_tokens and says length exactly when it reaches it', async () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 200; i += 1) {
      // Given
      const max = 1 + (i % 12);
      // When
      const body = (await post(port, '/v1/chat/completions', { ...CHAT, max_tokens: max })).json as CompletionBody;
      // Then
      const completion = body.usage.completion_tokens;
      lengths.add(completion);
      expect(completion).toBeGreaterThanOrEqual(1);
      expect(completion).toBeLessThanOrEqual(max);
      expect(body.choices[0]?.finish_reason).toBe(completion === max ? 'length' : 'stop');
      expect(body.choices[0]?.message.content.split(' ')).toHaveLength(completion);
    }
    expect(lengths.size).toBeGreaterThan(3);
  });

  it('answers to a served model name and reports that name', async () => {
    const res = await post(port, '/v1/chat/completions', { ...CHAT, model: 'opt' });
    expect(res.status).toBe(200);
    expect((res.json as CompletionBody).model).toBe('opt');
  });

  it('answers 404 NotFoundError for an unknown model', async () => {
    const res = await post(port, '/v1/chat/completions', { ...CHAT, model: 'gpt-4' });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { message: 'The model `gpt-4` does not exist.', type: 'NotFoundError', code: 404 } });
  });

  it.each([
    ['malformed JSON', '{"model":'],
    ['no messages', { model: MODEL }],
    ['empty messages', { model: MODEL, messages: [] }],
    ['negative max_tokens', { ...CHAT, max_tokens: -1 }],
  ])('answers 400 BadRequestError for %s', async (_what, body) => {
    const res = await post(port, '/v1/chat/completions', body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { message: expect.any(String), type: 'BadRequestError', code: 400 } });
  });

  it.each([
    ['the KServe route prefix', '/llm/facebook-opt-125m-simulated/v1/chat/completions'],
    ['a double slash', '//v1/chat/completions'],
    ['an unknown path', '/metrics-nope'],
  ])('answers 404 for %s', async (_what, path) => {
    const res = await post(port, path, CHAT);
    expect(res.status).toBe(404);
    expect(res.headers[SIM_HEADERS.path]).toBe(path);
  });

  it('answers 405 for a known path and the wrong method', async () => {
    const res = await send(port, { method: 'POST', path: '/v1/models', body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it.each(['/health', '/ready'])('answers %s with {}', async (path) => {
    const res = await send(port, { path });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
  });

  it('lists the model and its served names on /v1/models', async () => {
    const res = await send(port, { path: '/v1/models' });
    const item = (id: string): unknown => ({ id, object: 'model', created: expect.any(Number), owned_by: 'vllm', root: MODEL, parent: null });
    expect(res.json).toEqual({ object: 'list', data: [item(MODEL), item('opt')] });
  });

  it('answers /v1/completions with the text_completion shape', async () => {
    const res = await post(port, '/v1/completions', { model: MODEL, prompt: 'The capital of France is', max_tokens: 4 });
    const body = res.json as CompletionBody;
    expect(body.object).toBe('text_completion');
    expect(body.usage.prompt_tokens).toBe(5);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(4);
    expect(body.kv_transfer_params).toBeNull();
  });

  it('streams with a usage chunk when include_usage is set, and ends with [DONE]', async () => {
    // When
    const withUsage = await post(port, '/v1/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: true } });
    const without = await post(port, '/v1/chat/completions', { ...CHAT, stream: true });
    // Then
    expect(withUsage.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sseData(withUsage.text).at(-1)).toBe('[DONE]');
    const chunks = sseChunks(withUsage.text);
    const usage = chunks.at(-1)?.usage as Usage;
    expect(chunks.at(-1)?.choices).toEqual([]);
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content.split(' ')).toHaveLength(usage.completion_tokens);
    expect(sseData(without.text).at(-1)).toBe('[DONE]');
    expect(sseChunks(without.text).length).toBeGreaterThan(0);
    for (const chunk of sseChunks(without.text)) expect(chunk).not.toHaveProperty('usage');
  });

  it('answers 413 to a 2 MiB body', async () => {
    const big = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'y'.repeat(2 * 1024 * 1024) }] });
    const res = await post(port, '/v1/chat/completions', big);
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { type: 'BadRequestError', code: 413 } });
  });

  it('sets no x-inference headers without a pod name or namespace', async () => {
    const res = await send(port, { path: '/health' });
    expect(res.headers[INFERENCE_HEADERS.pod]).toBeUndefined();
    expect(res.headers[INFERENCE_HEADERS.port]).toBeUndefined();
  });
});

describe('inference-sim, echo mode', () => {
  let port: number;
  beforeAll(async () => {
    port = (await start({ mode: 'echo', podName: 'opt-125m-kserve-abc', podNamespace: 'llm' })).port;
  });

  it('echoes the last user message', async () => {
    // When
    const res = await post(port, '/v1/chat/completions', {
      model: MODEL,
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'an answer' },
        { role: 'user', content: 'Hello from on-prem' },
      ],
    });
    // Then
    const body = res.json as CompletionBody;
    expect(body.choices[0]?.message.content).toBe('Hello from on-prem');
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  });

  it('truncates the echo to max_tokens and says length', async () => {
    const res = await post(port, '/v1/chat/completions', {
      ...CHAT, messages: [{ role: 'user', content: 'one two three four five six' }], max_tokens: 4,
    });
    const body = res.json as CompletionBody;
    expect(body.choices[0]?.message.content).toBe('one two three four');
    expect(body.choices[0]?.finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(4);
  });

  it('says which pod, namespace and port answered', async () => {
    const res = await send(port, { path: '/health' });
    expect(res.headers[INFERENCE_HEADERS.pod]).toBe('opt-125m-kserve-abc');
    expect(res.headers[INFERENCE_HEADERS.namespace]).toBe('llm');
    expect(res.headers[INFERENCE_HEADERS.port]).toBe(String(port));
  });
});

describe('inference-sim latencies', () => {
  it('waits time-to-first-token plus inter-token latency', async () => {
    const { port } = await start({ mode: 'echo', timeToFirstTokenMs: 100, interTokenLatencyMs: 30 });
    const began = Date.now();
    await post(port, '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: 'a b c' }] });
    expect(Date.now() - began).toBeGreaterThanOrEqual(100 + 2 * 30 - 10);
  });
});

describe('inference-sim over TLS', () => {
  // Without openssl this suite fails saying how to get it (never a silent skip).
  beforeAll(() => requireTool('openssl'));

  it('serves HTTPS with the given certificate like the KServe-mounted one', async () => {
    // Given
    const dir = mkdtempSync(join(tmpdir(), 'inference-sim-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'),
    ], { stdio: 'ignore' });
    const args = parseInferenceSimArgs(['--model', MODEL, '--ssl-certfile', join(dir, 'tls.crt'), '--ssl-keyfile', join(dir, 'tls.key')]);
    const { port } = await start({ ...args, podName: '', podNamespace: '' });
    // When
    const res = await send(port, { path: '/health', tls: { ca: readFileSync(join(dir, 'tls.crt')) } });
    // Then
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
  });
});

describe('parseInferenceSimArgs', () => {
  it('parses the llm-d flags', () => {
    const args = parseInferenceSimArgs([
      '--port', '8000', '--host', '0.0.0.0', '--model', MODEL, '--served-model-name', 'opt,opt-125m', '--served-model-name', 'x',
      '--mode', 'echo', '--time-to-first-token', '20', '--inter-token-latency', '5', '--port-file', '/tmp/p',
    ]);
    expect(args).toMatchObject({
      port: 8000, host: '0.0.0.0', model: MODEL, servedModelNames: ['opt', 'opt-125m', 'x'], mode: 'echo',
      timeToFirstTokenMs: 20, interTokenLatencyMs: 5, portFile: '/tmp/p',
    });
  });

  it('requires --model and a known mode, and both TLS files', () => {
    expect(() => parseInferenceSimArgs([])).toThrow(UsageError);
    expect(() => parseInferenceSimArgs(['--model', MODEL, '--mode', 'loud'])).toThrow('--mode must be random or echo');
    expect(() => parseInferenceSimArgs(['--model', MODEL, '--ssl-certfile', '/x'])).toThrow('go together');
    expect(() => parseInferenceSimArgs(['--model', MODEL, '--time-to-first-token', '-5'])).toThrow(UsageError);
  });
});
