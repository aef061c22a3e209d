/**
 * The reference every hop is compared with: a bare pass-through relay. One keep-alive undici pool
 * (`pool.stream`), the request body and the response body streamed through, hop-by-hop headers
 * dropped, and nothing else — no routing, no rewrite, no auth, no limiter, no trace, no log.
 * Optionally over TLS, to separate what TLS costs from what the MaaS gateway's features cost.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function strip(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

export interface Relay {
  server: import('node:http').Server;
  close(): Promise<void>;
}

/** `connect`: TLS options for an https upstream (a secure context holding the CAs to verify it with, the server name). */
export function createRelay(upstream: string, tls?: { cert: string; key: string }, connect?: { secureContext?: import('node:tls').SecureContext; servername?: string }): Relay {
  const pool = new Pool(upstream, { connections: 64, keepAliveTimeout: 4_000, ...(connect ? { connect } : {}) });
  // undici's stream(): the answer is written straight into the client's response, no intermediate Readable.
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const bodyless = req.method === 'GET' || req.method === 'HEAD';
    pool.stream(
      { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers: strip(req.headers), body: bodyless ? null : req, opaque: res },
      ({ statusCode, headers, opaque }) => {
        const out = opaque as ServerResponse;
        out.writeHead(statusCode, strip(headers as Record<string, string | string[] | undefined>));
        return out;
      },
      (err) => {
        if (!err) return;
        if (!res.headersSent) {
          res.writeHead(502, { 'content-length': 0 });
          res.end();
        } else res.destroy();
      },
    );
  };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  server.keepAliveTimeout = 5_000;
  return {
    server: server as import('node:http').Server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.close();
    },
  };
}
