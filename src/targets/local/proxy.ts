/**
 * Relaying a request to an upstream over a keep-alive undici pool, and classifying failures the way
 * Envoy's access log flags them (UF connect failure, UH no healthy upstream, UT timeout, UC reset).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { limitStream } from '../../sim/http-server.js';
import type { UpstreamFailure } from './envoy-replies.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host', 'http2-settings']);


/**
 * Connections per upstream: Envoy's circuit-breaker defaults (max_connections, max_pending_requests
 * and max_requests are 1024 each). With 64, as before, 64 slow uploads of one user held every
 * connection to the egress hop and every other user's request queued behind them until it timed out.
 */
export const UPSTREAM_CONNECTIONS = 1024;

export class PoolCache {
  readonly #pools = new Map<string, Pool>();
  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: UPSTREAM_CONNECTIONS, keepAliveTimeout: 4_000, connect: { timeout: 5_000 } });
      this.#pools.set(origin, pool);
    }
    return pool;
  }
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close().catch(() => undefined)));
    this.#pools.clear();
  }
}

/** The header names a request's `Connection` header(s) list: hop-by-hop for this connection only (RFC 9110 §7.6.1). */
export function connectionNamed(req: IncomingMessage): Set<string> | undefined {
  let named: Set<string> | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) (named ??= new Set()).add(name);
    }
  }
  return named;
}

/**
 * Copies request headers minus hop-by-hop ones (the fixed list and whatever `Connection` names) and
 * the names in `drop`. A header that arrived twice leaves twice, as Envoy forwards it (Node's
 * `req.headers` would keep only the first Authorization). One pass over `req.rawHeaders` (what
 * `req.headersDistinct` is built from, without building it): a name seen once maps to its value, a
 * name seen again to every value in arrival order. Names starting with `dropPrefix` are left out too.
 */
export function forwardHeaders(req: IncomingMessage, drop: ReadonlySet<string>, dropPrefix?: string): Record<string, string | string[]> {
  // No prototype: a header named `constructor` or `__proto__` is just a header.
  const out = Object.create(null) as Record<string, string | string[]>;
  const raw = req.rawHeaders;
  const named = connectionNamed(req);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || drop.has(name) || named?.has(name) || (dropPrefix !== undefined && name.startsWith(dropPrefix))) continue;
    const value = raw[i + 1]!;
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [had, value];
  }
  return out;
}

export function responseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The access-log flag of an upstream failure, from the error's code or its cause's (undici wraps socket errors). */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = err as { code?: string; cause?: { code?: string } };
  const codes = [e.cause?.code, e.code];
  const any = (...names: string[]) => codes.some((c) => c !== undefined && names.includes(c));
  if (any('ENOTFOUND', 'EAI_AGAIN')) return 'UH';
  if (any('ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH')) return 'UF';
  if (any('UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT')) return 'UT';
  return 'UC';
}

export interface RelayResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
}

/** Rewrites a response body on its way to the client (the stream-usage enforcer strips what the client did not ask for). */
export interface BodyTransform {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/**
 * Sends the request upstream and streams the answer to `res`, calling `onChunk` for every body chunk
 * as the upstream sent it (the MaaS gateway reads usage from it) and writing it through `transform`
 * when there is one. Throws an UpstreamFailure-tagged error before anything was written to the client;
 * `tooLarge` when the request body passed `bodyLimit`, `bodyIdle` when it stalled for `bodyIdleMs`.
 */
export async function relay(opts: {
  pool: Pool;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  headers: Record<string, string | string[]>;
  timeoutMs: number;
  /** Response headers to set over the upstream's (server, x-envoy-upstream-service-time…). */
  override: (upstream: RelayResult) => Record<string, string>;
  onChunk?: (chunk: Buffer) => void;
  transform?: BodyTransform;
  body?: Buffer;
  /** Bytes allowed in the request body; larger bodies end the relay with a 413. */
  bodyLimit: number;
  /** Longest pause allowed between two chunks of the request body. */
  bodyIdleMs: number;
}): Promise<RelayResult> {
  const start = performance.now();
  const hasBody = opts.body !== undefined || !(opts.req.method === 'GET' || opts.req.method === 'HEAD' || (opts.req.headers['content-length'] === '0' && !opts.req.headers['transfer-encoding']));
  let response;
  try {
    response = await opts.pool.request({
      path: opts.path,
      method: (opts.req.method ?? 'GET') as 'GET',
      headers: opts.headers,
      // undici takes the async iterable as it is (no Readable.from around it; its types only omit it).
      // Not `req` itself: undici destroys a stream body when the upstream fails, which would cut the
      // client off before its 503.
      body: opts.body ?? (hasBody ? (limitStream(opts.req, opts.bodyLimit, opts.bodyIdleMs) as unknown as Readable) : null),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'E_TOO_LARGE') throw Object.assign(new Error('request body too large'), { tooLarge: true });
    if (code === 'E_BODY_IDLE') throw Object.assign(new Error('request body stalled'), { bodyIdle: true });
    throw Object.assign(new Error('upstream failed'), { failure: classifyUpstreamError(err) });
  }
  const result: RelayResult = { status: response.statusCode, headers: response.headers, ms: performance.now() - start };
  const headers = { ...responseHeaders(response.headers), ...opts.override(result) };
  // A rewritten body has another length: it goes out chunked.
  if (opts.transform) delete headers['content-length'];
  opts.res.writeHead(response.statusCode, headers);
  const write = async (chunk: Buffer) => {
    if (chunk.length && !opts.res.write(chunk)) await new Promise((r) => opts.res.once('drain', r));
  };
  try {
    for await (const chunk of response.body) {
      opts.onChunk?.(chunk as Buffer);
      await write(opts.transform ? opts.transform.push(chunk as Buffer) : (chunk as Buffer));
    }
    if (opts.transform) await write(opts.transform.end());
    opts.res.end();
  } catch {
    opts.res.destroy();
  }
  return result;
}

