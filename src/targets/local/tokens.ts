/**
 * Service-account tokens as maas-api obtains them from a TokenRequest (contracts §4.1): ES256 JWTs
 * signed with a key generated per install, verified by the gateway in the role of a TokenReview
 * (signature, audience, issuer, expiry, not-before). Built on `jose`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';

export interface SigningKeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<SigningKeyFile> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

/** maas-api's SA name for a user: lower-cased, non-[a-z0-9-] runs → '-', trimmed, ≤ 54, + 8 hex of SHA-1. */
export function serviceAccountName(username: string): string {
  const base = username
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 54)
    .replace(/-+$/g, '');
  return `${base}-${createHash('sha1').update(username).digest('hex').slice(0, 8)}`;
}

export interface MintedToken {
  token: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export async function mintServiceAccountToken(
  key: SigningKeyFile,
  opts: { namespace: string; serviceAccount: string; audience: string; issuer: string; seconds: number },
): Promise<MintedToken> {
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const token = await new SignJWT({
    'kubernetes.io': {
      namespace: opts.namespace,
      serviceaccount: { name: opts.serviceAccount, uid: createHash('sha1').update(`${opts.namespace}/${opts.serviceAccount}`).digest('hex').slice(0, 32) },
    },
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setSubject(`system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`)
    .setAudience([opts.audience])
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + opts.seconds)
    .setJti(jti)
    .sign(privateKey);
  return { token, jti, issuedAt: now, expiresAt: now + opts.seconds };
}

export type Review = { authenticated: true; username: string; groups: string[] } | { authenticated: false; reason: string };

/**
 * Imported verification keys, by the JWK's identity (kid and curve point). Importing a JWK costs as
 * much CPU as the signature check itself; the gateway imported it on every request (23% of its CPU
 * under load, see BENCHMARKS.md). A failed import is not kept.
 */
const publicKeys = new Map<string, ReturnType<typeof importJWK>>();

const keyId = (key: SigningKeyFile) => `${key.kid}|${key.publicJwk.crv}|${key.publicJwk.x}|${key.publicJwk.y}`;

function publicKeyOf(key: SigningKeyFile): ReturnType<typeof importJWK> {
  const id = keyId(key);
  let imported = publicKeys.get(id);
  if (!imported) {
    imported = importJWK(key.publicJwk, 'ES256');
    publicKeys.set(id, imported);
    imported.catch(() => publicKeys.delete(id));
  }
  return imported;
}

/** jwtVerify's clock tolerance, in seconds; the review cache applies the same to `exp`. */
const CLOCK_TOLERANCE_S = 5;
const REVIEW_CACHE_MAX = 10_000;

/**
 * Successful reviews, by key, issuer, audiences and token. The signature check (an async WebCrypto job
 * on the thread pool) was the gateway's largest cost per request (26% of its CPU under load, ~0.4 ms
 * added at one request at a time, see BENCHMARKS.md). A signature, issuer, audience and subject do not
 * change, so a hit answers exactly what verifying again would, as long as `exp` is checked on every hit
 * the way jwtVerify checks it (rejected once exp <= now - tolerance); `nbf` passed already. Failures
 * are never cached. (A real cluster caches successful TokenReviews for 10 s as well.)
 */
const reviews = new Map<string, { exp: number | undefined; username: string; groups: string[] }>();

/** The TokenReview's answer for a bearer token, for the given audiences. */
export async function reviewToken(key: SigningKeyFile, token: string, opts: { audiences: string[]; issuer: string }): Promise<Review> {
  const cacheKey = `${keyId(key)}\n${opts.issuer}\n${opts.audiences.join('\n')}\n${token}`;
  const hit = reviews.get(cacheKey);
  if (hit) {
    if (hit.exp === undefined || hit.exp > Math.floor(Date.now() / 1000) - CLOCK_TOLERANCE_S) return { authenticated: true, username: hit.username, groups: [...hit.groups] };
    reviews.delete(cacheKey);
  }
  try {
    const publicKey = await publicKeyOf(key);
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ['ES256'], issuer: opts.issuer, audience: opts.audiences, clockTolerance: CLOCK_TOLERANCE_S });
    const sub = payload.sub ?? '';
    const parts = sub.split(':');
    if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount') return { authenticated: false, reason: 'not a service account' };
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${parts[2]}`, 'system:authenticated'];
    if (reviews.size >= REVIEW_CACHE_MAX) reviews.delete(reviews.keys().next().value!);
    reviews.set(cacheKey, { exp: payload.exp, username: sub, groups });
    return { authenticated: true, username: sub, groups: [...groups] };
  } catch (err) {
    return { authenticated: false, reason: (err as { code?: string }).code ?? 'invalid token' };
  }
}

/** The longest time.Duration Go can hold: 2^63 − 1 nanoseconds, about 292 years. */
const MAX_GO_DURATION_SECONDS = 9_223_372_036;

/** Parses a Go duration ("10m", "1h30m", "90s", "1.5h") or a number of seconds, as maas-api accepts. */
export function parseExpiration(value: unknown): { seconds: number } | { error: string } {
  if (value === undefined || value === null || value === '' || value === 0) return { seconds: 0 };
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) <= MAX_GO_DURATION_SECONDS ? { seconds: value } : { error: 'invalid expiration' };
  if (typeof value !== 'string') return { error: 'expiration must be a duration string or a number of seconds' };
  if (/^-?\d+(\.\d+)?$/.test(value)) return Math.abs(Number(value)) <= MAX_GO_DURATION_SECONDS ? { seconds: Number(value) } : { error: `time: invalid duration "${value}"` };
  const re = /(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * (unit[m[2]!] ?? 0);
    consumed = re.lastIndex;
  }
  if (consumed !== value.length || consumed === 0) return { error: `time: invalid duration "${value}"` };
  // Go's time.Duration is int64 nanoseconds: anything longer does not parse.
  if (Math.abs(total) > MAX_GO_DURATION_SECONDS) return { error: `time: invalid duration "${value}"` };
  return { seconds: total };
}

/** Formats seconds as Go prints a time.Duration: 600 → "10m0s", 14400 → "4h0m0s". */
export function formatGoDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round((seconds % 60) * 1000) / 1000;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}
