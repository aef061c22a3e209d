/**
 * Payload processing (upstream: IPP, ai-gateway-payload-processing) as its own local hop. Upstream
 * runs it as two Envoy ext_proc filters around the Kuadrant auth filter: stage `pre` before auth
 * (body `model` → `X-Gateway-Model-Name`, then the route is re-matched) and stage `main` after auth
 * (maas-headers-guard → stream-usage-enforcer → model-provider-resolver → api-translation →
 * apikey-injection on the request; api-translation on the response when enabled).
 *
 * The local interface keeps ext_proc's shape over HTTP/JSON: the gateway posts one
 * {@link ProcessingRequest} per phase of a request (request headers, request body, response headers,
 * response body chunks) to `POST /v1/process`, keyed by the request id as ext_proc keys by its gRPC
 * stream, and applies the {@link ProcessingResponse}: header mutations (set/remove, `:path` included),
 * a body replacement, `clearRouteCache` (re-match the route after the header change), or an immediate
 * response that ends the request. `dynamicMetadata` carries what the resolver chose and, on the last
 * response chunk, the usage counted. Traces (hop `payload-processing`) say what each plugin did and
 * never hold a key: the injected key shows as a fingerprint.
 */
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { HopRecord } from '../../model/hop-record.js';
import {
  PROVIDER_SECRET_KEY,
  defaultPayloadProcessingSpec,
  type ExternalModelSpec,
  type PayloadProcessingSpec,
  type ProviderRoute,
} from '../../model/subscription.js';
import { answering, jsonInternalError, readLimited, sendJson } from '../../sim/http-server.js';
import { hopHandle } from './hop-handle.js';
import { hardenHop } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import { forceStreamUsage } from './stream-usage.js';
import {
  AnthropicStreamTranslator,
  TranslationError,
  anthropicToOpenAIResponse,
  openaiToAnthropicRequest,
  openaiUsageOf,
  usageFromAnthropic,
  type OpenAIUsage,
} from './api-translation.js';

export type Stage = 'pre' | 'main';
export type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body';

/** One ext_proc message. Bodies travel base64-encoded (any bytes, chunk boundaries anywhere). */
export interface ProcessingRequest {
  /** The request id: one "stream" per HTTP request, as ext_proc has one gRPC stream per request. */
  stream: string;
  stage: Stage;
  phase: Phase;
  /** request_headers: the request's headers with `:method` and `:path`; response_headers: the response's. */
  headers?: Record<string, string>;
  /** response_headers: the upstream status. */
  status?: number;
  /** request_body / response_body: this chunk, base64. */
  body?: string;
  endOfStream: boolean;
}

export interface HeaderMutation {
  setHeaders: Record<string, string>;
  removeHeaders: string[];
}

export interface ProcessingResponse {
  phase: Phase;
  headerMutation?: HeaderMutation;
  /** Replacement for this chunk (base64); '' holds it back (buffered until later). */
  bodyMutation?: { body: string };
  clearRouteCache?: boolean;
  immediateResponse?: { status: number; headers: Record<string, string>; body: string };
  dynamicMetadata?: Record<string, unknown>;
}

/** Providers that need their responses translated back to OpenAI's shape. */
const TRANSLATED_RESPONSES = new Set(['anthropic']);

/** Auth header per provider (IPP apikey-injection's generators). */
function authHeaders(provider: string, key: string): Record<string, string> | undefined {
  switch (provider) {
    case 'openai':
    case 'vertex-openai':
    case 'bedrock-openai':
      return { authorization: `Bearer ${key}` };
    case 'anthropic':
      return { 'x-api-key': key };
    case 'azure-openai':
      return { 'api-key': key };
    default:
      return undefined;
  }
}

/** The header names client requests may not bring (maas-gateway-auth's deny-client-identity-headers rule). */
export function clientIdentityHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  return Object.keys(headers).filter((h) => h.toLowerCase().startsWith('x-maas-'));
}

function inputFormat(path: string): 'openai' | 'messages' | 'responses' | '' {
  const p = (path.split('?')[0] ?? '').replace(/^\/+|\/+$/g, '');
  if (p === 'v1/chat/completions' || p.endsWith('/v1/chat/completions')) return 'openai';
  if (p === 'v1/messages' || p.endsWith('/v1/messages')) return 'messages';
  if (p === 'v1/responses' || p.endsWith('/v1/responses')) return 'responses';
  return '';
}

