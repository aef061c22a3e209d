/**
 * Path arithmetic of the two gateways: Gateway API PathPrefix + ReplacePrefixMatch (the MaaS gateway,
 * Istio), wg-ai-gateway's Envoy translation before and after PR #38, and the unsafe-path filter that
 * keeps a request inside its provider's prefix.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, test } from 'vitest';
import { answering, jsonInternalError, limitStream } from '../../src/sim/http-server.js';
import { envoyInternalError, MAX_REQUEST_HEADERS, tooManyHeaders } from '../../src/targets/local/envoy-replies.js';
import { expectsContinue, hardenHop, HOP_INTERNAL_HEADERS, requestIdOf, unsafePathReason } from '../../src/targets/local/request-hardening.js';
import { connectionNamed, forwardHeaders } from '../../src/targets/local/proxy.js';
import { envoyRoute, gatewayApiMatch, gatewayApiRewrite } from '../../src/model/gateway-paths.js';

const route = (pathPrefix: string, rewritePrefix: string | null) => ({ pathPrefix, rewritePrefix });

describe('envoyRoute (wg-ai-gateway translation, PR #38)', () => {
  test.each([
    // path, prefix, rewrite, controllerFixed, expected pathOut
    ['/openai/v1/chat/completions', '/openai/', '/', false, '//v1/chat/completions'],
    ['/openai/v1/chat/completions', '/openai/', '/', true, '/v1/chat/completions'],
    ['/openai/v1/x', '/openai/', '/', false, '//v1/x'],
    ['/openai/v1/x', '/openai/', '/', true, '/v1/x'],
    ['/openai/v1/x', '/openai', '/', true, '/v1/x'],
    ['/openai/v1/x?a=1', '/openai/', '/', true, '/v1/x?a=1'],
    ['/openai/v1/x', '/openai/', '/v2/', true, '/v2/v1/x'],
    ['/openai/v1/x', '/openai/', '/v2/', false, '/v2//v1/x'],
  ])('%s with prefix %s → %s (fixed=%s)', (path, prefix, rewrite, fixed, out) => {
    const r = envoyRoute(path, route(prefix, rewrite), fixed);
    expect(r).toMatchObject({ matched: true, pathOut: out });
  });

  test('an empty replacement is the same as none (proto3): the path goes through unchanged', () => {
    expect(envoyRoute('/openai/v1/x', route('/openai/', ''), true)).toMatchObject({ matched: true, pathOut: '/openai/v1/x' });
    expect(envoyRoute('/openai/v1/x', route('/openai/', ''), false)).toMatchObject({ matched: true, pathOut: '/openai/v1/x' });
    expect(envoyRoute('/openai/v1/x', route('/openai/', null), true)).toMatchObject({ matched: true, pathOut: '/openai/v1/x' });
  });

  test('matching is path-separated: /openaix and /other do not match /openai/', () => {
    expect(envoyRoute('/openaix/v1/x', route('/openai/', '/'), true)).toEqual({ matched: false });
    expect(envoyRoute('/openaix/v1/x', route('/openai/', '/'), false)).toEqual({ matched: false });
    expect(envoyRoute('/anthropic/v1/x', route('/openai/', '/'), true)).toEqual({ matched: false });
    expect(envoyRoute('/openaix', route('/openai/', null), true)).toEqual({ matched: false });
  });

  test('the bare prefix: matched without the fix (path-separated), not with it (plain prefix "/openai/")', () => {
    expect(envoyRoute('/openai', route('/openai/', '/'), false)).toMatchObject({ matched: true, pathOut: '/' });
    expect(envoyRoute('/openai', route('/openai/', '/'), true)).toEqual({ matched: false });
  });

  test('a "/" prefix matches everything', () => {
    expect(envoyRoute('/anything/at/all', route('/', null), true)).toMatchObject({ matched: true, pathOut: '/anything/at/all' });
  });
});

describe('gatewayApiMatch / gatewayApiRewrite (MaaS gateway, Gateway API semantics)', () => {
  test.each([
    ['/external/openai/v1/chat/completions', '/external/openai/', true],
    ['/external/openai', '/external/openai/', true],
    ['/external/openai/', '/external/openai/', true],
    ['/external/openaix/v1/models', '/external/openai/', false],
    ['/external/anthropic/v1/models', '/external/openai/', false],
    ['/v1/models', '/v1/models', true],
    ['/v1/modelsx', '/v1/models', false],
    ['/anything', '/', true],
  ])('%s matches %s: %s', (path, prefix, expected) => {
    expect(gatewayApiMatch(path, prefix)).toBe(expected);
  });

  test.each([
    // the spec's table: /foo/bar with prefix /foo/ and replacement / is /bar
    ['/foo/bar', '/foo/', '/', '/bar'],
    ['/foo/bar', '/foo', '/', '/bar'],
    ['/foo', '/foo', '/', '/'],
    ['/foo/', '/foo/', '/', '/'],
    ['/external/openai/v1/chat/completions', '/external/openai/', '/openai/', '/openai/v1/chat/completions'],
    ['/external/openai/v1/chat/completions', '/external/openai', '/openai', '/openai/v1/chat/completions'],
    ['/maas-api/v1/tokens', '/maas-api', '/', '/v1/tokens'],
    ['/llm/facebook-opt-125m-simulated/v1/chat/completions', '/llm/facebook-opt-125m-simulated', '/', '/v1/chat/completions'],
    ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
    ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
  ])('%s with prefix %s and replacement %s → %s', (path, prefix, replacement, out) => {
    expect(gatewayApiRewrite(path, prefix, replacement)).toBe(out);
  });

  test('both hops together: the client path reaches the provider as /v1/… only with the fixed controller', () => {
    const client = '/external/openai/v1/chat/completions';
    const atEgress = gatewayApiRewrite(client, '/external/openai/', '/openai/');
    const fixed = envoyRoute(atEgress, route('/openai/', '/'), true);
    const unfixed = envoyRoute(atEgress, route('/openai/', '/'), false);
    expect(fixed).toMatchObject({ pathOut: '/v1/chat/completions' });
    expect(unfixed).toMatchObject({ pathOut: '//v1/chat/completions' });
  });
});

describe('unsafePathReason', () => {
  test.each([
    ['/external/openai/v1/chat/completions'],
    ['/external/openai/v1/chat/completions?stream=true'],
    ['/external/openai/v1/chat/completions?x=/../anthropic'],
    ['/v1/models'],
    ['/external/openai/'],
    ['/external/openai/%20space'],
    ['/external/openai/v1/..foo'],
    ['/external/openai/v1/.well-known'],
  ])('accepts %s', (path) => {
    expect(unsafePathReason(path)).toBeUndefined();
  });

  test.each([
    ['/external/openai/../anthropic/v1/chat/completions', /dot-segment/],
    ['/external/openai/./v1/chat/completions', /dot-segment/],
    ['/external/openai/v1/..', /dot-segment/],
    ['/external/openai/%2e%2e/anthropic/v1/models', /dot-segment/],
    ['/external/openai/%2E%2E/anthropic/v1/models', /dot-segment/],
    ['/external/openai/.%2e/anthropic/v1/models', /dot-segment/],
    ['/external/openai/%2e/v1/models', /dot-segment/],
    ['/external/openai%2f..%2fanthropic/v1/models', /encoded slash/],
    ['/external/openai/..%2Fanthropic/v1/models', /encoded slash/],
    ['/external/openai/%5c../anthropic', /encoded slash, backslash/],
    ['/external/openai/%00', /NUL/],
    ['/external/openai/..\\anthropic/v1/models', /backslash/],
    ['/external/openai/v1/\u0001', /control/],
    ['/external/openai//anthropic/v1/models', /empty path segment/],
    ['//v1/models', /empty path segment/],
    ['/external/openai/%zz', /malformed/],
    ['external/openai/v1/models', /start with \//],
    ['*', /start with \//],
  ])('refuses %s', (path, reason) => {
    expect(unsafePathReason(path)).toMatch(reason);
  });
});

/** A fake request: only what the helpers read (rawHeaders and the parsed headers). */
function fakeRequest(raw: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] ??= raw[i + 1]!;
  return { rawHeaders: raw, headers } as unknown as IncomingMessage;
}

