/**
 * The provider simulators of the subscription era: the Anthropic style (Messages API, its headers,
 * errors and SSE sequence) and HTTPS serving under a provider's own CA, verified by hostname the way
 * a gateway's TLS origination verifies api.anthropic.com; plain HTTP stays available (vLLM).
 */
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProviderSimArgs, startProviderSim } from '../../src/sim/provider-sim.js';
import { type RunningSim, UsageError } from '../../src/sim/sim-program.js';
import { parseMessagesRequest } from '../../src/sim/anthropic-sim.js';
import { createProviderPki, type ProviderPki } from '../../src/targets/local/certificates.js';
import { post, send } from '../sim/http-client.js';

const KEY = 'sk-ant-api03-demo-key-for-the-simulator';
const V = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
const MSG = { model: 'claude-sonnet-4-20250514', max_tokens: 50, messages: [{ role: 'user', content: 'Hello there Claude' }] };

const sims: RunningSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function httpsCall(port: number, opts: { ca?: string; servername: string; path: string; method?: string; headers?: Record<string, string>; body?: unknown }): Promise<Res> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: opts.path,
        method: opts.method ?? 'POST',
        servername: opts.servername,
        ...(opts.ca ? { ca: opts.ca } : {}),
        agent: false,
        headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `event:`/`data:` pairs of an SSE body. */
function events(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>;
      return { event, data };
    });
}

