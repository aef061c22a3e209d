/** The per-hop trace of one exchange: what each hop saw, observed where hops report, inferred from the route rules otherwise. */
import type { HopEvent, HopId } from '../core/events.js';
import { SIM_HEADERS, INFERENCE_HEADERS } from '../sim/headers.js';
import type { RouteModel } from '../targets/target.js';
import type { Exchange, Headers } from './probe.js';
import type { RequestSpec } from './validate.js';

/** The path each hop should see, from the intended route rules (the seed's design). */
export function expectedPaths(spec: RequestSpec, routes: RouteModel): { gatewayOut: string; egressOut?: string } {
  const path = spec.path.split('?')[0] ?? spec.path;
  if (spec.route === 'bridge' && spec.provider) {
    const rest = path.slice(`/external/${spec.provider}`.length) || '/';
    return { gatewayOut: `/${spec.provider}${rest}`, egressOut: rest };
  }
  if (spec.route === 'onprem') {
    const r = routes.onprem[0];
    const prefix = r?.pathPrefix ?? '';
    return { gatewayOut: path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path };
  }
  if (spec.route === 'maas-api') return { gatewayOut: path.startsWith('/maas-api') ? path.slice('/maas-api'.length) || '/' : path };
  return { gatewayOut: path };
}

/** Hop events for one exchange: observed from hop records and echo headers, inferred otherwise. */
export function traceOf(checkId: string, ex: Exchange, routes: RouteModel): Omit<HopEvent, 't'>[] {
  const hops: Omit<HopEvent, 't'>[] = [];
  const base = { kind: 'hop' as const, check: checkId, requestId: ex.requestId };
  const exp = expectedPaths(ex.spec, routes);
  hops.push({
    ...base,
    index: 0,
    hop: 'client',
    source: 'observed',
    pathIn: `${ex.spec.method} ${ex.spec.path}`,
    status: ex.status,
    ms: Math.round(ex.ms),
    detail: { answeredBy: ex.answer.hop, answer: ex.answer.summary, ...(ex.headers['server'] ? { server: ex.headers['server'] } : {}) },
  });
  if (ex.spec.base === 'vllm-direct') {
    hops.push({ ...base, index: 1, hop: 'provider:vllm', source: ex.headers[SIM_HEADERS.path] ? 'observed' : 'inferred', pathIn: ex.headers[SIM_HEADERS.path] ?? ex.spec.path, status: ex.status, detail: keyDetail(ex.headers) });
    return hops;
  }
  const rec = (hop: HopId) => ex.records.find((r) => r.hop === hop);
  const gw = rec('maas-gateway');
  if (gw) {
    hops.push({ ...base, index: 1, hop: 'maas-gateway', source: 'observed', pathIn: gw.pathIn, ...(gw.pathOut ? { pathOut: gw.pathOut } : {}), status: gw.status, ms: Math.round(gw.ms), detail: gw.detail });
  } else {
    const detail: Record<string, string> = {};
    if (ex.headers['x-request-id']) detail.requestId = ex.headers['x-request-id'];
    if (ex.answer.hop === 'maas-gateway') detail.answered = ex.answer.summary;
    hops.push({ ...base, index: 1, hop: 'maas-gateway', source: 'inferred', pathIn: ex.spec.path, pathOut: exp.gatewayOut, status: ex.status, detail: { ...detail, note: 'path from the route rules' } });
  }
  if (ex.spec.route === 'bridge') {
    const eg = rec('egress-gateway');
    if (eg) {
      hops.push({ ...base, index: 2, hop: 'egress-gateway', source: 'observed', pathIn: eg.pathIn, ...(eg.pathOut ? { pathOut: eg.pathOut } : {}), status: eg.status, ms: Math.round(eg.ms), detail: Object.fromEntries(Object.entries(eg.detail).filter(([k]) => !k.startsWith('provider.'))) });
    } else if (ex.answer.hop !== 'maas-gateway') {
      hops.push({ ...base, index: 2, hop: 'egress-gateway', source: 'inferred', pathIn: exp.gatewayOut, ...(exp.egressOut ? { pathOut: exp.egressOut } : {}), detail: { note: 'path from the route rules', ...(ex.headers['x-envoy-upstream-service-time'] ? { upstreamMs: ex.headers['x-envoy-upstream-service-time'] } : {}) } });
    }
    if (ex.headers[SIM_HEADERS.provider] || ex.headers[SIM_HEADERS.path]) {
      hops.push({ ...base, index: 3, hop: `provider:${ex.headers[SIM_HEADERS.provider] ?? ex.spec.provider ?? 'unknown'}`, source: 'observed', pathIn: ex.headers[SIM_HEADERS.path] ?? '', status: ex.status, detail: keyDetail(ex.headers) });
    }
  } else if (ex.spec.route === 'onprem') {
    if (ex.headers[INFERENCE_HEADERS.pod] || ex.headers[SIM_HEADERS.path]) {
      hops.push({ ...base, index: 2, hop: 'onprem', source: 'observed', pathIn: ex.headers[SIM_HEADERS.path] ?? exp.gatewayOut, status: ex.status, detail: { pod: ex.headers[INFERENCE_HEADERS.pod] ?? '', namespace: ex.headers[INFERENCE_HEADERS.namespace] ?? '' } });
    }
  } else if (ex.spec.route === 'maas-api') {
    const api = rec('maas-api');
    if (api) hops.push({ ...base, index: 2, hop: 'maas-api', source: 'observed', pathIn: api.pathIn, status: api.status, ms: Math.round(api.ms), detail: api.detail });
  }
  return hops;
}

function keyDetail(h: Headers): Record<string, string> {
  const d: Record<string, string> = {};
  if (h[SIM_HEADERS.keyStatus]) d.key = h[SIM_HEADERS.keyStatus]!;
  if (h[SIM_HEADERS.keyFingerprint]) d.keyFp = h[SIM_HEADERS.keyFingerprint]!;
  if (h[SIM_HEADERS.authorization]) d.authorization = h[SIM_HEADERS.authorization]!;
  return d;
}

