/**
 * The MaaS gateway hop in the role of the Istio gateway with Kuadrant: HTTPS, Host matching, the
 * maas-api routes, per-provider bridge routes with their AuthPolicies (token review, identity
 * {userid, tier}, key injection, header removal, rewrite), the on-prem KServe route with the
 * gateway policy (token review, tier lookup, access review), and the TokenRateLimitPolicy.
 * Local replies are shaped as those components answer (contracts §3.1–§3.3).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { mask, fingerprint } from '../../core/secret.js';
import type { MaasGatewaySpec, BridgeSpec, OnpremRouteSpec } from '../../model/topology.js';
import { answering, firstHeader, keysEqual, readLimited, safeText } from '../../sim/http-server.js';
import { ENVOY_BODIES, envoyInternalError, sendEnvoy, tooManyHeaders, upstreamFailureReply, type UpstreamFailure } from './envoy-replies.js';
import { hopHandle } from './hop-handle.js';
import { bodyIdleTimeoutMs, expectsContinue, hardenHop, HOP_INTERNAL_HEADERS, requestIdOf, unsafePathReason } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import type { HopRecord } from '../../model/hop-record.js';
import { gatewayApiMatch, gatewayApiRewrite } from '../../model/gateway-paths.js';
import { PoolCache, forwardHeaders, relay } from './proxy.js';
import { TokenLimiter, UsageScanner } from './rate-limit.js';
import { enforceStreamUsage, usageStripper } from './stream-usage.js';
import { countTokens, textOfContent } from '../../sim/completions.js';
import { reviewToken } from './tokens.js';
import { MAAS_GATEWAY_BODY_LIMIT as BODY_LIMIT, MAAS_GATEWAY_SERVER as SERVER, maasGatewayRelay, type MaasGatewayStart } from './gateway-role.js';

export interface MaasGatewayOptions extends MaasGatewayStart<MaasGatewaySpec> {
  now?: () => number;
}

export interface MaasGatewayHop {
  server: Server;
  traces: TraceBuffer;
  limiter: TokenLimiter;
  setSpec(spec: MaasGatewaySpec): void;
  spec(): MaasGatewaySpec;
  close(): Promise<void>;
}

type Route =
  | { kind: 'bridge'; bridge: BridgeSpec; prefix: string }
  | { kind: 'onprem'; route: OnpremRouteSpec; prefix: string }
  | { kind: 'maas-api'; prefix: string; rewrite: string | null };

function routes(spec: MaasGatewaySpec): Route[] {
  const all: Route[] = [
    ...spec.bridges.map((bridge) => ({ kind: 'bridge' as const, bridge, prefix: bridge.pathPrefix })),
    ...spec.onprem.map((route) => ({ kind: 'onprem' as const, route, prefix: route.pathPrefix })),
    { kind: 'maas-api', prefix: '/v1/models', rewrite: null },
    { kind: 'maas-api', prefix: '/maas-api', rewrite: '/' },
  ];
  return all.sort((a, b) => b.prefix.replace(/\/$/, '').length - a.prefix.replace(/\/$/, '').length);
}

/** What every request needs from the spec, worked out once per spec (the admin listener's setSpec) instead of per request. */
interface Compiled {
  routes: Route[];
  hostnames: Set<string>;
  /** Hop-internal headers and every provider key header a bridge injects (other than Authorization). */
  drop: Set<string>;
  /** Tiers by level, highest first. */
  tiers: MaasGatewaySpec['tiers'];
}

function compile(spec: MaasGatewaySpec): Compiled {
  const drop = new Set(HOP_INTERNAL_HEADERS);
  for (const b of spec.bridges) if (b.auth?.inject && b.auth.inject.header.toLowerCase() !== 'authorization') drop.add(b.auth.inject.header.toLowerCase());
  return {
    routes: routes(spec),
    hostnames: new Set(spec.hostnames.map((h) => h.toLowerCase())),
    drop,
    tiers: [...spec.tiers].sort((a, b) => b.level - a.level),
  };
}

interface Identity {
  userid: string;
  tier: string | undefined;
  username: string;
  groups: string[];
}

