/**
 * What every local hop shares: the trace ring buffer, the admin listener (the Envoy-admin role:
 * ready, config, traces), Envoy-shaped local replies, and the Gateway API / Envoy path arithmetic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
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

/** The admin listener: loopback only, bearer-token protected, JSON in and out. */
export function startAdmin(token: string, handlers: AdminHandlers, port = 0): Promise<Server> {
  const server = createServer(async (req, res) => {
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
  });
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
 * Timeouts of `harden()`, overridable from the environment (milliseconds) so that a test can watch a
 * slow client get cut off without waiting a minute. The launcher passes these variables to every hop.
 */
export const TIMEOUT_ENV = { headers: 'MAAS_EGRESS_DEMO_HEADERS_TIMEOUT_MS', request: 'MAAS_EGRESS_DEMO_REQUEST_TIMEOUT_MS' } as const;

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/** Server hardening shared by every hop: slow clients are cut off. */
export function harden(server: Server): void {
  const requestTimeout = envMs(TIMEOUT_ENV.request, 60_000);
  // Node wants headersTimeout ≤ requestTimeout.
  server.headersTimeout = Math.min(envMs(TIMEOUT_ENV.headers, 10_000), requestTimeout);
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
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
