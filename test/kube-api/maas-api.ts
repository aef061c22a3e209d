// maas-api as the rehearsal cluster runs it: an HTTP answer per request, reached through the API server's
// service proxy (service-proxy.ts). Which generation answers is decided by the image the serving pod runs, as on a
// real cluster: the tier era (POST /v1/tokens, /v1/tiers/lookup; contracts.md §4) or the subscription era
// (/v1/api-keys…, /v1/subscriptions; contracts-subscription-era.md §1, §5 and maas-api/openapi3.yaml).
// maas-api trusts the identity headers Authorino injects (X-MaaS-Username, X-MaaS-Group): through the service
// proxy nobody injects them, and the API server drops the caller's Authorization header after authenticating it.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import YAML from 'yaml';
import type { ApiStore } from './store.js';
import { podLabelled, type ProxyRequest, type ProxyResponse, type ServiceBackend } from './service-proxy.js';
import type { KObj } from './util.js';
import { findCondition, isPlainObject, nowIso } from './util.js';
import { MAAS_GROUP, SUBSCRIPTION_NAMESPACE } from './maas-controllers.js';

export type MaasApiGeneration = 'tier' | 'subscription';

/** maas-api images the rehearsal cluster knows, and the generation each one serves. */
export const MAAS_API_IMAGES = {
  /** Tier-era ODH build (MaaS 2026-01-28). */
  tier: 'quay.io/opendatahub/maas-api:odh-2026-01-28-30f93ad1',
  /** The seed POC's fork: tier era plus external models listed from ConfigMap external-model-registry. */
  tierFork: 'ghcr.io/nerdalert/maas-api:external-models',
  /** What ODH ships today: a floating tag, so only the answers (or the CRDs) tell the generation. */
  subscription: 'quay.io/opendatahub/maas-api:odh-stable',
} as const;

const GENERATION_OF_IMAGE: Record<string, MaasApiGeneration> = {
  [MAAS_API_IMAGES.tier]: 'tier',
  [MAAS_API_IMAGES.tierFork]: 'tier',
  [MAAS_API_IMAGES.subscription]: 'subscription',
  // the marker the api-key preset used before the subscription preset existed
  'quay.io/opendatahub/maas-api:odh-2026-08-21-c0639b1b': 'subscription',
};

export function maasApiGeneration(image: string | undefined): MaasApiGeneration | undefined {
  return image ? GENERATION_OF_IMAGE[image] : undefined;
}

const json = (status: number, body: unknown): ProxyResponse => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
});
/** What gin answers for a route it does not have (also for a known path with another method). */
const ginNotFound = (): ProxyResponse => ({ status: 404, headers: { 'Content-Type': 'text/plain' }, body: '404 page not found' });
const openAiError = (status: number, message: string, type: string, code?: string): ProxyResponse =>
  json(status, { error: { message, type, ...(code ? { code } : {}) } });

interface Identity {
  username: string;
  groups: string[];
}

/** The identity Authorino would have injected; undefined when the headers are absent or garbled. */
function identityOf(req: ProxyRequest): Identity | undefined {
  const username = header(req, 'x-maas-username');
  const rawGroups = header(req, 'x-maas-group');
  if (!username || rawGroups === undefined) return undefined;
  try {
    const groups = JSON.parse(rawGroups) as unknown;
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) return undefined;
    return { username, groups: groups as string[] };
  } catch {
    return undefined;
  }
}

