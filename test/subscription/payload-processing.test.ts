/**
 * Payload processing through its ext_proc-shaped interface (`POST /v1/process`), driven the way the
 * MaaS gateway (Envoy) drives it: stage `pre` before auth, stage `main` after, then the response
 * phases; the mutations are applied and the request really sent to provider simulators (HTTPS under
 * their own CA for the public ones, plain HTTP for vLLM), so what the provider receives and what the
 * client gets back are both checked.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderSim } from '../../src/sim/provider-sim.js';
import type { RunningSim } from '../../src/sim/sim-program.js';
import { listen } from '../../src/sim/http-server.js';
import { createPayloadProcessing, clientIdentityHeaders, type PayloadProcessingHop, type ProcessingRequest, type ProcessingResponse } from '../../src/targets/local/payload-processor.js';
import { AnthropicStreamTranslator, openaiToAnthropicRequest } from '../../src/targets/local/api-translation.js';
import { createProviderPki, type ProviderPki } from '../../src/targets/local/certificates.js';
import { defaultPayloadProcessingSpec, type PayloadProcessingSpec } from '../../src/model/subscription.js';

const OPENAI_KEY = 'sk-proj-openai-provider-key-0001';
const ANTHROPIC_KEY = 'sk-ant-api03-anthropic-provider-key-0002';
const VLLM_KEY = 'vllm-provider-key-0003';

let hop: PayloadProcessingHop;
let processUrl: string;
const sims: RunningSim[] = [];
let pki: { openai: ProviderPki; anthropic: ProviderPki };
/** provider host → where the simulator really listens, and the CA a client trusts for it. */
const upstreams = new Map<string, { port: number; ca?: string }>();

function spec(overrides: Partial<PayloadProcessingSpec> = {}): PayloadProcessingSpec {
  const route = (provider: string, endpoint: string, targetModel: string, secret: string, tls = true, port = 443) => ({
    provider, endpoint, port, tls, targetModel, path: '/v1/chat/completions', apiFormat: provider === 'anthropic' ? 'messages' : 'openai', weight: 1, credentialRef: { name: secret, namespace: 'llm' },
  });
  return {
    ...defaultPayloadProcessingSpec(),
    externalModels: [
      { name: 'gpt-4o', namespace: 'llm', source: 'maas', modelName: 'gpt-4o', routes: [route('openai', 'api.openai.com', 'gpt-4o', 'openai-api-key')] },
      { name: 'claude-sonnet', namespace: 'llm', source: 'inference', modelName: 'claude-sonnet', routes: [route('anthropic', 'api.anthropic.com', 'claude-sonnet-4-20250514', 'anthropic-api-key')] },
      { name: 'remote-vllm', namespace: 'llm', source: 'maas', modelName: 'Qwen/Qwen3-0.6B', routes: [route('openai', 'vllm.internal.example.com', 'Qwen/Qwen3-0.6B', 'vllm-api-key', false, 8000)] },
    ],
    llmisvc: [{ modelName: 'granite', publisherId: 'publishers/llm/models/granite' }],
    secrets: [
      { name: 'openai-api-key', namespace: 'llm', managed: true, dataKeys: ['api-key'], apiKey: OPENAI_KEY },
      { name: 'anthropic-api-key', namespace: 'llm', managed: true, dataKeys: ['api-key'], apiKey: ANTHROPIC_KEY },
      { name: 'vllm-api-key', namespace: 'llm', managed: true, dataKeys: ['api-key'], apiKey: VLLM_KEY },
    ],
    responseTranslation: true,
    ...overrides,
  };
}

