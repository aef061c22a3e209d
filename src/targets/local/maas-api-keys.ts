/**
 * maas-api in its subscription-era shape, as a local hop: API keys minted for the caller's
 * subscription and stored as hashes in PostgreSQL, the internal callbacks the gateway's auth policy
 * calls on every request (key validation, subscription selection; both always 200), and the
 * subscription and model listings. Like the real service it trusts the identity headers
 * (`X-MaaS-Username`, `X-MaaS-Group`) the gateway injects and never authenticates a caller itself.
 *
 * Status codes, bodies and field names follow upstream's handlers (maas-api internal/api_keys,
 * internal/subscription, internal/handlers/models.go) — including their quirks: gin's flat
 * `{"error": "..."}` bodies on the key routes, `EOF` for an empty JSON body, 404 for another user's
 * key, 500 AUTH_FAILURE when the identity headers are missing. The plaintext key appears in exactly
 * one place: the 201 body of `POST /v1/api-keys`; traces and logs carry the key id only.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { HopRecord } from '../../model/hop-record.js';
import type { MaasApiKeysSpec } from '../../model/subscription.js';
import { answering, firstHeader, jsonInternalError, readLimited } from '../../sim/http-server.js';
import { hopHandle } from './hop-handle.js';
import { hardenHop } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import {
  ApiKeyStore,
  KeyInvalidError,
  KeyNotFoundError,
  generateApiKey,
  goDuration,
  hashApiKey,
  isValidKeyFormat,
  newKeyId,
  parseExpiresIn,
  rfc3339,
  type ApiKeyRecord,
} from './api-keys.js';
import {
  SelectionError,
  accessibleForModel,
  allAccessible,
  modelEntry,
  select,
  selectHighestPriority,
  selectResponseJson,
  subscriptionInfoJson,
  type Selected,
} from './subscription-select.js';

export interface MaasApiKeysHop {
  server: Server;
  traces: TraceBuffer;
  setSpec(spec: MaasApiKeysSpec): void;
  spec(): MaasApiKeysSpec;
  close(): Promise<void>;
  store: ApiKeyStore;
}

const EPHEMERAL_MAX_SECONDS = 3600;
const MAX_LABELS = 50;
const MAX_LABEL_KEY = 128;
const MAX_LABEL_VALUE = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;
const LABEL_KEY = /^([a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?\/)?[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;
const GROUP_NAME = /^[a-zA-Z0-9:._-]+$/;
const AUTH_FAILURE = (refId: string) => ({ error: 'Exception thrown while generating token', exceptionCode: 'AUTH_FAILURE', refId });

interface User {
  username: string;
  groups: string[];
}

/** Body-binding failure with the text gin/encoding/json would give. */
class BindError extends Error {}