function header(req: ProxyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function bodyJson(req: ProxyRequest): { ok: true; value: unknown } | { ok: false } {
  const text = req.body.toString('utf8');
  if (!text.trim()) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function base62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out || '0';
}

/** `"90d"`, `"2h"`, `"30m"`, `"45s"`, or a number of seconds → seconds; undefined when it is neither. */
export function parseExpiresIn(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)(d|h|m|s)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { d: 86_400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
}

interface StoredKey {
  id: string;
  keyHash: string;
  username: string;
  groups: string[];
  name: string;
  description?: string;
  subscription: string;
  createdAt: string;
  expiresAt: string;
  status: 'active' | 'revoked' | 'expired';
  ephemeral: boolean;
  labels?: Record<string, string>;
}

export const API_KEY_MAX_EXPIRATION_DAYS = 90;

/** The maas-api behaviour of both generations over one API store (keys live in memory, per server). */
export class MaasApiSim {
  private readonly keys = new Map<string, StoredKey>();

  constructor(private readonly store: ApiStore) {}

  handle(req: ProxyRequest, generation: MaasApiGeneration): ProxyResponse {
    return generation === 'tier' ? this.tier(req) : this.subscription(req);
  }

  /** Keys minted so far, without secrets (for tests and the request log). */
  apiKeys(): Omit<StoredKey, 'keyHash'>[] {
    return [...this.keys.values()].map(({ keyHash: _h, ...k }) => k);
  }

  private list(group: string, kind: string, ns?: string): KObj[] {
    const t = this.store.registry.byKind(group, kind);
    return t ? this.store.list(t, ns) : [];
  }

  // ---- tier era --------------------------------------------------------------------------------------------

  private tier(req: ProxyRequest): ProxyResponse {
    const { method, path } = req;
    if (path === '/health' && method === 'GET') return json(200, { status: 'healthy' });
    if (path === '/v1/tokens' && method === 'POST') return this.mintToken(req);
    if (path === '/v1/tokens' && method === 'DELETE') {
      return identityOf(req) ? { status: 204, body: '' } : json(500, { error: 'Exception thrown while revoking tokens', exceptionCode: 'AUTH_FAILURE', refId: '001' });
    }
    if (path === '/v1/tiers/lookup' && method === 'POST') return this.tierLookup(req);
    if (path === '/v1/models' && method === 'GET') {
      if (!header(req, 'authorization')) return openAiError(401, 'Authorization token required', 'authentication_error');
      return json(200, { object: 'list', data: this.tierModels(req) });
    }
    return ginNotFound();
  }

  private tiers(): { name: string; level: number; groups: string[] }[] | undefined {
    const cm = this.list('', 'ConfigMap').find((c) => c.metadata.name === 'tier-to-group-mapping');
    const text = (cm?.['data'] as Record<string, string> | undefined)?.['tiers'];
    if (!text) return undefined;
    const parsed = YAML.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as { name: string; level: number; groups: string[] }[]) : undefined;
  }

  private tierOf(groups: string[]): { name: string; level: number } | undefined {
    return (this.tiers() ?? []).filter((t) => (t.groups ?? []).some((g) => groups.includes(g))).sort((a, b) => b.level - a.level)[0];
  }

  private tierLookup(req: ProxyRequest): ProxyResponse {
    const b = bodyJson(req);
    if (!b.ok || !isPlainObject(b.value) || !Array.isArray(b.value['groups'])) return json(400, { error: 'bad_request', message: 'groups must be a list' });
    if (!this.tiers()) return json(500, { error: 'internal_error', message: 'failed to load tier configuration' });
    const groups = b.value['groups'] as string[];
    const tier = this.tierOf(groups);
    if (!tier) return json(404, { error: 'not_found', message: `group ${groups.join(',')} not found in any tier` });
    return json(200, { tier: tier.name, displayName: `${tier.name[0]!.toUpperCase()}${tier.name.slice(1)} Tier` });
  }

  private mintToken(req: ProxyRequest): ProxyResponse {
    const who = identityOf(req);
    if (!who) {
      return json(500, { error: 'Exception thrown while generating token', exceptionCode: 'AUTH_FAILURE', refId: header(req, 'x-maas-username') ? '002' : '001' });
    }
    const b = bodyJson(req);
    if (!b.ok) return json(400, { error: 'invalid JSON body' });
    const raw = isPlainObject(b.value) ? b.value['expiration'] : undefined;
    const seconds = raw === undefined || raw === 0 || raw === '' ? 4 * 3600 : goDurationSeconds(raw);
    if (seconds === undefined) return json(400, { error: `time: invalid duration ${JSON.stringify(String(raw))}` });
    if (seconds <= 0) return json(400, { error: 'expiration must be positive' });
    if (seconds < 600) return json(400, { error: 'token expiration must be at least 10 minutes', provided_expiration: goDuration(seconds) });
    const tier = this.tierOf(who.groups);
    if (!tier) return json(403, { error: 'forbidden', message: `user ${who.username} is in no tier` });
    const ns = `maas-default-gateway-tier-${tier.name}`;
    const sa = `${who.username.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 54)}-${createHash('sha1').update(who.username).digest('hex').slice(0, 8)}`;
    this.ensureServiceAccount(ns, sa);
    const issuedAt = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    const claims = { aud: ['maas-default-gateway-sa'], exp: issuedAt + seconds, iat: issuedAt, iss: 'https://kubernetes.default.svc', jti, sub: `system:serviceaccount:${ns}:${sa}` };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = `${b64({ alg: 'RS256', kid: 'rehearsal' })}.${b64(claims)}.${randomBytes(32).toString('base64url')}`;
    return json(201, { token, expiration: goDuration(seconds), expiresAt: issuedAt + seconds, issuedAt, jti });
  }

  /** maas-api's side effect of a mint: the tier namespace and the user's ServiceAccount. */
  private ensureServiceAccount(ns: string, sa: string): void {
    const nsT = this.store.registry.byPlural('', 'v1', 'namespaces')!;
    const saT = this.store.registry.byPlural('', 'v1', 'serviceaccounts')!;
    if (!this.store.get(nsT, undefined, ns)) this.store.create(nsT, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { manager: 'maas-api' });
    if (!this.store.get(saT, ns, sa)) this.store.create(saT, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } }, { manager: 'maas-api' });
  }

  /** LLMInferenceServices on the MaaS gateway, plus the fork's external-model-registry entries. */
  private tierModels(req: ProxyRequest): Record<string, unknown>[] {
    const now = Math.floor(Date.now() / 1000);
    const out: Record<string, unknown>[] = this.list('serving.kserve.io', 'LLMInferenceService').map((m) => ({
      id: ((m['spec'] as Record<string, unknown>)?.['model'] as Record<string, unknown> | undefined)?.['name'] ?? m.metadata.name,
      object: 'model',
      created: Math.floor(Date.parse(m.metadata.creationTimestamp ?? nowIso()) / 1000),
      owned_by: m.metadata.namespace,
      url: (m['status'] as Record<string, unknown> | undefined)?.['url'],
      ready: findCondition(m, 'Ready')?.status === 'True',
    }));
    if (req.image === MAAS_API_IMAGES.tierFork) {
      const cm = this.list('', 'ConfigMap', req.namespace).find((c) => c.metadata.name === 'external-model-registry');
      const text = (cm?.['data'] as Record<string, string> | undefined)?.['models'];
      try {
        const models = text ? (YAML.parse(text) as { id: string; provider: string }[]) : [];
        for (const m of Array.isArray(models) ? models : []) out.push({ id: m.id, object: 'model', created: now, owned_by: m.provider, ready: true });
      } catch {
        // the fork logs a parse error and lists no external model
      }
    }
    return out;
  }

  // ---- subscription era ------------------------------------------------------------------------------------

  private subscription(req: ProxyRequest): ProxyResponse {
    const { method, path } = req;
    if (path === '/health' && method === 'GET') return json(200, { status: 'healthy' });
    if (path === '/internal/v1/api-keys/validate' && method === 'POST') return this.validateKey(req);
    if (path === '/v1/models' && method === 'GET') {
      if (!header(req, 'authorization')) return openAiError(401, 'Authorization required', 'authentication_error');
      const who = identityOf(req);
      if (!who) return openAiError(401, 'Authorization required', 'authentication_error');
      return this.models(who, header(req, 'x-maas-subscription'));
    }
    const known = ['/v1/api-keys', '/v1/api-keys/config', '/v1/api-keys/search', '/v1/api-keys/bulk-revoke', '/v1/subscriptions'];
    const keyPath = /^\/v1\/api-keys\/([^/]+)$/.exec(path);
    if (!known.includes(path) && !keyPath) return ginNotFound();
    const who = identityOf(req);
    if (!who) return openAiError(401, 'Authorization required', 'authentication_error');
    if (path === '/v1/api-keys/config' && method === 'GET') {
      return json(200, { max_expiration_days: API_KEY_MAX_EXPIRATION_DAYS, ephemeral_max_expiration: '1h0m0s' });
    }
    if (path === '/v1/subscriptions' && method === 'GET') return json(200, this.accessibleSubscriptions(who).map(subscriptionItem));
    if (path === '/v1/api-keys' && method === 'POST') return this.createKey(req, who);
    if (path === '/v1/api-keys/search' && method === 'POST') {
      const mine = [...this.keys.values()].filter((k) => k.username === who.username && k.status === 'active' && !k.ephemeral);
      return json(200, { object: 'list', data: mine.map(keyView), has_more: false });
    }
    if (path === '/v1/api-keys/bulk-revoke' && method === 'POST') {
      const b = bodyJson(req);
      const body = b.ok && isPlainObject(b.value) ? b.value : {};
      const username = typeof body['username'] === 'string' ? body['username'] : undefined;
      if (!username && typeof body['subscription'] !== 'string') return openAiError(400, 'at least one of username or subscription is required', 'invalid_request_error');
      if (username !== who.username) return openAiError(403, 'admin privileges required', 'permission_error');
      const hit = [...this.keys.values()].filter((k) => k.username === username && k.status === 'active' && (!body['subscription'] || k.subscription === body['subscription']));
      if (!body['dryRun']) for (const k of hit) k.status = 'revoked';
      return json(200, { revokedCount: hit.length, message: `${body['dryRun'] ? 'Dry run: ' : 'Successfully revoked '}${hit.length} active API key(s) for user ${username}`, ...(body['dryRun'] ? { dryRun: true } : {}) });
    }
    if (keyPath && (method === 'GET' || method === 'DELETE')) {
      const k = this.keys.get(keyPath[1]!);
      if (!k || k.username !== who.username) return openAiError(404, 'API key not found', 'not_found_error');
      if (method === 'DELETE') k.status = 'revoked';
      return json(200, keyView(k));
    }
    return ginNotFound();
  }

  private subscriptions(): KObj[] {
    return this.list(MAAS_GROUP, 'MaaSSubscription', SUBSCRIPTION_NAMESPACE);
  }

  private accessibleSubscriptions(who: Identity): KObj[] {
    return this.subscriptions()
      .filter((s) => {
        const owner = ((s['spec'] as Record<string, unknown>)?.['owner'] ?? {}) as { groups?: { name: string }[]; users?: string[] };
        return (owner.users ?? []).includes(who.username) || (owner.groups ?? []).some((g) => who.groups.includes(g.name));
      })
      .sort((a, b) => priority(b) - priority(a));
  }

  private createKey(req: ProxyRequest, who: Identity): ProxyResponse {
    const b = bodyJson(req);
    if (!b.ok || !isPlainObject(b.value)) return openAiError(400, 'invalid request body', 'invalid_request_error');
    const body = b.value;
    const ephemeral = body['ephemeral'] === true;
    const name = typeof body['name'] === 'string' ? body['name'] : '';
    if (!name && !ephemeral) return openAiError(400, 'name is required', 'invalid_request_error');
    if (name.length > 128 || /[\x00-\x1f\x7f]/.test(name)) return openAiError(400, 'name must be at most 128 characters without control characters', 'invalid_request_error');
    const maxSeconds = ephemeral ? 3600 : API_KEY_MAX_EXPIRATION_DAYS * 86_400;
    const seconds = body['expiresIn'] === undefined ? maxSeconds : parseExpiresIn(body['expiresIn']);
    if (seconds === undefined || seconds <= 0) return openAiError(400, 'expiresIn must be a duration such as "90d", "2h" or "30m"', 'invalid_request_error');
    if (seconds > maxSeconds) {
      return openAiError(400, ephemeral ? 'ephemeral keys expire within 1h' : `expiration exceeds the maximum of ${API_KEY_MAX_EXPIRATION_DAYS} days`, 'invalid_request_error');
    }
    const wanted = typeof body['subscription'] === 'string' ? body['subscription'] : undefined;
    const accessible = this.accessibleSubscriptions(who);
    const sub = wanted ? accessible.find((s) => s.metadata.name === wanted) : accessible[0];
    if (!sub) return openAiError(400, 'invalid subscription', 'invalid_request_error', 'invalid_subscription');
    const phase = String((sub['status'] as Record<string, unknown> | undefined)?.['phase'] ?? '');
    if (phase !== 'Active' && phase !== 'Degraded') return openAiError(403, `subscription ${sub.metadata.name} is not ready`, 'permission_error', 'subscription_not_ready');
    const keyId = base62(randomBytes(12));
    const secret = base62(randomBytes(32));
    const key = `sk-oai-${keyId}_${secret}`;
    const now = new Date();
    const stored: StoredKey = {
      id: randomUUID(),
      keyHash: createHash('sha256').update(`${keyId}\x00${secret}`).digest('hex'),
      username: who.username,
      groups: who.groups,
      name,
      ...(typeof body['description'] === 'string' ? { description: body['description'] } : {}),
      subscription: sub.metadata.name!,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
      status: 'active',
      ephemeral,
      ...(isPlainObject(body['labels']) ? { labels: body['labels'] as Record<string, string> } : {}),
    };
    this.keys.set(stored.id, stored);
    return json(201, {
      key,
      keyPrefix: `sk-oai-${keyId.slice(0, 3)}`,
      id: stored.id,
      name,
      subscription: stored.subscription,
      createdAt: stored.createdAt,
      expiresAt: stored.expiresAt,
      ephemeral,
      ...(stored.labels ? { labels: stored.labels } : {}),
    });
  }

  /** Always 200: `valid` and `reason` say what the gateway's AuthPolicy then decides on. */
  private validateKey(req: ProxyRequest): ProxyResponse {
    const b = bodyJson(req);
    const raw = b.ok && isPlainObject(b.value) && typeof b.value['key'] === 'string' ? b.value['key'] : '';
    const m = /^sk-oai-([0-9A-Za-z]+)_([0-9A-Za-z]+)$/.exec(raw);
    if (!m) return json(200, { valid: false, reason: 'invalid key format' });
    const hash = createHash('sha256').update(`${m[1]}\x00${m[2]}`).digest('hex');
    const k = [...this.keys.values()].find((x) => x.keyHash === hash);
    if (!k) return json(200, { valid: false, reason: 'key not found' });
    if (k.status !== 'active' || Date.parse(k.expiresAt) < Date.now()) return json(200, { valid: false, reason: 'key revoked or expired' });
    return json(200, { valid: true, userId: k.username, username: k.username, keyId: k.id, keyName: k.name, groups: k.groups, subscription: k.subscription, tenant: 'models-as-a-service' });
  }

  private models(who: Identity, only: string | undefined): ProxyResponse {
    const subs = this.accessibleSubscriptions(who).filter((s) => !only || s.metadata.name === only);
    if (only && !subs.length) return openAiError(403, 'subscription not found', 'permission_error');
    if (!subs.length) return openAiError(403, 'no subscription found for user', 'permission_error');
    const data: Record<string, unknown>[] = [];
    for (const ref of this.list(MAAS_GROUP, 'MaaSModelRef')) {
      const via = subs.filter((s) => (((s['spec'] as Record<string, unknown>)['modelRefs'] ?? []) as { name: string; namespace: string }[]).some((r) => r.name === ref.metadata.name && r.namespace === ref.metadata.namespace));
      if (!via.length) continue;
      const status = (ref['status'] ?? {}) as Record<string, unknown>;
      data.push({
        id: ref.metadata.name,
        object: 'model',
        created: Math.floor(Date.parse(ref.metadata.creationTimestamp ?? nowIso()) / 1000),
        owned_by: `${ref.metadata.namespace}/${ref.metadata.name}`,
        ready: status['phase'] === 'Ready',
        ...(status['endpoint'] ? { url: status['endpoint'] } : {}),
        kind: ((ref['spec'] as Record<string, unknown>)?.['modelRef'] as Record<string, unknown> | undefined)?.['kind'],
        subscriptions: via.map((s) => ({ name: s.metadata.name, ...displayOf(s) })),
      });
    }
    return json(200, { object: 'list', data });
  }
}