beforeAll(async () => {
  pki = { openai: await createProviderPki('openai', ['api.openai.com']), anthropic: await createProviderPki('anthropic', ['api.anthropic.com']) };
  const openai = await startProviderSim({ apiKey: OPENAI_KEY, name: 'openai', model: 'gpt-4o', keyHeader: 'authorization', tls: { cert: pki.openai.certPem, key: pki.openai.keyPem } });
  const anthropic = await startProviderSim({ apiKey: ANTHROPIC_KEY, name: 'anthropic', model: 'claude-sonnet-4-20250514', style: 'anthropic', tls: { cert: pki.anthropic.certPem, key: pki.anthropic.keyPem } });
  const vllm = await startProviderSim({ apiKey: VLLM_KEY, name: 'vllm', model: 'Qwen/Qwen3-0.6B', style: 'vllm' });
  sims.push(openai, anthropic, vllm);
  upstreams.set('api.openai.com', { port: openai.port, ca: pki.openai.caPem });
  upstreams.set('api.anthropic.com', { port: anthropic.port, ca: pki.anthropic.caPem });
  upstreams.set('vllm.internal.example.com', { port: vllm.port });
  hop = createPayloadProcessing(spec());
  processUrl = `http://127.0.0.1:${await listen(hop.server, 0)}/v1/process`;
});
afterAll(async () => {
  await hop?.close();
  await Promise.all(sims.map((s) => s.close()));
});

async function processMsg(msg: ProcessingRequest): Promise<ProcessingResponse> {
  const res = await fetch(processUrl, { method: 'POST', body: JSON.stringify(msg) });
  expect(res.status).toBe(200);
  return (await res.json()) as ProcessingResponse;
}

function applyHeaders(headers: Record<string, string>, m?: ProcessingResponse['headerMutation']): void {
  if (!m) return;
  for (const k of m.removeHeaders) delete headers[k];
  for (const [k, v] of Object.entries(m.setHeaders)) headers[k] = v;
}

interface Outcome {
  status: number;
  body: string;
  providerHeaders: Record<string, string>;
  pre: ProcessingResponse;
  main: ProcessingResponse;
  metadata: Record<string, unknown>;
  sentBody?: Record<string, unknown>;
  chunks: number;
}

let seq = 0;
/**
 * What Envoy does with the two ext_proc filters for one request, with the route table reduced to
 * "X-Gateway-Model-Name → the ExternalModel's provider endpoint" (the HTTPRoute the reconciler makes).
 */
