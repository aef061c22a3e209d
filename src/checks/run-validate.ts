/**
 * Runs the validation calls against a target: each request is a traced probe (probe.ts), judged
 * against its named expectation; a failure carries the per-hop trace (trace.ts) and the hop that
 * broke it (attribution.ts), the same evidence doctor uses.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckEvent, EventInput, HopId, Outcome } from '../core/events.js';
import { Secret } from '../core/secret.js';
import { SIM_HEADERS } from '../sim/headers.js';
import type { TargetSession } from '../targets/target.js';
import { GENERATIONS } from '../generations/index.js';
import { attribute } from './attribution.js';
import { type Exchange, type RunContext, identityOf, send } from './probe.js';
import { traceOf } from './trace.js';
import { type CallDef, type CallId, CALL_IDS, validationCalls } from './validate.js';

interface Verdict {
  outcome: Outcome;
  actual: string;
  message?: string;
  hop?: HopId;
  data?: Record<string, unknown>;
}

function judge(call: CallDef, exchanges: Exchange[], ctx: RunContext): Verdict {
  const ex = exchanges[0]!;
  const fail = (actual: string, message?: string): Verdict => {
    const att = exchanges.map((e) => attribute(e, ctx.target)).find(Boolean);
    return { outcome: 'fail', actual, ...(message || att ? { message: message ?? att!.reason } : {}), ...(att ? { hop: att.hop } : {}) };
  };
  switch (call.expect.name) {
    case 'GATEWAY_REACHABLE':
      if (ex.error) return { outcome: 'fail', actual: ex.error, hop: 'maas-gateway', message: ex.error.startsWith('TLS') ? 'the gateway certificate did not verify with the CA in use' : 'the gateway did not answer' };
      // Reaching the gateway is the whole test: `/` has no route, so its own 404 (or any answer) proves TLS and the listener.
      return { outcome: 'pass', actual: `HTTP ${ex.status} from ${ex.headers.server ?? 'the gateway'} over verified TLS${ex.status === 404 ? ' (no route for /, as expected: the gateway itself answered)' : ''}` };
    case 'TOKEN_MINTED': {
      if (ex.status !== 201) return fail(`${ex.status || 'no response'} ${ex.body.slice(0, 80)}`.trim(), ex.status === 401 ? 'the cluster token was refused by the maas-api policy' : undefined);
      try {
        const json = JSON.parse(ex.body) as { token?: string; expiration?: string; expiresAt?: number };
        if (!json.token) return fail('201 without a token');
        ctx.token = new Secret(json.token);
        const id = identityOf(ctx.token);
        return { outcome: 'pass', actual: `201, token ${ctx.token.masked} for ${id?.sub ?? '?'} (tier ${id?.tier || '?'}), expires in ${json.expiration ?? '?'}`, data: { tier: id?.tier, expiresAt: json.expiresAt } };
      } catch {
        return fail('201 with a body that is not JSON');
      }
    }
    case 'MODELS_LISTED': {
      if (ex.status !== 200) return fail(`${ex.status} ${ex.answer.summary}`);
      let ids: string[] = [];
      try {
        ids = ((JSON.parse(ex.body) as { data?: { id: string }[] }).data ?? []).map((m) => m.id);
      } catch {
        return fail('200 with a body that is not a model list');
      }
      const missing = call.expect.ids.filter((id) => !ids.includes(id));
      if (missing.length) return { outcome: 'fail', actual: ids.join(' + ') || '(empty)', message: `missing from the listing: ${missing.join(', ')}`, hop: 'maas-api' };
      return { outcome: 'pass', actual: ids.join(' + ') };
    }
    case 'COMPLETION': {
      const want = call.expect;
      if (ex.status !== 200 || ex.answer.kind !== 'completion') return fail(`${ex.status || 'no response'} ${ex.answer.summary}`);
      const json = JSON.parse(ex.body) as { model?: string; usage?: { total_tokens?: number } };
      const tokens = json.usage?.total_tokens;
      if (typeof tokens === 'number') ctx.usage.push(tokens);
      if (typeof tokens === 'number' && call.id === '4') ctx.chatSampleTokens = tokens;
      const att = attribute(ex, ctx.target);
      if (att) return { outcome: 'fail', actual: `200 completion, but ${att.reason}`, hop: att.hop, message: att.reason };
      if (json.model !== want.model) return fail(`200 completion from ${json.model ?? '?'}`, `expected model ${want.model}`);
      const who = ex.headers[SIM_HEADERS.provider] ? `provider:${ex.headers[SIM_HEADERS.provider]}` : ex.answer.hop;
      return { outcome: 'pass', actual: `200, completion from ${json.model} via ${who} (${tokens ?? '?'} tokens)`, data: { tokens } };
    }
    case 'UNAUTHORIZED_EVERYWHERE': {
      const statuses = exchanges.map((e) => e.status || 0);
      const ok = exchanges.every((e) => e.status === 401 && e.answer.kind === 'auth-401');
      if (!ok) {
        const bad = exchanges.find((e) => !(e.status === 401 && e.answer.kind === 'auth-401'))!;
        // No answer at all says nothing about the AuthPolicy: only that the gateway was not reached.
        if (!bad.status) return { outcome: 'fail', actual: statuses.join(', '), hop: 'maas-gateway', message: `${bad.spec.path}: no answer from the MaaS gateway (${bad.error ?? bad.answer.summary}); whether its bridge enforces an AuthPolicy cannot be told` };
        return { outcome: 'fail', actual: statuses.join(', '), hop: 'maas-gateway', message: `${bad.spec.path} answered ${bad.answer.summary} without a token: its bridge has no enforced AuthPolicy` };
      }
      return { outcome: 'pass', actual: statuses.join(', ') };
    }
    case 'PROVIDER_REJECTS_KEY':
      if (ex.status === 401 && /"error"/.test(ex.body)) return { outcome: 'pass', actual: `401, ${ex.body.trim().slice(0, 40)}` };
      return { outcome: 'fail', actual: `${ex.status || ex.error} ${ex.body.slice(0, 60)}`.trim(), hop: 'provider:vllm', message: ex.status === 200 ? 'vLLM accepted a bogus key: it runs without --api-key' : ex.answer.summary };
    case 'RATE_LIMITED_AFTER':
      return { outcome: 'fail', actual: 'not run' };
  }
}

async function* runCall(call: CallDef, ctx: RunContext, signal: AbortSignal): AsyncGenerator<EventInput> {
  const t0 = performance.now();
  yield { kind: 'check-start', id: `call-${call.id}`, category: 'validate', title: `${call.id} ${call.title}` };
  const base = { kind: 'check' as const, id: `call-${call.id}`, category: 'validate', title: `${call.id} ${call.title}`, expected: call.expected, hint: call.hint };
  if (call.needs === 'vllm' && !ctx.target.providers().some((p) => p.name === 'vllm')) {
    yield { ...base, outcome: 'skip', message: 'needs step 3a (the vLLM provider); run `demo up --vllm`', ms: 0 };
    return;
  }
  if (call.needs === 'vllm-direct' && !(await ctx.target.vllmDirectUrl())) {
    yield { ...base, outcome: 'skip', message: 'needs the vLLM endpoint (step 3a, or --vllm-url on a cluster)', ms: 0 };
    return;
  }
  if (call.requests.some((r) => r.auth === 'maas') && !ctx.token) {
    yield { ...base, outcome: 'skip', message: 'needs the MaaS token from call 2', ms: 0 };
    return;
  }
  if (call.expect.name === 'RATE_LIMITED_AFTER') {
    yield* runRateLimit(call, base, ctx, signal, t0);
    return;
  }
  let exchanges: Exchange[] = [];
  for (let attempt = 0; ; attempt++) {
    exchanges = [];
    for (const spec of call.requests) {
      const ex = await send(ctx, spec, signal);
      exchanges.push(ex);
      for (const hop of traceOf(`call-${call.id}`, ex, ctx.routes)) yield hop;
    }
    // Where the budget could not be read beforehand, a 429 from an earlier run's spending is met here:
    // wait once for the window (a fixed window has certainly reset after one whole window), then ask again.
    const spentEarlier = exchanges.some((e) => e.status === 429 && e.answer.kind === 'rate-limited');
    if (!spentEarlier || attempt > 0 || ctx.budgetWait !== undefined || signal.aborted) break;
    const id = ctx.token ? identityOf(ctx.token) : undefined;
    const b = id ? await ctx.target.budget(id.userid, id.tier).catch(() => undefined) : undefined;
    const ms = b?.source === 'observed' && b.resetAt !== undefined ? Math.max(0, b.resetAt - Date.now()) + 250 : ctx.target.cfg.rateLimit.windowSeconds * 1000;
    const seconds = Math.ceil(ms / 1000);
    ctx.budgetWait = { seconds, reason: b?.source === 'observed' ? 'observed' : 'unobserved' };
    yield {
      kind: 'log',
      level: 'warn',
      message: `budget: call ${call.id} met 429 before call 10, so this user's budget was spent before it (by an earlier run or this one); waiting ${b?.source === 'observed' ? `${seconds} s for the window to reset` : `one window (${seconds} s)`}, then asking again (Ctrl-C stops)`,
    };
    if (!(await pause(ms, signal))) break;
  }
  let v = judge(call, exchanges, ctx);
  // A 429 is the user's spent budget, not a broken hop: say whose and when it resets.
  const limited = exchanges.find((e) => e.status === 429 && e.answer.kind === 'rate-limited');
  if (v.outcome === 'fail' && limited) v = { ...(await budgetVerdict(ctx)), ...(v.data ? { data: v.data } : {}) };
  yield { ...base, outcome: v.outcome, actual: v.actual, ...(v.message ? { message: v.message } : {}), ...(v.hop ? { hop: v.hop } : {}), ms: Math.round(performance.now() - t0), ...(v.data ? { data: v.data } : {}) };
}

/** Waits `ms` unless the run is stopped; resolves false when it was. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** A call that spends the user's token budget before call 10 (a chat through the MaaS gateway). */
const spendsBudget = (c: CallDef) => c.id !== '10' && c.requests.some((r) => r.auth === 'maas' && r.method === 'POST');

