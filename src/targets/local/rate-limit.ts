/**
 * Token rate limiting with Limitador's semantics as Kuadrant's TokenRateLimitPolicy drives it
 * (contracts §5): one counter per limit and user, shared by every route; a request is admitted while
 * counter + 1 ≤ limit (the check adds nothing); the response's usage.total_tokens is added afterwards
 * (0 counts as 1); fixed window from the counter's creation. Hence over-admission by in-flight
 * requests, as on a real cluster.
 *
 * `strictBudget` is our opt-in alternative: reserve the request's max_tokens at admission and settle
 * on the response, so the overshoot is at most one request's estimate error.
 */

export interface LimitDecision {
  admitted: boolean;
  limit: number;
  spent: number;
  reserved: number;
  /** Unix ms when the window ends (undefined before the first counted hit). */
  resetAt?: number;
}

interface Counter {
  spent: number;
  reserved: number;
  expiresAt: number;
}

export class TokenLimiter {
  readonly #counters = new Map<string, Counter>();
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  #get(key: string): Counter | undefined {
    const c = this.#counters.get(key);
    if (c && c.expiresAt <= this.now()) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  #ensure(key: string): Counter {
    let c = this.#get(key);
    if (!c) {
      c = { spent: 0, reserved: 0, expiresAt: this.now() + this.windowMs };
      this.#counters.set(key, c);
    }
    return c;
  }

  /** Limitador's CheckRateLimit with delta 1: admits iff spent + 1 ≤ limit; counts nothing. */
  check(key: string, limit: number): LimitDecision {
    const c = this.#get(key);
    const spent = c?.spent ?? 0;
    return { admitted: spent + 1 <= limit, limit, spent, reserved: c?.reserved ?? 0, ...(c ? { resetAt: c.expiresAt } : {}) };
  }

  /** Strict mode: admit iff spent + reserved + estimate ≤ limit, and reserve the estimate. */
  reserve(key: string, limit: number, estimate: number): LimitDecision {
    const c = this.#ensure(key);
    const admitted = c.spent + c.reserved + estimate <= limit;
    if (admitted) c.reserved += estimate;
    return { admitted, limit, spent: c.spent, reserved: c.reserved, resetAt: c.expiresAt };
  }

  /** Limitador's Report: adds the tokens (0 treated as 1), creating the window on first use. */
  report(key: string, tokens: number, reservedEstimate = 0): void {
    const c = this.#ensure(key);
    c.spent += Math.max(1, Math.round(tokens));
    c.reserved = Math.max(0, c.reserved - reservedEstimate);
  }

  /** Releases a reservation whose request failed without usage. */
  release(key: string, reservedEstimate: number): void {
    const c = this.#get(key);
    if (c) c.reserved = Math.max(0, c.reserved - reservedEstimate);
  }

  snapshot(): Record<string, { spent: number; reserved: number; resetAt: number }> {
    const out: Record<string, { spent: number; reserved: number; resetAt: number }> = {};
    for (const [k] of this.#counters) {
      const c = this.#get(k);
      if (c) out[k] = { spent: c.spent, reserved: c.reserved, resetAt: c.expiresAt };
    }
    return out;
  }

  reset(): void {
    this.#counters.clear();
  }
}

/** Finds `usage.total_tokens` in a JSON body or in the chunks of a server-sent event stream. */
export function usageTokens(body: string, contentType: string | undefined): number | undefined {
  if (contentType?.includes('text/event-stream')) {
    let found: number | undefined;
    for (const line of body.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (!data || data === '[DONE]' || !data.includes('"usage"')) continue;
      try {
        const total = (JSON.parse(data) as { usage?: { total_tokens?: unknown } }).usage?.total_tokens;
        if (typeof total === 'number') found = total;
      } catch {
        /* a partial line: ignore */
      }
    }
    return found;
  }
  try {
    const total = (JSON.parse(body) as { usage?: { total_tokens?: unknown } }).usage?.total_tokens;
    return typeof total === 'number' ? total : undefined;
  } catch {
    return undefined;
  }
}

/** How much of a JSON response body is kept to find usage.total_tokens. */
const USAGE_SCAN_LIMIT = 2 * 1024 * 1024;

/**
 * Finds `usage.total_tokens` in a response as its chunks pass, for the report after the response:
 * the events of a server-sent stream are read line by line as they arrive (only the line in progress
 * is kept, however long the stream), a JSON body is kept up to 2 MiB and read at the end.
 */
export class UsageScanner {
  #json: Buffer[] = [];
  #jsonBytes = 0;
  #overflow = false;
  #line = '';
  #sse: number | undefined;

  push(chunk: Buffer): void {
    if (!this.#overflow) {
      this.#json.push(chunk);
      this.#jsonBytes += chunk.length;
      if (this.#jsonBytes > USAGE_SCAN_LIMIT) {
        this.#json = [];
        this.#overflow = true;
      }
    }
    const text = this.#line + chunk.toString('utf8');
    const lines = text.split('\n');
    this.#line = lines.pop() ?? '';
    // A line that never ends is no event: keep the memory bounded.
    if (this.#line.length > USAGE_SCAN_LIMIT) this.#line = '';
    for (const line of lines) this.#event(line);
  }

  #event(line: string): void {
    if (!line.startsWith('data:') || !line.includes('"usage"')) return;
    const found = usageTokens(line, 'text/event-stream');
    if (found !== undefined) this.#sse = found;
  }

  /** The tokens the response reported, read as `contentType` says it is. */
  total(contentType: string | undefined): number | undefined {
    if (contentType?.includes('text/event-stream')) {
      if (this.#line) this.#event(this.#line);
      this.#line = '';
      return this.#sse;
    }
    return this.#overflow || !this.#json.length ? undefined : usageTokens(Buffer.concat(this.#json).toString('utf8'), contentType);
  }
}
