/**
 * The token limiter: how many tokens get admitted over a 100-token budget when c requests are in
 * flight at once, in the Limitador-faithful mode (admit while spent + 1 ≤ limit, count on the
 * response: every request already in flight when the budget runs out still passes) and in the
 * strict-budget mode (reserve prompt + max_tokens at admission, settle on the response). Each trial
 * is a fresh free-tier user, so it starts with a fresh counter.
 */
import { Pool } from 'undici';
import { TokenLimiter, usageTokens } from '../src/targets/local/rate-limit.js';
import { CHAT_BODY } from './load.js';

export interface AdmissionTrial {
  concurrency: number;
  admittedTokens: number;
  admittedRequests: number;
  rejected: number;
  meanTokens: number;
  /** (admitted tokens − budget) / mean tokens of one request. */
  overshootRequests: number;
}

export async function admissionTrial(opts: { url: string; ca: string; token: string; concurrency: number; budget: number; maxRequests?: number }): Promise<AdmissionTrial> {
  const pool = new Pool(opts.url, { connections: opts.concurrency, connect: { ca: opts.ca }, keepAliveTimeout: 2_000 });
  let admittedTokens = 0;
  let admittedRequests = 0;
  let rejected = 0;
  let sent = 0;
  const cap = opts.maxRequests ?? 400;
  let stop = false;
  // Open every connection first (401s from the auth policy: no limiter involved), so that the trial's
  // first c requests really are in flight together instead of waiting for TLS handshakes.
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      const res = await pool.request({ path: '/external/openai/v1/models', method: 'GET' });
      await res.body.dump();
    }),
  );
  const worker = async () => {
    while (!stop && sent < cap) {
      sent++;
      const res = await pool.request({
        path: '/external/openai/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
        body: CHAT_BODY,
      });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        admittedRequests++;
        admittedTokens += (JSON.parse(text) as { usage: { total_tokens: number } }).usage.total_tokens;
      } else if (res.statusCode === 429) {
        rejected++;
        stop = true;
      } else throw new Error(`limiter trial: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    await pool.close();
  }
  const meanTokens = admittedRequests ? admittedTokens / admittedRequests : NaN;
  return { concurrency: opts.concurrency, admittedTokens, admittedRequests, rejected, meanTokens, overshootRequests: (admittedTokens - opts.budget) / meanTokens };
}

/**
 * The limiter's own work per request, in process: the admission check, the usage scan of a typical
 * completion body and the report — what the gateway adds on the request path when the policy is on.
 */
export function limiterMicrobench(iterations = 200_000): { usPerRequest: number } {
  const limiter = new TokenLimiter(60_000);
  const body = JSON.stringify({
    id: 'chatcmpl-0123456789abcdef01234567',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4',
    choices: [{ index: 0, message: { role: 'assistant', content: 'This answer was produced by the provider simulator behind the egress gateway.' }, finish_reason: 'length' }],
    usage: { prompt_tokens: 1, completion_tokens: 10, total_tokens: 11 },
  });
  const chunk = Buffer.from(body);
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const key = `enterprise-user-tokens/user-${i & 63}`;
      const d = limiter.check(key, 1e12);
      const tokens = usageTokens(Buffer.concat([chunk]).toString('utf8'), 'application/json');
      if (d.admitted && tokens !== undefined) limiter.report(key, tokens, 0);
      sink += tokens ?? 0;
    }
  };
  run(20_000);
  const start = performance.now();
  run(iterations);
  const usPerRequest = ((performance.now() - start) * 1000) / iterations;
  if (sink < 0) throw new Error('unreachable');
  return { usPerRequest };
}
