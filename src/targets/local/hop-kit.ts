/**
 * What every local hop shares: the trace ring buffer, the admin listener (the Envoy-admin role:
 * ready, config, traces), Envoy-shaped local replies, and the Gateway API / Envoy path arithmetic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { HopRecord } from '../../model/hop-record.js';


/** The last `capacity` hop records, in a ring: adding is O(1) however full it is. */
export class TraceBuffer {
  readonly #records: HopRecord[] = [];
  #next = 0;
  constructor(private readonly capacity = 2000) {}
  add(r: HopRecord): void {
    if (this.#records.length < this.capacity) this.#records.push(r);
    else this.#records[this.#next] = r;
    this.#next = (this.#next + 1) % this.capacity;
  }
  /** Oldest first. */
  #ordered(): HopRecord[] {
    return this.#records.length < this.capacity ? this.#records : [...this.#records.slice(this.#next), ...this.#records.slice(0, this.#next)];
  }
  find(requestId: string): HopRecord[] {
    return this.#ordered().filter((r) => r.requestId === requestId);
  }
  recent(n = 50): HopRecord[] {
    return this.#ordered().slice(-n);
  }
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('body too large'), { code: 'E_TOO_LARGE' });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Envoy's local replies are text/plain (or empty) with the given status. */
export function sendEnvoy(res: ServerResponse, status: number, body: string, server: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    server,
    date: new Date().toUTCString(),
    ...(body ? { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } : { 'content-length': 0 }),
    ...extra,
  });
  res.end(body);
}

export const ENVOY_BODIES = {
  uf: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  uc: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  uh: 'no healthy upstream',
  ut: 'upstream request timeout',
} as const;

/**
 * Checks a client's raw path for tricks that could carry a request out of its route's prefix:
 * dot-segments (plain or percent-encoded), encoded slashes or backslashes, backslashes, empty
 * segments, control characters. Returns the reason when the path must be refused.
 */
export function unsafePathReason(rawPath: string): string | undefined {
  const path = rawPath.split('?')[0] ?? '';
  if (!path.startsWith('/')) return 'path does not start with /';
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'control character or backslash in path';
  if (/%(2f|5c|00)/i.test(path)) return 'encoded slash, backslash or NUL in path';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'malformed percent-encoding in path';
  }
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) return 'dot-segment in path';
  if (segments.slice(0, -1).some((s) => s === '')) return 'empty path segment (//)';
  return undefined;
}

export interface AdminHandlers {
  [route: string]: (req: IncomingMessage, body: Buffer, url: URL) => Promise<unknown> | unknown;
}

/**
 * An async request handler as Node's server calls it (it ignores the promise): a handler that throws costs
 * its request a reply the way the component it stands for answers an internal error (`onError`), never a
 * hung request and never the hop. A reply already under way is cut off, as a proxy resets the stream.
 */
export function answering(handler: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>, onError: (res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).catch((err: unknown) => {
      process.stderr.write(`error in a request handler: ${(err as Error)?.message ?? String(err)}\n`);
      if (res.headersSent || res.writableEnded) return void res.destroy();
      try {
        onError(res);
      } catch {
        res.destroy();
      }
    });
  };
}

/** Envoy's reply when a filter fails inside it: 500 with an empty body. */
export const envoyInternalError = (server: string) => (res: ServerResponse) => sendEnvoy(res, 500, '', server);

/** A JSON API's reply to an internal error (maas-api, the admin listener). */
export const jsonInternalError = (body: unknown) => (res: ServerResponse) => sendJson(res, 500, body);

/** The admin listener: loopback only, bearer-token protected, JSON in and out. */
export function startAdmin(token: string, handlers: AdminHandlers, port = 0): Promise<Server> {
  const server = createServer(answering(async (req, res) => {
    const auth = req.headers.authorization ?? '';
    if (!safeEqual(auth, `Bearer ${token}`)) return sendJson(res, 401, { error: 'admin token required' });
    const url = new URL(req.url ?? '/', 'http://admin');
    const handler = handlers[`${req.method} ${url.pathname}`];
    if (!handler) return sendJson(res, 404, { error: `no admin route ${req.method} ${url.pathname}` });
    try {
      const body = await readBody(req, 4 * 1024 * 1024);
      sendJson(res, 200, (await handler(req, body, url)) ?? { ok: true });
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message });
    }
  }, jsonInternalError({ error: 'internal error' })));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        server.removeListener('error', onError);
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      } else reject(err);
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Timeouts of `harden()` and of request bodies, overridable from the environment (milliseconds) so
 * that a test can watch a slow client get cut off without waiting a minute. The launcher passes these
 * variables to every hop.
 */