export function createMaasGateway(opts: MaasGatewayOptions): MaasGatewayHop {
  let spec = opts.spec;
  /** Recompiled only when the admin listener reprograms the spec (setSpec below). */
  let compiled = compile(spec);
  const traces = new TraceBuffer();
  const pools = new PoolCache();
  const limiter = new TokenLimiter(spec.rateLimit.windowSeconds * 1000, opts.now);
  const log = opts.log ?? (() => undefined);
  const bodyIdleMs = bodyIdleTimeoutMs();
  /** Requests in flight per user (the `--hardened` cap). */
  const inFlight = new Map<string, number>();

  const tierOfGroups = (groups: string[]) =>
    compiled.tiers.find((t) => t.groups.some((g) => groups.includes(g)) || groups.includes(`system:serviceaccounts:${spec.instance}-tier-${t.name}`))?.name;

  /** The bearer credential, or the reason Authorino gives when there is none. */
  const bearer = (req: IncomingMessage): string | undefined => {
    const value = firstHeader(req.headers.authorization);
    const m = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
    return m?.[1];
  };

  // Node checks the header/request timeouts of hardenHop() only every connectionsCheckingInterval (30 s by
  // default), so a slow client held a connection for up to 40 s instead of 10 s.
  const server = createServer({ cert: opts.tls.cert, key: opts.tls.key, connectionsCheckingInterval: 1_000 }, answering(async (req, res) => {
    const start = performance.now();
    const { id: requestId, replaced } = requestIdOf(req);
    const pathIn = req.url ?? '/';
    const detail: Record<string, string> = {};
    if (replaced) detail.requestId = 'client x-request-id refused (not a token of at most 128 letters, digits or ._:-); a new one was made';
    const record = (r: Partial<HopRecord> & { status: number; answeredBy: HopRecord['answeredBy'] }) => {
      const rec: HopRecord = { requestId, hop: 'maas-gateway', at: Date.now(), ms: performance.now() - start, method: req.method ?? 'GET', pathIn, detail, ...r };
      traces.add(rec);
      log(`[${new Date().toISOString()}] "${safeText(rec.method, 20)} ${safeText(pathIn, 512)}" ${rec.status} ${detail.flags ?? '-'} route=${detail.route ?? '-'} request_id=${requestId}`);
    };
    let continued = false;
    const reply = (status: number, body: string, extra: Record<string, string> = {}) => {
      // A client still waiting for `100 Continue` never sends its body: end the connection with the answer.
      const close: Record<string, string> = expectsContinue(req) && !continued ? { connection: 'close' } : {};
      sendEnvoy(res, status, body, SERVER, { 'x-request-id': requestId, ...close, ...extra });
      record({ status, answeredBy: 'self' });
    };

    // Envoy's codec refuses a header block over max_headers_count (100) before anything else looks at it.
    if (tooManyHeaders(req)) {
      detail.flags = 'DPE';
      detail.reason = `more than 100 request headers (${req.rawHeaders.length / 2})`;
      return reply(431, '', { connection: 'close' });
    }
    // Listener host match: any other Host is a route-not-found, as on the real gateway.
    const c = compiled;
    const host = (req.headers.host ?? '').toLowerCase();
    if (!c.hostnames.has(host)) {
      detail.flags = 'NR';
      detail.reason = `host ${host ? safeText(host, 256) : '(none)'} matches no listener`;
      return reply(404, '');
    }
    const unsafe = unsafePathReason(pathIn);
    if (unsafe) {
      detail.reason = unsafe;
      return reply(400, 'Bad Request');
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > BODY_LIMIT) {
      detail.reason = `body of ${declared} bytes over the ${BODY_LIMIT}-byte limit`;
      return reply(413, 'Payload Too Large');
    }
    const pathOnly = pathIn.split('?')[0] ?? '/';
    const query = pathIn.slice(pathOnly.length);
    const route = c.routes.find((r) => gatewayApiMatch(pathOnly, r.prefix));
    if (!route) {
      detail.flags = 'NR';
      detail.reason = 'route_not_found';
      return reply(404, '');
    }

    // Headers a client must never set on the way in: hop-internal identity headers and any provider
    // key header (a client-sent key must not reach a provider, whatever its name).
    // Like an edge Envoy, it also strips every x-envoy-* header an external client sends.
    const headers = forwardHeaders(req, c.drop, 'x-envoy-');
    headers['x-request-id'] = requestId;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';

    let upstream: string | undefined;
    let pathOut = pathOnly;
    let identity: Identity | undefined;
    let hop: 'egress' | 'onprem' | 'maas-api';

    if (route.kind === 'maas-api') {
      detail.route = route.rewrite ? 'maas-api-route (/maas-api)' : 'maas-api-route (/v1/models)';
      // maas-api-auth-policy: OpenShift user tokens, or SA tokens with the gateway audience.
      const token = bearer(req);
      if (!token) return authFail('openshift-identities', 'credential not found');
      let username: string;
      let groups: string[];
      let serviceAccount = false;
      if (keysEqual(createHash('sha256').update(token).digest('hex'), opts.clusterTokenSha256)) {
        username = spec.user.name;
        groups = spec.user.groups;
      } else {
        const review = await reviewToken(opts.signingKey, token, { audiences: [spec.audience], issuer: spec.issuer });
        if (!review.authenticated) return authFail('openshift-identities', 'not authenticated');
        username = review.username;
        groups = review.groups;
        serviceAccount = true;
      }
      detail.auth = `ok (${username})`;
      if (route.rewrite) pathOut = gatewayApiRewrite(pathOnly, route.prefix, route.rewrite);
      // --hardened: an authorization rule on the tokens path lets only the user's own identity mint,
      // never a MaaS token (a service account): no chaining to a new service account's fresh budget.
      if (spec.tokensRequireUserIdentity && serviceAccount && pathOut === '/v1/tokens') {
        detail.authz = 'denied: service accounts may not mint tokens (rule user-identity-only)';
        return reply(403, '', { 'x-ext-auth-reason': 'Unauthorized' });
      }
      headers['x-maas-username'] = username;
      headers['x-maas-group'] = JSON.stringify(groups);
      upstream = spec.upstreams.maasApi;
      hop = 'maas-api';
    } else {
      const token = bearer(req);
      const realm = 'service-accounts';
      if (route.kind === 'bridge') {
        const b = route.bridge;
        detail.route = b.name;
        if (b.auth) {
          if (!token) return authFail(realm, 'credential not found');
          const review = await reviewToken(opts.signingKey, token, { audiences: b.auth.audiences, issuer: spec.issuer });
          if (!review.authenticated) return authFail(realm, 'not authenticated');
          const fields = review.username.split(':');
          const ns = fields[2] ?? '';
          identity = { userid: fields[3] ?? '', tier: ns.includes('-tier-') ? ns.slice(ns.indexOf('-tier-') + 6) : undefined, username: review.username, groups: review.groups };
          detail.auth = 'ok';
          detail.userid = identity.userid;
          detail.tier = identity.tier ?? '(none)';
          // --hardened: the policy's authorization rule wants a known tier (a token of any other
          // namespace would find no limit in the TokenRateLimitPolicy and never be limited).
          const allowed = b.auth.allowedTiers;
          if (allowed && !(identity.tier && allowed.includes(identity.tier))) {
            detail.authz = `denied: tier ${identity.tier ?? '(none)'} is not one of ${allowed.join(', ')} (rule known-tier)`;
            return reply(403, '', { 'x-ext-auth-reason': 'Unauthorized' });
          }
        } else {
          detail.auth = 'no AuthPolicy on route';
        }
        for (const h of b.removeHeaders) delete headers[h.toLowerCase()];
        if (b.removeHeaders.length) detail.removed = b.removeHeaders.join(',');
        if (b.auth?.inject) {
          const { header, value } = b.auth.inject;
          const name = header.toLowerCase();
          const had = headers[name];
          // wasm-shim v0.12.0 adds a second header instead of replacing the first (§9.8).
          headers[name] = spec.injectMode === 'append' && had !== undefined ? [...(Array.isArray(had) ? had : [had]), value] : value;
          const shown = header.toLowerCase() === 'authorization' ? value.replace(/^Bearer\s+/i, '') : value;
          detail.keyInjected = `${header}: ${header.toLowerCase() === 'authorization' ? 'Bearer ' : ''}${mask(shown)}`;
          detail.keyFp = fingerprint(shown);
        } else {
          detail.keyInjected = 'none';
        }
        pathOut = b.rewritePrefix === null ? pathOnly : gatewayApiRewrite(pathOnly, b.pathPrefix, b.rewritePrefix);
        upstream = spec.upstreams.egress;
        hop = 'egress';
      } else {
        const r = route.route;
        detail.route = r.name;
        // Gateway-level AuthPolicy: token review, tier lookup, then the access review on the model.
        if (!token) return authFail(realm, 'credential not found');
        const review = await reviewToken(opts.signingKey, token, { audiences: [spec.audience], issuer: spec.issuer });
        if (!review.authenticated) return authFail(realm, 'not authenticated');
        const fields = review.username.split(':');
        identity = { userid: fields[3] ?? '', tier: tierOfGroups(review.groups), username: review.username, groups: review.groups };
        detail.auth = 'ok';
        detail.userid = identity.userid;
        detail.tier = identity.tier ?? '(none)';
        if (!identity.tier || (r.allowedTiers.length > 0 && !r.allowedTiers.includes(identity.tier))) {
          detail.authz = 'denied';
          return reply(403, '', { 'x-ext-auth-reason': 'not authorized: unknown reason' });
        }
        detail.authz = `ok (post llminferenceservices ${r.namespace}/${r.pathPrefix.split('/').pop()})`;
        pathOut = r.rewritePrefix === null ? pathOnly : gatewayApiRewrite(pathOnly, r.pathPrefix, r.rewritePrefix);
        upstream = spec.upstreams.onprem;
        hop = 'onprem';
      }
    }

    // --hardened: one user's requests in flight are capped, so one user cannot hold every connection.
    const cap = spec.rateLimit.maxConcurrentPerUser;
    const slotKey = identity ? `user/${identity.userid}` : undefined;
    if (cap && slotKey) {
      const busy = inFlight.get(slotKey) ?? 0;
      if (busy >= cap) {
        detail.flags = 'RL';
        detail.reason = `${busy} requests of this user in flight (cap ${cap})`;
        return reply(429, 'Too Many Requests\n');
      }
      inFlight.set(slotKey, busy + 1);
      res.once('close', () => {
        const left = (inFlight.get(slotKey) ?? 1) - 1;
        if (left > 0) inFlight.set(slotKey, left);
        else inFlight.delete(slotKey);
      });
    }

    // Token rate limit: every route of the gateway but model listings; one counter per user.
    const rl = spec.rateLimit;
    const limit = identity?.tier ? rl.limits.find((l) => l.tier === identity.tier)?.tokens : undefined;
    const limited = rl.enabled && identity !== undefined && limit !== undefined && !pathOnly.endsWith('/v1/models');
    const counterKey = identity ? `${identity.tier}-user-tokens/${identity.userid}` : '';
    // The payload processor (--hardened) and the strict estimate need the body before the request goes on.
    const enforce = Boolean(spec.streamUsageEnforcer) && hop !== 'maas-api' && req.method === 'POST';
    const needBody = limited && (rl.strictBudget || enforce);
    // The request passed every check that does not need its body: now the client may send it.
    if (expectsContinue(req)) {
      res.writeContinue();
      continued = true;
    }
    let body: Buffer | undefined;
    let strip = false;
    if (needBody || enforce) {
      try {
        body = await readLimited(req, BODY_LIMIT, bodyIdleMs);
      } catch (err) {
        if ((err as { code?: string }).code === 'E_BODY_IDLE') return bodyStalled();
        detail.reason = 'request body over the limit';
        return reply(413, 'Payload Too Large');
      }
      if (enforce) {
        const enforced = enforceStreamUsage(body);
        body = enforced.body;
        strip = enforced.injected;
        if (strip) detail.streamUsage = 'include_usage added (stream-usage-enforcer); the usage chunk is taken back out for the client';
      }
      headers['content-length'] = String(body.length);
    }
    let reserved = 0;
    if (limited) {
      if (rl.strictBudget) {
        reserved = estimateTokens(body ?? Buffer.alloc(0));
        const d = limiter.reserve(counterKey, limit, reserved);
        detail.budget = `${Math.max(0, d.limit - d.spent)}/${d.limit} left (${d.reserved} reserved)`;
        if (!d.admitted) {
          detail.flags = 'RL';
          return reply(429, 'Too Many Requests\n');
        }
      } else {
        const d = limiter.check(counterKey, limit);
        detail.budget = `${Math.max(0, d.limit - d.spent)}/${d.limit} left`;
        if (!d.admitted) {
          detail.flags = 'RL';
          return reply(429, 'Too Many Requests\n');
        }
      }
    }

    if (!upstream) {
      if (limited) limiter.release(counterKey, reserved);
      detail.flags = 'UH';
      return reply(503, ENVOY_BODIES.uh);
    }
    detail.upstream = hop;
    const usage = limited ? new UsageScanner() : undefined;
    try {
      const result = await relay({
        pool: pools.get(upstream),
        req,
        res,
        path: `${pathOut}${query}`,
        headers,
        ...maasGatewayRelay(requestId, bodyIdleMs),
        ...(body ? { body } : {}),
        ...(usage ? { onChunk: (chunk: Buffer) => usage.push(chunk) } : {}),
        ...(strip ? { transform: usageStripper() } : {}),
      });
      if (limited && usage) {
        const tokens = usage.total(firstHeader(result.headers['content-type']));
        if (rl.countUsage && tokens !== undefined) {
          limiter.report(counterKey, tokens, reserved);
          detail.tokensCounted = String(tokens);
        } else if (rl.countUsage && reserved > 0 && result.status < 300) {
          // Reserved at admission and answered, but no usage came back (a stream that did not ask for
          // it): the reservation is what it cost, rather than nothing.
          limiter.report(counterKey, reserved, reserved);
          detail.tokensCounted = `${reserved} (the reservation: the response reported no usage)`;
        } else {
          limiter.release(counterKey, reserved);
          detail.tokensCounted = rl.countUsage ? 'none (no usage in response)' : 'none (usage not reported)';
        }
      }
      record({ status: result.status, answeredBy: 'upstream', pathOut: `${pathOut}${query}` });
    } catch (err) {
      if (limited) limiter.release(counterKey, reserved);
      if ((err as { tooLarge?: boolean }).tooLarge) {
        detail.reason = 'request body over the limit';
        return reply(413, 'Payload Too Large');
      }
      if ((err as { bodyIdle?: boolean }).bodyIdle) return bodyStalled();
      const failure = (err as { failure?: UpstreamFailure }).failure ?? 'UC';
      detail.flags = failure;
      const { status, body: text } = upstreamFailureReply(failure);
      sendEnvoy(res, status, text, SERVER, { 'x-request-id': requestId });
      record({ status, answeredBy: 'self', pathOut });
    }

    function authFail(realm: string, reason: string) {
      detail.auth = `denied: ${reason}`;
      reply(401, '', { 'www-authenticate': `Bearer realm="${realm}"`, 'x-ext-auth-reason': reason });
    }

    /** Envoy's stream idle timeout before a response began: 408 `stream timeout`, and the connection closed. */
    function bodyStalled() {
      detail.flags = 'SI';
      detail.reason = `no request body byte for ${bodyIdleMs} ms`;
      reply(408, 'stream timeout', { connection: 'close' });
    }
  }, envoyInternalError(SERVER)));
  hardenHop(server);

  return { ...hopHandle(server, traces, () => spec, (s) => {
    spec = s;
    compiled = compile(s);
  }, pools), limiter };
}

/**
 * The strict budget's admission estimate: the prompt's tokens counted the way the model servers count
 * them (words of the message text, of every text part of a content array; never the JSON around it)
 * plus max_tokens (default 256). A body that is not a JSON object is estimated at 256.
 */
export function estimateTokens(body: Buffer): number {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 256;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return 256;
  const r = json as { max_tokens?: unknown; max_completion_tokens?: unknown; messages?: unknown; prompt?: unknown };
  let prompt = 0;
  if (Array.isArray(r.messages)) {
    for (const m of r.messages) if (m && typeof m === 'object') prompt += countTokens(textOfContent((m as { content?: unknown }).content));
  } else if (typeof r.prompt === 'string') {
    prompt = countTokens(r.prompt);
  } else if (Array.isArray(r.prompt)) {
    for (const item of r.prompt) prompt += typeof item === 'string' ? countTokens(item) : typeof item === 'number' ? 1 : 0;
  }
  const max = typeof r.max_tokens === 'number' ? r.max_tokens : typeof r.max_completion_tokens === 'number' ? r.max_completion_tokens : 256;
  return Math.max(1, prompt) + Math.max(0, Math.floor(max));
}

export type { ServerResponse };
