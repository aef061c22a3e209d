/**
 * The token-review cache added after the benchmark (src/targets/local/tokens.ts) must answer exactly
 * what verifying again would: a cached success stops at the token's expiry (with jwtVerify's 5 s
 * tolerance), is specific to the audiences, issuer and key, and failures are never cached.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateSigningKey, mintServiceAccountToken, reviewToken } from '../../src/targets/local/tokens.js';

const opts = { audiences: ['maas-default-gateway-sa'], issuer: 'https://kubernetes.default.svc' };
const mint = async (key: Awaited<ReturnType<typeof generateSigningKey>>, seconds: number) =>
  (await mintServiceAccountToken(key, { namespace: 'maas-default-gateway-tier-free', serviceAccount: 'cache-user', audience: opts.audiences[0]!, issuer: opts.issuer, seconds })).token;

afterEach(() => vi.useRealTimers());

describe('token review cache', () => {
  it('a cached success ends when the token expires, as a fresh verification would', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const key = await generateSigningKey();
    const token = await mint(key, 10);
    expect((await reviewToken(key, token, opts)).authenticated).toBe(true);
    expect((await reviewToken(key, token, opts)).authenticated).toBe(true);
    vi.setSystemTime(new Date('2026-01-01T00:00:14Z')); // exp + 4 s: within the tolerance
    expect((await reviewToken(key, token, opts)).authenticated).toBe(true);
    vi.setSystemTime(new Date('2026-01-01T00:00:15Z')); // exp + 5 s: expired for jwtVerify too
    const late = await reviewToken(key, token, opts);
    expect(late).toEqual({ authenticated: false, reason: 'ERR_JWT_EXPIRED' });
    expect(await reviewToken(key, token, opts)).toEqual(late);
  });

  it('is specific to the audiences, the issuer and the key', async () => {
    const key = await generateSigningKey();
    const other = await generateSigningKey();
    const token = await mint(key, 600);
    expect((await reviewToken(key, token, opts)).authenticated).toBe(true);
    expect((await reviewToken(key, token, { ...opts, audiences: ['https://kubernetes.default.svc'] })).authenticated).toBe(false);
    expect((await reviewToken(key, token, { ...opts, issuer: 'https://other' })).authenticated).toBe(false);
    expect((await reviewToken(other, token, opts)).authenticated).toBe(false);
  });

  it('never caches a failure, and hands out copies', async () => {
    const key = await generateSigningKey();
    const token = await mint(key, 600);
    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await reviewToken(key, forged, opts)).authenticated).toBe(false);
    expect((await reviewToken(key, forged, opts)).authenticated).toBe(false);
    const first = await reviewToken(key, token, opts);
    if (!first.authenticated) throw new Error('expected a success');
    first.groups.push('system:masters');
    const second = await reviewToken(key, token, opts);
    expect(second.authenticated && second.groups).not.toContain('system:masters');
  });
});