/**
 * What the budget must hold for every budget-spending call ahead to be admitted. Limitador admits a
 * request while one token is left and counts its usage afterwards, so the last request needs one token
 * and each one before it at most its completion cap plus its short prompt.
 */
export function budgetNeed(calls: CallDef[]): number {
  // What the simulators and small prompts cost; a provider that counts more meets the 429 path in runCall.
  const PROMPT_ALLOWANCE = 6;
  const costs = calls.filter(spendsBudget).flatMap((c) => c.requests.map((r) => ((r.body as { max_tokens?: number } | undefined)?.max_tokens ?? 16) + PROMPT_ALLOWANCE));
  return costs.length ? costs.slice(0, -1).reduce((a, b) => a + b, 0) + 1 : 0;
}

/**
 * Before the first call that spends tokens: a budget an earlier run spent (call 10 spends it on
 * purpose) would fail calls 4–7 with 429. Where the target shows the budget, wait for its window
 * to reset and say so; elsewhere runCall waits once when it meets the 429.
 */
async function* readyBudget(ctx: RunContext, ahead: CallDef[], signal: AbortSignal): AsyncGenerator<EventInput> {
  const id = ctx.token ? identityOf(ctx.token) : undefined;
  if (!id) return;
  const b = await ctx.target.budget(id.userid, id.tier).catch(() => undefined);
  if (!b || b.source !== 'observed') return;
  const need = budgetNeed(ahead);
  const left = b.limit - b.spent;
  if (left >= need) return;
  const ms = b.resetAt !== undefined ? Math.max(0, b.resetAt - Date.now()) + 250 : ctx.target.cfg.rateLimit.windowSeconds * 1000;
  const seconds = Math.ceil(ms / 1000);
  ctx.budgetWait = { seconds, reason: 'observed' };
  yield {
    kind: 'log',
    level: 'warn',
    message: `budget: user ${id.userid} (tier ${id.tier}) has ${Math.max(0, left)} of ${b.limit} tokens left in this window (an earlier run spent them; call 10 spends the rest on purpose), the calls ahead need up to ${need}: waiting ${seconds} s for the window to reset (Ctrl-C stops)`,
  };
  if (await pause(ms, signal)) yield { kind: 'log', level: 'info', message: `budget: the window reset; ${b.limit} tokens for this run` };
}

