/**
 * What every local hop does before it trusts a request: server timeouts (overridable for tests), the
 * stall limit of request bodies, refusing paths that could leave their route's prefix, a request id
 * that is safe to log and forward, and the headers only hops may set.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hardenServer, type Server } from '../../sim/http-server.js';

/**
 * Timeouts of `hardenHop()` and of request bodies, overridable from the environment (milliseconds) so
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

/**
 * Server hardening shared by every hop: slow clients are cut off; the header count is left to the
 * handler (Node's own maxHeadersCount drops the headers past it without a word, so a request could
 * lose its injected key; counted exactly up to 2,000 — the 16 KiB header size limit comes first anyway —
 * and `tooManyHeaders()` refuses past 100); `Expect: 100-continue` goes to the handler instead of Node
 * answering `100 Continue` at once, so a hop says it only after the request passed its checks.
 */
export function hardenHop(server: Server): void {
  hardenServer(server, {
    headersTimeoutMs: envMs(TIMEOUT_ENV.headers, 10_000),
    requestTimeoutMs: envMs(TIMEOUT_ENV.request, 60_000),
    keepAliveTimeoutMs: 5_000,
    maxHeadersCount: 2_000,
    continueToHandler: true,
  });
}

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

/** Headers only a hop may set: a client's copy is dropped before it could pass for the hop's own. */
export const HOP_INTERNAL_HEADERS = ['x-maas-username', 'x-maas-group', 'x-provider-api-key', 'x-envoy-original-path', 'x-envoy-upstream-service-time', 'x-demo-hop'];
