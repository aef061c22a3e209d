/**
 * Secrets (provider API keys, user tokens, cluster tokens) travel only inside `Secret`.
 * Every way JavaScript turns a value into text (String(), template literals, JSON.stringify,
 * util.inspect, console.log) yields the masked form `sk-o…demo`; only `reveal()` gives the value,
 * and it is called at the one place the value must go on the wire.
 */
import { createHash, createHmac } from 'node:crypto';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Masks a secret for display: first four and last four characters, or `…` alone when short. */
export function mask(value: string): string {
  if (value.length <= 12) return '…';
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}

/**
 * The install's fingerprint key, when one is in use (see {@link useFingerprintKey}). A process serves
 * one install at a time: a hop, a simulator, or the CLI working on one state directory.
 */
let installKey: string | undefined;

/**
 * Keys every fingerprint this process makes with the install's secret (HMAC-SHA-256): fingerprints
 * then identify a key among those the install knows, but someone who reads one cannot confirm a
 * guessed key offline. `undefined` goes back to the plain SHA-256 prefix (a cluster whose simulators
 * were started without a fingerprint key).
 */
export function useFingerprintKey(key: string | undefined): void {
  installKey = key || undefined;
}

/**
 * A short fingerprint, safe to print and compare: the first 8 hex digits of HMAC-SHA-256 under the
 * install's fingerprint key (or `key`), else of SHA-256.
 */
export function fingerprint(value: string, key: string | undefined = installKey): string {
  const digest = key ? createHmac('sha256', key).update(value) : createHash('sha256').update(value);
  return digest.digest('hex').slice(0, 8);
}

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    registerSecretValue(value);
  }
  reveal(): string {
    return this.#value;
  }
  get masked(): string {
    return mask(this.#value);
  }
  get fingerprint(): string {
    return fingerprint(this.#value);
  }
  equals(other: Secret | string): boolean {
    return this.#value === (typeof other === 'string' ? other : other.reveal());
  }
  toString(): string {
    return this.masked;
  }
  toJSON(): string {
    return this.masked;
  }
  [INSPECT](): string {
    return `Secret(${this.masked})`;
  }
}

/**
 * Every secret value this process has seen. Renderers and recorders pass their final text through
 * `redact()` as a second line of defence: even a secret that slipped into a plain string
 * (an upstream error message, a response body) is masked before it is written anywhere.
 */
const known = new Set<string>();

export function registerSecretValue(value: string): void {
  if (value.length >= 6) known.add(value);
}

/** JWT-shaped strings are masked even when not registered (a user token we did not mint). */
const JWT_RE = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

export function redact(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join(mask(value));
  }
  return out.replace(JWT_RE, (m) => mask(m));
}

/** Deep-copies a JSON-able value, masking Secret instances and registered secret strings. */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value) ?? 'null')) as T;
}