type GoType = 'string' | 'bool' | 'int' | 'duration' | 'map[string]string' | '[]string' | 'struct';
interface Field {
  go: GoType;
  struct?: string;
  fields?: Record<string, Field>;
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

/**
 * Decodes a JSON body into a Go struct shape: empty body → `EOF`; bad JSON → encoding/json's
 * wording; a value of the wrong type → "json: cannot unmarshal X into Go struct field S.f of type T".
 * Unknown fields are ignored and `null` leaves a field unset, as Go does.
 */
function bind(raw: Buffer, struct: string, fields: Record<string, Field>): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new BindError('EOF');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const first = text.trim()[0] ?? '';
    throw new BindError(/[[{"\-0-9tfn]/.test(first) ? 'unexpected EOF' : `invalid character '${first}' looking for beginning of value`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new BindError(`json: cannot unmarshal ${jsonKind(parsed)} into Go value of type ${struct}`);
  return check(parsed as Record<string, unknown>, struct, fields);
}

function check(obj: Record<string, unknown>, struct: string, fields: Record<string, Field>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const short = struct.split('.').pop()!;
  for (const [name, f] of Object.entries(fields)) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const where = `Go struct field ${short}.${name} of type`;
    const fail = (kind: string, type: string) => new BindError(`json: cannot unmarshal ${kind} into ${where} ${type}`);
    switch (f.go) {
      case 'string':
        if (typeof v !== 'string') throw fail(jsonKind(v), 'string');
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw fail(jsonKind(v), 'bool');
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v)) throw fail(typeof v === 'number' ? `number ${v}` : jsonKind(v), 'int');
        break;
      case 'duration':
        if (typeof v !== 'string' && typeof v !== 'number') throw new BindError('invalid duration');
        break;
      case '[]string':
        if (!Array.isArray(v)) throw fail(jsonKind(v), '[]string');
        for (const item of v) if (typeof item !== 'string') throw new BindError(`json: cannot unmarshal ${jsonKind(item)} into ${where} string`);
        break;
      case 'map[string]string':
        if (jsonKind(v) !== 'object') throw fail(jsonKind(v), 'map[string]string');
        for (const item of Object.values(v as object)) if (typeof item !== 'string') throw new BindError(`json: cannot unmarshal ${jsonKind(item)} into ${where} string`);
        break;
      case 'struct':
        if (jsonKind(v) !== 'object') throw fail(jsonKind(v), f.struct ?? 'struct');
        out[name] = check(v as Record<string, unknown>, f.struct ?? name, f.fields ?? {});
        continue;
    }
    out[name] = v;
  }
  return out;
}

const CREATE_FIELDS: Record<string, Field> = {
  name: { go: 'string' },
  description: { go: 'string' },
  subscription: { go: 'string' },
  expiresIn: { go: 'duration' },
  ephemeral: { go: 'bool' },
  labels: { go: 'map[string]string' },
};
const SEARCH_FIELDS: Record<string, Field> = {
  filters: {
    go: 'struct',
    struct: 'SearchFilters',
    fields: {
      username: { go: 'string' },
      status: { go: '[]string' },
      subscription: { go: 'string' },
      includeEphemeral: { go: 'bool' },
      labelsContain: { go: 'map[string]string' },
    },
  },
  sort: { go: 'struct', struct: 'SortParams', fields: { by: { go: 'string' }, order: { go: 'string' } } },
  pagination: { go: 'struct', struct: 'PaginationParams', fields: { limit: { go: 'int' }, offset: { go: 'int' } } },
};

/** Label rules of the create and search handlers; the first problem found, as upstream words it. */
export function labelsProblem(labels: Record<string, string> | undefined): string | undefined {
  if (!labels) return undefined;
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return `labels cannot exceed ${MAX_LABELS} key-value pairs`;
  for (const [k, v] of entries) {
    if (k.length === 0) return 'label keys cannot be empty';
    if (Buffer.byteLength(k) > MAX_LABEL_KEY) return `label key '${k}' exceeds ${MAX_LABEL_KEY} characters`;
    if (!LABEL_KEY.test(k)) return `label key '${k}' contains invalid characters (only alphanumerics, dots, underscores, hyphens allowed)`;
    if (v.length === 0) return `label value for key '${k}' cannot be empty`;
    if (Buffer.byteLength(v) > MAX_LABEL_VALUE) return `label value for key '${k}' exceeds ${MAX_LABEL_VALUE} characters`;
    if (CONTROL.test(v)) return `label value for key '${k}' contains invalid control characters`;
  }
  return undefined;
}

/** `["a","b"]` (JSON) or Authorino's `[a b]`; undefined when neither. */
export function parseGroupsHeader(header: string): string[] | undefined {
  let groups: unknown;
  try {
    groups = JSON.parse(header);
  } catch {
    const t = header.trim();
    if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
    groups = t.slice(1, -1).split(/\s+/);
  }
  if (!Array.isArray(groups)) return undefined;
  const valid = groups.filter((g): g is string => typeof g === 'string').map((g) => g.trim()).filter((g) => g !== '');
  return valid.length > 0 ? valid : undefined;
}

type Identity = { kind: 'none' } | { kind: 'user'; user: User } | { kind: 'broken'; refId: string };

function identity(req: IncomingMessage): Identity {
  const username = (firstHeader(req.headers['x-maas-username']) ?? '').trim();
  const groupHeader = firstHeader(req.headers['x-maas-group']) ?? '';
  if (username === '' && groupHeader === '') return { kind: 'none' };
  if (username === '') return { kind: 'broken', refId: '001' };
  if (groupHeader === '') return { kind: 'broken', refId: '002' };
  const groups = parseGroupsHeader(groupHeader);
  if (!groups) return { kind: 'broken', refId: '003' };
  return { kind: 'user', user: { username, groups } };
}

/** The last non-empty `X-MaaS-Subscription` value (the gateway's injected one wins over a client's). */
function requestedSubscription(req: IncomingMessage): string {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'x-maas-subscription') values.push(req.rawHeaders[i + 1] ?? '');
  for (let i = values.length - 1; i >= 0; i--) if (values[i]!.trim() !== '') return values[i]!.trim();
  return '';
}

