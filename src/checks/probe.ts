/**
 * One traced request through a target: sent with a request id, answered, fingerprinted (who
 * answered), with the records every hop kept for that id. Validate and doctor both probe this way.
 */
import { randomUUID } from 'node:crypto';
import { request as urequest, Agent, type Dispatcher } from 'undici';
import { Secret } from '../core/secret.js';
import type { RouteModel, TargetSession } from '../targets/target.js';
import type { HopRecord } from '../model/hop-record.js';
import { type Answer, classify, lowerHeaders } from './fingerprint.js';
import type { RequestSpec } from './validate.js';

export type Headers = Record<string, string | undefined>;

/** What a traced request gave, whichever era's request it was. */
export interface ExchangeResult {
  requestId: string;
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
  ms: number;
  answer: Answer;
  records: HopRecord[];
  error?: string;
}

export interface Exchange extends ExchangeResult {
  spec: RequestSpec;
}

export interface RunContext {
  target: TargetSession;
  token?: Secret;
  routes: RouteModel;
  /** Tokens the completion calls used (for the call-10 prediction). */
  usage: number[];
  /** Tokens call 4 used: it is the same kind of request as call 10, so it predicts when 10 meets 429. */
  chatSampleTokens?: number;
  /** The run waited for the token budget's window (an earlier run had spent it); at most once a run. */
  budgetWait?: { seconds: number; reason: 'observed' | 'unobserved' };
}

/** Claims of a JWT without verifying it (the gateway verifies; we only read sub/aud for display). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function identityOf(token: Secret): { userid: string; tier: string; sub: string } | undefined {
  const sub = jwtClaims(token.reveal())?.sub;
  if (typeof sub !== 'string') return undefined;
  const f = sub.split(':');
  const ns = f[2] ?? '';
  return { sub, userid: f[3] ?? '', tier: ns.includes('-tier-') ? ns.slice(ns.indexOf('-tier-') + 6) : '' };
}

let directAgent: Agent | undefined;

/** What one HTTP exchange gave: status, lower-cased headers and body, or the failure that stopped it. */
export type JsonExchange = { status: number; headers: Headers; body: string } | { status: 0; headers: Headers; body: ''; failure: unknown };

/** One request with an optional JSON body (30 s for headers and for the body), never throwing. */
export async function exchangeJson(url: string, o: { method: string; headers: Record<string, string>; dispatcher?: Dispatcher; body?: unknown; signal?: AbortSignal | undefined }): Promise<JsonExchange> {
  try {
    const res = await urequest(url, {
      method: o.method as Dispatcher.HttpMethod,
      headers: o.headers,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return { status: res.statusCode, headers: lowerHeaders(res.headers), body: await res.body.text() };
  } catch (failure) {
    return { status: 0, headers: {}, body: '', failure };
  }
}

export async function send(ctx: RunContext, spec: RequestSpec, signal?: AbortSignal): Promise<Exchange> {
  const requestId = randomUUID();
  const start = performance.now();
  const ep = await ctx.target.endpoint();
  let base = ep.baseUrl;
  let dispatcher = ep.dispatcher;
  if (spec.base === 'vllm-direct') {
    base = (await ctx.target.vllmDirectUrl()) ?? '';
    directAgent ??= new Agent({ keepAliveTimeout: 1_000 });
    dispatcher = directAgent;
  }
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (spec.auth === 'cluster') headers.authorization = `Bearer ${(await ctx.target.clusterToken()).reveal()}`;
  if (spec.auth === 'maas' && ctx.token) headers.authorization = `Bearer ${ctx.token.reveal()}`;
  if (spec.auth === 'bogus') headers.authorization = 'Bearer bogus-key';
  if (spec.body !== undefined) headers['content-type'] = 'application/json';
  const got = await exchangeJson(`${base}${spec.path}`, { method: spec.method, headers, dispatcher, body: spec.body, signal });
  const { status, headers: resHeaders, body } = got;
  const error = 'failure' in got ? describeNetworkError(got.failure) : undefined;
  const ms = performance.now() - start;
  const answer: Answer = error
    ? { kind: 'unknown', hop: spec.base === 'vllm-direct' ? 'provider:vllm' : 'maas-gateway', status: 0, summary: `no response: ${error}` }
    : classify(status, resHeaders, body, { ...(spec.provider ? { provider: spec.provider } : {}), viaEgress: spec.route === 'bridge' });
  const records = spec.base === 'gateway' ? await ctx.target.hopRecords(requestId) : [];
  return { spec, requestId, status, headers: resHeaders, body, ms, answer, records, ...(error ? { error } : {}) };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = e.cause?.code ?? e.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS verification failed (${code})`;
  if (code === 'ECONNREFUSED') return 'connection refused (is the gateway up?)';
  if (code === 'ENOTFOUND') return 'host not found';
  return e.cause?.message ?? e.message ?? String(err);
}

