/**
 * The token limiter with Limitador's semantics (contracts §5): admit while counter + 1 ≤ limit, the
 * response's tokens are added afterwards (0 counts as 1), a fixed window from the first counted hit;
 * and the opt-in strict budget that reserves max_tokens at admission.
 */
import { describe, expect, test } from 'vitest';
import { TokenLimiter, usageTokens } from '../../src/targets/local/rate-limit.js';
import { estimateTokens } from '../../src/targets/local/maas-gateway.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('TokenLimiter (Limitador check + report)', () => {
  test('admits while counter + 1 ≤ limit; the check itself counts nothing', () => {
    const c = clock();
    const l = new TokenLimiter(60_000, c.now);
    for (let i = 0; i < 5; i++) expect(l.check('u', 100).admitted).toBe(true);
    expect(l.snapshot()).toEqual({});
    l.report('u', 98);
    expect(l.check('u', 100)).toMatchObject({ admitted: true, spent: 98 });
    l.report('u', 1);
    // 99 + 1 ≤ 100: still admitted
    expect(l.check('u', 100)).toMatchObject({ admitted: true, spent: 99 });
    l.report('u', 1);
    expect(l.check('u', 100)).toMatchObject({ admitted: false, spent: 100, limit: 100 });
  });

  test('the last admitted request may overshoot the limit (no reservation)', () => {
    const l = new TokenLimiter(60_000, clock().now);
    l.report('u', 90);
    expect(l.check('u', 100).admitted).toBe(true);
    l.report('u', 29);
    expect(l.check('u', 100)).toMatchObject({ admitted: false, spent: 119 });
  });

  test('a report of 0 tokens counts as 1; fractions are rounded', () => {
    const l = new TokenLimiter(60_000, clock().now);
    l.report('u', 0);
    expect(l.check('u', 10).spent).toBe(1);
    l.report('u', 2.4);
    expect(l.check('u', 10).spent).toBe(3);
  });

  test('one counter per key: another user keeps their whole budget', () => {
    const l = new TokenLimiter(60_000, clock().now);
    l.report('free-user-tokens/alice', 100);
    expect(l.check('free-user-tokens/alice', 100).admitted).toBe(false);
    expect(l.check('free-user-tokens/bob', 100)).toMatchObject({ admitted: true, spent: 0 });
  });

  test('the window is fixed from the first counted hit, not sliding, and not started by checks', () => {
    const c = clock();
    const l = new TokenLimiter(60_000, c.now);
    l.check('u', 10);
    c.advance(30_000);
    expect(l.check('u', 10).resetAt).toBeUndefined();
    l.report('u', 10); // window starts now (t = 30 s) and ends at 90 s
    const resetAt = l.check('u', 10).resetAt!;
    expect(resetAt).toBe(c.now() + 60_000);
    c.advance(59_999);
    l.report('u', 5); // a later hit does not move the window
    expect(l.check('u', 10)).toMatchObject({ admitted: false, spent: 15, resetAt });
    c.advance(1);
    expect(l.check('u', 10)).toMatchObject({ admitted: true, spent: 0 });
    expect(l.check('u', 10).resetAt).toBeUndefined();
  });

  test('snapshot and reset', () => {
    const c = clock();
    const l = new TokenLimiter(1_000, c.now);
    l.report('a', 3);
    l.report('b', 4);
    expect(Object.keys(l.snapshot()).sort()).toEqual(['a', 'b']);
    expect(l.snapshot().a).toMatchObject({ spent: 3, reserved: 0 });
    c.advance(1_000);
    expect(l.snapshot()).toEqual({});
    l.report('a', 1);
    l.reset();
    expect(l.snapshot()).toEqual({});
  });
});

describe('TokenLimiter strict budget (reserve and settle)', () => {
  test('admits iff spent + reserved + estimate ≤ limit, and holds the estimate until the report', () => {
    const l = new TokenLimiter(60_000, clock().now);
    expect(l.reserve('u', 100, 60)).toMatchObject({ admitted: true, reserved: 60, spent: 0 });
    // a concurrent request that would not fit alongside the reservation is refused
    expect(l.reserve('u', 100, 50)).toMatchObject({ admitted: false, reserved: 60 });
    expect(l.reserve('u', 100, 40)).toMatchObject({ admitted: true, reserved: 100 });
    l.report('u', 20, 60);
    expect(l.snapshot().u).toMatchObject({ spent: 20, reserved: 40 });
    l.release('u', 40);
    expect(l.snapshot().u).toMatchObject({ spent: 20, reserved: 0 });
    expect(l.reserve('u', 100, 80).admitted).toBe(true);
    expect(l.reserve('u', 100, 1).admitted).toBe(false);
  });

  test('release never goes below zero and ignores unknown keys', () => {
    const l = new TokenLimiter(60_000, clock().now);
    l.release('nobody', 10);
    expect(l.snapshot()).toEqual({});
    l.reserve('u', 100, 10);
    l.release('u', 50);
    expect(l.snapshot().u?.reserved).toBe(0);
  });

  test('the admission estimate is the prompt size plus max_tokens (256 by default)', () => {
    const body = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(estimateTokens(body({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 }))).toBeGreaterThan(10);
    expect(estimateTokens(body({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 }))).toBeLessThan(20);
    expect(estimateTokens(body({ messages: [{ role: 'user', content: 'Hello' }] }))).toBeGreaterThan(256);
    expect(estimateTokens(Buffer.from('not json'))).toBe(256);
  });
});

describe('usageTokens', () => {
  test('reads usage.total_tokens from a JSON body', () => {
    expect(usageTokens(JSON.stringify({ usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 } }), 'application/json')).toBe(7);
    expect(usageTokens(JSON.stringify({ usage: { total_tokens: 0 } }), 'application/json')).toBe(0);
  });

  test('no usage, a non-number, or a body that is not JSON gives undefined', () => {
    expect(usageTokens('{"choices":[]}', 'application/json')).toBeUndefined();
    expect(usageTokens('{"usage":{"total_tokens":"7"}}', 'application/json')).toBeUndefined();
    expect(usageTokens('Too Many Requests\n', 'text/plain')).toBeUndefined();
    expect(usageTokens('', undefined)).toBeUndefined();
  });

  test('streams: counted only when a chunk carries usage (stream_options.include_usage)', () => {
    const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    const withUsage = [
      chunk({ choices: [{ delta: { content: 'Hi' } }], usage: null }),
      chunk({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 10, total_tokens: 11 } }),
      'data: [DONE]\n\n',
    ].join('');
    expect(usageTokens(withUsage, 'text/event-stream; charset=utf-8')).toBe(11);
    const without = [chunk({ choices: [{ delta: { content: 'Hi' } }] }), 'data: [DONE]\n\n'].join('');
    expect(usageTokens(without, 'text/event-stream')).toBeUndefined();
  });

  test('streams: a partial trailing line is ignored, the last usage wins', () => {
    const body = `data: {"usage":{"total_tokens":4}}\n\ndata: {"usage":{"total_tokens":9}}\n\ndata: {"usage":{"tot`;
    expect(usageTokens(body, 'text/event-stream')).toBe(9);
  });
});