async function through(path: string, body: Record<string, unknown>, clientHeaders: Record<string, string> = {}): Promise<Outcome> {
  const stream = `req-${++seq}`;
  const headers: Record<string, string> = { ':method': 'POST', ':path': path, 'content-type': 'application/json', authorization: 'Bearer sk-oai-client-key_x', ...clientHeaders };
  const raw = Buffer.from(JSON.stringify(body));
  // Stage 1 (before auth): the model into a header, route cache cleared.
  await processMsg({ stream, stage: 'pre', phase: 'request_headers', headers, endOfStream: false });
  const pre = await processMsg({ stream, stage: 'pre', phase: 'request_body', body: raw.toString('base64'), endOfStream: true });
  applyHeaders(headers, pre.headerMutation);
  // (auth runs here and injects identity headers)
  headers['x-maas-username'] = 'alice';
  headers['x-maas-subscription'] = 'demo-subscription';
  // Stage 2 (after auth).
  await processMsg({ stream, stage: 'main', phase: 'request_headers', headers, endOfStream: false });
  const half = Math.floor(raw.length / 2);
  const first = await processMsg({ stream, stage: 'main', phase: 'request_body', body: raw.subarray(0, half).toString('base64'), endOfStream: false });
  expect(first.bodyMutation).toEqual({ body: '' });
  const main = await processMsg({ stream, stage: 'main', phase: 'request_body', body: raw.subarray(half).toString('base64'), endOfStream: true });
  if (main.immediateResponse) {
    return { status: main.immediateResponse.status, body: Buffer.from(main.immediateResponse.body, 'base64').toString('utf8'), providerHeaders: {}, pre, main, metadata: {}, chunks: 0 };
  }
  applyHeaders(headers, main.headerMutation);
  const sent = main.bodyMutation ? Buffer.from(main.bodyMutation.body, 'base64') : raw;
  const meta = main.dynamicMetadata?.['envoy.filters.http.ext_proc.ipp'] as { endpoint: string; tls: boolean } | undefined;
  const host = meta?.endpoint ?? headers['x-gateway-model-name']!;
  const target = upstreams.get(host)!;
  const outPath = headers[':path']!;
  const wire = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith(':')));
  wire['content-length'] = String(sent.length);
  wire.host = host;

  return new Promise((resolve, reject) => {
    const onResponse = async (res: import('node:http').IncomingMessage) => {
      const respHeaders = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
      await processMsg({ stream, stage: 'main', phase: 'response_headers', status: res.statusCode ?? 0, headers: respHeaders, endOfStream: false });
      let out = '';
      let metadata: Record<string, unknown> = {};
      let chunks = 0;
      const pieces: Buffer[] = [];
      for await (const c of res) pieces.push(c as Buffer);
      // Deliver the response in small chunks, as a stream arrives.
      const all = Buffer.concat(pieces);
      const size = 37;
      for (let i = 0; i < all.length || i === 0; i += size) {
        const last = i + size >= all.length;
        const r = await processMsg({ stream, stage: 'main', phase: 'response_body', body: all.subarray(i, i + size).toString('base64'), endOfStream: last });
        chunks++;
        out += r.bodyMutation ? Buffer.from(r.bodyMutation.body, 'base64').toString('utf8') : all.subarray(i, i + size).toString('utf8');
        if (last) metadata = (r.dynamicMetadata?.['envoy.filters.http.ext_proc.ipp'] as Record<string, unknown>) ?? {};
        if (last) break;
      }
      resolve({
        status: res.statusCode ?? 0, body: out, providerHeaders: JSON.parse(respHeaders['x-sim-header-names'] ? JSON.stringify(respHeaders) : '{}') as Record<string, string>,
        pre, main, metadata, sentBody: JSON.parse(sent.toString('utf8')) as Record<string, unknown>, chunks,
      });
    };
    const opts = { host: '127.0.0.1', port: target.port, method: 'POST', path: outPath, headers: wire, agent: false as const };
    const handle = (res: import('node:http').IncomingMessage) => void onResponse(res).catch(reject);
    const req = meta?.tls === false || !target.ca ? httpRequest(opts, handle) : httpsRequest({ ...opts, ca: target.ca, servername: host }, handle);
    req.on('error', reject);
    req.end(sent);
  });
}