/** Sends raw HTTP/1.1 to a hardened server and returns what came back, up to the first `stopAt` bytes or the close. */
function rawExchange(port: number, text: string, opts: { until?: RegExp; thenSend?: string } = {}): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    let sent = false;
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (opts.thenSend && !sent && /100 Continue/.test(data)) {
        sent = true;
        socket.write(opts.thenSend);
      }
      if (opts.until?.test(data)) socket.end();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
}

describe('server hardening', () => {
  test('every hop cuts off slow headers (10 s) and slow requests (60 s), and counts headers itself', () => {
    const server = createServer();
    hardenHop(server);
    expect(server.headersTimeout).toBe(10_000);
    expect(server.requestTimeout).toBe(60_000);
    // Node drops the headers past maxHeadersCount without a word: the count is read whole and refused past 100.
    expect(server.maxHeadersCount).toBeGreaterThan(MAX_REQUEST_HEADERS);
  });

  test('more than 100 request headers (Host and repeats counted) is too many; 100 is not', () => {
    const block = (n: number) => Array.from({ length: n }, (_, i) => [`x-h${i}`, String(i)]).flat();
    expect(tooManyHeaders(fakeRequest(block(100)))).toBe(false);
    expect(tooManyHeaders(fakeRequest(block(101)))).toBe(true);
    expect(tooManyHeaders(fakeRequest([...block(99), 'x-h0', 'again', 'x-h0', 'and again']))).toBe(true);
  });

  test('a hardened server sees every header of a 1,000-header request, so the hop can answer 431 instead of dropping some', async () => {
    const server = createServer((req, res) => res.end(String(req.rawHeaders.length / 2)));
    hardenHop(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const lines = Array.from({ length: 1000 }, (_, i) => `x-f${i}: ${i}`).join('\r\n');
    const reply = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\n${lines}\r\nConnection: close\r\n\r\n`);
    server.close();
    expect(reply.split('\r\n\r\n')[1]).toBe('1002');
  });

  test('Expect: 100-continue reaches the handler before any 100 Continue: the hop decides when to say it', async () => {
    const server = createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer ok') {
        res.writeHead(401, { connection: 'close', 'content-length': 0 });
        res.end();
        return;
      }
      if (expectsContinue(req)) res.writeContinue();
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => res.end(`got ${body}`));
    });
    hardenHop(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const head = (auth: string) => `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const refused = await rawExchange(port, head('Bearer nope'));
    const accepted = await rawExchange(port, head('Bearer ok'), { thenSend: 'hello' });
    server.close();
    expect(refused).toMatch(/^HTTP\/1\.1 401 /);
    expect(refused).not.toMatch(/100 Continue/);
    expect(accepted).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(accepted).toMatch(/got hello$/);
  });

  test('the hop-internal headers include the identity and key headers clients must not set', () => {
    expect(HOP_INTERNAL_HEADERS).toEqual(expect.arrayContaining(['x-maas-username', 'x-maas-group', 'x-provider-api-key']));
  });
});

describe('TraceBuffer', () => {
  test('keeps the newest records, oldest first, once it wraps', async () => {
    const { TraceBuffer } = await import('../../src/targets/local/trace-buffer.js');
    const b = new TraceBuffer(3);
    const rec = (i: number) => ({ requestId: `r${i % 2}`, hop: 'maas-gateway' as const, at: i, ms: 0, method: 'GET', pathIn: `/${i}`, status: 200, answeredBy: 'self' as const, detail: {} });
    for (let i = 0; i < 5; i++) b.add(rec(i));
    expect(b.recent().map((r) => r.pathIn)).toEqual(['/2', '/3', '/4']);
    expect(b.find('r0').map((r) => r.pathIn)).toEqual(['/2', '/4']);
    expect(b.recent(2).map((r) => r.pathIn)).toEqual(['/3', '/4']);
  });
});

describe('client request ids', () => {
  test.each(['0f8a2c1e-3b7d-4e59-a1c2-9d8e7f6a5b4c', 'escape-1', 'case-abc123', 'a.b:c_d-e', 'x'.repeat(128)])('%s is kept', (id) => {
    expect(requestIdOf(fakeRequest(['x-request-id', id]))).toEqual({ id, replaced: false });
  });

  test.each([
    ['a line break and a forged log line', 'abc\n[2030-01-01] "GET /admin" 200'],
    ['spaces and quotes', 'id with "quotes"'],
    ['over 128 characters', 'x'.repeat(129)],
    ['a leading dash', '-rf'],
    ['trace syntax', 'a,b;c=d'],
    ['non-ASCII', 'ідентифікатор'],
    ['empty', ''],
  ])('%s: replaced by a fresh UUID', (_, id) => {
    const r = requestIdOf(fakeRequest(['x-request-id', id]));
    expect(r.replaced).toBe(true);
    expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test('none sent: a fresh UUID, not counted as replaced', () => {
    const r = requestIdOf(fakeRequest([]));
    expect(r.replaced).toBe(false);
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('headers named in Connection (RFC 9110 §7.6.1)', () => {
  test('are hop-by-hop: never forwarded, in any case or spacing, over one or several Connection headers', () => {
    const req = fakeRequest(['Connection', 'keep-alive, X-Secret-Route ,x-provider-api-key', 'connection', 'X-Other', 'X-Secret-Route', '1', 'x-provider-api-key', 'k', 'X-Other', '2', 'X-Kept', '3']);
    expect([...(connectionNamed(req) ?? [])]).toEqual(['keep-alive', 'x-secret-route', 'x-provider-api-key', 'x-other']);
    expect(forwardHeaders(req, new Set())).toEqual({ 'x-kept': '3' });
  });

  test('without a Connection header nothing extra is dropped', () => {
    expect(forwardHeaders(fakeRequest(['X-A', '1', 'X-A', '2']), new Set())).toEqual({ 'x-a': ['1', '2'] });
  });
});

describe('request bodies that stall', () => {
  test('a body with no byte for the idle time fails with E_BODY_IDLE; one that keeps coming does not', async () => {
    const server = createServer(answering(async (req, res) => {
      try {
        let size = 0;
        for await (const c of limitStream(req, 1024, 1_000)) size += c.length;
        res.end(`ok ${size}`);
      } catch (err) {
        res.writeHead(408, { connection: 'close' }).end((err as { code?: string }).code);
      }
    }, (res) => res.writeHead(500).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const send = (pieces: string[], gapMs: number) =>
      new Promise<string>((resolve) => {
        const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': pieces.join('').length } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(`${res.statusCode} ${text}`));
        });
        req.on('error', () => resolve('error'));
        let i = 0;
        const next = () => {
          if (i < pieces.length) req.write(pieces[i++]);
          if (i < pieces.length) setTimeout(next, gapMs);
          else req.end();
        };
        next();
      });
    const steady = await send(['aa', 'bb', 'cc', 'dd'], 50);
    const stalled = await send(['aa', 'bb'], 3_000);
    server.close();
    expect(steady).toBe('200 ok 8');
    expect(stalled).toBe('408 E_BODY_IDLE');
  });
});

describe('a request handler that throws', () => {
  async function serve(handler: Parameters<typeof answering>[0], onError: Parameters<typeof answering>[1]) {
    const server = createServer(answering(handler, onError));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
  }

  test('answers as the component it stands for (Envoy: 500, empty body, its server header) instead of hanging', async () => {
    const { server, url } = await serve(async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('boom');
    }, envoyInternalError('istio-envoy'));
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(500);
      expect(res.headers.get('server')).toBe('istio-envoy');
      expect(await res.text()).toBe('');
    } finally {
      server.close();
    }
  });

  test('a JSON API answers its 500 body; a reply already under way is cut off, never left hanging', async () => {
    const json = await serve(async () => {
      throw new Error('boom');
    }, jsonInternalError({ error: 'internal_error', message: 'an internal error occurred' }));
    const started = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('half');
      throw new Error('boom after the headers');
    }, jsonInternalError({ error: 'x' }));
    try {
      const r = await fetch(json.url, { signal: AbortSignal.timeout(5_000) });
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ error: 'internal_error', message: 'an internal error occurred' });
      const cut = await fetch(started.url, { signal: AbortSignal.timeout(5_000) });
      expect(cut.status).toBe(200);
      await expect(cut.text()).rejects.toThrow();
    } finally {
      json.server.close();
      started.server.close();
    }
  });
});

