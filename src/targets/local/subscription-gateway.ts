/**
 * The MaaS gateway in its current role (the subscription era), as a local hop: the Istio gateway
 * with Kuadrant and payload processing in its filter chain (contracts-subscription-era §2–§5, §8).
 *
 *   routes      maas-api's routes (/v1/models, /v1/subscriptions, /v1/api-keys, /maas-api/*), and one
 *               HTTPRoute per Ready ExternalModel: path `/<ns>/<name>` (rewritten to `/`) or the
 *               `X-Gateway-Model-Name` header (body routing)
 *   ipp-pre     payload processing before auth: body `model` → `X-Gateway-Model-Name`, route re-matched;
 *               fails open (a request it cannot route then matches nothing: 404)
 *   auth        the singleton AuthPolicy maas-gateway-auth: `sk-oai-` keys through maas-api's validate
 *               callback, other bearer tokens through a TokenReview for the cluster issuer's audience;
 *               401 without credentials; 403 with `x-ext-auth-reason` for a bad key, a model outside the
 *               subscription or client-sent identity headers; subscription-info through maas-api's
 *               select callback; results cached like Authorino's identity cache (a revoked key keeps
 *               working until its entry expires)
 *   limits      `maas-trlp-<model>`: one limit per subscription, matched on selected_subscription_key,
 *               counted per user from the usage in the response; `gateway-default-deny` (limit 0) for
 *               what no subscription's limit covers
 *   ipp         payload processing after auth (fails closed, 500): identity headers stripped, stream
 *               usage forced, provider resolved, API translated, the provider key injected; on the
 *               response, translation and usage
 *   egress      TLS origination to the provider's endpoint, the certificate verified against the
 *               trusted CAs with the endpoint as server name; plain HTTP where the model says so
 */
import { createServer, type Server } from 'node:https';
import { createHash, randomUUID } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import { Pool } from 'undici';
import type { HopRecord } from '../../model/hop-record.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { gatewayApiMatch, gatewayApiRewrite } from '../../model/gateway-paths.js';
import { readSubscriptionGateway, type ModelLimit, type ModelRoute } from '../../model/subscription-gateway.js';
import { answering, firstHeader, keysEqual, readLimited } from '../../sim/http-server.js';
import { ENVOY_BODIES, envoyInternalError, sendEnvoy, upstreamFailureReply, type UpstreamFailure, relayedReplyHeaders } from './envoy-replies.js';
import { hopHandle } from './hop-handle.js';
import { bodyIdleTimeoutMs, hardenHop, HOP_INTERNAL_HEADERS, unsafePathReason } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import { PoolCache, classifyUpstreamError, forwardHeaders, relay, responseHeaders } from './proxy.js';
import { TokenLimiter, usageTokens } from './rate-limit.js';
import { reviewToken } from './tokens.js';
import { MAAS_GATEWAY_BODY_LIMIT as BODY_LIMIT, MAAS_GATEWAY_SERVER as SERVER, MAAS_GATEWAY_UPSTREAM_TIMEOUT_MS as UPSTREAM_TIMEOUT_MS, maasGatewayRelay, type MaasGatewayStart } from './gateway-role.js';
import { clientIdentityHeaders, type ProcessingRequest, type ProcessingResponse, type Stage } from './payload-processor.js';

const USAGE_SCAN_LIMIT = 2 * 1024 * 1024;

/** What the gateway is programmed with (its admin listener's PUT /config). */
export interface SubscriptionGatewaySpec {
  era: 'subscription';
  /** Listener hostnames (host:port forms). */
  hostnames: string[];
  /** The era's objects, statuses included: routes and limits are read from them. */
  objects: K8sObject[];
  /** TokenReview audience and issuer: the cluster issuer (`https://kubernetes.default.svc`). */
  audience: string;
  issuer: string;
  /** Who the cluster user's token stands for (the local `oc whoami -t`). */
  user: { name: string; groups: string[] };
  /** Authorino's cache of key validations, token reviews and subscription selections; 0: off. */
  identityCacheSeconds: number;
  upstreams: { maasApi?: string; payloadProcessing?: string };
  /** `host:port` an ExternalModel names → the loopback address of the simulator standing in for it. */
  dns: Record<string, string>;
  /** CAs (PEM) TLS origination trusts besides the system's: the simulated providers' own, a user's private CA. */
  trustedCas: string[];
}