const CHAT = { model: 'claude-sonnet', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello to the gateway' }], max_tokens: 40 };

describe('stage pre (before auth)', () => {
  it('copies the body model into X-Gateway-Model-Name and asks for the route to be re-matched', async () => {
    const r = await through('/v1/chat/completions', { ...CHAT, model: 'gpt-4o' });
    expect(r.pre.headerMutation?.setHeaders).toEqual({ 'x-gateway-model-name': 'gpt-4o' });
    expect(r.pre.clearRouteCache).toBe(true);
  });

  it('maps a KServe served name to its publisher ID', async () => {
    const stream = 'pre-granite';
    await processMsg({ stream, stage: 'pre', phase: 'request_headers', headers: { ':path': '/v1/chat/completions' }, endOfStream: false });
    const r = await processMsg({ stream, stage: 'pre', phase: 'request_body', body: Buffer.from(JSON.stringify({ model: 'granite', messages: [] })).toString('base64'), endOfStream: true });
    expect(r.headerMutation?.setHeaders['x-gateway-model-name']).toBe('publishers/llm/models/granite');
  });
});

describe('stage main: request plugins', () => {
  it('OpenAI provider: strips identity headers and the client key, injects Authorization: Bearer from the Secret', async () => {
    const r = await through('/v1/chat/completions', { ...CHAT, model: 'gpt-4o' });
    expect(r.status).toBe(200);
    const rm = r.main.headerMutation!;
    expect(rm.removeHeaders).toEqual(expect.arrayContaining(['x-maas-username', 'x-maas-subscription']));
    expect(rm.setHeaders.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    // What the provider received: its own key (fingerprint), no x-maas-*, one Authorization
    const echo = r.providerHeaders;
    expect(echo['x-sim-key-status']).toBe('ok');
    expect(echo['x-sim-header-names']!.split(',').filter((h) => h.startsWith('x-maas-'))).toEqual([]);
    expect(echo['x-sim-header-names']!.split(',').filter((h) => h === 'authorization')).toHaveLength(1);
    expect(JSON.parse(r.body)).toMatchObject({ object: 'chat.completion', model: 'gpt-4o' });
    // The trace says what happened, with the key as a fingerprint only
    const trace = hop.traces.recent(50).filter((t) => t.requestId === `req-${seq}`);
    expect(trace.map((t) => t.detail.stage)).toEqual(['pre', 'main', 'main']);
    expect(trace[1]!.detail.plugins).toBe('maas-headers-guard → stream-usage-enforcer → model-provider-resolver → api-translation → apikey-injection');
    expect(trace[1]!.detail.key).toMatch(/^authorization from Secret llm\/openai-api-key \(fp [0-9a-f]{8}\)$/);
    expect(JSON.stringify(hop.traces.recent(100))).not.toContain(OPENAI_KEY);
  });

  it('Anthropic provider: translates to the Messages API, injects x-api-key and anthropic-version, answers in OpenAI shape', async () => {
    const r = await through('/v1/chat/completions', CHAT);
    expect(r.status).toBe(200);
    // Request translated: system extracted, path /v1/messages, the provider's model name, no OpenAI-only fields
    expect(r.main.headerMutation?.setHeaders).toMatchObject({ ':path': '/v1/messages', 'anthropic-version': '2023-06-01', 'x-api-key': ANTHROPIC_KEY });
    expect(r.main.headerMutation?.removeHeaders).toContain('authorization');
    expect(r.sentBody).toEqual({ model: 'claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'Say hello to the gateway' }], max_tokens: 40, system: 'Be brief.' });
    expect(r.providerHeaders['x-sim-authorization']).toBe('absent');
    // Response translated back
    const body = JSON.parse(r.body) as { object: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: { total_tokens: number; prompt_tokens: number } };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]!.message.role).toBe('assistant');
    expect(['stop', 'length']).toContain(body.choices[0]!.finish_reason);
    expect(body.usage.prompt_tokens).toBe(7);
    expect(r.metadata.usage).toEqual(body.usage);
  });

  it('Anthropic stream: the enforcer forces usage, the SSE is translated to OpenAI chunks ending in usage and [DONE]', async () => {
    const r = await through('/v1/chat/completions', { ...CHAT, stream: true });
    expect(r.status).toBe(200);
    expect(r.chunks).toBeGreaterThan(3);
    const data = r.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[]; usage: unknown });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const usageChunk = chunks[chunks.length - 1]!;
    expect(usageChunk.choices).toEqual([]);
    const text = chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? '')).join('');
    expect(usageChunk.usage).toEqual({ prompt_tokens: 7, completion_tokens: text.split(' ').length, total_tokens: 7 + text.split(' ').length });
    expect(r.metadata.usage).toEqual(usageChunk.usage);
    // The Anthropic request carried no stream_options (it would refuse them); the stream flag went through
    expect(r.sentBody).toMatchObject({ stream: true });
    expect(r.sentBody).not.toHaveProperty('stream_options');
  });

  it('OpenAI stream without include_usage: the enforcer adds it, so the provider sends usage and it is counted', async () => {
    const r = await through('/v1/chat/completions', { ...CHAT, model: 'gpt-4o', stream: true });
    expect(r.sentBody).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const usage = r.metadata.usage as { total_tokens: number } | null;
    expect(usage?.total_tokens).toBeGreaterThan(0);
    const trace = hop.traces.recent(10).filter((t) => t.requestId === `req-${seq}`);
    expect(trace[1]!.detail.usage).toBe('include_usage forced');
  });

  it('without the enforcer a stream is not counted (the pitfall doctor looks for)', async () => {
    hop.setSpec(spec({ requestPlugins: ['maas-headers-guard', 'model-provider-resolver', 'api-translation', 'apikey-injection'] }));
    try {
      const r = await through('/v1/chat/completions', { ...CHAT, model: 'gpt-4o', stream: true });
      expect(r.sentBody).not.toHaveProperty('stream_options');
      expect(r.metadata.usage).toBeNull();
      expect(hop.traces.recent(1)[0]!.detail.usage).toBe('stream without a usage chunk');
    } finally {
      hop.setSpec(spec());
    }
  });

  it('with response translation off (upstream\'s default) an Anthropic answer reaches the client untranslated and uncounted', async () => {
    hop.setSpec(spec({ responseTranslation: false }));
    try {
      const r = await through('/v1/chat/completions', CHAT);
      expect(JSON.parse(r.body)).toMatchObject({ type: 'message', role: 'assistant' });
      expect(r.metadata.usage).toBeNull();
      expect(hop.traces.recent(1)[0]!.detail.usage).toBe('not in OpenAI shape (response translation off)');
    } finally {
      hop.setSpec(spec());
    }
  });

  it('plain-HTTP endpoint (tls false, port 8000): the key is injected and travels in clear, as the docs warn', async () => {
    const r = await through('/v1/chat/completions', { model: 'Qwen/Qwen3-0.6B', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.main.dynamicMetadata?.['envoy.filters.http.ext_proc.ipp']).toMatchObject({ tls: false, port: 8000, endpoint: 'vllm.internal.example.com' });
    expect(hop.traces.recent(2)[0]!.detail.resolved).toContain('(plain HTTP)');
    expect(r.providerHeaders['x-sim-key-status']).toBe('ok');
  });

  it('a Secret without the ipp-managed label or without api-key: 500, the key never found', async () => {
    for (const broken of [{ managed: false, dataKeys: ['api-key'], apiKey: OPENAI_KEY }, { managed: true, dataKeys: ['token'], apiKey: undefined }]) {
      const s = spec();
      s.secrets = s.secrets.map((x) => (x.name === 'openai-api-key' ? { ...x, ...broken } : x));
      hop.setSpec(s);
      const r = await through('/v1/chat/completions', { ...CHAT, model: 'gpt-4o' });
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body)).toEqual({ error: { message: "provider 'openai' api key was not found", type: 'server_error', code: 500 } });
      expect(hop.traces.recent(1)[0]!.detail.key).toBe('no managed Secret llm/openai-api-key with data key api-key');
    }
    hop.setSpec(spec());
  });

  it('passes through what it does not manage, refuses an unsupported path for an external model', async () => {
    const stream = 'unmanaged';
    await processMsg({ stream, stage: 'main', phase: 'request_headers', headers: { ':path': '/v1/chat/completions', authorization: 'Bearer x' }, endOfStream: false });
    const r = await processMsg({ stream, stage: 'main', phase: 'request_body', body: Buffer.from(JSON.stringify({ model: 'onprem-thing', messages: [] })).toString('base64'), endOfStream: true });
    expect(r.headerMutation).toBeUndefined();
    expect(r.bodyMutation).toBeUndefined();
    const bad = await through('/v1/embeddings', { ...CHAT, model: 'gpt-4o' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { message: 'unsupported API endpoint' } });
  });

  it('native Messages clients: the enforcer still adds stream_options (it runs before the resolver), which Anthropic refuses', async () => {
    // Upstream's ordering weakness: the enforcer only skips formats the resolver has already named.
    const r = await through('/v1/messages', { model: 'claude-sonnet', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.sentBody).toHaveProperty('stream_options');
    expect(r.status).toBe(400);
  });

  it('names the client identity headers the gateway must refuse', () => {
    expect(clientIdentityHeaders({ 'X-MaaS-Username': 'eve', 'x-maas-group': '[]', authorization: 'x' })).toEqual(['X-MaaS-Username', 'x-maas-group']);
  });

  it('answers 400 for a message that is not a processing request', async () => {
    const res = await fetch(processUrl, { method: 'POST', body: '{"stage":"later"}' });
    expect(res.status).toBe(400);
  });
});

