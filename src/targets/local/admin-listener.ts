/**
 * A hop's admin listener, in the role of Envoy's admin interface: loopback only, bearer-token
 * protected, JSON in and out (ready, config, traces).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { answering, jsonInternalError, keysEqual, listen, readLimited, sendJson } from '../../sim/http-server.js';

export interface AdminHandlers {
  [route: string]: (req: IncomingMessage, body: Buffer, url: URL) => Promise<unknown> | unknown;
}

/** Largest body an admin call may carry (a whole topology spec fits with room to spare). */
const ADMIN_BODY_LIMIT = 4 * 1024 * 1024;

export async function startAdmin(token: string, handlers: AdminHandlers, port = 0): Promise<Server> {
  const server = createServer(answering(async (req, res) => {
    const auth = req.headers.authorization ?? '';
    if (!keysEqual(auth, `Bearer ${token}`)) return sendJson(res, 401, { error: 'admin token required' });
    const url = new URL(req.url ?? '/', 'http://admin');
    const handler = handlers[`${req.method} ${url.pathname}`];
    if (!handler) return sendJson(res, 404, { error: `no admin route ${req.method} ${url.pathname}` });
    try {
      const body = await readLimited(req, ADMIN_BODY_LIMIT);
      sendJson(res, 200, (await handler(req, body, url)) ?? { ok: true });
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message });
    }
  }, jsonInternalError({ error: 'internal error' })));
  await listen(server, port);
  return server;
}
