/**
 * maas-api's API keys (subscription era): the `sk-oai-{key_id}_{secret}` format, the salted SHA-256
 * that is the only thing stored, expiry parsing, and the PostgreSQL store behind the handlers. Facts
 * from upstream (maas-api internal/api_keys keygen.go, store_postgres.go, token/types.go); code ours.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import pg from 'pg';
import { migrate, type MigrateResult } from './api-keys-schema.js';

export const KEY_PREFIX = 'sk-oai-';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Big-endian bytes as a base62 number (no padding: leading zero bytes shorten the text, as upstream). */
export function base62(bytes: Uint8Array): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  if (n === 0n) return '0';
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

/** SHA-256(key_id + NUL + secret) in hex: the NUL keeps "ab"+"c" and "a"+"bc" apart. */
export function hashKeyParts(keyId: string, secret: string): string {
  return createHash('sha256').update(`${keyId}\0${secret}`).digest('hex');
}

export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const body = key.slice(KEY_PREFIX.length);
  const sep = body.indexOf('_');
  if (sep < 0) return undefined;
  const keyId = body.slice(0, sep);
  const secret = body.slice(sep + 1);
  if (!keyId || !secret) return undefined;
  return { keyId, secret };
}

const B62 = /^[0-9A-Za-z]+$/;

/** Exactly `sk-oai-` + base62 + `_` + base62; anything else is "invalid key format". */
export function isValidKeyFormat(key: string): boolean {
  const parts = parseApiKey(key);
  return parts !== undefined && B62.test(parts.keyId) && B62.test(parts.secret);
}

/** The stored hash of a key, or '' when it does not parse. */
export function hashApiKey(key: string): string {
  const parts = parseApiKey(key);
  return parts ? hashKeyParts(parts.keyId, parts.secret) : '';
}

export function hashesEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export interface GeneratedKey {
  plaintext: string;
  hash: string;
  /** `sk-oai-` + the first 12 characters of key_id + `...`: what a UI may show. */
  prefix: string;
}

/** 96 random bits of key_id and 256 of secret, both base62. */
export function generateApiKey(): GeneratedKey {
  const keyId = base62(randomBytes(12));
  const secret = base62(randomBytes(32));
  return { plaintext: `${KEY_PREFIX}${keyId}_${secret}`, hash: hashKeyParts(keyId, secret), prefix: `${KEY_PREFIX}${keyId.slice(0, 12)}...` };
}

// ---------------------------------------------------------------------------------------------------
// Expiry

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
/** time.Duration is int64 nanoseconds. */
const MAX_NS = 2 ** 63 - 1;

