/**
 * The HTTP server plumbing every process of ours shares, the simulators and the local hops alike:
 * reading request bodies within a limit, JSON and SSE replies, a handler wrapper that answers its own
 * errors, header and path helpers, server timeouts, listening and closing. Only `node:` built-ins:
 * the compiled file travels in the simulator ConfigMap beside the simulators and runs on a stock node
 * image, which is why it lives here rather than under src/core.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** Either kind of server we run (a simulator or a hop may serve TLS). */
export type Server = HttpServer | HttpsServer;

// ---------------------------------------------------------------------------------------------------
// Request bodies

/** Largest request body a simulator accepts (1 MiB); bigger bodies get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized body is read and thrown away before answering 413 and closing. */
const DISCARD_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

export type BodyResult =
  | { kind: 'ok'; body: Buffer }
  /** `drained` is false when the client kept sending past the discard limit; close the connection. */
  | { kind: 'too-large'; drained: boolean }
  | { kind: 'aborted' };

/**
 * Reads the request body up to `limit` bytes. Past the limit it keeps reading and discarding (up to a
 * hard cap) so that the 413 can be sent after the client finished sending, instead of resetting a
 * connection the client is still writing to.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else if (size > DISCARD_LIMIT_BYTES) {
        req.pause();
        finish({ kind: 'too-large', drained: false });
      } else {
        chunks.length = 0;
      }
    };
    const onEnd = (): void => {
      finish(size > limit ? { kind: 'too-large', drained: true } : { kind: 'ok', body: Buffer.concat(chunks) });
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

/** Reads and discards whatever body the request has, so an early reply does not race the upload. */
export async function drainBody(req: IncomingMessage): Promise<BodyResult> {
  const result = await readBody(req, 0);
  return result.kind === 'too-large' && result.drained ? { kind: 'ok', body: Buffer.alloc(0) } : result;
}

/** Sends a JSON reply once the request body has been read and discarded (or given up on). */
export async function replyAfterBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const drained = await drainBody(req);
  if (drained.kind === 'aborted') return;
  if (drained.kind === 'too-large') res.setHeader('connection', 'close');
  sendJson(res, status, body, headers);
}

/**
 * The request body as it arrives, up to `limit` bytes: past it the generator throws an error with code
 * `E_TOO_LARGE` and stops reading (the caller answers, the rest of the upload is never read). With
 * `idleMs`, a body that sends no byte for that long fails with `E_BODY_IDLE` (the request's own timeout
 * still bounds a body that trickles without ever pausing that long).
 */
export async function* limitStream(req: IncomingMessage, limit: number, idleMs?: number): AsyncGenerator<Buffer> {
  let size = 0;
  const it = req[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    let next: IteratorResult<unknown>;
    if (idleMs === undefined) {
      next = await it.next();
    } else {
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('request body stalled'), { code: 'E_BODY_IDLE' })), idleMs);
      });
      try {
        // On a stall the pending read is left as it is: the caller answers and closes the connection.
        next = await Promise.race([it.next(), idle]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (next.done) return;
    const chunk = next.value as Buffer;
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('body too large'), { code: 'E_TOO_LARGE' });
    yield chunk;
  }
}

/** The whole request body within {@link limitStream}'s limits, for a handler that must see it before answering. */
export async function readLimited(req: IncomingMessage, limit: number, idleMs?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of limitStream(req, limit, idleMs)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------------
// Replies

/**
 * A JSON reply with its length. Nothing is written to a response already finished or gone; one whose
 * headers already left is cut off (a second status line cannot be sent).
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Starts a `text/event-stream` reply. */
export function startSse(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    ...headers,
  });
  res.flushHeaders();
}

