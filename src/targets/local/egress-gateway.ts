/**
 * The egress hop in the role of wg-ai-gateway's Envoy: HTTPRoutes with a path prefix and a
 * ReplacePrefixMatch rewrite, backends from XBackendDestinations, Envoy's local replies (404 no
 * route, 500 unresolved backend, 503 UF/UH, 504) with `server: envoy`.
 */
import { createServer, type Server } from 'node:http';
import { SIM_HEADERS } from '../../sim/headers.js';
import { mask } from '../../core/secret.js';
import type { EgressSpec } from '../../model/topology.js';
import { answering, firstHeader } from '../../sim/http-server.js';
import { ENVOY_BODIES, envoyInternalError, sendEnvoy, sendTooManyHeaders, tooManyHeaders, upstreamFailureReply, type UpstreamFailure, relayedReplyHeaders } from './envoy-replies.js';
import { hopHandle } from './hop-handle.js';
import { bodyIdleTimeoutMs, expectsContinue, hardenHop, requestIdOf } from './request-hardening.js';
import { TraceBuffer } from './trace-buffer.js';
import type { HopRecord } from '../../model/hop-record.js';
import { envoyRoute } from '../../model/gateway-paths.js';
import { PoolCache, forwardHeaders, relay } from './proxy.js';

const SERVER = 'envoy';
const BODY_LIMIT = 8 * 1024 * 1024;
/** wg routes set no timeout: Envoy's default route timeout of 15 s applies (contracts §9.18). */
const ROUTE_TIMEOUT_MS = 15_000;

/** Names that resolve without the local DNS table: IP literals and localhost. */
function isResolvable(hostname: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(hostname) || hostname === 'localhost' || hostname.includes(':');
}

export interface EgressHop {
  server: Server;
  traces: TraceBuffer;
  setSpec(spec: EgressSpec): void;
  spec(): EgressSpec;
  close(): Promise<void>;
}

/**
 * Sorted as Envoy orders prefix routes: the longest prefix first; each with its set of headers to
 * remove. Worked out once per spec (the admin listener's setSpec) instead of on every request.
 */
function ordered(spec: EgressSpec) {
  return [...spec.routes].sort((a, b) => b.pathPrefix.length - a.pathPrefix.length).map((route) => ({ route, drop: new Set(route.removeHeaders.map((h) => h.toLowerCase())) }));
}

