/**
 * Path arithmetic of the two gateways: Gateway API PathPrefix + ReplacePrefixMatch (the MaaS gateway,
 * Istio), wg-ai-gateway's Envoy translation before and after PR #38, and the unsafe-path filter that
 * keeps a request inside its provider's prefix.
 */
import { createServer } from 'node:http';
import { describe, expect, test } from 'vitest';
import { harden, HOP_INTERNAL_HEADERS, unsafePathReason } from '../../src/targets/local/hop-kit.js';
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

describe('server hardening', () => {
  test('every hop cuts off slow headers (10 s) and slow requests (60 s)', () => {
    const server = createServer();
    harden(server);
    expect(server.headersTimeout).toBe(10_000);
    expect(server.requestTimeout).toBe(60_000);
    expect(server.maxHeadersCount).toBe(100);
  });

  test('the hop-internal headers include the identity and key headers clients must not set', () => {
    expect(HOP_INTERNAL_HEADERS).toEqual(expect.arrayContaining(['x-maas-username', 'x-maas-group', 'x-provider-api-key']));
  });
});

describe('TraceBuffer', () => {
  test('keeps the newest records, oldest first, once it wraps', async () => {
    const { TraceBuffer } = await import('../../src/targets/local/hop-kit.js');
    const b = new TraceBuffer(3);
    const rec = (i: number) => ({ requestId: `r${i % 2}`, hop: 'maas-gateway' as const, at: i, ms: 0, method: 'GET', pathIn: `/${i}`, status: 200, answeredBy: 'self' as const, detail: {} });
    for (let i = 0; i < 5; i++) b.add(rec(i));
    expect(b.recent().map((r) => r.pathIn)).toEqual(['/2', '/3', '/4']);
    expect(b.find('r0').map((r) => r.pathIn)).toEqual(['/2', '/4']);
    expect(b.recent(2).map((r) => r.pathIn)).toEqual(['/3', '/4']);
  });
});