export type SubscriptionGatewayOptions = MaasGatewayStart<SubscriptionGatewaySpec>;

/** maas-api's HTTPRoute (rules 0–3): ext_proc is disabled on them, /maas-api is rewritten to /. */
const MAAS_API_ROUTES: { prefix: string; rewrite: string | null }[] = [
  { prefix: '/v1/models', rewrite: null },
  { prefix: '/v1/subscriptions', rewrite: null },
  { prefix: '/v1/api-keys', rewrite: null },
  { prefix: '/maas-api', rewrite: '/' },
];
/** The header routes match under `/v1` (body-routed OpenAI paths). */
const BODY_ROUTED_PREFIX = '/v1';
/** Identity headers only the gateway may set; `x-maas-subscription` is an input for user tokens and is replaced. */
const SUBSCRIPTION_HEADER = 'x-maas-subscription';

type Matched = { kind: 'maas-api'; prefix: string; rewrite: string | null } | { kind: 'model'; route: ModelRoute; by: 'path' | 'header' };

interface Compiled {
  hostnames: Set<string>;
  routes: ModelRoute[];
  limits: ModelLimit[];
  /** The system's CAs and the trusted ones, parsed once: a context per connection would parse ~150 PEMs each time. */
  trust: SecureContext;
}

function compile(spec: SubscriptionGatewaySpec, trust?: SecureContext): Compiled {
  const read = readSubscriptionGateway(spec.objects);
  return { hostnames: new Set(spec.hostnames.map((h) => h.toLowerCase())), routes: read.routes, limits: read.limits, trust: trust ?? createSecureContext({ ca: [...rootCertificates, ...spec.trustedCas] }) };
}

/** Gateway API precedence: the longest path match, then a header match; maas-api's rules are longer than `/v1`. */
function match(c: Compiled, path: string, modelHeader: string | undefined): Matched | undefined {
  const api = MAAS_API_ROUTES.find((r) => gatewayApiMatch(path, r.prefix));
  const byPath = c.routes.filter((r) => gatewayApiMatch(path, r.pathPrefix)).sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)[0];
  if (byPath && (!api || byPath.pathPrefix.length > api.prefix.length)) return { kind: 'model', route: byPath, by: 'path' };
  if (api) return { kind: 'maas-api', ...api };
  if (modelHeader && gatewayApiMatch(path, BODY_ROUTED_PREFIX)) {
    // Equal matches: the oldest route wins (objects in creation order).
    const byHeader = c.routes.find((r) => r.modelNames.includes(modelHeader));
    if (byHeader) return { kind: 'model', route: byHeader, by: 'header' };
  }
  return undefined;
}

