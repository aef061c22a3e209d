/**
 * What a provider simulator tells about the request it received, on every reply (the names are in
 * headers.ts): which provider answered, the path as it arrived, whether the key was right and its
 * fingerprint, the shape of any `Authorization`, the request id and the header names in arrival
 * order. Never a key. Only `node:` built-ins and the other simulator modules (see http-server.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SIM_HEADERS, classifyAuthorization, type AuthorizationKind, type KeyStatus } from './headers.js';
import { headerString, receivedHeaderNames, safeText } from './http-server.js';

/**
 * First 8 hex digits of HMAC-SHA-256 under the install's fingerprint key (of SHA-256 when there is
 * none): lets a trace compare keys without showing them. Keyed, a fingerprint someone reads cannot
 * confirm a guessed key offline; whoever holds the install's key (validate, doctor) can still compare.
 */
export function fingerprintKey(value: string, key?: string): string {
  const digest = key ? createHmac('sha256', key).update(value) : createHash('sha256').update(value);
  return digest.digest('hex').slice(0, 8);
}

/** Environment variable holding the install's fingerprint key for a simulator. */
export const FINGERPRINT_KEY_ENV = 'SIM_FINGERPRINT_KEY';

export interface ReceivedKey {
  /** The provider name the simulator runs as. */
  name: string;
  /** The key the request carried, as the simulator's style reads it; undefined when none arrived. */
  key: string | undefined;
  keyStatus: KeyStatus;
  /** The install's fingerprint key (x-sim-key-fp is then an HMAC). */
  fingerprintKey: string | undefined;
}

/** Sets the echo headers of a provider simulator on `res`; returns the shape of the `Authorization` received (for the access log). */
export function echoReceived(req: IncomingMessage, res: ServerResponse, received: ReceivedKey): AuthorizationKind {
  res.setHeader(SIM_HEADERS.provider, safeText(received.name, 100));
  res.setHeader(SIM_HEADERS.path, safeText(req.url ?? ''));
  res.setHeader(SIM_HEADERS.keyStatus, received.keyStatus);
  if (received.key !== undefined) res.setHeader(SIM_HEADERS.keyFingerprint, fingerprintKey(received.key, received.fingerprintKey));
  const authorization = classifyAuthorization(headerString(req, 'authorization'));
  res.setHeader(SIM_HEADERS.authorization, authorization);
  res.setHeader(SIM_HEADERS.requestId, safeText(headerString(req, 'x-request-id') ?? '', 200));
  res.setHeader(SIM_HEADERS.headerNames, safeText(receivedHeaderNames(req).join(','), 2000));
  return authorization;
}