/** The verdict for a call refused with 429: the budget, who spent it and when it resets. */
async function budgetVerdict(ctx: RunContext): Promise<Verdict> {
  const id = ctx.token ? identityOf(ctx.token) : undefined;
  const b = id ? await ctx.target.budget(id.userid, id.tier).catch(() => undefined) : undefined;
  const resets = b?.resetAt ? `; the window resets in ${Math.max(0, Math.round((b.resetAt - Date.now()) / 1000))} s` : '';
  const spent = b ? (b.source === 'observed' ? `${b.spent} of ${b.limit} tokens spent` : `${b.limit} tokens per window`) : 'the budget';
  return {
    outcome: 'fail',
    actual: '429 token budget spent',
    message: `not a broken hop: user ${id?.userid ?? '?'} (tier ${id?.tier || '?'}) has spent its token budget (${spent}${resets}), e.g. by call 10 of an earlier run; wait for the window to reset, or run validate with --skip 10 to leave the budget alone`,
  };
}

async function* runRateLimit(call: CallDef, base: Omit<CheckEvent, 't' | 'outcome' | 'ms'>, ctx: RunContext, signal: AbortSignal, t0: number): AsyncGenerator<EventInput> {
  const max = call.expect.name === 'RATE_LIMITED_AFTER' ? call.expect.max : 16;
  const id = ctx.token ? identityOf(ctx.token) : undefined;
  const before = id ? await ctx.target.budget(id.userid, id.tier) : undefined;
  // Call 10 repeats call 4's kind of request; its usage is the best estimate of what each one costs.
  const sample = ctx.chatSampleTokens ?? (ctx.usage.length ? ctx.usage.reduce((a, b) => a + b, 0) / ctx.usage.length : 15);
  const avg = sample;
  let predicted: number | undefined;
  if (before) {
    // Limitador admits while spent + 1 ≤ limit and counts afterwards: the first 429 comes once the
    // requests before it have spent the rest of the budget.
    const remaining = before.limit - before.spent;
    predicted = remaining <= 0 ? 1 : Math.ceil(remaining / avg) + 1;
    yield {
      kind: 'summary',
      title: 'Budget before call 10',
      facts: {
        tier: before.tier,
        budget: `${before.limit} tokens per window`,
        'spent so far': before.spent,
        'average tokens per request': Math.round(avg * 10) / 10,
        'predicted first 429 at request': predicted,
        ...(before.resetAt ? { 'window resets in': `${Math.max(0, Math.round((before.resetAt - Date.now()) / 1000))} s` } : {}),
        source: before.source,
      },
    };
  } else {
    yield { kind: 'log', level: 'info', message: 'budget record not observable on this target: the gateway sends no rate-limit headers, so call 10 reports what it sees' };
  }
  const statuses: number[] = [];
  let tokens = 0;
  let first429: number | undefined;
  let last: Exchange | undefined;
  const spec = call.requests[0]!;
  for (let i = 1; i <= max; i++) {
    if (signal.aborted) break;
    const ex = await send(ctx, spec, signal);
    last = ex;
    statuses.push(ex.status);
    for (const hop of traceOf(`call-${call.id}`, ex, ctx.routes)) yield { ...hop, index: hop.index };
    if (ex.status === 200) {
      try {
        tokens += (JSON.parse(ex.body) as { usage?: { total_tokens?: number } }).usage?.total_tokens ?? 0;
      } catch {
        /* counted as 0 */
      }
      continue;
    }
    if (ex.status === 429) first429 = i;
    break;
  }
  const ok200 = statuses.filter((s) => s === 200).length;
  const after = id ? await ctx.target.budget(id.userid, id.tier) : undefined;
  const held = predicted !== undefined && first429 !== undefined ? Math.abs(first429 - predicted) <= 1 : undefined;
  const data = { statuses, admitted: ok200, first429At: first429 ?? null, predicted: predicted ?? null, predictionHeld: held ?? null, tokensCounted: tokens, ...(after?.resetAt ? { resetInSeconds: Math.max(0, Math.round((after.resetAt - Date.now()) / 1000)) } : {}) };
  const summary = `${ok200}×200 then ${first429 ? `429 at request ${first429}` : 'no 429'}${predicted !== undefined ? ` (predicted ${predicted}${held === undefined ? '' : held ? ', held within one request' : `, missed by ${Math.abs((first429 ?? 0) - predicted)}`})` : ''}; ${tokens} tokens`;
  const ms = Math.round(performance.now() - t0);
  if (first429 !== undefined && (ok200 > 0 || (before && before.spent >= before.limit))) {
    yield { ...base, outcome: 'pass', actual: summary, ms, data };
    return;
  }
  const bad = last && last.status !== 200 && last.status !== 429 ? last : undefined;
  const att = bad ? attribute(bad, ctx.target) : undefined;
  // A budget that 16 requests cannot spend is the user's tier, not enforcement failing.
  const beyond = !bad && before && predicted !== undefined && predicted > max;
  const message = bad
    ? `request ${statuses.length} answered ${bad.answer.summary}`
    : beyond
      ? `${max} requests and no 429, as expected for tier ${before.tier}: its budget of ${before.limit} tokens per window first refuses at about request ${predicted}; call 10 shows a 429 only for the lowest tier (the user's groups decide the tier)`
      : `${max} requests and no 429: the token budget is never enforced (policy missing, or tokens never counted)`;
  yield { ...base, outcome: 'fail', actual: summary, message, hop: beyond ? 'maas-api' : (att?.hop ?? 'maas-gateway'), ms, data };
}