function priority(s: KObj): number {
  const p = (s['spec'] as Record<string, unknown> | undefined)?.['priority'];
  return typeof p === 'number' ? p : 0;
}

function displayOf(o: KObj): { displayName?: string; description?: string } {
  const a = o.metadata.annotations ?? {};
  return { ...(a['openshift.io/display-name'] ? { displayName: a['openshift.io/display-name'] } : {}), ...(a['openshift.io/description'] ? { description: a['openshift.io/description'] } : {}) };
}

function subscriptionItem(s: KObj): Record<string, unknown> {
  const spec = (s['spec'] ?? {}) as Record<string, unknown>;
  const meta = (spec['tokenMetadata'] ?? {}) as Record<string, unknown>;
  const d = displayOf(s);
  return {
    subscription_id_header: s.metadata.name,
    subscription_description: d.description ?? '',
    ...(d.displayName ? { display_name: d.displayName } : {}),
    priority: priority(s),
    model_refs: ((spec['modelRefs'] ?? []) as Record<string, unknown>[]).map((r) => ({
      name: r['name'],
      token_rate_limits: r['tokenRateLimits'] ?? [],
      ...(r['billingRate'] ? { billing_rate: { per_token: (r['billingRate'] as Record<string, unknown>)['perToken'] } } : {}),
    })),
    ...(meta['organizationId'] ? { organization_id: meta['organizationId'] } : {}),
    ...(meta['costCenter'] ? { cost_center: meta['costCenter'] } : {}),
    ...(meta['labels'] ? { labels: meta['labels'] } : {}),
  };
}

