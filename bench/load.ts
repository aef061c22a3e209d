/**
 * Load generation. Latency and throughput come from autocannon (the client is an established load
 * generator, not ours); the per-request times are taken from its `response` event, which carries the
 * hrtime-based duration in fractional milliseconds (its own histogram keeps whole milliseconds only,
 * too coarse for a 0.3 ms target). Time to first token needs the body as it arrives, which autocannon
 * does not expose, so it is measured with an undici client.
 *
 * TLS: autocannon passes `tlsOptions` to tls.connect but forces `rejectUnauthorized: false`, so it
 * does not verify the gateway's certificate. Every target is therefore first checked with an undici
 * client that trusts only the generated CA (the preflight), and autocannon then runs the full TLS
 * handshake and encryption against the same listener.
 */
import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Target {
  name: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The CA to trust for https targets. */
  ca?: string;
}

export const CHAT_BODY = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 });
export const STREAM_BODY = JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, stream: true });

function pool(t: Target, connections = 1): Pool {
  return new Pool(t.url, { connections, keepAliveTimeout: 4_000, ...(t.ca ? { connect: { ca: t.ca } } : {}) });
}

/** One verified request: 200, a completion, and (through a gateway) the key the provider accepted. */
export async function preflight(t: Target): Promise<void> {
  const p = pool(t);
  try {
    const res = await p.request({ path: t.path, method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: t.body });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${t.name}: preflight got HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    if (res.headers['x-sim-key-status'] !== 'ok') throw new Error(`${t.name}: the provider did not accept the key (x-sim-key-status ${String(res.headers['x-sim-key-status'])})`);
    if (!/"usage"/.test(text)) throw new Error(`${t.name}: no completion in the answer`);
  } finally {
    await p.close();
  }
}

export interface LoadResult {
  /** Per-request times in ms of the 2xx answers. */
  samples: number[];
  ok: number;
  bad: number;
  errors: number;
  seconds: number;
}

export async function cannon(t: Target, opts: { connections: number; amount?: number; duration?: number; overallRate?: number; skipFirst?: number }): Promise<LoadResult> {
  const samples: number[] = [];
  let ok = 0;
  let bad = 0;
  let seen = 0;
  const start = performance.now();
  const instance = autocannon({
    url: `${t.url}${t.path}`,
    connections: opts.connections,
    ...(opts.amount !== undefined ? { amount: opts.amount } : {}),
    ...(opts.duration !== undefined ? { duration: opts.duration } : {}),
    ...(opts.overallRate !== undefined ? { overallRate: opts.overallRate } : {}),
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: t.body,
    timeout: 10,
    ...(t.ca ? { tlsOptions: { ca: t.ca } } : {}),
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, time: number) => {
    seen++;
    if (status >= 200 && status < 300) {
      ok++;
      // The first answers of a run include connection setup (TCP, TLS): not the steady state.
      if (seen > (opts.skipFirst ?? 0)) samples.push(time);
    } else bad++;
  });
  const result = await instance;
  return { samples, ok, bad, errors: result.errors + result.timeouts, seconds: (performance.now() - start) / 1000 };
}

/** Time to the first `data:` chunk of a streamed completion, and to the end of the stream (ms). */
export async function ttft(t: Target, n: number): Promise<{ first: number[]; last: number[]; bad: number }> {
  const p = pool(t);
  const first: number[] = [];
  const last: number[] = [];
  let bad = 0;
  try {
    for (let i = 0; i < n + 2; i++) {
      const start = performance.now();
      const res = await p.request({ path: t.path, method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: STREAM_BODY });
      let at: number | undefined;
      let text = '';
      for await (const chunk of res.body) {
        text += (chunk as Buffer).toString('utf8');
        if (at === undefined && text.includes('data:')) at = performance.now() - start;
      }
      const end = performance.now() - start;
      if (res.statusCode !== 200 || at === undefined || !text.includes('[DONE]')) {
        bad++;
        continue;
      }
      // The first two warm the connection (and TLS) up.
      if (i >= 2) {
        first.push(at);
        last.push(end);
      }
    }
  } finally {
    await p.close();
  }
  return { first, last, bad };
}