export function selectCalls(all: CallDef[], only?: string, skip?: string): CallDef[] {
  const parse = (s: string, flag: string) => {
    const ids = s.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = ids.filter((x) => !CALL_IDS.includes(x as CallId));
    if (bad.length) throw Object.assign(new Error(`${flag} takes call numbers 1–10; got ${bad.join(', ')}`), { usage: true });
    return ids;
  };
  let calls = all;
  if (only) {
    const ids = parse(only, '--only');
    calls = calls.filter((c) => ids.includes(c.id));
  }
  if (skip) {
    const ids = parse(skip, '--skip');
    calls = calls.filter((c) => !ids.includes(c.id));
  }
  // Call 10 spends the user's budget: it always runs last.
  return [...calls.filter((c) => c.id !== '10'), ...calls.filter((c) => c.id === '10')];
}

export async function* runValidate(target: TargetSession, calls: CallDef[], signal: AbortSignal): AsyncGenerator<EventInput> {
  const ctx: RunContext = { target, routes: await target.routeModel(), usage: [] };
  const needsToken = calls.some((c) => c.requests.some((r) => r.auth === 'maas'));
  const results: { call: CallDef; outcome: Outcome; actual: string; ms: number }[] = [];
  let ordered = calls;
  let budgetChecked = false;
  if (needsToken && !calls.some((c) => c.id === '2')) {
    // The token is a prerequisite, not a result: mint it quietly when call 2 was not selected.
    const mint = validationCalls(target.cfg, target.providers()).find((c) => c.id === '2')!;
    const ex = await send(ctx, mint.requests[0]!, signal);
    const v = judge(mint, [ex], ctx);
    if (v.outcome !== 'pass') yield { kind: 'log', level: 'warn', message: `could not mint a MaaS token: ${v.actual}` };
    ordered = calls;
  }
  for (const [i, call] of ordered.entries()) {
    if (signal.aborted) return;
    if (spendsBudget(call) && !budgetChecked) {
      budgetChecked = true;
      yield* readyBudget(ctx, ordered.slice(i), signal);
    }
    for await (const e of runCall(call, ctx, signal)) {
      if (e.kind === 'check') results.push({ call, outcome: e.outcome, actual: e.actual ?? e.message ?? '', ms: e.ms });
      yield e;
    }
  }
  const symbol = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' } as const;
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const failed = results.filter((r) => r.outcome === 'fail').length;
  const skipped = results.filter((r) => r.outcome === 'skip').length;
  yield {
    kind: 'summary',
    title: 'Expected results',
    table: {
      head: ['#', 'test', 'expected', 'actual', 'result', 'time'],
      rows: results.map((r) => [r.call.id, r.call.title, r.call.expected, r.actual, symbol[r.outcome], `${r.ms} ms`]),
    },
    facts: {
      MaaS: GENERATIONS.tier.title,
      passed,
      failed,
      skipped,
      ...(ctx.token ? { token: ctx.token.masked } : {}),
      ...(ctx.budgetWait ? { 'budget wait': `${ctx.budgetWait.seconds} s for the window an earlier run had spent` } : {}),
    },
  };
}

