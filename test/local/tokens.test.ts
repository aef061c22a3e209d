/**
 * maas-api's token arithmetic (Go durations, SA names) and the TokenReview stand-in: every forged
 * variant of a service-account token is refused; a genuine one yields the SA identity and groups.
 */
import { createHash, createSecretKey } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK } from 'jose';
import { formatGoDuration, generateSigningKey, mintServiceAccountToken, parseExpiration, reviewToken, serviceAccountName } from '../../src/targets/local/tokens.js';

describe('parseExpiration (Go durations as maas-api accepts them)', () => {
  test.each([
    ['10m', 600],
    ['1h30m', 5400],
    ['90s', 90],
    ['1.5h', 5400],
    ['4h', 14400],
    ['2h0m0s', 7200],
    ['1500ms', 1.5],
    ['600', 600],
    [600, 600],
    [3600.5, 3600.5],
    ['-1h', -3600],
  ])('%s → %s s', (value, seconds) => {
    expect(parseExpiration(value)).toEqual({ seconds });
  });

  test.each([[undefined], [null], [''], [0]])('%s means "use the default" (0)', (value) => {
    expect(parseExpiration(value)).toEqual({ seconds: 0 });
  });

  test.each([['10'.concat('x')], ['ten minutes'], ['10 m'], ['m'], ['1d'], ['h1']])('refuses %s with Go’s message', (value) => {
    expect(parseExpiration(value)).toEqual({ error: `time: invalid duration "${value}"` });
  });

  test('refuses non-string, non-number values and non-finite numbers', () => {
    expect(parseExpiration({ minutes: 10 })).toHaveProperty('error');
    expect(parseExpiration(true)).toHaveProperty('error');
    expect(parseExpiration(Number.POSITIVE_INFINITY)).toHaveProperty('error');
  });
});

describe('formatGoDuration', () => {
  test.each([
    [600, '10m0s'],
    [14400, '4h0m0s'],
    [5400, '1h30m0s'],
    [90, '1m30s'],
    [300, '5m0s'],
    [59, '59s'],
    [1.5, '1.5s'],
    [0, '0s'],
    [3661, '1h1m1s'],
  ])('%s s → %s', (seconds, text) => {
    expect(formatGoDuration(seconds)).toBe(text);
  });
});

describe('serviceAccountName', () => {
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 8);

  test.each([
    ['kube:admin', 'kube-admin'],
    ['demo-user', 'demo-user'],
    ['Alice@Example.COM', 'alice-example-com'],
    ['--weird__name--', 'weird-name'],
    ['system:serviceaccount:ns:sa', 'system-serviceaccount-ns-sa'],
  ])('%s → %s-<sha1>', (user, base) => {
    expect(serviceAccountName(user)).toBe(`${base}-${sha1(user)}`);
  });

  test('the base is cut to 54 characters without a trailing dash, so the name fits 63', () => {
    const long = `${'a'.repeat(53)}:${'b'.repeat(40)}`;
    const name = serviceAccountName(long);
    expect(name).toBe(`${'a'.repeat(53)}-${sha1(long)}`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(serviceAccountName('x'.repeat(200)).length).toBe(63);
  });
});

describe('mint and review', () => {
  const issuer = 'https://kubernetes.default.svc';
  const audience = 'maas-default-gateway-sa';
  const opts = { audiences: [audience], issuer };

  test('a minted token carries the seed’s claims and is accepted', async () => {
    const key = await generateSigningKey();
    const minted = await mintServiceAccountToken(key, { namespace: 'maas-default-gateway-tier-free', serviceAccount: 'demo-user-1234abcd', audience, issuer, seconds: 600 });
    const claims = decodeJwt(minted.token);
    expect(claims).toMatchObject({ iss: issuer, aud: [audience], sub: 'system:serviceaccount:maas-default-gateway-tier-free:demo-user-1234abcd', jti: minted.jti });
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(minted.expiresAt - minted.issuedAt).toBe(600);
    expect(await reviewToken(key, minted.token, opts)).toEqual({
      authenticated: true,
      username: 'system:serviceaccount:maas-default-gateway-tier-free:demo-user-1234abcd',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:maas-default-gateway-tier-free', 'system:authenticated'],
    });
  });

  test('forged tokens are refused', async () => {
    const key = await generateSigningKey();
    const priv = await importJWK(key.privateJwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const sub = 'system:serviceaccount:maas-default-gateway-tier-free:mallory';
    const sign = (o: { aud?: string; iss?: string; exp?: number; nbf?: number; sub?: string }, k: Parameters<SignJWT['sign']>[0] = priv, alg = 'ES256') =>
      new SignJWT({})
        .setProtectedHeader({ alg, kid: key.kid })
        .setIssuer(o.iss ?? issuer)
        .setSubject(o.sub ?? sub)
        .setAudience(o.aud ?? audience)
        .setIssuedAt(now)
        .setNotBefore(o.nbf ?? now)
        .setExpirationTime(o.exp ?? now + 600)
        .sign(k);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const other = await generateKeyPair('ES256', { extractable: true });
    const good = await sign({});
    const [h, , s] = good.split('.');
    const cases: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuer, sub, aud: [audience], exp: now + 600, nbf: now, iat: now })}.`,
      'wrong key': await sign({}, other.privateKey),
      'wrong audience': await sign({ aud: 'https://kubernetes.default.svc' }),
      'wrong issuer': await sign({ iss: 'https://evil.example' }),
      expired: await sign({ exp: now - 60 }),
      'not yet valid': await sign({ nbf: now + 600 }),
      'HS256 with the public key as secret': await sign({}, createSecretKey(Buffer.from(JSON.stringify(await exportJWK(await importJWK(key.publicJwk, 'ES256'))))), 'HS256'),
      'payload swapped under a valid signature': `${h}.${b64({ iss: issuer, sub: 'system:serviceaccount:maas-default-gateway-tier-enterprise:mallory', aud: [audience], exp: now + 600, nbf: now, iat: now })}.${s}`,
      garbage: 'not-a-jwt',
      empty: '',
    };
    for (const [name, token] of Object.entries(cases)) {
      const review = await reviewToken(key, token, opts);
      expect(review.authenticated, name).toBe(false);
    }
    expect((await reviewToken(key, good, opts)).authenticated).toBe(true);
  });

  test('a genuine token that is not a service account is refused', async () => {
    const key = await generateSigningKey();
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(issuer).setSubject('kube:admin').setAudience(audience).setIssuedAt().setExpirationTime('10m').sign(await importJWK(key.privateJwk, 'ES256'));
    expect(await reviewToken(key, token, opts)).toEqual({ authenticated: false, reason: 'not a service account' });
  });
});

describe('parseExpiration refuses durations Go cannot hold', () => {
  test('rejects a duration past int64 nanoseconds, as a string or a number', () => {
    expect(parseExpiration('99999999999999h')).toEqual({ error: 'time: invalid duration "99999999999999h"' });
    expect(parseExpiration(1e300)).toEqual({ error: 'invalid expiration' });
    expect(parseExpiration('290y')).toHaveProperty('error');
    expect(parseExpiration('2000000h')).toEqual({ seconds: 7_200_000_000 });
  });
});
