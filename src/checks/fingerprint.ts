/**
 * "Who answered": each component in the chain answers in its own recognisable way (contracts §3).
 * From status, headers and body alone — what a client sees on a cluster too — this names the hop
 * that produced a response and what kind of answer it was.
 */
import type { HopId } from '../core/events.js';
import { SIM_HEADERS, INFERENCE_HEADERS } from '../sim/headers.js';

export type AnswerKind =
  | 'completion'
  | 'model-list'
  | 'token'
  | 'auth-401'
  | 'authz-403'
  | 'rate-limited'
  | 'route-not-found'
  | 'no-healthy-upstream'
  | 'upstream-connect-failure'
  | 'upstream-reset'
  | 'upstream-timeout'
  | 'direct-response-500'
  | 'bad-request'
  | 'payload-too-large'
  | 'provider-missing-key'
  | 'provider-invalid-key'
  | 'vllm-unauthorized'
  | 'provider-not-found'
  | 'provider-error'
  | 'maas-api-error'
  | 'unknown';

export interface Answer {
  kind: AnswerKind;
  hop: HopId;
  status: number;
  /** One line for people: "provider:openai 401 missing_api_key". */
  summary: string;
}

type Headers = Record<string, string | undefined>;

export function lowerHeaders(h: Record<string, string | string[] | undefined> | Headers | { forEach(cb: (v: string, k: string) => void): void }): Headers {
  const out: Headers = {};
  if (typeof (h as { forEach?: unknown }).forEach === 'function' && !Array.isArray(h)) {
    (h as { forEach(cb: (v: string, k: string) => void): void }).forEach((v, k) => (out[k.toLowerCase()] = v));
    return out;
  }
  for (const [k, v] of Object.entries(h as Record<string, string | string[] | undefined>)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * Which Envoy produced a local reply. Both stamp `server`; the MaaS gateway (Istio) says
 * `istio-envoy`. A relayed reply also carries x-envoy-upstream-service-time from the hop that relayed it.
 */
function envoyHop(h: Headers, relayedFromEgress: boolean): HopId {
  return relayedFromEgress ? 'egress-gateway' : 'maas-gateway';
}

export function classify(status: number, headers: Headers, body: string, opts: { provider?: string; viaEgress: boolean }): Answer {
  const provider = headers[SIM_HEADERS.provider] ?? opts.provider;
  const providerHop: HopId = `provider:${provider ?? 'unknown'}`;
  const fromProvider = headers[SIM_HEADERS.provider] !== undefined;
  const fromOnprem = headers[INFERENCE_HEADERS.pod] !== undefined;
  const make = (kind: AnswerKind, hop: HopId, what: string): Answer => ({ kind, hop, status, summary: `${hop} ${status} ${what}` });
  // A relayed answer through the MaaS gateway has an upstream service time; a local reply of the MaaS
  // gateway has none. Past that, Envoy local replies of the egress gateway have empty/plain bodies.
  const relayed = headers['x-envoy-upstream-service-time'] !== undefined;
  const egressLocal = opts.viaEgress && relayed && !fromProvider;

  if (status === 401 && headers['www-authenticate']) return make('auth-401', 'maas-gateway', `${headers['x-ext-auth-reason'] ?? 'unauthenticated'} (Authorino)`);
  if (status === 403 && headers['x-ext-auth-reason']) return make('authz-403', 'maas-gateway', `${headers['x-ext-auth-reason']} (Authorino)`);
  if (status === 429 && body.startsWith('Too Many Requests')) return make('rate-limited', 'maas-gateway', 'Too Many Requests (Limitador)');
  if (status === 401 && /missing_api_key/.test(body)) return make('provider-missing-key', providerHop, 'missing_api_key');
  if (status === 401 && /invalid_api_key/.test(body)) return make('provider-invalid-key', providerHop, 'invalid_api_key');
  if (status === 401 && /"error"\s*:\s*"Unauthorized"/.test(body)) return make('vllm-unauthorized', fromProvider ? providerHop : 'provider:vllm', '{"error":"Unauthorized"}');
  if (status === 404 && body === '' ) return make('route-not-found', envoyHop(headers, egressLocal), 'route_not_found (no route matched)');
  if (status === 503 && body.startsWith('no healthy upstream')) return make('no-healthy-upstream', envoyHop(headers, egressLocal), 'no healthy upstream (UH)');
  if (status === 503 && /reset reason: connection failure/.test(body)) return make('upstream-connect-failure', envoyHop(headers, egressLocal), 'upstream connect error (UF: nothing listening)');
  if (status === 503 && /reset reason: connection termination/.test(body)) return make('upstream-reset', envoyHop(headers, egressLocal), 'upstream reset (UC)');
  if (status === 504 && body.startsWith('upstream request timeout')) return make('upstream-timeout', envoyHop(headers, egressLocal), 'upstream request timeout (UT)');
  if (status === 500 && body === '') return make('direct-response-500', envoyHop(headers, egressLocal), 'empty 500 (backend did not resolve)');
  if (status === 400 && body.startsWith('Bad Request')) return make('bad-request', 'maas-gateway', 'Bad Request (path refused)');
  if (status === 413) return make('payload-too-large', fromProvider ? providerHop : 'maas-gateway', 'Payload Too Large');
  if (status === 404 && (fromProvider || /"detail"\s*:\s*"Not Found"|Invalid URL|model_not_found|NotFoundError/.test(body))) {
    return make('provider-not-found', fromOnprem ? 'onprem' : providerHop, `not found (${headers[SIM_HEADERS.path] ? `path ${headers[SIM_HEADERS.path]}` : 'wrong path or model'})`);
  }
  if (status >= 200 && status < 300) {
    if (/"object"\s*:\s*"list"/.test(body)) return make('model-list', fromProvider ? providerHop : 'maas-api', 'model list');
    if (/"token"\s*:/.test(body)) return make('token', 'maas-api', 'token minted');
    if (/chat\.completion|text_completion/.test(body)) return make('completion', fromOnprem ? 'onprem' : fromProvider ? providerHop : 'onprem', 'completion');
  }
  if (fromProvider) return make('provider-error', providerHop, `HTTP ${status}`);
  if (/exceptionCode|"error"\s*:\s*\{?\s*"?message/.test(body)) return make('maas-api-error', 'maas-api', `HTTP ${status}`);
  return make('unknown', 'client', `HTTP ${status}`);
}