describe('translation units', () => {
  it('maps tools, tool calls and tool results to Anthropic blocks', () => {
    const t = openaiToAnthropicRequest({
      model: 'c', stop: 'END', max_completion_tokens: 9, temperature: 0.5, seed: 7, response_format: { type: 'json_object' },
      tools: [{ type: 'function', function: { name: 'get', description: 'd', parameters: { type: 'object' } } }], tool_choice: 'required',
      messages: [
        { role: 'developer', content: 'dev' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'get', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'r1' },
      ],
    });
    expect(t.body).toEqual({
      model: 'c', max_tokens: 9, system: 'dev', temperature: 0.5, stop_sequences: ['END'],
      tools: [{ name: 'get', description: 'd', input_schema: { type: 'object' } }], tool_choice: { type: 'any' },
      messages: [
        { role: 'user', content: 'a b' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'r1' }] },
      ],
    });
    expect(() => openaiToAnthropicRequest({ model: 'c', messages: [{ role: 'system', content: 'only system' }] })).toThrow('at least one non-system message is required');
  });

  it('translates a stream split at arbitrary bytes the same as whole', () => {
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":4,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
      'event: ping\ndata: {"type":"ping"}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const whole = new AnthropicStreamTranslator('m', true).push(sse);
    const t = new AnthropicStreamTranslator('m', true);
    let pieces = '';
    for (let i = 0; i < sse.length; i += 7) pieces += t.push(sse.slice(i, i + 7));
    expect(pieces).toBe(whole);
    expect(t.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    expect(t.finished).toBe(true);
    expect(pieces.trim().endsWith('data: [DONE]')).toBe(true);
  });
});