export function createEgressGateway(initial: EgressSpec, log: (line: string) => void = () => undefined): EgressHop {
  let spec = initial;
  let routes = ordered(spec);
  const traces = new TraceBuffer();
  const pools = new PoolCache();
  const bodyIdleMs = bodyIdleTimeoutMs();

  const server = createServer(answering(async (req, res) => {
    const start = performance.now();
    const { id: requestId } = requestIdOf(req);
    const pathIn = req.url ?? '/';
    const record = (r: Partial<HopRecord> & { status: number; answeredBy: HopRecord['answeredBy'] }) => {
      const full: HopRecord = { requestId, hop: 'egress-gateway', at: Date.now(), ms: performance.now() - start, method: req.method ?? 'GET', pathIn, detail: {}, ...r };
      traces.add(full);
      log(`[${new Date().toISOString()}] "${full.method} ${full.pathOut ?? pathIn}" ${full.status} ${full.detail.flags ?? '-'} original_path=${pathIn} upstream=${full.detail.backend ?? '-'} request_id=${requestId}`);
      if (spec.logLevel === 'trace') {
        // The real Envoy at trace level prints every header value; we print names and masked values,
        // and doctor reports the setting itself as an exposure.
        log(`[trace] request headers: ${Object.entries(req.headers).map(([k, v]) => `${k}=${mask(String(v))}`).join(' ')}`);
      }
    };

    if (tooManyHeaders(req)) {
      sendTooManyHeaders(res, SERVER);
      return record({ status: 431, answeredBy: 'self', detail: { flags: 'DPE', reason: `more than 100 request headers (${req.rawHeaders.length / 2})` } });
    }
    // Nothing here waits for a decision on the body: let a client that asked for it send.
    if (expectsContinue(req)) res.writeContinue();

    // The first route that matches, in order (later routes are not even tried).
    let match: { route: EgressSpec['routes'][number]; drop: Set<string>; pathOut: string } | undefined;
    for (const r of routes) {
      const m = envoyRoute(pathIn, r.route, spec.controllerFixed);
      if (m.matched) {
        match = { route: r.route, drop: r.drop, pathOut: m.pathOut };
        break;
      }
    }
    if (!match) {
      sendEnvoy(res, 404, '', SERVER);
      return record({ status: 404, answeredBy: 'self', detail: { flags: 'NR', reason: 'route_not_found' } });
    }
    const { route, pathOut } = match;
    const ref = route.backendRef;
    // kind Backend names an XBackendDestination; kind Service a Service of the route's namespace
    // (contracts §8). Anything that does not resolve is the translator's direct response 500.
    const service = ref.kind === 'Service' ? spec.services?.find((x) => x.name === ref.name) : undefined;
    const backend =
      ref.kind === 'Backend'
        ? spec.backends.find((b) => b.name === ref.name)
        : service
          ? { name: service.name, hostname: `${service.name}.${service.namespace}.svc.cluster.local`, ports: service.ports, scheme: 'http' as const }
          : undefined;
    const kindOk = ref.kind === 'Backend' || ref.kind === 'Service';
    if (!kindOk || !backend || !backend.ports.includes(ref.port)) {
      sendEnvoy(res, 500, '', SERVER);
      const reason = !kindOk ? `unsupported backend kind ${ref.kind}` : backend ? `port ${ref.port} not in ${backend.name}` : ref.kind === 'Service' ? `Service ${ref.name} not found` : `backend ${ref.name} not found`;
      return record({ status: 500, answeredBy: 'self', pathOut, detail: { route: route.name, flags: 'direct_response', reason } });
    }
    const port = ref.port;
    // Name resolution: the local stand-in for cluster DNS maps the FQDN to a loopback address.
    const resolved = spec.dns[`${backend.hostname}:${port}`] ?? (isResolvable(backend.hostname) ? `${backend.hostname}:${port}` : undefined);
    if (!resolved) {
      sendEnvoy(res, 503, ENVOY_BODIES.uh, SERVER);
      return record({ status: 503, answeredBy: 'self', pathOut, detail: { route: route.name, backend: `${backend.name} (${backend.hostname}:${port})`, flags: 'UH' } });
    }
    const origin = `${backend.scheme}://${resolved}`;
    const headers = forwardHeaders(req, match.drop);
    headers.host = backend.hostname;
    headers['x-request-id'] = requestId;
    headers['x-forwarded-proto'] = 'http';
    if (pathOut !== pathIn) headers['x-envoy-original-path'] = pathIn;
    try {
      const result = await relay({
        pool: pools.get(origin),
        req,
        res,
        path: pathOut,
        headers,
        timeoutMs: route.timeoutMs ?? ROUTE_TIMEOUT_MS,
        bodyLimit: BODY_LIMIT,
        bodyIdleMs,
        override: (up) => relayedReplyHeaders(SERVER, up.ms),
      });
      const h = (n: string) => firstHeader(result.headers[n]);
      const detail: Record<string, string> = { route: route.name, backend: `${backend.name} (${backend.hostname}:${port})` };
      for (const [key, name] of Object.entries(SIM_HEADERS)) {
        const v = h(name);
        if (v !== undefined) detail[`provider.${key}`] = v;
      }
      record({ status: result.status, answeredBy: 'upstream', pathOut, detail });
    } catch (err) {
      const failure = (err as { failure?: UpstreamFailure }).failure;
      if ((err as { tooLarge?: boolean }).tooLarge) {
        sendEnvoy(res, 413, 'Payload Too Large', SERVER);
        return record({ status: 413, answeredBy: 'self', pathOut, detail: { route: route.name } });
      }
      if ((err as { bodyIdle?: boolean }).bodyIdle) {
        sendEnvoy(res, 408, 'stream timeout', SERVER, { connection: 'close' });
        return record({ status: 408, answeredBy: 'self', pathOut, detail: { route: route.name, flags: 'SI', reason: `no request body byte for ${bodyIdleMs} ms` } });
      }
      const { status, body } = upstreamFailureReply(failure);
      sendEnvoy(res, status, body, SERVER);
      record({ status, answeredBy: 'self', pathOut, detail: { route: route.name, backend: `${backend.name} (${backend.hostname}:${port})`, flags: failure ?? 'UC' } });
    }
  }, envoyInternalError(SERVER)));
  hardenHop(server);

  return hopHandle(server, traces, () => spec, (s) => {
    spec = s;
    routes = ordered(s);
  }, pools);
}
