/**
 * The replies Envoy makes itself rather than relaying an upstream's (local replies): their status,
 * bodies and headers, for the gateways that stand in for Envoy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

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
 * The headers Envoy puts on a relayed reply: its own `server` name and how long the upstream took
 * (`x-envoy-upstream-service-time`, whole milliseconds), plus any the hop adds (the request id).
 */
export function relayedReplyHeaders(server: string, upstreamMs: number, extra: Record<string, string> = {}): Record<string, string> {
  return { server, 'x-envoy-upstream-service-time': String(Math.round(upstreamMs)), ...extra };
}

/** Envoy's access-log flag for a failed upstream: UF connect failure, UH no healthy upstream, UT timeout, UC reset. */
export type UpstreamFailure = 'UF' | 'UH' | 'UT' | 'UC';

/** Envoy's local reply to an upstream failure: 504 for a timeout, 503 otherwise, with Envoy's body for the flag. */
export function upstreamFailureReply(flag: UpstreamFailure | undefined): { status: number; body: string } {
  if (flag === 'UT') return { status: 504, body: ENVOY_BODIES.ut };
  return { status: 503, body: flag === 'UH' ? ENVOY_BODIES.uh : flag === 'UF' ? ENVOY_BODIES.uf : ENVOY_BODIES.uc };
}

/** Envoy's reply when a filter fails inside it: 500 with an empty body. */
export const envoyInternalError = (server: string) => (res: ServerResponse) => sendEnvoy(res, 500, '', server);

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