function pickRoute(routes: ProviderRoute[]): ProviderRoute {
  if (routes.length === 1) return routes[0]!;
  const total = routes.reduce((n, r) => n + r.weight, 0);
  let r = Math.random() * total;
  for (const route of routes) {
    r -= route.weight;
    if (r < 0) return route;
  }
  return routes[routes.length - 1]!;
}

const fp = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 8);
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64');

/** What one request stream remembers between phases (IPP's CycleState). */
interface StreamState {
  at: number;
  stage: Stage;
  headers: Record<string, string>;
  body: Buffer[];
  path: string;
  model?: string;
  resolved?: { externalModel: ExternalModelSpec; route: ProviderRoute; inputFormat: string };
  stream: boolean;
  includeUsage: boolean;
  capturedIdentity: string[];
  responseStatus?: number;
  responseSse?: boolean;
  translateResponse?: boolean;
  sse?: AnthropicStreamTranslator;
  responseBody: Buffer[];
  responseSeen: string;
  plugins: string[];
}

export interface ProcessorResult {
  response: ProcessingResponse;
  record?: Omit<HopRecord, 'at' | 'ms'>;
}

/** The processor itself, independent of transport: tests drive it directly or over HTTP. */
export class PayloadProcessor {
  readonly #streams = new Map<string, StreamState>();
  constructor(public spec: PayloadProcessingSpec = defaultPayloadProcessingSpec()) {}

  /** Streams are forgotten after 5 minutes (Envoy's message_timeout is 300 s) or when they end. */
  #state(id: string, stage: Stage): StreamState {
    const key = `${stage}:${id}`;
    let s = this.#streams.get(key);
    if (!s) {
      const now = Date.now();
      if (this.#streams.size > 10_000) for (const [k, v] of this.#streams) if (now - v.at > 300_000) this.#streams.delete(k);
      s = { at: now, stage, headers: {}, body: [], path: '', stream: false, includeUsage: false, capturedIdentity: [], responseBody: [], responseSeen: '', plugins: [] };
      this.#streams.set(key, s);
    }
    return s;
  }

  activeStreams(): number {
    return this.#streams.size;
  }

  process(req: ProcessingRequest): ProcessorResult {
    const s = this.#state(req.stream, req.stage);
    switch (req.phase) {
      case 'request_headers': {
        s.headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        s.path = s.headers[':path'] ?? '';
        if (!req.endOfStream) return { response: { phase: req.phase } };
        return this.#request(req, s);
      }
      case 'request_body':
        s.body.push(unb64(req.body));
        if (!req.endOfStream) return { response: { phase: req.phase, bodyMutation: { body: '' } } };
        return this.#request(req, s);
      case 'response_headers':
        return this.#responseHeaders(req, s);
      case 'response_body':
        return this.#responseBody(req, s);
    }
  }

