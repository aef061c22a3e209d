/**
 * The `anthropic` style of provider-sim: Anthropic's Messages API as a client meets it. Exact paths
 * (`POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models`); the key in `x-api-key`;
 * `anthropic-version` required; errors in Anthropic's envelope `{"type":"error","error":{type,message},
 * "request_id"}` with a `request-id` response header; Messages bodies validated the way Anthropic does
 * (`max_tokens` required, only `user`/`assistant` roles, no unknown top-level fields — an untranslated
 * OpenAI body is refused, not silently accepted); streams as Anthropic's SSE event sequence
 * (message_start, content_block_start, ping, content_block_delta…, content_block_stop, message_delta
 * with the output usage, message_stop). Only `node:` built-ins and the other simulator modules.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type KeyStatus } from './headers.js';
import { countTokens, randomInt, takeWords } from './completions.js';
import { echoReceived } from './echo-headers.js';
import {
  MAX_BODY_BYTES,
  headerString,
  keysEqual,
  matchRoute,
  readBody,
  replyAfterBody,
  responseClosedSignal,
  safeText,
  sendJson,
  sleep,
  startSse,
  writeSse,
} from './http-server.js';

export interface AnthropicSimConfig {
  key: string;
  name: string;
  model: string;
  latencyMs: number;
  created: number;
  log: ((line: string) => void) | undefined;
  sentences: readonly string[];
  /** The install's fingerprint key (x-sim-key-fp is then an HMAC). */
  fingerprintKey?: string | undefined;
}

/** The versions Anthropic documents; anything else is refused like the real API refuses it. */
export const ANTHROPIC_VERSIONS = ['2023-06-01', '2023-01-01'] as const;

type AnthropicRoute = { kind: 'messages' | 'count' | 'models'; method: 'GET' | 'POST' };
export const ANTHROPIC_ROUTES = new Map<string, AnthropicRoute>([
  ['/v1/messages', { kind: 'messages', method: 'POST' }],
  ['/v1/messages/count_tokens', { kind: 'count', method: 'POST' }],
  ['/v1/models', { kind: 'models', method: 'GET' }],
]);

/** Top-level fields the Messages API accepts; any other one is "Extra inputs are not permitted". */
const MESSAGE_FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'metadata', 'thinking', 'service_tier', 'container', 'mcp_servers',
]);

const requestId = () => `req_${randomBytes(12).toString('base64url')}`;

/** Anthropic's error envelope. */
export function anthropicError(type: string, message: string, id = requestId()): Record<string, unknown> {
  return { type: 'error', error: { type, message }, request_id: id };
}

function send(res: ServerResponse, status: number, body: unknown, id: string): void {
  sendJson(res, status, body, { 'request-id': id });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text of a Messages `content`: a string, or the `text` of its text blocks. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (isRecord(b) && typeof b.text === 'string' ? b.text : isRecord(b) && typeof b.content === 'string' ? b.content : '')).join(' ');
}

export type MessagesParse =
  | { ok: true; model: string; maxTokens: number; stream: boolean; inputTokens: number }
  | { ok: false; status: number; type: string; message: string };

/** Validates a Messages (or count_tokens) body as the API does, first problem first. */
export function parseMessagesRequest(raw: Buffer, kind: 'messages' | 'count'): MessagesParse {
  const bad = (message: string) => ({ ok: false as const, status: 400, type: 'invalid_request_error', message });
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return bad('There was an error parsing the body of your request.');
  }
  if (!isRecord(json)) return bad('Input should be an object');
  const allowed = kind === 'count' ? new Set([...MESSAGE_FIELDS].filter((f) => !['max_tokens', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'metadata', 'service_tier'].includes(f))) : MESSAGE_FIELDS;
  for (const field of Object.keys(json)) if (!allowed.has(field)) return bad(`${field}: Extra inputs are not permitted`);
  if (json.model === undefined) return bad('model: Field required');
  if (typeof json.model !== 'string') return bad('model: Input should be a valid string');
  if (kind === 'messages') {
    if (json.max_tokens === undefined) return bad('max_tokens: Field required');
    if (typeof json.max_tokens !== 'number' || !Number.isInteger(json.max_tokens)) return bad('max_tokens: Input should be a valid integer');
    if (json.max_tokens < 1) return bad('max_tokens: Input should be greater than or equal to 1');
  }
  if (json.messages === undefined) return bad('messages: Field required');
  if (!Array.isArray(json.messages)) return bad('messages: Input should be a valid list');
  let inputTokens = 0;
  for (const [i, m] of json.messages.entries()) {
    if (!isRecord(m)) return bad(`messages.${i}: Input should be a valid dictionary`);
    if (m.role === 'system') {
      return bad('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
    }
    if (m.role !== 'user' && m.role !== 'assistant') return bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    if (m.content === undefined) return bad(`messages.${i}.content: Field required`);
    inputTokens += countTokens(textOf(m.content));
  }
  if (json.messages.length > 0 && (json.messages[0] as { role?: string }).role !== 'user') {
    return bad('messages: first message must use the "user" role');
  }
  if (json.system !== undefined) inputTokens += countTokens(textOf(json.system));
  if (json.stream !== undefined && typeof json.stream !== 'boolean') return bad('stream: Input should be a valid boolean');
  return { ok: true, model: json.model, maxTokens: typeof json.max_tokens === 'number' ? json.max_tokens : 0, stream: json.stream === true, inputTokens: Math.max(1, inputTokens) };
}

