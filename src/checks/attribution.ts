/** Which hop broke an exchange: the first whose evidence differs from what the route rules say it should be. */
import type { HopId } from '../core/events.js';
import { SIM_HEADERS, timesReceived } from '../sim/headers.js';
import type { TargetSession } from '../targets/target.js';
import type { Answer } from './fingerprint.js';
import type { Exchange } from './probe.js';
import { expectedPaths } from './trace.js';

const UPSTREAM_FAILURES = new Set<Answer['kind']>(['upstream-connect-failure', 'no-healthy-upstream', 'upstream-reset', 'upstream-timeout']);

export interface Attribution {
  hop: HopId;
  reason: string;
}

/**
 * The first hop whose evidence differs from what the route rules say it should be. Observed hop
 * records are used where they exist; otherwise the answer's fingerprint and the provider's echo.
 */
export function attribute(ex: Exchange, target: TargetSession): Attribution | undefined {
  const { spec, answer } = ex;
  if (ex.error) return { hop: spec.base === 'vllm-direct' ? 'provider:vllm' : 'maas-gateway', reason: ex.error };
  const provider = spec.provider ? target.cfg.providers.find((p) => p.name === spec.provider) : undefined;
  const exp = expectedPaths(spec, { bridges: [], egress: [], onprem: [] });
  const gw = ex.records.find((r) => r.hop === 'maas-gateway');
  const eg = ex.records.find((r) => r.hop === 'egress-gateway');
  // The MaaS gateway's own 503/504 for its upstream (UF/UH/UC/UT) blames the hop behind it, which is
  // down or unreachable: the egress gateway on a bridge route, the model on the on-prem route, maas-api.
  if (answer.hop === 'maas-gateway' && UPSTREAM_FAILURES.has(answer.kind)) {
    const behind = gw?.detail.upstream ?? (spec.route === 'bridge' ? 'egress' : spec.route);
    const hop: HopId | undefined = behind === 'egress' ? 'egress-gateway' : behind === 'onprem' ? 'onprem' : behind === 'maas-api' ? 'maas-api' : undefined;
    if (hop) return { hop, reason: `${hop} down or unreachable: the MaaS gateway could not get an answer from it (${answer.summary.replace(/^maas-gateway /, '')})` };
  }
  if (answer.hop === 'maas-gateway' && answer.kind !== 'route-not-found') return { hop: 'maas-gateway', reason: answer.summary };
  if (spec.route === 'bridge' && provider) {
    const simPath = ex.headers[SIM_HEADERS.path];
    if (gw && gw.pathOut !== undefined && gw.pathOut !== exp.gatewayOut) {
      return { hop: 'maas-gateway', reason: `bridge sent ${gw.pathOut} to the egress gateway; the route rules say ${exp.gatewayOut}` };
    }
    if (gw && provider.keyHeader !== 'authorization') {
      const injected = gw.detail.keyInjected ?? '';
      if (injected === 'none') return { hop: 'maas-gateway', reason: 'the bridge policy injected no provider key' };
      if (!injected.toLowerCase().startsWith(provider.keyHeader)) return { hop: 'maas-gateway', reason: `key injected as ${injected.split(':')[0]}, the provider reads ${provider.keyHeader}` };
    }
    if (eg) {
      if (eg.status === 404 && eg.answeredBy === 'self') return { hop: 'egress-gateway', reason: `no egress route matched ${eg.pathIn}` };
      // UH: the egress gateway cannot resolve the destination its XBackendDestination names — its configuration.
      if (eg.answeredBy === 'self' && eg.status === 503 && eg.detail.flags === 'UH') return { hop: 'egress-gateway', reason: `the egress gateway cannot resolve its backend (UH: ${eg.detail.backend ?? ''}): check the XBackendDestination's hostname` };
      if (eg.answeredBy === 'self' && (eg.status === 503 || eg.status === 504)) return { hop: `provider:${provider.name}`, reason: `backend unreachable (${eg.detail.flags ?? eg.status}: ${eg.detail.backend ?? ''})` };
      if (eg.answeredBy === 'self' && eg.status === 500) return { hop: 'egress-gateway', reason: `route backend did not resolve (${eg.detail.reason ?? ''})` };
      if (eg.pathOut !== undefined && exp.egressOut !== undefined && eg.pathOut.split('?')[0] !== exp.egressOut) {
        return { hop: 'egress-gateway', reason: `egress sent ${eg.pathOut} to the provider; the route rules say ${exp.egressOut}` };
      }
    } else if (answer.kind === 'route-not-found' || answer.kind === 'direct-response-500') {
      return { hop: answer.hop, reason: answer.summary };
    } else if (answer.kind === 'upstream-connect-failure' || answer.kind === 'no-healthy-upstream') {
      return { hop: `provider:${provider.name}`, reason: answer.summary };
    } else if (simPath !== undefined && simPath.split('?')[0] !== exp.egressOut) {
      const hop: HopId = simPath.startsWith('/external/') ? 'maas-gateway' : 'egress-gateway';
      return { hop, reason: `the provider received ${simPath}; the route rules say ${exp.egressOut}` };
    }
    const keyStatus = ex.headers[SIM_HEADERS.keyStatus];
    if (keyStatus === 'missing') return { hop: 'maas-gateway', reason: `the provider got no key in ${provider.keyHeader}` };
    if (keyStatus === 'invalid') {
      const fp = ex.headers[SIM_HEADERS.keyFingerprint];
      const twice = timesReceived(ex.headers[SIM_HEADERS.headerNames], provider.keyHeader) > 1;
      if (twice) return { hop: 'maas-gateway', reason: `the provider received ${provider.keyHeader} twice and read the first (fingerprint ${fp ?? '?'}, not the key ${provider.key.fingerprint}): the gateway appended the key instead of replacing the MaaS token (wasm-shim v0.12.0)` };
      return { hop: 'maas-gateway', reason: `the provider rejected the injected key (fingerprint ${fp ?? '?'}, expected ${provider.key.fingerprint})` };
    }
    if (provider.keyHeader !== 'authorization' && ex.headers[SIM_HEADERS.authorization] === 'jwt') {
      return { hop: 'maas-gateway', reason: "the user's MaaS token reached the provider (Authorization not removed by the bridge)" };
    }
    if (answer.kind === 'provider-not-found') return { hop: answer.hop, reason: answer.summary };
    // The provider answered with its own server error: the chain delivered the request, the provider failed it.
    if (answer.kind === 'provider-error' && ex.status >= 500) return { hop: answer.hop, reason: `the provider failed the request: ${answer.summary}` };
  }
  if (answer.kind === 'route-not-found') return { hop: answer.hop, reason: answer.summary };
  if (answer.kind === 'upstream-connect-failure' || answer.kind === 'no-healthy-upstream') return { hop: spec.route === 'onprem' ? 'onprem' : answer.hop, reason: answer.summary };
  return undefined;
}