/** Go's time.ParseDuration, in seconds, with Go's error texts. */
export function parseGoDuration(text: string): { seconds: number } | { error: string } {
  const quoted = JSON.stringify(text);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { seconds: 0 };
  if (s === '') return { error: `time: invalid duration ${quoted}` };
  let ns = 0;
  while (s !== '') {
    const num = /^(\d*)(\.(\d*))?/.exec(s)!;
    if ((num[1] ?? '') === '' && (num[3] ?? '') === '') return { error: `time: invalid duration ${quoted}` };
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') return { error: `time: missing unit in duration ${quoted}` };
    const scale = UNIT_NS[unit];
    if (scale === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}` };
    s = s.slice(unit.length);
    ns += Number(`${num[1] || '0'}.${num[3] || '0'}`) * scale;
    if (ns > MAX_NS) return { error: `time: invalid duration ${quoted}` };
  }
  return { seconds: (sign * ns) / 1e9 };
}

/**
 * `expiresIn` as maas-api reads it: a number of seconds, a Go duration, or `<float>d` for days;
 * `0` and `""` mean zero (then rejected as not positive); a JSON `null` or no field means "default".
 */
export function parseExpiresIn(value: unknown): { seconds: number | undefined } | { error: string } {
  if (value === undefined || value === null) return { seconds: undefined };
  if (typeof value === 'number') return { seconds: value };
  if (typeof value !== 'string') return { error: 'invalid duration' };
  if (value === '') return { seconds: 0 };
  if (value.endsWith('d')) {
    const days = value.slice(0, -1);
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(days) ? Number(days) : Number.NaN;
    if (!Number.isFinite(n)) return { error: `invalid days value: strconv.ParseFloat: parsing ${JSON.stringify(days)}: invalid syntax` };
    return { seconds: n * 86_400 };
  }
  return parseGoDuration(value);
}

/** Seconds as Go prints a time.Duration ("2400h0m0s", "1h0m0s", "30m0s", "1.5s"). */
export function goDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest = Math.round((rest - m * 60) * 1e9) / 1e9;
  if (h > 0) return `${sign}${h}h${m}m${rest}s`;
  if (m > 0) return `${sign}${m}m${rest}s`;
  return `${sign}${rest}s`;
}

/** time.RFC3339 in UTC, seconds precision: `2026-07-12T00:18:52Z`. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

// ---------------------------------------------------------------------------------------------------
// Store

export type KeyStatus = 'active' | 'revoked' | 'expired';

/** An api_keys row as the handlers return it (types.go ApiKey; empty fields are left out). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  description?: string;
  username?: string;
  subscription?: string;
  tenant?: string;
  groups?: string[];
  creationDate: string;
  expirationDate?: string;
  status: KeyStatus;
  lastUsedAt?: string;
  ephemeral: boolean;
  labels?: Record<string, string>;
}

export interface NewKey {
  id: string;
  username: string;
  name: string;
  description: string;
  hash: string;
  groups: string[];
  subscription: string;
  tenant: string;
  expiresAt: Date;
  ephemeral: boolean;
  labels?: Record<string, string>;
}

export interface SearchQuery {
  username: string;
  statuses: string[];
  includeEphemeral: boolean;
  subscription?: string;
  labelsContain?: Record<string, string>;
  sortBy: 'created_at' | 'expires_at' | 'last_used_at' | 'name';
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** Expired keys still stored as `active` are reported as `expired`, as upstream computes it. */
const EFFECTIVE_STATUS = "CASE WHEN status = 'active' AND expires_at IS NOT NULL AND expires_at < now() THEN 'expired' ELSE status END";

export class KeyNotFoundError extends Error {
  constructor() {
    super('api key not found');
    this.name = 'KeyNotFoundError';
  }
}

export class KeyInvalidError extends Error {
  constructor() {
    super('api key is invalid or revoked');
    this.name = 'KeyInvalidError';
  }
}

const iso = (v: unknown): string | undefined => (v instanceof Date ? rfc3339(v) : undefined);

function toRecord(r: Record<string, unknown>): ApiKeyRecord {
  const rec: ApiKeyRecord = { id: String(r.id), name: String(r.name), creationDate: iso(r.created_at) ?? '', status: r.status as KeyStatus, ephemeral: r.ephemeral === true };
  if (typeof r.description === 'string' && r.description !== '') rec.description = r.description;
  if (typeof r.username === 'string' && r.username !== '') rec.username = r.username;
  if (typeof r.subscription === 'string' && r.subscription !== '') rec.subscription = r.subscription;
  if (typeof r.tenant === 'string' && r.tenant !== '') rec.tenant = r.tenant;
  if (Array.isArray(r.user_groups) && r.user_groups.length > 0) rec.groups = r.user_groups.map(String);
  const exp = iso(r.expires_at);
  if (exp) rec.expirationDate = exp;
  const used = iso(r.last_used_at);
  if (used) rec.lastUsedAt = used;
  if (r.labels && typeof r.labels === 'object' && Object.keys(r.labels).length > 0) rec.labels = r.labels as Record<string, string>;
  // Field order as Go marshals the struct.
  const ordered: ApiKeyRecord = { id: rec.id, name: rec.name } as ApiKeyRecord;
  for (const k of ['description', 'username', 'subscription', 'tenant', 'groups', 'creationDate', 'expirationDate', 'status', 'lastUsedAt', 'ephemeral', 'labels'] as const) {
    if (rec[k] !== undefined) (ordered as unknown as Record<string, unknown>)[k] = rec[k];
  }
  return ordered;
}

/** The api_keys table of one tenant, through a `pg` pool. Only hashes go in; nothing returns a key. */
export class ApiKeyStore {
  readonly pool: pg.Pool;
  constructor(
    databaseUrl: string,
    readonly tenant: string,
    poolSize = 10,
  ) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
    // An idle client losing its server (database restarted) must not take the process down.
    this.pool.on('error', () => undefined);
  }

  /** Connects, applies the migrations, and says what it did. */
  async open(): Promise<MigrateResult> {
    const client = await this.pool.connect();
    try {
      return await migrate(client);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async add(k: NewKey): Promise<void> {
    if (k.tenant !== this.tenant) throw new Error(`tenant mismatch: attempted to create key for tenant "${k.tenant}" but store is scoped to "${this.tenant}"`);
    await this.pool.query(
      `INSERT INTO api_keys (id, username, name, description, key_hash, user_groups, subscription, tenant, status, created_at, expires_at, ephemeral, labels)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', now(), $9, $10, $11)`,
      [k.id, k.username, k.name, k.description, k.hash, k.groups, k.subscription, k.tenant, k.expiresAt, k.ephemeral, k.labels && Object.keys(k.labels).length > 0 ? JSON.stringify(k.labels) : null],
    );
  }

  async get(id: string): Promise<ApiKeyRecord> {
    const r = await this.pool.query(
      `SELECT id, name, description, username, subscription, tenant, created_at, expires_at, ${EFFECTIVE_STATUS} AS status, last_used_at, ephemeral, labels
         FROM api_keys WHERE id = $1 AND tenant = $2`,
      [id, this.tenant],
    );
    if (r.rows.length === 0) throw new KeyNotFoundError();
    return toRecord(r.rows[0] as Record<string, unknown>);
  }

  /**
   * The validation lookup: the row for a hash, with groups. An expired `active` row is marked expired
   * on the way (as upstream does); revoked or expired rows throw {@link KeyInvalidError}.
   */
  async getByHash(hash: string): Promise<ApiKeyRecord & { username: string; groups: string[]; subscription: string; tenant: string }> {
    const r = await this.pool.query(
      `SELECT id, username, name, description, user_groups, subscription, tenant, status, expires_at, last_used_at, ephemeral, created_at
         FROM api_keys WHERE key_hash = $1 AND tenant = $2`,
      [hash, this.tenant],
    );
    const row = r.rows[0] as Record<string, unknown> | undefined;
    if (!row) throw new KeyNotFoundError();
    let status = row.status as KeyStatus;
    if (row.expires_at instanceof Date && row.expires_at.getTime() < Date.now() && status === 'active') {
      await this.pool.query(`UPDATE api_keys SET status = 'expired' WHERE id = $1 AND tenant = $2 AND status = 'active'`, [row.id, this.tenant]).catch(() => undefined);
      status = 'expired';
    }
    if (status !== 'active') throw new KeyInvalidError();
    const rec = toRecord({ ...row, status });
    return { ...rec, username: String(row.username), groups: Array.isArray(row.user_groups) ? row.user_groups.map(String) : [], subscription: String(row.subscription ?? ''), tenant: String(row.tenant ?? '') };
  }

  /** Marks one active key revoked; {@link KeyNotFoundError} when there is no active key with that id. */
  async revoke(id: string): Promise<void> {
    const r = await this.pool.query(`UPDATE api_keys SET status = 'revoked' WHERE id = $1 AND tenant = $2 AND status = 'active'`, [id, this.tenant]);
    if (!r.rowCount) throw new KeyNotFoundError();
  }

  /** Active, unexpired keys of a user and/or subscription: counted (dry run) or revoked at once. */
  async bulkRevoke(username: string, subscription: string, dryRun: boolean): Promise<number> {
    const where = ['tenant = $1', "status = 'active'", '(expires_at IS NULL OR expires_at > now())'];
    const args: unknown[] = [this.tenant];
    if (username) where.push(`username = $${args.push(username)}`);
    if (subscription) where.push(`subscription = $${args.push(subscription)}`);
    if (dryRun) {
      const r = await this.pool.query(`SELECT count(*)::int AS n FROM api_keys WHERE ${where.join(' AND ')}`, args);
      return Number((r.rows[0] as { n: number }).n);
    }
    const r = await this.pool.query(`UPDATE api_keys SET status = 'revoked' WHERE ${where.join(' AND ')}`, args);
    return r.rowCount ?? 0;
  }

  async search(q: SearchQuery): Promise<{ keys: ApiKeyRecord[]; hasMore: boolean }> {
    const where = ['tenant = $1'];
    const args: unknown[] = [this.tenant];
    if (!q.includeEphemeral) where.push('ephemeral = FALSE');
    if (q.username) where.push(`username = $${args.push(q.username)}`);
    if (q.statuses.length > 0) where.push(`(${EFFECTIVE_STATUS}) IN (${q.statuses.map((s) => `$${args.push(s.trim())}`).join(',')})`);
    if (q.subscription) where.push(`subscription = $${args.push(q.subscription.trim())}`);
    if (q.labelsContain && Object.keys(q.labelsContain).length > 0) where.push(`labels @> $${args.push(JSON.stringify(q.labelsContain))}::jsonb`);
    const nullable = q.sortBy === 'expires_at' || q.sortBy === 'last_used_at';
    const order = `ORDER BY ${q.sortBy} ${q.order.toUpperCase()}${nullable ? ' NULLS LAST' : ''}`;
    const r = await this.pool.query(
      `SELECT id, name, description, subscription, tenant, username, created_at, expires_at, ${EFFECTIVE_STATUS} AS status, last_used_at, ephemeral, labels
         FROM api_keys WHERE ${where.join(' AND ')} ${order} LIMIT $${args.push(q.limit + 1)} OFFSET $${args.push(q.offset)}`,
      args,
    );
    const keys = r.rows.map((row) => toRecord(row as Record<string, unknown>));
    return { keys: keys.slice(0, q.limit), hasMore: keys.length > q.limit };
  }

  async touch(id: string): Promise<void> {
    await this.pool.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND tenant = $2', [id, this.tenant]);
  }
}

export function newKeyId(): string {
  return randomUUID();
}