interface Route {
  method: string;
  pattern: RegExp;
  name: string;
  auth: 'strict' | 'optional' | 'none';
}

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/health$/, name: 'health', auth: 'none' },
  { method: 'GET', pattern: /^\/v1\/models$/, name: 'models', auth: 'optional' },
  { method: 'GET', pattern: /^\/v1\/subscriptions$/, name: 'subscriptions', auth: 'optional' },
  { method: 'GET', pattern: /^\/v1\/model\/([^/]+)\/subscriptions$/, name: 'model-subscriptions', auth: 'optional' },
  { method: 'GET', pattern: /^\/v1\/api-keys\/config$/, name: 'config', auth: 'strict' },
  { method: 'POST', pattern: /^\/v1\/api-keys$/, name: 'create', auth: 'strict' },
  { method: 'POST', pattern: /^\/v1\/api-keys\/bulk-revoke$/, name: 'bulk-revoke', auth: 'strict' },
  { method: 'POST', pattern: /^\/v1\/api-keys\/search$/, name: 'search', auth: 'optional' },
  { method: 'GET', pattern: /^\/v1\/api-keys\/([^/]+)$/, name: 'get', auth: 'strict' },
  { method: 'DELETE', pattern: /^\/v1\/api-keys\/([^/]+)$/, name: 'revoke', auth: 'strict' },
  { method: 'POST', pattern: /^\/internal\/v1\/api-keys\/validate$/, name: 'validate', auth: 'none' },
  { method: 'POST', pattern: /^\/internal\/v1\/api-keys\/cleanup$/, name: 'cleanup', auth: 'none' },
  { method: 'DELETE', pattern: /^\/internal\/v1\/tenants\/([^/]+)\/api-keys$/, name: 'tenant-revoke', auth: 'none' },
  { method: 'POST', pattern: /^\/internal\/v1\/subscriptions\/select$/, name: 'select', auth: 'none' },
];

function match(method: string, path: string): { route: Route; param: string } | { redirect: string } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m) return { route, param: decodeURIComponent(m[1] ?? '') };
  }
  // gin's RedirectTrailingSlash: /v1/api-keys/ → /v1/api-keys when only the other form is routed.
  if (path.length > 1 && path.endsWith('/') && ROUTES.some((r) => r.method === method && r.pattern.test(path.slice(0, -1)))) return { redirect: path.slice(0, -1) };
  return undefined;
}

export interface MaasApiKeysOptions {
  spec: MaasApiKeysSpec;
  store: ApiKeyStore;
  log?: (line: string) => void;
}

