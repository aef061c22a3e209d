/**
 * What the two stand-ins for the MaaS gateway (the tier era's and the subscription era's) share: the
 * name Istio's Envoy answers with, its request body limit and upstream timeout, and what a process
 * needs to start one.
 */
import { relayedReplyHeaders } from './envoy-replies.js';
import type { RelayResult } from './proxy.js';
import type { SigningKeyFile } from './tokens.js';

/** The `server` header of every reply the MaaS gateway makes or relays. */
export const MAAS_GATEWAY_SERVER = 'istio-envoy';
/** The largest request body the MaaS gateway accepts. */
export const MAAS_GATEWAY_BODY_LIMIT = 1024 * 1024;
/** How long the MaaS gateway waits for an upstream's headers and between its body chunks. */
export const MAAS_GATEWAY_UPSTREAM_TIMEOUT_MS = 60_000;

/** What starts a MaaS gateway: the spec it is programmed with, its serving certificate, and how it checks tokens. */
export interface MaasGatewayStart<S> {
  spec: S;
  tls: { cert: string; key: string };
  signingKey: SigningKeyFile;
  /** SHA-256 of the cluster-user token (the stand-in for an OpenShift user token). */
  clusterTokenSha256: string;
  log?: (line: string) => void;
}

/**
 * How the MaaS gateway relays a request upstream (the options of `relay`): its upstream timeout, body
 * limit and body stall limit, and Envoy's headers with the request id on the reply.
 */
export function maasGatewayRelay(requestId: string, bodyIdleMs: number): { timeoutMs: number; bodyLimit: number; bodyIdleMs: number; override: (up: RelayResult) => Record<string, string> } {
  return {
    timeoutMs: MAAS_GATEWAY_UPSTREAM_TIMEOUT_MS,
    bodyLimit: MAAS_GATEWAY_BODY_LIMIT,
    bodyIdleMs,
    override: (up) => relayedReplyHeaders(MAAS_GATEWAY_SERVER, up.ms, { 'x-request-id': requestId }),
  };
}