function writeEvent(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  writeSse(res, { type, ...data }, type);
}

async function messages(req: IncomingMessage, res: ServerResponse, cfg: AnthropicSimConfig, kind: 'messages' | 'count', id: string): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body.kind === 'aborted') return;
  if (body.kind === 'too-large') {
    if (!body.drained) res.setHeader('connection', 'close');
    return send(res, 413, anthropicError('request_too_large', 'Request exceeds the maximum allowed number of bytes.', id), id);
  }
  const parsed = parseMessagesRequest(body.body, kind);
  if (!parsed.ok) return send(res, parsed.status, anthropicError(parsed.type, parsed.message, id), id);
  if (parsed.model !== cfg.model) return send(res, 404, anthropicError('not_found_error', `model: ${safeText(parsed.model, 200)}`, id), id);
  if (kind === 'count') return send(res, 200, { input_tokens: parsed.inputTokens }, id);

  const planned = randomInt(5, 24);
  const tokens = Math.min(planned, parsed.maxTokens);
  const words = takeWords(cfg.sentences, tokens, randomInt(0, cfg.sentences.length - 1));
  const stopReason = tokens < planned ? 'max_tokens' : 'end_turn';
  const msgId = `msg_${randomBytes(12).toString('base64url')}`;
  const signal = responseClosedSignal(res);
  await sleep(cfg.latencyMs, signal);
  if (signal.aborted) return;
  if (!parsed.stream) {
    return send(res, 200, {
      id: msgId,
      type: 'message',
      role: 'assistant',
      model: cfg.model,
      content: [{ type: 'text', text: words.join(' ') }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: parsed.inputTokens, output_tokens: tokens },
    }, id);
  }
  startSse(res, { 'request-id': id });
  writeEvent(res, 'message_start', {
    message: { id: msgId, type: 'message', role: 'assistant', model: cfg.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: parsed.inputTokens, output_tokens: 1 } },
  });
  writeEvent(res, 'content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  writeEvent(res, 'ping', {});
  const between = Math.min(50, Math.round(cfg.latencyMs / 10));
  for (const [i, word] of words.entries()) {
    if (signal.aborted) return;
    if (i > 0) await sleep(between, signal);
    writeEvent(res, 'content_block_delta', { index: 0, delta: { type: 'text_delta', text: i === 0 ? word : ` ${word}` } });
  }
  if (signal.aborted) return;
  writeEvent(res, 'content_block_stop', { index: 0 });
  writeEvent(res, 'message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: tokens } });
  writeEvent(res, 'message_stop', {});
  res.end();
}

/** Handles one request in the anthropic style (echo headers as every style sets them). */
export async function handleAnthropic(req: IncomingMessage, res: ServerResponse, cfg: AnthropicSimConfig): Promise<void> {
  const started = Date.now();
  const target = req.url ?? '';
  const method = req.method ?? 'GET';
  const id = requestId();
  const { route, methodOk } = matchRoute(ANTHROPIC_ROUTES, target, method);
  const raw = headerString(req, 'x-api-key');
  const key = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  let keyStatus: KeyStatus = 'not-required';
  if (route && methodOk) keyStatus = key === undefined ? 'missing' : keysEqual(key, cfg.key) ? 'ok' : 'invalid';

  const authorization = echoReceived(req, res, { name: cfg.name, key, keyStatus, fingerprintKey: cfg.fingerprintKey });
  const version = headerString(req, 'anthropic-version');
  if (cfg.log) {
    const log = cfg.log;
    res.once('finish', () => log(`${cfg.name} ${safeText(method, 20)} ${safeText(target, 200)} ${res.statusCode} key=${keyStatus} auth=${authorization} version=${safeText(version ?? '-', 20)} ${Date.now() - started}ms`));
  }

  const early = (status: number, type: string, message: string) =>
    replyAfterBody(req, res, status, anthropicError(type, message, id), { 'request-id': id });
  if (!route) return early(404, 'not_found_error', 'Not found');
  if (!methodOk) return early(405, 'invalid_request_error', `Method ${safeText(method, 20)} not allowed`);
  if (keyStatus === 'missing') return early(401, 'authentication_error', 'x-api-key header is required');
  if (keyStatus === 'invalid') return early(401, 'authentication_error', 'invalid x-api-key');
  if (version === undefined || version.trim() === '') return early(400, 'invalid_request_error', 'anthropic-version: header is required');
  if (!(ANTHROPIC_VERSIONS as readonly string[]).includes(version.trim())) {
    return early(400, 'invalid_request_error', `anthropic-version: invalid version "${safeText(version, 40)}"`);
  }
  if (route.kind === 'models') {
    const created = new Date(cfg.created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const list = { data: [{ type: 'model', id: cfg.model, display_name: cfg.model, created_at: created }], has_more: false, first_id: cfg.model, last_id: cfg.model };
    return replyAfterBody(req, res, 200, list, { 'request-id': id });
  }
  return messages(req, res, cfg, route.kind, id);
}