function keyView(k: StoredKey): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    ...(k.description ? { description: k.description } : {}),
    username: k.username,
    subscription: k.subscription,
    groups: k.groups,
    creationDate: k.createdAt,
    expirationDate: k.expiresAt,
    status: k.status,
    ephemeral: k.ephemeral,
    ...(k.labels ? { labels: k.labels } : {}),
  };
}

/** Go's time.ParseDuration for what clients send ("10m", "1h30m", "4h"), or a number of seconds. */
function goDurationSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const re = /(-?\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let total = 0;
  let used = 0;
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    used += m[0].length;
  }
  return used === v.length && used > 0 ? total : undefined;
}

/** Seconds as Go prints a time.Duration: 4h0m0s, 10m0s, 45s. */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * maas-api behind the service proxy: pods labelled app.kubernetes.io/name=maas-api, TLS on 8443 (the ODH overlay),
 * answering as the generation of their image (`fallback` for an image the table does not know).
 */
export function maasApiBackend(sim: MaasApiSim, fallback: () => MaasApiGeneration): ServiceBackend {
  return {
    serves: (pod) => podLabelled(pod, 'app.kubernetes.io/name', 'maas-api'),
    tls: (port) => port === 8443,
    handle: (req) => {
      const containers = (((req.pod['spec'] as Record<string, unknown> | undefined)?.['containers'] ?? []) as { name?: string; image?: string }[]);
      const image = (containers.find((c) => c.name === 'maas-api') ?? containers[0])?.image;
      return sim.handle({ ...req, ...(image ? { image } : {}) }, maasApiGeneration(image) ?? fallback());
    },
  };
}