/** Creates the hop; the store must be open (migrated) already. */
export function createMaasApiKeys(opts: MaasApiKeysOptions): MaasApiKeysHop {
  let spec = opts.spec;
  const { store } = opts;
  const traces = new TraceBuffer();
  const log = opts.log ?? (() => undefined);
  /** key id → when last_used_at was last written (LAST_USED_DEBOUNCE_SECS). */
  const lastUsedWrites = new Map<string, number>();

  const isAdmin = (u: User) => spec.admins.users.includes(u.username) || u.groups.some((g) => spec.admins.groups.includes(g));

  const server = createServer(answering(async (req, res) => {
    const start = performance.now();
    const requestId = firstHeader(req.headers['x-request-id']) ?? randomUUID();
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const detail: Record<string, string> = {};
    const record = (status: number) => {
      const rec: HopRecord = { requestId, hop: 'maas-api', at: Date.now(), ms: performance.now() - start, method, pathIn: req.url ?? '/', status, answeredBy: 'self', detail };
      traces.add(rec);
    };
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-request-id': requestId, ...headers });
      res.end(text);
      record(status);
    };

    const found = match(method, rawPath);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 18 });
      res.end('404 page not found');
      return record(404);
    }
    if ('redirect' in found) {
      res.writeHead(method === 'GET' ? 301 : 307, { location: found.redirect, 'content-length': 0 });
      res.end();
      return record(method === 'GET' ? 301 : 307);
    }
    const { route, param } = found;
    detail.route = route.name;

    let user: User | undefined;
    if (route.auth !== 'none') {
      const id = identity(req);
      if (id.kind === 'broken' || (id.kind === 'none' && route.auth === 'strict')) {
        return reply(500, AUTH_FAILURE(id.kind === 'broken' ? id.refId : '001'));
      }
      if (id.kind === 'user') {
        user = id.user;
        detail.user = user.username;
      }
    }

    let body: Buffer;
    try {
      body = await readLimited(req, 1024 * 1024);
    } catch {
      return reply(413, { error: 'request body too large' });
    }

    try {
      switch (route.name) {
        case 'health':
          return reply(200, { status: 'healthy' });
        case 'config':
          return reply(200, { max_expiration_days: spec.maxExpirationDays > 0 ? spec.maxExpirationDays : 90, ephemeral_max_expiration: '1h0m0s' });
        case 'create':
          return await create(user!, body);
        case 'get':
          return await getKey(user!, param);
        case 'revoke':
          return await revoke(user!, param);
        case 'search':
          return await search(user, body);
        case 'bulk-revoke':
          return await bulkRevoke(user!, body);
        case 'validate':
          return await validate(body);
        case 'select':
          return selectHandler(body);
        case 'subscriptions': {
          if (!user) return reply(200, [], { 'cache-control': 'no-store' });
          return reply(200, allAccessible(spec, user.groups, user.username).map(subscriptionInfoJson), { 'cache-control': 'no-store' });
        }
        case 'model-subscriptions':
          return modelSubscriptions(user, param);
        case 'models':
          return models(user);
        case 'cleanup': {
          const r = await store.pool.query(
            `DELETE FROM api_keys WHERE tenant = $1 AND ephemeral = TRUE AND expires_at IS NOT NULL AND expires_at < now() - INTERVAL '30 minutes'`,
            [store.tenant],
          );
          return reply(200, { deletedCount: r.rowCount ?? 0, message: `Successfully deleted ${r.rowCount ?? 0} expired ephemeral key(s)` });
        }
        case 'tenant-revoke': {
          const tenant = param.trim();
          if (!tenant) return reply(400, { error: 'tenant is required' });
          if (tenant !== store.tenant) return reply(400, { error: 'tenant mismatch' });
          const r = await store.pool.query(`UPDATE api_keys SET status = 'revoked' WHERE tenant = $1 AND status = 'active'`, [tenant]);
          return reply(200, { revokedCount: r.rowCount ?? 0, message: `Successfully revoked ${r.rowCount ?? 0} active API key(s) for tenant ${tenant}` });
        }
      }
      return reply(404, { error: 'not found' });
    } catch (err) {
      if (err instanceof BindError) return reply(400, { error: err.message });
      // Database unreachable and the like: one line in the log (never a body, never a key), 500 out.
      log(`maas-api ${route.name}: ${(err as Error).message}`);
      detail.error = (err as Error).message.slice(0, 200);
      const message: Record<string, string> = {
        create: 'Failed to create API key',
        get: 'Failed to retrieve API key',
        revoke: 'Failed to revoke API key',
        search: 'Failed to search API keys',
        'bulk-revoke': 'Failed to revoke API keys',
        validate: 'validation failed',
        cleanup: 'Failed to cleanup expired ephemeral keys',
        'tenant-revoke': 'Failed to revoke tenant API keys',
      };
      if (!res.headersSent) return reply(500, { error: message[route.name] ?? 'internal error' });
      res.destroy();
    }

    // ------------------------------------------------------------------------------------------
    // Handlers (closures over req/res/detail)

    async function create(u: User, raw: Buffer) {
      const b = bind(raw, 'api_keys.CreateAPIKeyRequest', CREATE_FIELDS) as {
        name?: string; description?: string; subscription?: string; expiresIn?: unknown; ephemeral?: boolean; labels?: Record<string, string>;
      };
      const ephemeral = b.ephemeral === true;
      const expires = parseExpiresIn(b.expiresIn);
      if ('error' in expires) return reply(400, { error: expires.error });
      if (!ephemeral && !b.name) return reply(400, { error: 'name is required for non-ephemeral keys' });
      const labelProblem = labelsProblem(b.labels);
      if (labelProblem) return reply(400, { error: labelProblem });
      let name = b.name ?? '';
      if (ephemeral && name === '') {
        name = `ephemeral-${BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))}`;
      } else {
        name = name.trim();
        if (name.length === 0) return reply(400, { error: 'key name cannot be whitespace only' });
        if ([...name].length > 128) return reply(400, { error: 'key name cannot exceed 128 characters' });
        if (CONTROL.test(name)) return reply(400, { error: 'key name contains invalid control characters' });
      }
      const bad = u.groups.find((g) => !GROUP_NAME.test(g));
      if (bad !== undefined) {
        // Upstream's service refuses it with a plain error, which the handler turns into a 500.
        detail.error = 'group name contains invalid characters';
        return reply(500, { error: 'Failed to create API key' });
      }
      const maxDays = spec.maxExpirationDays > 0 ? spec.maxExpirationDays : 90;
      const seconds = expires.seconds ?? (ephemeral ? EPHEMERAL_MAX_SECONDS : maxDays * 86_400);
      if (seconds <= 0) return reply(400, { error: 'expiration must be positive' });
      if (ephemeral && seconds > EPHEMERAL_MAX_SECONDS) {
        return reply(400, { error: `ephemeral key expiration (${goDuration(seconds)}) cannot exceed 1h0m0s: expiration exceeds maximum allowed` });
      }
      if (!ephemeral && seconds > maxDays * 86_400) {
        return reply(400, { error: `requested expiration (${goDuration(seconds)}) exceeds maximum allowed (${maxDays} days): expiration exceeds maximum allowed` });
      }
      const expiresAt = new Date(Date.now() + seconds * 1000);
      const requested = (b.subscription ?? '').trim();
      let sub: Selected;
      try {
        sub = requested ? select(spec, u.groups, u.username, requested, '') : selectHighestPriority(spec, u.groups, u.username);
      } catch (err) {
        if (!(err instanceof SelectionError) || err.kind === 'bad_request') throw err;
        detail.subscriptionError = err.kind;
        if (err.kind === 'model_unhealthy') return reply(err.phase === 'Failed' ? 403 : 400, { error: err.message, code: 'subscription_not_ready' });
        return reply(400, { error: 'Unable to resolve a subscription for this API key', code: 'invalid_subscription' });
      }
      const key = generateApiKey();
      const id = newKeyId();
      await store.add({ id, username: u.username, name, description: b.description ?? '', hash: key.hash, groups: u.groups, subscription: sub.name, tenant: spec.tenant, expiresAt, ephemeral, ...(b.labels ? { labels: b.labels } : {}) });
      detail.keyId = id;
      detail.subscription = sub.name;
      log(`maas-api created API key ${id} for ${u.username} (subscription ${sub.name}, ephemeral ${ephemeral})`);
      return reply(201, {
        key: key.plaintext,
        keyPrefix: key.prefix,
        id,
        name,
        subscription: sub.name,
        createdAt: rfc3339(new Date()),
        expiresAt: rfc3339(expiresAt),
        ephemeral,
        ...(b.labels && Object.keys(b.labels).length > 0 ? { labels: b.labels } : {}),
      });
    }

    async function authorizedKey(u: User, id: string): Promise<ApiKeyRecord | undefined> {
      let rec: ApiKeyRecord;
      try {
        rec = await store.get(id);
      } catch (err) {
        if (err instanceof KeyNotFoundError) return undefined;
        throw err;
      }
      if ((rec.tenant ?? '') !== spec.tenant) return undefined;
      if (rec.username === u.username || isAdmin(u)) return rec;
      // Another user's key answers exactly like a missing one (no enumeration of key ids).
      detail.denied = 'not the owner';
      return undefined;
    }

    async function getKey(u: User, id: string) {
      detail.keyId = id;
      const rec = await authorizedKey(u, id);
      return rec ? reply(200, rec) : reply(404, { error: 'API key not found' });
    }

    async function revoke(u: User, id: string) {
      detail.keyId = id;
      const rec = await authorizedKey(u, id);
      if (!rec) return reply(404, { error: 'API key not found' });
      try {
        await store.revoke(id);
      } catch (err) {
        if (err instanceof KeyNotFoundError) return reply(404, { error: 'API key not found' });
        throw err;
      }
      log(`maas-api revoked API key ${id} (by ${u.username})`);
      return reply(200, await store.get(id));
    }

    async function search(u: User | undefined, raw: Buffer) {
      const noStore = { 'cache-control': 'no-store' };
      if (!u) return reply(200, { object: 'list', data: [], has_more: false }, noStore);
      const b = bind(raw, 'api_keys.SearchAPIKeysRequest', SEARCH_FIELDS) as {
        filters?: { username?: string; status?: string[]; subscription?: string; includeEphemeral?: boolean; labelsContain?: Record<string, string> };
        sort?: { by?: string; order?: string };
        pagination?: { limit?: number; offset?: number };
      };
      const filters = b.filters ?? {};
      const sort = b.sort ?? { by: 'created_at', order: 'desc' };
      const pagination = b.pagination ?? { limit: 50, offset: 0 };
      for (const s of filters.status ?? []) {
        if (!['active', 'revoked', 'expired'].includes(s.trim())) return reply(400, { error: `invalid status '${s}': must be active, revoked, or expired` }, noStore);
      }
      let username = filters.username ?? '';
      if (!isAdmin(u)) {
        if (username !== '' && username !== u.username) return reply(403, { error: 'non-admin users can only search their own API keys' }, noStore);
        username = u.username;
      }
      const by = sort.by ?? '';
      if (by !== '' && !['created_at', 'expires_at', 'last_used_at', 'name'].includes(by)) {
        return reply(400, { error: 'invalid sort.by: must be one of: created_at, expires_at, last_used_at, name' }, noStore);
      }
      let order = (sort.order ?? '').trim().toLowerCase();
      if (sort.order && order !== 'asc' && order !== 'desc') return reply(400, { error: 'invalid sort.order: must be asc or desc' }, noStore);
      if (order === '') order = 'desc';
      const limit = pagination.limit ?? 0;
      if (limit < 1) return reply(400, { error: 'pagination.limit must be at least 1' }, noStore);
      const offset = pagination.offset ?? 0;
      if (offset < 0) return reply(400, { error: 'pagination.offset must be non-negative' }, noStore);
      const labelProblem = labelsProblem(filters.labelsContain);
      if (labelProblem) return reply(400, { error: labelProblem }, noStore);
      const result = await store.search({
        username,
        statuses: filters.status ?? [],
        includeEphemeral: filters.includeEphemeral === true,
        ...(filters.subscription ? { subscription: filters.subscription } : {}),
        ...(filters.labelsContain ? { labelsContain: filters.labelsContain } : {}),
        sortBy: (by || 'created_at') as 'created_at',
        order: order as 'asc' | 'desc',
        limit: Math.min(limit, 100),
        offset,
      });
      detail.results = String(result.keys.length);
      return reply(200, { object: 'list', data: result.keys, has_more: result.hasMore }, noStore);
    }

    async function bulkRevoke(u: User, raw: Buffer) {
      const b = bind(raw, 'api_keys.BulkRevokeRequest', { username: { go: 'string' }, subscription: { go: 'string' }, dryRun: { go: 'bool' } }) as {
        username?: string; subscription?: string; dryRun?: boolean;
      };
      const username = (b.username ?? '').trim();
      const subscription = (b.subscription ?? '').trim();
      if (!username && !subscription) return reply(400, { error: 'at least one of username or subscription is required' });
      const needsAdmin = subscription !== '' || (username !== '' && username !== u.username);
      if (needsAdmin && !isAdmin(u)) return reply(403, { error: 'Access denied: admin privileges required for this bulk revoke operation' });
      const scope = username && subscription ? `user ${username} in subscription ${subscription}` : subscription ? `subscription ${subscription}` : `user ${username}`;
      const count = await store.bulkRevoke(username, subscription, b.dryRun === true);
      detail.revoked = String(count);
      if (b.dryRun === true) return reply(200, { revokedCount: count, message: `Dry run: ${count} active key(s) would be revoked for ${scope}`, dryRun: true });
      return reply(200, { revokedCount: count, message: `Successfully revoked ${count} active API key(s) for ${scope}` });
    }

    async function validate(raw: Buffer) {
      let key = '';
      try {
        const b = bind(raw, 'api_keys.ValidateAPIKeyRequest', { key: { go: 'string' } });
        key = typeof b.key === 'string' ? b.key : '';
      } catch {
        key = '';
      }
      if (key === '') return reply(400, { error: 'key is required' });
      const invalid = (reason: string) => {
        detail.valid = 'false';
        detail.reason = reason;
        return reply(200, { valid: false, tenant: '', reason });
      };
      if (!isValidKeyFormat(key)) return invalid('invalid key format');
      let rec;
      try {
        rec = await store.getByHash(hashApiKey(key));
      } catch (err) {
        if (err instanceof KeyNotFoundError) return invalid('key not found');
        if (err instanceof KeyInvalidError) return invalid('key revoked or expired');
        throw err;
      }
      detail.keyId = rec.id;
      touch(rec.id);
      if (rec.subscription.trim() === '') return invalid('key has no subscription bound');
      detail.valid = 'true';
      detail.subscription = rec.subscription;
      return reply(200, {
        valid: true,
        userId: rec.id,
        username: rec.username,
        keyId: rec.id,
        keyName: rec.name,
        ...(rec.groups.length > 0 ? { groups: rec.groups } : {}),
        subscription: rec.subscription,
        tenant: rec.tenant,
      });
    }

    function touch(id: string) {
      const ttl = spec.lastUsedDebounceSeconds * 1000;
      const last = lastUsedWrites.get(id);
      if (ttl > 0 && last !== undefined && Date.now() - last < ttl) return;
      lastUsedWrites.set(id, Date.now());
      if (lastUsedWrites.size > 100_000) lastUsedWrites.delete(lastUsedWrites.keys().next().value!);
      // Best effort, off the response path, as upstream's goroutine.
      store.touch(id).catch(() => lastUsedWrites.delete(id));
    }

    function selectHandler(raw: Buffer) {
      let b: Record<string, unknown>;
      try {
        b = bind(raw, 'subscription.SelectRequest', { groups: { go: '[]string' }, username: { go: 'string' }, requestedSubscription: { go: 'string' }, requestedModel: { go: 'string' } });
      } catch (err) {
        return reply(200, selectResponseJson({ error: 'bad_request', message: `invalid request body: ${(err as Error).message}` }));
      }
      const username = typeof b.username === 'string' ? b.username : '';
      if (username === '') {
        return reply(200, selectResponseJson({ error: 'bad_request', message: "invalid request body: Key: 'SelectRequest.Username' Error:Field validation for 'Username' failed on the 'required' tag" }));
      }
      const groups = (b.groups as string[] | undefined) ?? [];
      detail.user = username;
      try {
        const sel = select(spec, groups, username, String(b.requestedSubscription ?? ''), String(b.requestedModel ?? ''));
        detail.subscription = sel.name;
        detail.accessAllowed = String(sel.accessAllowed);
        return reply(200, selectResponseJson(sel));
      } catch (err) {
        if (!(err instanceof SelectionError)) throw err;
        detail.error = err.kind;
        const code: Record<string, string> = {
          no_subscription: 'not_found',
          not_found: 'not_found',
          access_denied: 'access_denied',
          multiple_subscriptions: 'multiple_subscriptions',
          model_not_in_subscription: 'model_not_in_subscription',
          model_unhealthy: 'model_unhealthy',
        };
        if (err.kind === 'model_unhealthy') return reply(200, selectResponseJson({ error: 'model_unhealthy', message: err.message, phase: err.phase }));
        if (code[err.kind]) return reply(200, selectResponseJson({ error: code[err.kind], message: err.message }));
        return reply(200, selectResponseJson({ error: 'internal_error', message: `failed to select subscription: ${err.message}` }));
      }
    }

    function modelSubscriptions(u: User | undefined, modelId: string) {
      const noStore = { 'cache-control': 'no-store' };
      if (!u) return reply(200, [], noStore);
      if (!modelId) return reply(400, { error: { message: 'model-id is required', type: 'invalid_request_error' } }, noStore);
      return reply(200, accessibleForModel(spec, u.groups, u.username, modelId).map(subscriptionInfoJson), noStore);
    }

    function models(u: User | undefined) {
      const checkedAt = () => rfc3339(new Date());
      if (!u) return reply(200, { data: [], object: 'list' }, { 'cache-control': 'no-store', 'x-access-checked-at': checkedAt() });
      const auth = (firstHeader(req.headers.authorization) ?? '').trim();
      if (auth === '') return reply(401, { error: { message: 'Authorization required', type: 'authentication_error' } });
      const isApiKey = auth.startsWith('Bearer sk-oai-');
      const requested = requestedSubscription(req);
      if (isApiKey && requested === '') return reply(403, { error: { message: 'API key has no subscription bound', type: 'permission_error' } });
      const noStore = { 'cache-control': 'no-store' };
      let subs: Selected[];
      if (!isApiKey && requested === '') {
        subs = allAccessible(spec, u.groups, u.username);
      } else {
        try {
          subs = [select(spec, u.groups, u.username, requested, '')];
        } catch (err) {
          const kind = err instanceof SelectionError ? err.kind : 'other';
          detail.subscriptionError = kind;
          if (kind === 'multiple_subscriptions') return reply(403, { error: { message: 'API key has no subscription bound', type: 'permission_error' } }, noStore);
          if (kind === 'access_denied' || kind === 'not_found') return reply(403, { error: { message: 'access denied to requested subscription', type: 'permission_error' } }, noStore);
          if (kind === 'no_subscription') return reply(403, { error: { message: (err as Error).message, type: 'permission_error' } }, noStore);
          return reply(500, { error: { message: 'Failed to select subscription', type: 'server_error' } }, noStore);
        }
      }
      detail.subscriptions = subs.map((s) => s.name).join(',');
      const all = spec.modelRefs.map((m) => ({ m, entry: modelEntry(m) }));
      const byKey = new Map<string, Record<string, unknown> & { subscriptions: Record<string, string>[] }>();
      for (const sub of subs) {
        const allowed = new Set(sub.modelRefs.map((r) => `${r.namespace}/${r.name}`));
        const candidates = sub.modelRefs.length > 0 ? all.filter(({ entry }) => allowed.has(String(entry.owned_by))) : all;
        for (const { m, entry } of candidates) {
          // Listed only when Ready; ExternalModels are never probed (the key IPP injects is not the caller's).
          if (m.phase !== 'Ready' || (m.kind !== 'ExternalModel' && m.kind !== 'LLMInferenceService')) continue;
          const key = `${String(entry.id)}\n${String(entry.url ?? '')}\n${String(entry.owned_by)}`;
          const info = { name: sub.name, ...(sub.displayName ? { displayName: sub.displayName } : {}), ...(sub.description ? { description: sub.description } : {}) };
          const existing = byKey.get(key);
          if (existing) {
            if (!existing.subscriptions.some((s) => s.name === sub.name)) existing.subscriptions.push(info);
          } else {
            byKey.set(key, { ...entry, subscriptions: [info] });
          }
        }
      }
      const data = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
      detail.models = String(data.length);
      return reply(200, { data, object: 'list' }, { ...noStore, 'x-access-checked-at': checkedAt() });
    }
  }, jsonInternalError({ error: 'internal server error' })));
  hardenHop(server);
  const handle = hopHandle(server, traces, () => spec, (s: MaasApiKeysSpec) => void (spec = s), { close: () => store.close() });
  return { ...handle, store };
}