  #request(req: ProcessingRequest, s: StreamState): ProcessorResult {
    const raw = Buffer.concat(s.body);
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      body = undefined; // not JSON: nothing for the plugins to read; pass through
    }
    const set: Record<string, string> = {};
    const remove: string[] = [];
    const detail: Record<string, string> = { stage: req.stage };
    const rec = (status: number): Omit<HopRecord, 'at' | 'ms'> => ({ requestId: req.stream, hop: 'payload-processing', method: s.headers[':method'] ?? 'POST', pathIn: s.path, pathOut: set[':path'] ?? s.path, status, answeredBy: status >= 300 ? 'self' : 'upstream', detail });
    const model = typeof body?.model === 'string' && body.model !== '' ? body.model : undefined;
    s.model = model;

    if (req.stage === 'pre') {
      // body-field-to-header, then the resolver's KServe mapping (served name → publisher ID).
      if (model) {
        set['x-gateway-model-name'] = model;
        const llm = this.spec.llmisvc.find((m) => m.modelName === model);
        if (llm) set['x-gateway-model-name'] = llm.publisherId;
        detail.modelHeader = set['x-gateway-model-name'];
      } else {
        detail.modelHeader = '(no model in body)';
      }
      this.#streams.delete(`pre:${req.stream}`);
      const changed = Object.keys(set).length > 0;
      return { response: { phase: req.phase, ...(changed ? { headerMutation: { setHeaders: set, removeHeaders: [] }, clearRouteCache: true } : {}) }, record: rec(0) };
    }

    let outBody = body;
    let bodyChanged = false;
    const immediate = (status: number, message: string, type: string): ProcessorResult => {
      detail.error = message;
      this.#streams.delete(`main:${req.stream}`);
      const payload = JSON.stringify({ error: { message, type, code: status } });
      return { response: { phase: req.phase, immediateResponse: { status, headers: { 'content-type': 'application/json' }, body: b64(payload) } }, record: rec(status) };
    };

    for (const plugin of this.spec.requestPlugins) {
      s.plugins.push(plugin);
      switch (plugin) {
        case 'maas-headers-guard': {
          // Identity headers the auth filter injected are for the gateway's own use: captured, never forwarded.
          const identity = Object.keys(s.headers).filter((h) => h.startsWith('x-maas-'));
          s.capturedIdentity = identity;
          remove.push(...identity);
          if (identity.length > 0) detail.stripped = identity.join(',');
          break;
        }
        case 'stream-usage-enforcer': {
          if (!outBody || outBody.stream !== true) break;
          const fmt = s.resolved?.inputFormat ?? '';
          if (fmt !== '' && fmt !== 'openai') break;
          const enforced = forceStreamUsage(outBody);
          if (enforced.outcome === 'asked') {
            detail.usage = 'client asked for usage';
            break;
          }
          outBody = enforced.request;
          bodyChanged = true;
          detail.usage = 'include_usage forced';
          break;
        }
        case 'model-provider-resolver': {
          // The route's model header (set by ipp-pre, or by a path route's filter), else the body's model.
          const name = s.headers['x-gateway-model-name'] || model;
          if (!name) break;
          // The model name the ExternalModel answers to, else its own name (the id /v1/models lists).
          const external = this.spec.externalModels.find((m) => m.modelName === name) ?? this.spec.externalModels.find((m) => m.name === name);
          if (!external) {
            const llm = this.spec.llmisvc.find((m) => m.modelName === name);
            if (llm) {
              set['x-gateway-model-name'] = llm.publisherId;
              detail.resolved = `LLMInferenceService ${llm.publisherId}`;
            }
            break;
          }
          const fmt = inputFormat(s.path);
          if (fmt === '') return immediate(400, 'unsupported API endpoint', 'invalid_request_error');
          const route = pickRoute(external.routes);
          s.resolved = { externalModel: external, route, inputFormat: fmt };
          detail.resolved = `${external.namespace}/${external.name} → ${route.provider} ${route.endpoint}:${route.port}${route.tls ? '' : ' (plain HTTP)'}`;
          break;
        }
        case 'api-translation': {
          const r = s.resolved;
          if (!r) break;
          try {
            if (r.route.provider === 'anthropic' && r.inputFormat === 'openai' && outBody) {
              const t = openaiToAnthropicRequest(outBody, r.route.targetModel);
              outBody = t.body;
              bodyChanged = true;
              for (const [k, v] of Object.entries(t.headers)) set[k] = v;
              detail.translation = 'openai → anthropic messages';
            } else if (r.route.provider === 'azure-openai') {
              set[':path'] = '/openai/v1/chat/completions';
              detail.translation = 'azure path rewrite';
            } else if (outBody && r.route.targetModel && outBody.model !== r.route.targetModel) {
              outBody = { ...outBody, model: r.route.targetModel };
              bodyChanged = true;
            }
          } catch (err) {
            if (err instanceof TranslationError) return immediate(err.status, err.message, 'invalid_request_error');
            throw err;
          }
          // The client's credential never goes to a provider; apikey-injection sets the provider's.
          remove.push('authorization');
          break;
        }
        case 'apikey-injection': {
          const r = s.resolved;
          if (!r) break;
          const ref = r.route.credentialRef;
          const secret = this.spec.secrets.find((x) => x.namespace === ref.namespace && x.name === ref.name && x.managed && x.dataKeys.length > 0);
          if (!secret || secret.apiKey === undefined || secret.apiKey === '') {
            detail.key = `no managed Secret ${ref.namespace}/${ref.name} with data key ${PROVIDER_SECRET_KEY}`;
            return immediate(500, `provider '${r.route.provider}' api key was not found`, 'server_error');
          }
          const headers = authHeaders(r.route.provider, secret.apiKey);
          if (!headers) return immediate(500, `unsupported provider - '${r.route.provider}'`, 'server_error');
          for (const [k, v] of Object.entries(headers)) {
            set[k] = v;
            const i = remove.indexOf(k);
            if (i >= 0) remove.splice(i, 1);
          }
          detail.key = `${Object.keys(headers)[0]} from Secret ${ref.namespace}/${ref.name} (fp ${fp(secret.apiKey)})`;
          break;
        }
      }
    }

    // What the client will be answered with: a stream, with a usage chunk if it asked or the enforcer forced one.
    s.stream = body?.stream === true;
    const asked = (body?.stream_options as Record<string, unknown> | undefined)?.include_usage === true;
    s.includeUsage = s.stream && (asked || detail.usage === 'include_usage forced');
    s.body = [];
    const response: ProcessingResponse = { phase: req.phase };
    if (Object.keys(set).length > 0 || remove.length > 0) response.headerMutation = { setHeaders: set, removeHeaders: [...new Set(remove)] };
    if (bodyChanged && outBody) {
      response.bodyMutation = { body: b64(JSON.stringify(outBody)) };
      response.headerMutation ??= { setHeaders: {}, removeHeaders: [] };
      response.headerMutation.removeHeaders.push('content-length');
    }
    if (Object.keys(set).length > 0 || remove.length > 0) response.clearRouteCache = true;
    if (s.resolved) {
      const { route, externalModel } = s.resolved;
      response.dynamicMetadata = {
        'envoy.filters.http.ext_proc.ipp': { model: `${externalModel.namespace}/${externalModel.name}`, provider: route.provider, targetModel: route.targetModel, endpoint: route.endpoint, port: route.port, tls: route.tls, apiFormat: route.apiFormat, path: set[':path'] ?? s.path },
      };
    }
    detail.plugins = s.plugins.join(' → ');
    return { response, record: rec(0) };
  }

  #responseHeaders(req: ProcessingRequest, s: StreamState): ProcessorResult {
    const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    s.responseStatus = req.status;
    s.responseSse = (headers['content-type'] ?? '').includes('text/event-stream');
    s.translateResponse = this.spec.responseTranslation && !!s.resolved && TRANSLATED_RESPONSES.has(s.resolved.route.provider) && s.resolved.inputFormat === 'openai';
    if (s.translateResponse && s.responseSse) s.sse = new AnthropicStreamTranslator(s.resolved!.route.targetModel, s.includeUsage);
    const response: ProcessingResponse = { phase: req.phase };
    if (s.translateResponse) {
      response.headerMutation = { setHeaders: s.responseSse ? {} : { 'content-type': 'application/json' }, removeHeaders: ['content-length'] };
    }
    if (req.endOfStream) return this.#finish(req, s, response, '');
    return { response };
  }

  #responseBody(req: ProcessingRequest, s: StreamState): ProcessorResult {
    const chunk = unb64(req.body);
    const response: ProcessingResponse = { phase: req.phase };
    if (s.translateResponse && s.sse) {
      let out = s.sse.push(chunk.toString('utf8'));
      if (req.endOfStream) out += s.sse.end();
      response.bodyMutation = { body: b64(out) };
      if (req.endOfStream) return this.#finish(req, s, response, '');
      return { response };
    }
    // Everything else is observed (usage is counted from what passes) and buffered only when translated.
    s.responseBody.push(chunk);
    if (s.translateResponse) {
      if (!req.endOfStream) {
        response.bodyMutation = { body: '' };
        return { response };
      }
      const whole = Buffer.concat(s.responseBody).toString('utf8');
      let translated = whole;
      try {
        translated = JSON.stringify(anthropicToOpenAIResponse(JSON.parse(whole) as Record<string, unknown>, s.resolved?.route.targetModel));
      } catch {
        /* not JSON: left as it came */
      }
      response.bodyMutation = { body: b64(translated) };
      return this.#finish(req, s, response, translated);
    }
    if (req.endOfStream) return this.#finish(req, s, response, Buffer.concat(s.responseBody).toString('utf8'));
    // Keep memory bounded on long passthrough streams: only the tail can hold the usage chunk.
    if (s.responseBody.length > 64) s.responseBody = s.responseBody.slice(-8);
    return { response };
  }

  /** The end of a response: count its usage (as the limiter can read it) and forget the stream. */
  #finish(req: ProcessingRequest, s: StreamState, response: ProcessingResponse, seenText: string): ProcessorResult {
    let usage: OpenAIUsage | undefined;
    const detail: Record<string, string> = { stage: 'main', phase: 'response' };
    if (s.sse) usage = s.sse.usage;
    else usage = openaiUsageOf(seenText, !!s.responseSse);
    if (!usage && s.resolved?.route.provider === 'anthropic' && !s.translateResponse) {
      // Response translation off: the client got Anthropic's own body, whose usage a limiter reading
      // OpenAI's fields does not see.
      try {
        const raw = s.responseSse ? undefined : (JSON.parse(seenText) as Record<string, unknown>);
        if (raw?.usage) detail.untranslatedUsage = JSON.stringify(usageFromAnthropic(raw.usage));
      } catch {
        /* ignore */
      }
      detail.usage = 'not in OpenAI shape (response translation off)';
    } else if (usage) {
      detail.usage = `${usage.prompt_tokens}+${usage.completion_tokens}=${usage.total_tokens}`;
    } else {
      detail.usage = s.stream ? 'stream without a usage chunk' : 'none';
    }
    if (s.translateResponse) detail.translation = s.sse ? 'anthropic SSE → openai chunks' : 'anthropic message → openai completion';
    response.dynamicMetadata = { ...(response.dynamicMetadata ?? {}), 'envoy.filters.http.ext_proc.ipp': { usage: usage ?? null, status: s.responseStatus ?? 0 } };
    this.#streams.delete(`main:${req.stream}`);
    return {
      response,
      record: { requestId: req.stream, hop: 'payload-processing', method: s.headers[':method'] ?? 'POST', pathIn: s.path, status: s.responseStatus ?? 0, answeredBy: 'upstream', detail },
    };
  }
}

