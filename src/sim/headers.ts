/**
 * Names of the headers the simulators add to every response, so that a hop trace can show what the
 * provider actually received (path, which key header arrived, what an `Authorization` header looked like)
 * without ever revealing a key. The gateway hops, `validate` and `doctor` import these names; the
 * simulators themselves import nothing but `node:` built-ins and each other.
 */

/** Echo headers of provider-sim (all of them) and inference-sim (`path` and `requestId`). */
export const SIM_HEADERS = {
  /** The provider name the simulator was started with (`--name`), e.g. `openai`. */
  provider: 'x-sim-provider',
  /** The request target exactly as it arrived (path plus any query), e.g. `//v1/chat/completions`. */
  path: 'x-sim-path',
  /** Outcome of the key check: one of {@link KEY_STATUSES}. */
  keyStatus: 'x-sim-key-status',
  /** First 8 hex digits of SHA-256 of the received key; present only when a key arrived. */
  keyFingerprint: 'x-sim-key-fp',
  /** Shape of any `Authorization` header that arrived: one of {@link AUTHORIZATION_KINDS}. */
  authorization: 'x-sim-authorization',
  /** The `x-request-id` the request carried, or empty. */
  requestId: 'x-sim-request-id',
  /**
   * Lower-case names of the received request headers, comma-separated, in arrival order. A name that
   * arrived twice is listed twice, which is how a duplicated `Authorization` shows up.
   */
  headerNames: 'x-sim-header-names',
} as const;

/** "Who answered" headers of inference-sim, set when POD_NAME / POD_NAMESPACE are in its environment. */
export const INFERENCE_HEADERS = {
  pod: 'x-inference-pod',
  namespace: 'x-inference-namespace',
  port: 'x-inference-port',
} as const;

/** How many times a request header arrived, read from the {@link SIM_HEADERS.headerNames} echo (2+: duplicated). */
export function timesReceived(headerNames: string | undefined, name: string): number {
  return (headerNames ?? '').split(',').filter((n) => n === name).length;
}

export const KEY_STATUSES = ['ok', 'missing', 'invalid', 'not-required'] as const;
/** `not-required` means the route needs no key (health, readiness) or the request never reached a route. */
export type KeyStatus = (typeof KEY_STATUSES)[number];

export const AUTHORIZATION_KINDS = ['absent', 'jwt', 'bearer', 'other'] as const;
export type AuthorizationKind = (typeof AUTHORIZATION_KINDS)[number];

const BASE64URL_SEGMENT = '[A-Za-z0-9_-]+';
const JWT_SHAPE = new RegExp(`^${BASE64URL_SEGMENT}\\.${BASE64URL_SEGMENT}\\.${BASE64URL_SEGMENT}$`);
const BEARER = /^bearer[ \t]+(\S.*)$/i;

/**
 * How an `Authorization` header value looks, never what it contains:
 * `absent` (no header or empty), `jwt` (a bearer value made of three base64url segments, e.g. the
 * user's MaaS token leaking to a provider), `bearer` (any other bearer value), `other` (any other scheme).
 */
export function classifyAuthorization(value?: string | null): AuthorizationKind {
  if (value === undefined || value === null || value.trim() === '') return 'absent';
  const bearer = BEARER.exec(value.trim());
  if (!bearer) return 'other';
  return JWT_SHAPE.test((bearer[1] ?? '').trim()) ? 'jwt' : 'bearer';
}

/** The echo headers of one simulator response, parsed. Fields are absent when the header was. */
export interface SimEcho {
  provider?: string;
  path?: string;
  keyStatus?: KeyStatus;
  keyFingerprint?: string;
  authorization?: AuthorizationKind;
  requestId?: string;
  headerNames?: string[];
}

type HeaderSource =
  | { get(name: string): string | null }
  | Record<string, string | string[] | number | undefined>;

function headerValue(source: HeaderSource, name: string): string | undefined {
  if (typeof (source as { get?: unknown }).get === 'function') {
    const value = (source as { get(name: string): string | null }).get(name);
    return value ?? undefined;
  }
  const record = source as Record<string, string | string[] | number | undefined>;
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function oneOf<T extends string>(allowed: readonly T[], value: string | undefined): T | undefined {
  return allowed.find((item) => item === value);
}

/**
 * Reads the echo headers from a response: a fetch `Headers` object or a plain header record
 * (e.g. node's `IncomingHttpHeaders`). Unknown status or classification values are dropped.
 */
export function readSimEcho(headers: HeaderSource): SimEcho {
  const echo: SimEcho = {};
  const provider = headerValue(headers, SIM_HEADERS.provider);
  if (provider !== undefined) echo.provider = provider;
  const path = headerValue(headers, SIM_HEADERS.path);
  if (path !== undefined) echo.path = path;
  const keyStatus = oneOf(KEY_STATUSES, headerValue(headers, SIM_HEADERS.keyStatus));
  if (keyStatus !== undefined) echo.keyStatus = keyStatus;
  const keyFingerprint = headerValue(headers, SIM_HEADERS.keyFingerprint);
  if (keyFingerprint !== undefined) echo.keyFingerprint = keyFingerprint;
  const authorization = oneOf(AUTHORIZATION_KINDS, headerValue(headers, SIM_HEADERS.authorization));
  if (authorization !== undefined) echo.authorization = authorization;
  const requestId = headerValue(headers, SIM_HEADERS.requestId);
  if (requestId !== undefined) echo.requestId = requestId;
  const names = headerValue(headers, SIM_HEADERS.headerNames);
  if (names !== undefined) echo.headerNames = names === '' ? [] : names.split(',').map((name) => name.trim());
  return echo;
}