describe('as a local hop process (component.js payload-processing)', () => {
  it('serves /v1/process, is reprogrammed over its admin listener, and its traces hold no key', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ensureDirs } = await import('../../src/targets/local/state.js');
    const { AdminClient, launch, scriptPath, stopAndWait, writeSpecFile } = await import('../../src/targets/local/launcher.js');
    const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-ipp-proc-'));
    ensureDirs(dir);
    writeSpecFile(dir, 'payload-processing', { generation: 1, spec: spec() });
    const token = 'ipp-admin-token';
    const proc = await launch(dir, { name: 'payload-processing', script: scriptPath('targets/local/component.js'), args: ['payload-processing', dir], env: { MAAS_EGRESS_DEMO_ADMIN_TOKEN: token } }, { timeoutMs: 30_000 });
    try {
      const url = `http://127.0.0.1:${proc.port}/v1/process`;
      const send = async (m: ProcessingRequest) => (await (await fetch(url, { method: 'POST', body: JSON.stringify(m) })).json()) as ProcessingResponse;
      const body = Buffer.from(JSON.stringify({ ...CHAT, model: 'gpt-4o' })).toString('base64');
      await send({ stream: 'p1', stage: 'main', phase: 'request_headers', headers: { ':path': '/v1/chat/completions' }, endOfStream: false });
      expect((await send({ stream: 'p1', stage: 'main', phase: 'request_body', body, endOfStream: true })).headerMutation?.setHeaders.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      // Reprogrammed: the Secret loses its label, the next request finds no key
      const admin = new AdminClient(proc.adminPort!, token);
      const s = spec();
      s.secrets = s.secrets.map((x) => ({ ...x, managed: false }));
      await admin.program(s);
      await send({ stream: 'p2', stage: 'main', phase: 'request_headers', headers: { ':path': '/v1/chat/completions' }, endOfStream: false });
      expect((await send({ stream: 'p2', stage: 'main', phase: 'request_body', body, endOfStream: true })).immediateResponse?.status).toBe(500);
      const traces = await admin.call<{ records: { requestId: string; hop: string }[] }>('GET', '/traces');
      expect(traces.records.map((r) => r.requestId)).toEqual(['p1', 'p2']);
      expect(traces.records.every((r) => r.hop === 'payload-processing')).toBe(true);
      expect(JSON.stringify(traces)).not.toContain(OPENAI_KEY);
    } finally {
      await stopAndWait(proc.pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