export const TIMEOUT_ENV = {
  headers: 'MAAS_EGRESS_DEMO_HEADERS_TIMEOUT_MS',
  request: 'MAAS_EGRESS_DEMO_REQUEST_TIMEOUT_MS',
  bodyIdle: 'MAAS_EGRESS_DEMO_BODY_IDLE_TIMEOUT_MS',
} as const;

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/**
 * How long a request body may stall (no byte arriving) before the hop gives up on it: Envoy's
 * stream_idle_timeout, 15 s as the wg-ai-gateway HCM sets it. A slow upload that keeps an upstream
 * connection busy while sending nothing is cut off instead of holding it for the whole request timeout.
 */
export function bodyIdleTimeoutMs(): number {
  return envMs(TIMEOUT_ENV.bodyIdle, 15_000);
}

/** Envoy's default max_headers_count: a request with more headers gets 431 (never a silent truncation). */
export const MAX_REQUEST_HEADERS = 100;

/** True when the request carries more headers than Envoy accepts (Host and every repeat count). */
export function tooManyHeaders(req: IncomingMessage): boolean {
  return req.rawHeaders.length / 2 > MAX_REQUEST_HEADERS;
}

/** Envoy's codec answer to too many headers: 431 with no body, and the connection closed. */
export function sendTooManyHeaders(res: ServerResponse, server: string, extra: Record<string, string> = {}): void {
  sendEnvoy(res, 431, '', server, { connection: 'close', ...extra });
}

/**
 * What a client may send as `x-request-id` and have kept: a UUID or a similar token of letters,
 * digits and `._:-`, at most 128 characters. Anything else (control characters, spaces, quotes, log
 * or trace syntax, kilobytes of text) is replaced by a fresh UUID before it reaches a log line, a
 * trace record or the next hop.
 */
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function requestIdOf(req: IncomingMessage): { id: string; replaced: boolean } {
  const sent = req.headers['x-request-id'];
  if (sent === undefined) return { id: randomUUID(), replaced: false };
  const value = Array.isArray(sent) ? undefined : sent;
  return value !== undefined && REQUEST_ID.test(value) ? { id: value, replaced: false } : { id: randomUUID(), replaced: true };
}

/** True when the client waits for `100 Continue` before sending its body (RFC 9110 §10.1.1). */
export function expectsContinue(req: IncomingMessage): boolean {
  return (req.headers.expect ?? '').toLowerCase() === '100-continue';
}

/**
 * Server hardening shared by every hop: slow clients are cut off; the header count is left to the
 * handler (Node's own maxHeadersCount drops the headers past it without a word, so a request could
 * lose its injected key); `Expect: 100-continue` goes to the handler instead of Node answering
 * `100 Continue` at once, so a hop says it only after the request passed its checks.
 */
export function harden(server: Server | import('node:https').Server): void {
  const requestTimeout = envMs(TIMEOUT_ENV.request, 60_000);
  // Node wants headersTimeout ≤ requestTimeout.
  server.headersTimeout = Math.min(envMs(TIMEOUT_ENV.headers, 10_000), requestTimeout);
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = 5_000;
  // Counted exactly up to here (the 16 KiB header size limit comes first anyway); tooManyHeaders() refuses past 100.
  server.maxHeadersCount = 2_000;
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
}

export const HOP_INTERNAL_HEADERS = ['x-maas-username', 'x-maas-group', 'x-provider-api-key', 'x-envoy-original-path', 'x-envoy-upstream-service-time', 'x-demo-hop'];

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** What every hop returns: its server, traces, spec accessors and a close that drops idle keep-alives first. */
export function hopHandle<S, T extends Server | import('node:https').Server>(server: T, traces: TraceBuffer, get: () => S, set: (s: S) => void, pools?: { close(): Promise<void> }) {
  return {
    server,
    traces,
    setSpec: set,
    spec: get,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pools?.close();
    },
  };
}