/** Writes one `data:` event (with `event:` when named); objects are JSON-encoded, strings (e.g. `[DONE]`) go as they are. */
export function writeSse(res: ServerResponse, data: unknown, event?: string): void {
  if (res.destroyed || res.writableEnded) return;
  res.write(`${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/**
 * An async request handler as Node's server calls it (it ignores the promise): a handler that throws costs
 * its request a reply the way the component it stands for answers an internal error (`onError`), never a
 * hung request and never the process. A reply already under way is cut off, as a proxy resets the stream.
 */
export function answering(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>,
  onError: (res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
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

/** A JSON API's reply to an internal error (maas-api, the admin listener, a simulator). */
export const jsonInternalError = (body: unknown, headers: Record<string, string> = {}) =>
  (res: ServerResponse): void => sendJson(res, 500, body, headers);

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch {
    // aborted: the client went away or the server is closing
  }
}

/** An AbortSignal that fires when the response is closed before it finished (client gone, server closing). */
export function responseClosedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

// ---------------------------------------------------------------------------------------------------
// Paths and headers

/** The path of a raw request target, query dropped, without URL parsing (`//v1/x` must stay a path). */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

export interface RouteEntry {
  method: 'GET' | 'POST';
}

/**
 * Finds the route for an exact path (query ignored). `methodOk` is false for a known path asked with
 * another method (HEAD counts as GET); `allow` is then the value for the 405's Allow header.
 */
export function matchRoute<R extends RouteEntry>(
  routes: ReadonlyMap<string, R>,
  target: string,
  method: string,
): { route: R | undefined; methodOk: boolean; allow: string } {
  const route = routes.get(pathOf(target));
  if (route === undefined) return { route, methodOk: false, allow: '' };
  const methodOk = method === route.method || (route.method === 'GET' && method === 'HEAD');
  return { route, methodOk, allow: route.method === 'GET' ? 'GET, HEAD' : route.method };
}

/**
 * Makes client-controlled text safe for a header value or a log line: printable ASCII stays, any other
 * byte is percent-encoded, and the result is cut at `maxLength` characters (ending in `...`).
 */
export function safeText(value: string, maxLength = 512): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > maxLength) return `${out.slice(0, maxLength)}...`;
  }
  return out;
}

/** The first value of a header as Node hands it over (node joins most duplicates; for some it keeps only the first). */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** First value of a request header. */
export function headerString(req: IncomingMessage, name: string): string | undefined {
  return firstHeader(req.headers[name]);
}

/** Lower-case names of the received headers in arrival order, duplicates kept. */
export function receivedHeaderNames(req: IncomingMessage): string[] {
  const names: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) names.push((req.rawHeaders[i] ?? '').toLowerCase());
  return names;
}

/** Compares two secrets in constant time regardless of their lengths (both are hashed first). */
export function keysEqual(received: string, expected: string): boolean {
  const a = createHash('sha256').update(received).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------------
// Servers

export interface ServerLimits {
  /** Time allowed for the request headers (Node wants it no longer than `requestTimeoutMs`; it is capped). */
  headersTimeoutMs: number;
  /** Time allowed for the whole request. */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection is kept. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /**
   * Headers Node keeps per request; past it Node drops the rest without a word, so a server that must
   * refuse a request with too many headers raises it and counts them itself. Node's default when unset.
   */
  maxHeadersCount?: number;
  /**
   * `Expect: 100-continue` goes to the request handler (which says `100 Continue` only once the request
   * passed its checks) instead of Node answering it at once.
   */
  continueToHandler?: boolean;
}

/** Timeouts and limits a server gets so that slow or stuck clients cannot hold a socket forever. */
export function hardenServer(server: Server, limits: ServerLimits): void {
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs ?? 5_000;
  if (limits.maxHeadersCount !== undefined) server.maxHeadersCount = limits.maxHeadersCount;
  if (limits.continueToHandler) {
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  }
}

/**
 * Listens and resolves with the bound port. With `orAnyPort`, a fixed port already taken gives way to
 * a free one (a hop restarted while its old port is still held) instead of failing.
 */
export function listen(server: Server, port: number, host = '127.0.0.1', opts: { orAnyPort?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (opts.orAnyPort && error.code === 'EADDRINUSE' && port !== 0) {
        server.once('error', reject);
        server.listen({ port: 0, host }, () => resolve((server.address() as AddressInfo).port));
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Closes a server: no new connections, idle keep-alive sockets now, busy ones after `graceMs` (at once
 * when it is 0).
 */
export function closeServer(server: Server, graceMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    if (graceMs <= 0) server.closeAllConnections();
    else {
      timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
    }
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