describe('provider-sim, anthropic style', () => {
  let port: number;
  beforeAll(async () => {
    const sim = await startProviderSim({ apiKey: KEY, name: 'anthropic', model: MSG.model, style: 'anthropic' });
    sims.push(sim);
    port = sim.port;
  });

  it('answers POST /v1/messages with a Messages body and the usage in input/output tokens', async () => {
    const res = await post(port, '/v1/messages', MSG, V);
    expect(res.status).toBe(200);
    expect(res.headers['request-id']).toMatch(/^req_/);
    const body = res.json as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'message', role: 'assistant', model: MSG.model, stop_sequence: null });
    expect(String(body.id)).toMatch(/^msg_/);
    expect((body.content as { type: string; text: string }[])[0]?.type).toBe('text');
    expect(['end_turn', 'max_tokens']).toContain(body.stop_reason);
    const usage = body.usage as { input_tokens: number; output_tokens: number };
    expect(usage.input_tokens).toBe(3);
    expect(usage.output_tokens).toBe((body.content as { text: string }[])[0]!.text.split(' ').length);
    // The key arrived in x-api-key (fingerprint only in the echo), never in Authorization
    expect(res.headers['x-sim-key-status']).toBe('ok');
    expect(res.headers['x-sim-authorization']).toBe('absent');
  });

  it('streams Anthropic\'s event sequence, usage in message_start and message_delta', async () => {
    const res = await post(port, '/v1/messages', { ...MSG, stream: true }, V);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const ev = events(res.text);
    const names = ev.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(new Set(names.slice(3, -3))).toEqual(new Set(['content_block_delta']));
    for (const e of ev) expect(e.data.type).toBe(e.event);
    const text = ev.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text).join('');
    const delta = ev.find((e) => e.event === 'message_delta')!.data as { usage: { output_tokens: number }; delta: { stop_reason: string } };
    expect(delta.usage.output_tokens).toBe(text.split(' ').length);
    expect((ev[0]!.data.message as { usage: { input_tokens: number } }).usage.input_tokens).toBe(3);
    expect(res.text).not.toContain('[DONE]');
  });

  it('answers errors in Anthropic\'s envelope: key, version, path, model, body', async () => {
    const cases: [string, Record<string, string>, unknown, number, string, string][] = [
      ['/v1/messages', { 'anthropic-version': '2023-06-01' }, MSG, 401, 'authentication_error', 'x-api-key header is required'],
      ['/v1/messages', { 'x-api-key': 'sk-ant-wrong', 'anthropic-version': '2023-06-01' }, MSG, 401, 'authentication_error', 'invalid x-api-key'],
      ['/v1/messages', { authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' }, MSG, 401, 'authentication_error', 'x-api-key header is required'],
      ['/v1/messages', { 'x-api-key': KEY }, MSG, 400, 'invalid_request_error', 'anthropic-version: header is required'],
      ['/v1/chat/completions', V, MSG, 404, 'not_found_error', 'Not found'],
      ['/anthropic/v1/messages', V, MSG, 404, 'not_found_error', 'Not found'],
      ['/v1/messages', V, { ...MSG, model: 'gpt-4o' }, 404, 'not_found_error', 'model: gpt-4o'],
      ['/v1/messages', V, { model: MSG.model, messages: MSG.messages }, 400, 'invalid_request_error', 'max_tokens: Field required'],
      // An OpenAI body that nobody translated: system role in messages, OpenAI-only fields
      ['/v1/messages', V, { ...MSG, messages: [{ role: 'system', content: 'Be brief' }, ...MSG.messages] }, 400, 'invalid_request_error',
        'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.'],
      ['/v1/messages', V, { ...MSG, stream: true, stream_options: { include_usage: true } }, 400, 'invalid_request_error', 'stream_options: Extra inputs are not permitted'],
    ];
    for (const [path, headers, body, status, type, message] of cases) {
      const res = await post(port, path, body, headers);
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(status);
      expect(res.json, path).toMatchObject({ type: 'error', error: { type, message } });
      expect(String((res.json as { request_id: string }).request_id)).toBe(res.headers['request-id']);
      expect(res.text).not.toContain(KEY);
    }
  });

  it('lists its model on GET /v1/models and counts tokens', async () => {
    const models = await send(port, { path: '/v1/models', headers: V });
    expect(models.json).toMatchObject({ data: [{ type: 'model', id: MSG.model }], has_more: false });
    const count = await post(port, '/v1/messages/count_tokens', { model: MSG.model, messages: MSG.messages }, V);
    expect(count.json).toEqual({ input_tokens: 3 });
  });

  it('parses a Messages body strictly (unit)', () => {
    expect(parseMessagesRequest(Buffer.from(JSON.stringify({ ...MSG, system: 'be kind to people' })), 'messages')).toEqual({ ok: true, model: MSG.model, maxTokens: 50, stream: false, inputTokens: 7 });
    expect(parseMessagesRequest(Buffer.from('{nope'), 'messages')).toMatchObject({ ok: false, status: 400 });
    expect(parseMessagesRequest(Buffer.from(JSON.stringify({ ...MSG, messages: [{ role: 'assistant', content: 'x' }] })), 'messages')).toMatchObject({ ok: false, message: 'messages: first message must use the "user" role' });
  });

  it('takes --style anthropic on the command line and refuses another key header', () => {
    const args = parseProviderSimArgs(['--style', 'anthropic', '--model', MSG.model], { PROVIDER_API_KEY: KEY });
    expect(args.style).toBe('anthropic');
    expect(() => parseProviderSimArgs(['--style', 'claude'], { PROVIDER_API_KEY: KEY })).toThrow(/provider, vllm or anthropic/);
    return expect(startProviderSim({ apiKey: KEY, style: 'anthropic', keyHeader: 'authorization' })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('provider simulators over HTTPS with their own CA', () => {
  let anthropicPki: ProviderPki;
  let openaiPki: ProviderPki;
  let port: number;
  beforeAll(async () => {
    [anthropicPki, openaiPki] = await Promise.all([createProviderPki('anthropic', ['api.anthropic.com']), createProviderPki('openai', ['api.openai.com'])]);
    const sim = await startProviderSim({ apiKey: KEY, name: 'anthropic', model: MSG.model, style: 'anthropic', tls: { cert: anthropicPki.certPem, key: anthropicPki.keyPem } });
    sims.push(sim);
    port = sim.port;
  });

  it('is reached and verified with the provider\'s CA and public hostname', async () => {
    const res = await httpsCall(port, { ca: anthropicPki.caPem, servername: 'api.anthropic.com', path: '/v1/messages', headers: V, body: MSG });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ type: 'message' });
  });

  it('fails verification with the system roots, another provider\'s CA, or a hostname the certificate does not name', async () => {
    await expect(httpsCall(port, { servername: 'api.anthropic.com', path: '/v1/messages', headers: V, body: MSG })).rejects.toThrow(/certificate/i);
    await expect(httpsCall(port, { ca: openaiPki.caPem, servername: 'api.anthropic.com', path: '/v1/messages', headers: V, body: MSG })).rejects.toThrow(/certificate/i);
    await expect(httpsCall(port, { ca: anthropicPki.caPem, servername: 'api.openai.com', path: '/v1/messages', headers: V, body: MSG })).rejects.toThrow(/api\.openai\.com|altnames/i);
  });

  it('serves HTTPS from --tls-cert/--tls-key files, and plain HTTP without them (the vLLM case)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-pki-'));
    writeFileSync(join(dir, 'cert.pem'), openaiPki.certPem);
    writeFileSync(join(dir, 'key.pem'), openaiPki.keyPem, { mode: 0o600 });
    const args = parseProviderSimArgs(['--name', 'openai', '--model', 'gpt-4o', '--key-header', 'authorization', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')], { PROVIDER_API_KEY: KEY });
    const tlsSim = await startProviderSim(args);
    sims.push(tlsSim);
    const res = await httpsCall(tlsSim.port, { ca: openaiPki.caPem, servername: 'api.openai.com', path: '/v1/chat/completions', headers: { authorization: `Bearer ${KEY}` }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(200);
    expect(() => parseProviderSimArgs(['--tls-cert', join(dir, 'cert.pem')], { PROVIDER_API_KEY: KEY })).toThrow(/go together/);

    const plain = await startProviderSim({ apiKey: KEY, style: 'vllm', model: 'm' });
    sims.push(plain);
    expect((await post(plain.port, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'x' }] }, { authorization: `Bearer ${KEY}` })).status).toBe(200);
  });
});