/** A small TTL cache, Authorino-style: entries live `ttl` from when they were stored, whatever happens meanwhile. */
class TtlCache<T> {
  readonly #entries = new Map<string, { at: number; value: T }>();
  constructor(private readonly ttlMs: () => number) {}
  get(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at >= this.ttlMs()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T): void {
    if (this.ttlMs() <= 0) return;
    if (this.#entries.size > 10_000) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { at: Date.now(), value });
  }
  clear(): void {
    this.#entries.clear();
  }
}

type Identity =
  | { kind: 'key'; valid: true; username: string; groups: string[]; keyId: string; subscription: string }
  | { kind: 'key'; valid: false; reason: string }
  | { kind: 'user'; username: string; groups: string[] };

interface SelectResult {
  name?: string;
  namespace?: string;
  phase?: string;
  accessAllowed?: boolean;
  error?: string;
  message?: string;
}

const sha = (v: string) => createHash('sha256').update(v).digest('hex');

/** The Envoy reply body for a failed TLS origination (BoringSSL's wording, as Envoy reports it). */
function tlsFailureBody(code: string): string {
  const reason = /WRONG_VERSION|EPROTO|ERR_SSL/.test(code) ? '268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER' : '268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED';
  return `${ENVOY_BODIES.uf}, transport failure reason: TLS_error:|${reason}:TLS_error_end`;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|EPROTO|ERR_SSL|WRONG_VERSION/;

/** How an upstream call failed, as Envoy's response flags and local replies put it. */
function upstreamFailure(err: unknown): { flag: UpstreamFailure; status: number; body: string; tls?: string } {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = e.cause?.code ?? e.code ?? '';
  if (TLS_CODES.test(code) || TLS_CODES.test(e.message ?? '')) return { flag: 'UF', status: 503, body: tlsFailureBody(code || (e.message ?? '')), tls: code || (e.message ?? 'handshake failed') };
  const flag = classifyUpstreamError(err);
  return { flag, ...upstreamFailureReply(flag) };
}

export interface SubscriptionGatewayHop {
  server: Server;
  traces: TraceBuffer;
  setSpec(spec: SubscriptionGatewaySpec): void;
  spec(): SubscriptionGatewaySpec;
  close(): Promise<void>;
  counters(): Record<string, { spent: number; reserved: number; resetAt: number }>;
  resetCounters(): void;
  resetCache(): void;
}

export function createSubscriptionGateway(opts: SubscriptionGatewayOptions): SubscriptionGatewayHop {
  let spec = opts.spec;
  let c = compile(spec);
  const traces = new TraceBuffer();
  const pools = new PoolCache();
  const egress = new Map<string, Pool>();
  const limiters = new Map<number, TokenLimiter>();
  const ttl = () => spec.identityCacheSeconds * 1000;
  const identities = new TtlCache<Identity>(ttl);
  const selections = new TtlCache<SelectResult>(ttl);
  const log = opts.log ?? (() => undefined);

  const limiter = (seconds: number) => {
    let l = limiters.get(seconds);
    if (!l) limiters.set(seconds, (l = new TokenLimiter(seconds * 1000)));
    return l;
  };

  /** The pool TLS origination (or plain HTTP) uses for an endpoint; the simulated ones are dialled on loopback. */
  const egressPool = (endpoint: string, port: number, tls: boolean): Pool => {
    const key = `${tls ? 'https' : 'http'}|${endpoint}|${port}`;
    let pool = egress.get(key);
    if (!pool) {
      const addr = spec.dns[`${endpoint}:${port}`] ?? `${endpoint.includes(':') ? `[${endpoint}]` : endpoint}:${port}`;
      pool = new Pool(`${tls ? 'https' : 'http'}://${addr}`, {
        connections: 64,
        keepAliveTimeout: 4_000,
        // The endpoint is the server name checked (SNI carries names only: an address is checked against the certificate's IP SANs).
        connect: { timeout: 5_000, ...(tls ? { ...(isIP(endpoint) ? {} : { servername: endpoint }), secureContext: c.trust, rejectUnauthorized: true } : {}) },
      });
      egress.set(key, pool);
    }
    return pool;
  };

  const callMaasApi = async <T>(path: string, body: unknown, requestId: string): Promise<T> => {
    const base = spec.upstreams.maasApi;
    if (!base) throw new Error('maas-api is not reachable (no upstream)');
    const res = await pools.get(base).request({ path, method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: JSON.stringify(body), headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`maas-api ${path} answered ${res.statusCode}`);
    return JSON.parse(text) as T;
  };

  const extProc = async (msg: ProcessingRequest): Promise<ProcessingResponse> => {
    const base = spec.upstreams.payloadProcessing;
    if (!base) throw new Error('payload processing is not reachable (no upstream)');
    const res = await pools.get(base).request({ path: '/v1/process', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(msg), headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`payload processing answered ${res.statusCode}`);
    return JSON.parse(text) as ProcessingResponse;
  };

  /** Several messages of one stream in one exchange (what a gRPC stream carries back to back). */
  const extProcBatch = async (messages: ProcessingRequest[]): Promise<ProcessingResponse[]> => {
    const base = spec.upstreams.payloadProcessing;
    if (!base) throw new Error('payload processing is not reachable (no upstream)');
    const res = await pools.get(base).request({ path: '/v1/process', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }), headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`payload processing answered ${res.statusCode}`);
    return (JSON.parse(text) as { responses: ProcessingResponse[] }).responses;
  };

  /** A request to payload processing: its headers and its whole body (FULL_DUPLEX_STREAMED, buffered here). */
  const processRequest = (stage: Stage, stream: string, headers: Record<string, string>, body: Buffer): Promise<ProcessingResponse[]> =>
    extProcBatch([
      { stream, stage, phase: 'request_headers', headers, endOfStream: false },
      { stream, stage, phase: 'request_body', body: body.toString('base64'), endOfStream: true },
    ]);

  const authenticate = async (credential: string, requestId: string, detail: Record<string, string>): Promise<Identity | undefined> => {
    const cacheKey = sha(credential);
    const cached = identities.get(cacheKey);
    if (cached) {
      detail.identityCache = 'hit';
      return cached;
    }
    let id: Identity | undefined;
    if (credential.startsWith('sk-oai-')) {
      // api-keys: the key itself is the identity; maas-api's validate callback says whether it holds.
      const v = await callMaasApi<{ valid?: boolean; username?: string; groups?: string[]; keyId?: string; subscription?: string; reason?: string }>('/internal/v1/api-keys/validate', { key: credential }, requestId);
      id = v.valid
        ? { kind: 'key', valid: true, username: v.username ?? '', groups: v.groups ?? [], keyId: v.keyId ?? '', subscription: v.subscription ?? '' }
        : { kind: 'key', valid: false, reason: v.reason ?? 'invalid key' };
    } else if (keysEqual(sha(credential), opts.clusterTokenSha256)) {
      id = { kind: 'user', username: spec.user.name, groups: spec.user.groups };
    } else {
      const review = await reviewToken(opts.signingKey, credential, { audiences: [spec.audience], issuer: spec.issuer });
      if (review.authenticated) id = { kind: 'user', username: review.username, groups: review.groups };
    }
    if (id) {
      detail.identityCache = 'miss';
      identities.set(cacheKey, id);
    }
    return id;
  };

  const selectSubscription = async (body: { groups: string[]; username: string; requestedSubscription: string; requestedModel: string }, requestId: string): Promise<SelectResult> => {
    const key = sha(JSON.stringify(body));
    const cached = selections.get(key);
    if (cached) return cached;
    const r = await callMaasApi<SelectResult>('/internal/v1/subscriptions/select', body, requestId);
    selections.set(key, r);
    return r;
  };

  const server = createServer({ cert: opts.tls.cert, key: opts.tls.key, connectionsCheckingInterval: 1_000 }, answering(async (req, res) => {
    const start = performance.now();
    const requestId = firstHeader(req.headers['x-request-id']) ?? randomUUID();
    const pathIn = req.url ?? '/';
    const method = req.method ?? 'GET';
    const detail: Record<string, string> = {};
    const record = (r: Partial<HopRecord> & { status: number; answeredBy: HopRecord['answeredBy'] }) => {
      traces.add({ requestId, hop: 'maas-gateway', at: Date.now(), ms: performance.now() - start, method, pathIn, detail, ...r });
      log(`[${new Date().toISOString()}] "${method} ${pathIn}" ${r.status} ${detail.flags ?? '-'} route=${detail.route ?? '-'} request_id=${requestId}`);
    };
    const reply = (status: number, body: string, extra: Record<string, string> = {}) => {
      sendEnvoy(res, status, body, SERVER, { 'x-request-id': requestId, ...extra });
      record({ status, answeredBy: 'self' });
    };
    const unauthenticated = (reason: string) => {
      detail.auth = `denied: ${reason}`;
      reply(401, 'Authentication required', { 'www-authenticate': 'Bearer realm="api-keys", Bearer realm="openshift-identities"', 'x-ext-auth-reason': reason });
    };
    const forbidden = (reason: string, body = reason) => {
      detail.authz = `denied: ${reason}`;
      reply(403, body, { 'x-ext-auth-reason': reason });
    };

    const cc = c;
    const host = (req.headers.host ?? '').toLowerCase();
    if (!cc.hostnames.has(host)) {
      detail.flags = 'NR';
      detail.reason = `host ${host || '(none)'} matches no listener`;
      return reply(404, '');
    }
    const unsafe = unsafePathReason(pathIn);
    if (unsafe) {
      detail.reason = unsafe;
      return reply(400, 'Bad Request');
    }
    if (Number(req.headers['content-length'] ?? '0') > BODY_LIMIT) return reply(413, 'Payload Too Large');
    let body: Buffer;
    try {
      body = await readLimited(req, BODY_LIMIT);
    } catch {
      return reply(413, 'Payload Too Large');
    }
    const pathOnly = pathIn.split('?')[0] ?? '/';
    const query = pathIn.slice(pathOnly.length);
    const headers = forwardHeaders(req, new Set(HOP_INTERNAL_HEADERS.filter((h) => !h.startsWith('x-maas-'))), 'x-envoy-');
    headers['x-request-id'] = requestId;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    const flat = () => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));

    let matched = match(cc, pathOnly, firstHeader(req.headers['x-gateway-model-name']));
    if (!matched || matched.kind === 'model') {
      // ipp-pre: the body's model as X-Gateway-Model-Name, then the route cache is cleared (fails open).
      try {
        const [first, second] = await processRequest('pre', requestId, { ...flat(), ':method': method, ':path': pathIn }, body);
        const set = { ...(first?.headerMutation?.setHeaders ?? {}), ...(second?.headerMutation?.setHeaders ?? {}) };
        for (const [k, v] of Object.entries(set)) headers[k.toLowerCase()] = v;
        if (set['x-gateway-model-name']) detail.modelHeader = set['x-gateway-model-name'];
        detail.ippPre = 'ok';
      } catch (err) {
        detail.ippPre = `failed, request let through (failure_mode_allow): ${(err as Error).message}`;
      }
      matched = match(cc, pathOnly, firstHeader(headers['x-gateway-model-name']));
    }
    if (!matched) {
      detail.flags = 'NR';
      detail.reason = 'route_not_found';
      return reply(404, '');
    }

    // maas-gateway-auth: who is calling.
    const auth = firstHeader(req.headers.authorization) ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    if (!bearer) return unauthenticated('credential not found');
    let identity: Identity | undefined;
    try {
      identity = await authenticate(bearer, requestId, detail);
    } catch (err) {
      detail.reason = `auth callback failed: ${(err as Error).message}`;
      return reply(500, 'Internal Server Error');
    }
    if (!identity) return unauthenticated('not authenticated');
    const sent = clientIdentityHeaders(req.headers).filter((h) => h !== SUBSCRIPTION_HEADER);
    if (sent.length) return forbidden(`client-sent identity headers refused: ${sent.join(', ')}`, 'identity headers are set by the gateway');
    if (identity.kind === 'key' && !identity.valid) return forbidden(identity.reason);
    const user = identity as Exclude<Identity, { kind: 'key'; valid: false }>;
    detail.auth = user.kind === 'key' ? `ok (API key ${user.keyId} of ${user.username}, subscription ${user.subscription})` : `ok (${user.username})`;
    detail.userid = user.username;
    const clientSubscription = firstHeader(req.headers[SUBSCRIPTION_HEADER])?.trim() ?? '';
    const requestedSubscription = user.kind === 'key' ? user.subscription : clientSubscription;

    if (matched.kind === 'maas-api') {
      detail.route = `maas-api-route (${matched.prefix})`;
      headers['x-maas-username'] = user.username;
      headers['x-maas-group'] = JSON.stringify(user.groups);
      if (requestedSubscription) headers[SUBSCRIPTION_HEADER] = requestedSubscription;
      else delete headers[SUBSCRIPTION_HEADER];
      const upstream = spec.upstreams.maasApi;
      if (!upstream) {
        detail.flags = 'UH';
        return reply(503, ENVOY_BODIES.uh);
      }
      const pathOut = matched.rewrite ? gatewayApiRewrite(pathOnly, matched.prefix, matched.rewrite) : pathOnly;
      try {
        const result = await relay({
          pool: pools.get(upstream),
          req,
          res,
          path: `${pathOut}${query}`,
          headers,
          body,
          ...maasGatewayRelay(requestId, bodyIdleTimeoutMs()),
        });
        detail.upstream = 'maas-api';
        record({ status: result.status, answeredBy: 'upstream', pathOut: `${pathOut}${query}` });
      } catch (err) {
        const f = upstreamFailure((err as { cause?: unknown }).cause ?? err);
        detail.flags = (err as { failure?: string }).failure ?? f.flag;
        sendEnvoy(res, f.status, f.body, SERVER, { 'x-request-id': requestId });
        record({ status: f.status, answeredBy: 'self', pathOut });
      }
      return;
    }

    const route = matched.route;
    detail.route = `${route.namespace}/${route.name} (${matched.by === 'path' ? `path ${route.pathPrefix}` : `X-Gateway-Model-Name ${firstHeader(headers['x-gateway-model-name'])}`})`;
    const requestedModel = route.modelRefs[0] ?? `${route.namespace}/${route.externalModel}`;
    let sel: SelectResult;
    try {
      sel = await selectSubscription({ groups: user.groups, username: user.username, requestedSubscription, requestedModel }, requestId);
    } catch (err) {
      detail.reason = `subscription-info callback failed: ${(err as Error).message}`;
      return reply(500, 'Internal Server Error');
    }
    // OPA rules: subscription-valid, then require-group-membership.
    if (!sel.name || sel.error || (sel.phase !== 'Active' && sel.phase !== 'Degraded')) return forbidden(sel.error ? `${sel.error}: ${sel.message ?? ''}`.trim() : `subscription not valid (phase ${sel.phase || 'none'})`, sel.message || 'subscription not valid');
    if (!sel.accessAllowed) return forbidden(`no MaaSAuthPolicy grants ${user.username} ${requestedModel}`, `access to ${requestedModel} denied`);
    const selectedKey = `${sel.namespace}/${sel.name}@${requestedModel}`;
    detail.subscription = selectedKey;
    headers['x-maas-username'] = user.username;
    headers['x-maas-group'] = JSON.stringify(user.groups);
    headers[SUBSCRIPTION_HEADER] = sel.name;

    // Token limits: the model's maas-trlp policy, else gateway-default-deny.
    const forModel = cc.limits.filter((l) => l.model === requestedModel);
    const limit = forModel.find((l) => l.selectedKey === selectedKey);
    const limited = !pathOnly.endsWith('/v1/models');
    let counter: { limiter: TokenLimiter; key: string; limit: number } | undefined;
    if (limited) {
      if (!limit) {
        detail.flags = 'RL';
        detail.budget = forModel.length ? `no limit of maas-trlp-${requestedModel.split('/')[1]} matches ${selectedKey} (deny-unsubscribed)` : 'gateway-default-deny: no TokenRateLimitPolicy covers this model (limit 0)';
        return reply(429, 'Too Many Requests\n');
      }
      counter = { limiter: limiter(limit.windowSeconds), key: `${limit.key}/${user.username}`, limit: limit.limit };
      const d = counter.limiter.check(counter.key, counter.limit);
      detail.budget = `${Math.max(0, d.limit - d.spent)}/${d.limit} left (${limit.policy} ${limit.key})`;
      if (!d.admitted) {
        detail.flags = 'RL';
        return reply(429, 'Too Many Requests\n');
      }
    }

    // A path route names its model itself (the route's header filter), for payload processing to resolve.
    if (matched.by === 'path') headers['x-gateway-model-name'] = route.modelNames[0]!;
    // ipp (main): fails closed.
    let pathOut = matched.by === 'path' ? gatewayApiRewrite(pathOnly, route.pathPrefix, '/') : pathOnly;
    let outBody = body;
    const upstream = { endpoint: route.upstream.endpoint, port: route.upstream.port, tls: route.upstream.tls };
    try {
      const responses = await processRequest('main', requestId, { ...flat(), ':method': method, ':path': `${pathOut}${query}` }, body);
      for (const r of responses) {
        if (r.immediateResponse) {
          const ir = r.immediateResponse;
          detail.ipp = `answered ${ir.status} itself`;
          res.writeHead(ir.status, { ...ir.headers, server: SERVER, 'x-request-id': requestId, 'content-length': Buffer.byteLength(Buffer.from(ir.body, 'base64')) });
          res.end(Buffer.from(ir.body, 'base64'));
          return record({ status: ir.status, answeredBy: 'self' });
        }
        for (const h of r.headerMutation?.removeHeaders ?? []) delete headers[h.toLowerCase()];
        for (const [k, v] of Object.entries(r.headerMutation?.setHeaders ?? {})) {
          if (k === ':path') pathOut = v;
          else headers[k.toLowerCase()] = v;
        }
        if (r.bodyMutation && r.bodyMutation.body !== '') outBody = Buffer.from(r.bodyMutation.body, 'base64');
        // Where the request goes is the route's backend (the ExternalModel's endpoint); what payload processing
        // resolved is only reported.
        const meta = r.dynamicMetadata?.['envoy.filters.http.ext_proc.ipp'] as { provider?: string; endpoint?: string } | undefined;
        if (meta?.provider) detail.ippResolved = `${meta.provider} ${meta.endpoint ?? ''}`.trim();
      }
      detail.ipp = 'ok';
    } catch (err) {
      detail.ipp = `failed (failure_mode_allow false): ${(err as Error).message}`;
      return reply(500, '');
    }
    for (const h of ['content-length', 'transfer-encoding', 'host']) delete headers[h];
    headers.host = upstream.tls && upstream.port === 443 ? upstream.endpoint : `${upstream.endpoint}:${upstream.port}`;
    detail.upstream = `${upstream.tls ? 'https' : 'http'}://${headers.host}${upstream.tls ? ' (TLS origination, verified)' : ' (plain HTTP: no TLS origination)'}`;

    let upRes;
    const t0 = performance.now();
    try {
      upRes = await egressPool(upstream.endpoint, upstream.port, upstream.tls).request({
        path: pathOut.includes('?') ? pathOut : `${pathOut}${query}`,
        method: method as 'POST',
        headers: { ...headers, ...(outBody.length ? { 'content-length': String(outBody.length) } : {}) },
        body: outBody.length ? outBody : null,
        headersTimeout: UPSTREAM_TIMEOUT_MS,
        bodyTimeout: UPSTREAM_TIMEOUT_MS,
      });
    } catch (err) {
      const f = upstreamFailure(err);
      detail.flags = f.flag;
      if (f.tls) detail.tls = `verification failed: ${f.tls}`;
      // The response never starts: tell payload processing the stream is over (nothing to count).
      sendEnvoy(res, f.status, f.body, SERVER, { 'x-request-id': requestId });
      return record({ status: f.status, answeredBy: 'self', pathOut });
    }
    const upMs = performance.now() - t0;
    const outHeaders: Record<string, string | string[]> = { ...responseHeaders(upRes.headers) };
    const plainHeaders = () => Object.fromEntries(Object.entries(outHeaders).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    const streamed = (firstHeader(outHeaders['content-type']) ?? '').includes('text/event-stream');
    const seen: Buffer[] = [];
    let seenBytes = 0;
    const emit = async (chunk: Buffer) => {
      if (chunk.length === 0) return;
      if (seenBytes < USAGE_SCAN_LIMIT) {
        seen.push(chunk);
        seenBytes += chunk.length;
      }
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    };
    const writeHead = (mutation: ProcessingResponse) => {
      for (const h of mutation.headerMutation?.removeHeaders ?? []) delete outHeaders[h.toLowerCase()];
      for (const [k, v] of Object.entries(mutation.headerMutation?.setHeaders ?? {})) outHeaders[k.toLowerCase()] = v;
      delete outHeaders['content-length'];
      res.writeHead(upRes.statusCode, { ...outHeaders, ...relayedReplyHeaders(SERVER, upMs, { 'x-request-id': requestId }) });
    };
    try {
      if (!streamed) {
        // A whole answer: its headers and body go to payload processing in one exchange.
        const whole = Buffer.from(await upRes.body.arrayBuffer());
        const [head, tail] = await extProcBatch([
          { stream: requestId, stage: 'main', phase: 'response_headers', status: upRes.statusCode, headers: plainHeaders(), endOfStream: false },
          { stream: requestId, stage: 'main', phase: 'response_body', body: whole.toString('base64'), endOfStream: true },
        ]);
        writeHead(head!);
        await emit(tail?.bodyMutation ? Buffer.from(tail.bodyMutation.body, 'base64') : whole);
      } else {
        writeHead(await extProc({ stream: requestId, stage: 'main', phase: 'response_headers', status: upRes.statusCode, headers: plainHeaders(), endOfStream: false }));
        for await (const chunk of upRes.body) {
          const r = await extProc({ stream: requestId, stage: 'main', phase: 'response_body', body: (chunk as Buffer).toString('base64'), endOfStream: false });
          await emit(r.bodyMutation ? Buffer.from(r.bodyMutation.body, 'base64') : (chunk as Buffer));
        }
        const last = await extProc({ stream: requestId, stage: 'main', phase: 'response_body', body: '', endOfStream: true });
        if (last.bodyMutation) await emit(Buffer.from(last.bodyMutation.body, 'base64'));
      }
      res.end();
    } catch (err) {
      if (!res.headersSent) {
        detail.ipp = `failed on the response (failure_mode_allow false): ${(err as Error).message}`;
        await upRes.body.dump().catch(() => undefined);
        return reply(500, '');
      }
      detail.reason = `response cut off: ${(err as Error).message}`;
      res.destroy();
    }
    if (counter) {
      // The wasm-shim reports the usage the response shows (after payload processing's response phase).
      const tokens = usageTokens(Buffer.concat(seen).toString('utf8'), firstHeader(outHeaders['content-type']));
      if (tokens !== undefined) {
        counter.limiter.report(counter.key, tokens);
        detail.tokensCounted = String(tokens);
      } else {
        detail.tokensCounted = 'none (no usage in OpenAI shape in the response)';
      }
    }
    record({ status: upRes.statusCode, answeredBy: 'upstream', pathOut });
  }, envoyInternalError(SERVER)));
  hardenHop(server);

  const handle = hopHandle(server, traces, () => spec, (s: SubscriptionGatewaySpec) => {
    const trustChanged = JSON.stringify(s.trustedCas) !== JSON.stringify(spec.trustedCas);
    const dnsChanged = JSON.stringify(s.dns) !== JSON.stringify(spec.dns) || trustChanged;
    spec = s;
    c = compile(s, trustChanged ? undefined : c.trust);
    // Objects changed: maas-api's answers may differ (Authorino would keep them until they expire; a
    // reprogrammed gateway starts afresh). Key validations stay cached, as Authorino keeps them.
    selections.clear();
    if (dnsChanged) {
      for (const p of egress.values()) void p.close().catch(() => undefined);
      egress.clear();
    }
  }, { close: async () => {
    await pools.close();
    await Promise.all([...egress.values()].map((p) => p.close().catch(() => undefined)));
  } });
  return {
    ...handle,
    counters: () => Object.assign({}, ...[...limiters.values()].map((l) => l.snapshot())) as Record<string, { spent: number; reserved: number; resetAt: number }>,
    resetCounters: () => {
      for (const l of limiters.values()) l.reset();
    },
    resetCache: () => {
      identities.clear();
      selections.clear();
    },
  };
}
