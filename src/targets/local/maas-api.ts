/**
 * maas-api in its tier-era shape (contracts §4): token minting for a service account in the user's
 * tier namespace, the tier lookup, and the unified /v1/models listing (on-prem models discovered by
 * asking them, external models from the registry ConfigMap). It trusts only the identity headers the
 * gateway's AuthPolicy sets.
 */
import { createServer, type Server } from 'node:http';
import type { MaasApiSpec } from '../../model/topology.js';
import { answering, firstHeader, jsonInternalError, readLimited, sendJson } from '../../sim/http-server.js';
import { tooManyHeaders } from './envoy-replies.js';
import { hopHandle } from './hop-handle.js';
import { expectsContinue, hardenHop, requestIdOf } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import type { HopRecord } from '../../model/hop-record.js';
import { formatGoDuration, mintServiceAccountToken, parseExpiration, serviceAccountName, type SigningKeyFile } from './tokens.js';

export interface MaasApiHop {
  server: Server;
  traces: TraceBuffer;
  setSpec(spec: MaasApiSpec): void;
  spec(): MaasApiSpec;
  close(): Promise<void>;
}

export function createMaasApi(initial: MaasApiSpec, signingKey: SigningKeyFile): MaasApiHop {
  let spec = initial;
  const traces = new TraceBuffer();
  const startedAt = Math.floor(Date.now() / 1000);

  const tierFor = (groups: string[]) =>
    [...spec.tiers].sort((a, b) => b.level - a.level).find((t) => t.groups.some((g) => groups.includes(g)) || groups.includes(`system:serviceaccounts:${spec.instance}-tier-${t.name}`));

  const server = createServer(answering(async (req, res) => {
    const start = performance.now();
    const { id: requestId } = requestIdOf(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const detail: Record<string, string> = {};
    const done = (status: number, body: unknown) => {
      sendJson(res, status, body);
      const rec: HopRecord = { requestId, hop: 'maas-api', at: Date.now(), ms: performance.now() - start, method: req.method ?? 'GET', pathIn: req.url ?? '/', status, answeredBy: 'self', detail };
      traces.add(rec);
    };
    const username = firstHeader(req.headers['x-maas-username']);
    let groups: string[] | undefined;
    try {
      const raw = firstHeader(req.headers['x-maas-group']);
      groups = raw ? (JSON.parse(raw) as string[]) : undefined;
    } catch {
      groups = undefined;
    }

    if (tooManyHeaders(req)) {
      // Go's net/http answers 431 to a header block it will not read; here: more headers than the gateway passes.
      res.setHeader('connection', 'close');
      return done(431, { error: 'request header fields too large' });
    }
    if (expectsContinue(req)) res.writeContinue();
    if (path === '/health') return done(200, { status: 'ok' });

    if (path === '/v1/tokens' && req.method === 'POST') {
      if (!username || !groups || !Array.isArray(groups)) {
        return done(500, { error: 'Exception thrown while generating token', exceptionCode: 'AUTH_FAILURE', refId: !username ? '001' : '002' });
      }
      let body: { expiration?: unknown } = {};
      try {
        const raw = (await readLimited(req, 64 * 1024)).toString('utf8').trim();
        const parsed: unknown = raw ? JSON.parse(raw) : {};
        // Go decodes `null` into the request struct as a no-op; an array, string, number or boolean is an error.
        // (A `null` body used to crash the process: body.expiration on null.)
        if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) return done(400, { error: 'invalid JSON body' });
        body = (parsed ?? {}) as { expiration?: unknown };
      } catch (err) {
        return done(400, { error: (err as { code?: string }).code === 'E_TOO_LARGE' ? 'request body too large' : 'invalid JSON body' });
      }
      const parsed = parseExpiration(body.expiration);
      if ('error' in parsed) return done(400, { error: parsed.error });
      let seconds = parsed.seconds;
      if (seconds === 0) seconds = spec.defaultTokenSeconds;
      if (seconds < 0) return done(400, { error: 'expiration must be positive' });
      if (seconds < spec.minTokenSeconds) {
        return done(400, { error: 'token expiration must be at least 10 minutes', provided_expiration: formatGoDuration(seconds) });
      }
      // The lifetime cap of `--hardened` (the tier-era maas-api has none: a 292-year token was minted).
      if (spec.maxTokenSeconds && seconds > spec.maxTokenSeconds) {
        detail.refused = `expiration over the ${formatGoDuration(spec.maxTokenSeconds)} cap`;
        return done(400, { error: `token expiration must be at most ${formatGoDuration(spec.maxTokenSeconds)}`, provided_expiration: formatGoDuration(seconds) });
      }
      const tier = tierFor(groups);
      if (!tier) return done(403, { error: 'forbidden', message: `user ${username} is in no tier` });
      const namespace = `${spec.instance}-tier-${tier.name}`;
      const sa = serviceAccountName(username);
      const minted = await mintServiceAccountToken(signingKey, { namespace, serviceAccount: sa, audience: spec.audience, issuer: spec.issuer, seconds });
      detail.tier = tier.name;
      detail.serviceAccount = `${namespace}/${sa}`;
      return done(201, { token: minted.token, expiration: formatGoDuration(seconds), expiresAt: minted.expiresAt, issuedAt: minted.issuedAt, jti: minted.jti });
    }

    if (path === '/v1/tiers/lookup' && req.method === 'POST') {
      try {
        const { groups: g } = JSON.parse((await readLimited(req, 64 * 1024)).toString('utf8')) as { groups?: string[] };
        if (!Array.isArray(g)) return done(400, { error: 'bad_request', message: 'groups must be a list' });
        const tier = tierFor(g);
        if (!tier) return done(404, { error: 'not_found', message: `group ${g.join(',')} not found in any tier` });
        return done(200, { tier: tier.name, displayName: `${tier.name[0]!.toUpperCase()}${tier.name.slice(1)} Tier` });
      } catch {
        return done(400, { error: 'bad_request', message: 'invalid JSON body' });
      }
    }

    if (path === '/v1/models' && req.method === 'GET') {
      if (!username) return done(401, { error: { message: 'Authorization token required', type: 'authentication_error' } });
      const data: Record<string, unknown>[] = [];
      for (const m of spec.onprem) {
        // Discovery asks the model itself; anything but 2xx hides it (fail-closed), as maas-api does.
        try {
          const r = await fetch(`${m.upstream}/v1/models`, { signal: AbortSignal.timeout(5_000), headers: { 'x-request-id': requestId } });
          if (r.ok) {
            const listed = (await r.json()) as { data?: { id?: string; owned_by?: string; created?: number }[] };
            const first = listed.data?.[0];
            data.push({ id: first?.id ?? m.id, object: 'model', created: first?.created ?? startedAt, owned_by: first?.owned_by ?? m.namespace, url: m.publicUrl, ready: true });
          } else {
            detail[`hidden:${m.id}`] = `HTTP ${r.status}`;
          }
        } catch {
          detail[`hidden:${m.id}`] = 'unreachable';
        }
      }
      const now = Math.floor(Date.now() / 1000);
      for (const m of spec.registry ?? []) data.push({ id: m.id, object: 'model', created: now, owned_by: m.provider, ready: true });
      detail.models = String(data.length);
      return done(200, { data, object: 'list' });
    }

    return done(404, { error: 'not found' });
  }, jsonInternalError({ error: 'internal_error', message: 'an internal error occurred' })));
  hardenHop(server);
  return hopHandle(server, traces, () => spec, (s) => void (spec = s));
}