export interface PayloadProcessingHop {
  server: Server;
  traces: TraceBuffer;
  processor: PayloadProcessor;
  setSpec(spec: PayloadProcessingSpec): void;
  spec(): PayloadProcessingSpec;
  close(): Promise<void>;
}

/** The hop process's HTTP face: `POST /v1/process` (one message per phase) and `GET /health`. */
export function createPayloadProcessing(initial: PayloadProcessingSpec): PayloadProcessingHop {
  const processor = new PayloadProcessor(initial);
  const traces = new TraceBuffer();
  const server = createServer(answering(async (req, res) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok', streams: processor.activeStreams() });
    if (req.method !== 'POST' || path !== '/v1/process') return sendJson(res, 404, { error: `no route ${req.method} ${path}` });
    // One message, or several of one stream in order (`{"messages": […]}` → `{"responses": […]}`): what
    // a gRPC stream carries back to back, sent in one exchange when the gateway already holds them.
    let msgs: ProcessingRequest[];
    let batch = false;
    try {
      const parsed = JSON.parse((await readLimited(req, 32 * 1024 * 1024)).toString('utf8')) as ProcessingRequest | { messages?: unknown };
      batch = Boolean(parsed && typeof parsed === 'object' && 'messages' in parsed);
      msgs = batch ? ((parsed as { messages: unknown }).messages as ProcessingRequest[]) : [parsed as ProcessingRequest];
      if (!Array.isArray(msgs) || msgs.length === 0) throw new Error('no messages');
      for (const msg of msgs) {
        if (!msg || typeof msg.stream !== 'string' || !['pre', 'main'].includes(msg.stage) || !['request_headers', 'request_body', 'response_headers', 'response_body'].includes(msg.phase)) {
          throw new Error('not a processing request');
        }
      }
    } catch (err) {
      return sendJson(res, 400, { error: `bad processing request: ${(err as Error).message}` });
    }
    try {
      const responses: ProcessingResponse[] = [];
      for (const msg of msgs) {
        const { response, record } = processor.process(msg);
        if (record) traces.add({ ...record, at: Date.now(), ms: performance.now() - started });
        responses.push(response);
        // An immediate response ends the stream: later messages are never processed.
        if (response.immediateResponse) break;
      }
      sendJson(res, 200, batch ? { responses } : responses[0]);
    } catch (err) {
      // A plugin failure is the gRPC error ext_proc would see: the gateway applies its failure mode.
      sendJson(res, 500, { error: `processing failed: ${(err as Error).message}` });
    }
  }, jsonInternalError({ error: 'internal error' })));
  hardenHop(server);
  const handle = hopHandle(server, traces, () => processor.spec, (s: PayloadProcessingSpec) => void (processor.spec = s));
  return { ...handle, processor };
}
