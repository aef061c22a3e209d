/**
 * Rate limits, checked three ways: the policy is configured for the user's tier, it is enforced on
 * the route (the gateway accounts the request against a budget), and it is effective (one real
 * request moves the counter; with --probe-rate-limit, the budget is spent until 429s arrive and the
 * over-admission is measured).
 */
import type { Exchange } from '../probe.js';
import { identityOf } from '../probe.js';
import { NO_LIVE, diff, factsFor, specFix } from './findings.js';
import { defineCheck, type CheckDef, type DoctorContext, type Finding } from './types.js';

function tierOf(ctx: DoctorContext): { userid: string; tier: string } | undefined {
  return ctx.token ? identityOf(ctx.token) : undefined;
}

const chatOnce = (ctx: DoctorContext): Promise<Exchange | undefined> => ctx.chat();

const TRLP_API = 'kuadrant.io/v1alpha1';

/** The TokenRateLimitPolicy entry that limits a tier: the object and the path of its limit. */
async function limitEntry(ctx: DoctorContext, tier: string): Promise<{ object: string; name: string; base: string; ref: { kind: string; name: string; namespace: string } } | undefined> {
  const { maas } = ctx.target.cfg;
  const all = await ctx.target.objects().list(TRLP_API, 'TokenRateLimitPolicy', maas.gatewayNamespace);
  for (const p of all) {
    const limits = ((p.spec as { limits?: Record<string, { when?: { predicate?: string }[] }> } | undefined)?.limits ?? {});
    for (const [name, l] of Object.entries(limits)) {
      const pred = (l.when ?? []).map((w) => /tier\s*==\s*["']([^"']+)["']/.exec(w.predicate ?? '')?.[1]).find(Boolean);
      if ((pred ?? /^(.+)-user-tokens$/.exec(name)?.[1]) === tier) return { object: `TokenRateLimitPolicy/${maas.gatewayNamespace}/${p.metadata.name}`, name, base: `spec.limits.${name}`, ref: { kind: 'TokenRateLimitPolicy', name: p.metadata.name, namespace: maas.gatewayNamespace } };
    }
  }
  return undefined;
}

const tokensOf = (ex: Exchange | undefined): number | undefined => {
  if (!ex || ex.status !== 200) return undefined;
  try {
    return (JSON.parse(ex.body) as { usage?: { total_tokens?: number } }).usage?.total_tokens;
  } catch {
    return undefined;
  }
};

export const rateLimits: CheckDef[] = [
  defineCheck({
    id: 'ratelimit-policy-present',
    category: 'rate-limits',
    title: "a TokenRateLimitPolicy limits the user's tier and is enforced on the routes",
    severity: 'error',
    hint: 'README.md#doctor-rate-limits',
    run: async (ctx): Promise<Finding> => {
      const id = tierOf(ctx);
      const rl = ctx.spec.maasGateway?.rateLimit;
      const limit = id && rl?.limits.find((l) => l.tier === id.tier);
      const ex = await chatOnce(ctx);
      const gw = ex?.records.find((r) => r.hop === 'maas-gateway');
      // Enforced: the gateway accounted the request (a budget in its record) or answered 429. A request
      // that failed before reaching the limiter (401, 404…) says nothing either way.
      // Where the gateway keeps no record (a cluster), an admitted request cannot show the accounting:
      // Kuadrant's Accepted and Enforced status stands for it, and `ratelimit-probe` spends to see 429s.
      const statusOk = (await factsFor(ctx, 'ratelimit-policy-present')).some((f) => f.ok);
      const enforced = ex?.status === 429 || gw?.detail.budget ? true : ex?.status === 200 ? (gw ? false : statusOk ? 'status' : undefined) : undefined;
      const evidence = [
        rl ? `policy: ${rl.enabled ? rl.limits.map((l) => `${l.tier} ${l.tokens}`).join(', ') + ` tokens per ${rl.windowSeconds} s` : 'absent'}` : 'policy: not visible',
        ...(ex ? [`probe: ${ex.answer.summary}${gw?.detail.budget ? `, budget ${gw.detail.budget}` : gw ? ', no budget accounted' : ''}`] : []),
      ];
      // Accepted and enforced, as Kuadrant reports it (cluster).
      const bad = rl?.enabled ? (await factsFor(ctx, 'ratelimit-policy-present')).filter((f) => !f.ok) : [];
      if (bad.length) return { outcome: 'fail', hop: bad[0]!.hop ?? 'maas-gateway', message: bad[0]!.detail, evidence: [...bad.map((f) => f.detail), ...evidence], ...(bad[0]!.fix ? { fix: bad[0]!.fix } : {}) };
      // Without a token neither the user's tier nor the gateway's accounting can be seen.
      if (rl?.enabled && !id) return { outcome: 'skip', message: `${NO_LIVE}: no MaaS token, so no tier to look up and no request to account`, evidence };
      if (!rl?.enabled || !limit || enforced === false) {
        const tiers = ctx.target.cfg.rateLimit.tiers;
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          message: !rl?.enabled ? 'no TokenRateLimitPolicy: requests are never limited' : !limit ? `no limit for tier ${id?.tier ?? '?'}: that tier is unlimited` : 'the policy exists but the gateway does not account requests against it',
          ...(rl?.enabled ? { object: `TokenRateLimitPolicy/${ctx.target.cfg.maas.gatewayNamespace}/gateway-token-rate-limits`, field: !limit ? `spec.limits.${id?.tier ?? 'free'}-user-tokens` : 'spec.limits' } : {}),
          evidence,
          fix: specFix('maasGateway', !rl?.enabled ? 'apply the gateway-level TokenRateLimitPolicy gateway-token-rate-limits' : `add a limit for tier ${id?.tier ?? '?'}`, diff(`TokenRateLimitPolicy ${ctx.target.cfg.maas.gatewayNamespace}/gateway-token-rate-limits`, [[null, `limits: {${tiers.map((t) => `${t.name}-user-tokens: {rates: [{limit: ${t.tokensPerWindow}, window: 1m}], when: [{predicate: 'auth.identity.tier == "${t.name}"'}], counters: [{expression: auth.identity.userid}]}`).join(', ')}}`]]), (s) => {
            if (!s.maasGateway) return;
            s.maasGateway.rateLimit.enabled = true;
            for (const t of tiers) if (!s.maasGateway.rateLimit.limits.some((l) => l.tier === t.name)) s.maasGateway.rateLimit.limits.push({ tier: t.name, tokens: t.tokensPerWindow });
          }, [{ kind: 'TokenRateLimitPolicy', name: 'gateway-token-rate-limits', namespace: ctx.target.cfg.maas.gatewayNamespace }]),
        };
      }
      // A limit that cannot admit the demo's own requests: zero, no window, or less than a few small completions.
      const entry = await limitEntry(ctx, id!.tier);
      const used = tokensOf(ex);
      const target = { tokens: ctx.target.cfg.rateLimit.tiers.find((t) => t.name === id!.tier)?.tokensPerWindow, window: ctx.target.cfg.rateLimit.windowSeconds };
      // The probe asks for 1 completion token; validate's completions ask for up to 10.
      const typical = used !== undefined ? used + 9 : undefined;
      const tooSmall = limit.tokens <= 0 ? 'is 0 tokens: every request is refused (429)' : typical !== undefined && limit.tokens < 3 * typical ? `is ${limit.tokens} tokens, fewer than three completions of the size validate sends (about ${typical} tokens each): after the first request or two every call gets 429` : ex?.status === 429 && (ctx.budgetBefore?.spent ?? 0) === 0 ? `(${limit.tokens} tokens) refused the first request of a fresh window` : undefined;
      if (tooSmall) {
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          ...(entry ? { object: entry.object, field: `${entry.base}.rates[0].limit` } : {}),
          message: `tier ${id!.tier}'s limit ${tooSmall}`,
          evidence,
          fix: { summary: `give tier ${id!.tier} a budget its requests fit in`, patch: diff(`${entry?.object ?? 'TokenRateLimitPolicy'} ${entry ? `${entry.base}.rates[0].limit` : 'limit'}`, [[String(limit.tokens), String(target.tokens ?? 100)]]), ...(entry ? { objects: [entry.ref] } : {}) },
        };
      }
      if (rl.windowSeconds <= 0) {
        return { outcome: 'fail', hop: 'maas-gateway', ...(entry ? { object: entry.object, field: `${entry.base}.rates[0].window` } : {}), message: `the window of tier ${id!.tier}'s limit is ${rl.windowSeconds} s: the counter never accumulates`, evidence, fix: { summary: 'set a window of a minute', patch: diff(`${entry?.object ?? 'TokenRateLimitPolicy'} window`, [[`${rl.windowSeconds}s`, `${target.window}s`]]), ...(entry ? { objects: [entry.ref] } : {}) } };
      }
      if (enforced === undefined) return { outcome: 'skip', message: ex?.status === 200 ? `${NO_LIVE}: the gateway keeps no record of its accounting here; --probe-rate-limit spends the budget to see 429s` : 'the probe request did not reach the gateway policy (see the other categories)', evidence };
      if (enforced === 'status') return { outcome: 'pass', message: `tier ${id!.tier}: ${limit.tokens} tokens per ${rl.windowSeconds} s; Accepted and Enforced per Kuadrant, the probe admitted (--probe-rate-limit confirms 429s)`, evidence };
      return { outcome: 'pass', message: `tier ${id!.tier}: ${limit.tokens} tokens per ${rl.windowSeconds} s`, evidence };
    },
  }),
  defineCheck({
    id: 'ratelimit-counts-tokens',
    category: 'rate-limits',
    title: "a completion's usage.total_tokens is counted against the budget",
    severity: 'error',
    hint: 'README.md#doctor-rate-limits',
    run: async (ctx): Promise<Finding> => {
      const id = tierOf(ctx);
      if (!id) return { outcome: 'skip', message: 'no MaaS token' };
      const ex = await chatOnce(ctx);
      const before = ctx.budgetBefore;
      const after = await ctx.target.budget(id.userid, id.tier);
      if (!ex) return { outcome: 'skip', message: 'no probe request' };
      if (ex.status === 429) return { outcome: 'pass', message: 'the budget is already spent: 429 from Limitador', evidence: [ex.answer.summary] };
      if (ex.status !== 200) return { outcome: 'skip', message: `the probe completion failed (${ex.answer.summary}); see the other categories` };
      const tokens = (JSON.parse(ex.body) as { usage?: { total_tokens?: number } }).usage?.total_tokens ?? 0;
      if (!before || !after || after.source !== 'observed') {
        return { outcome: 'skip', message: 'the counter is not observable here; `--probe-rate-limit` confirms 429s by spending the budget', evidence: [`probe used ${tokens} tokens`] };
      }
      const moved = after.spent - before.spent;
      const evidence = [`probe completion used ${tokens} tokens`, `counter ${before.spent} → ${after.spent} of ${after.limit}`];
      // A stream that asks for usage is counted from its last chunk (Limitador reads usage there, and only there).
      if (moved > 0) {
        const streamBefore = after.spent;
        const st = await ctx.streamChat();
        const streamAfter = await ctx.target.budget(id.userid, id.tier);
        const usage = /"usage"\s*:\s*\{[^}]*"total_tokens"\s*:\s*(\d+)/.exec(st?.body ?? '')?.[1];
        if (st?.status === 200 && streamAfter?.source === 'observed') {
          evidence.push(`streamed completion (stream_options.include_usage): ${usage ?? '?'} tokens in its last chunk, counter ${streamBefore} → ${streamAfter.spent}`);
          if (streamAfter.spent <= streamBefore) {
            return {
              outcome: 'fail',
              hop: 'maas-gateway',
              message: 'a streamed completion that asks for usage is not counted: streams spend the budget for nothing',
              evidence,
              fix: { summary: 'count usage from the last chunk of streams (the TokenRateLimitPolicy response phase reads responseBodyJSON usage of SSE too)', patch: 'kubectl -n kuadrant-system get limitador -o yaml   # and the wasm-shim release: streamed usage needs wasm-shim with SSE support' },
            };
          }
        }
      }
      if (moved <= 0) {
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          message: 'the counter did not move: usage is never reported, so the limit never fires',
          evidence,
          fix: specFix('maasGateway', 'report usage.total_tokens on responses (TokenRateLimitPolicy response phase; Limitador reachable)', diff('wasm-shim / Limitador', [['report action missing or Limitador unreachable (failure mode allow)', 'ratelimit-report with hits = responseBodyJSON("/usage/total_tokens")']]), (s) => {
            if (s.maasGateway) s.maasGateway.rateLimit.countUsage = true;
          }),
        };
      }
      return { outcome: 'pass', message: `${moved} tokens counted for ${tokens} used`, evidence };
    },
  }),
  defineCheck({
    id: 'ratelimit-budget',
    category: 'rate-limits',
    title: "the user's budget and counter",
    severity: 'warning',
    hint: 'README.md#doctor-rate-limits',
    run: async (ctx): Promise<Finding> => {
      const id = tierOf(ctx);
      if (!id) return { outcome: 'skip', message: 'no MaaS token' };
      const b = await ctx.target.budget(id.userid, id.tier);
      if (!b) return { outcome: 'skip', message: 'no limit for this tier' };
      const reset = b.resetAt ? `, window resets in ${Math.max(0, Math.round((b.resetAt - Date.now()) / 1000))} s` : '';
      const msg = `tier ${b.tier}: ${b.source === 'observed' ? `${b.spent} of ${b.limit} tokens spent${reset}` : `${b.limit} tokens per window (counter not observable)`}`;
      // The demo's call 10 shows a 429 within 16 requests: only the lowest tier's budget is that small.
      const tiers = [...ctx.target.cfg.rateLimit.tiers].sort((a, c) => a.level - c.level);
      const mine = tiers.find((t) => t.name === b.tier);
      if (mine && tiers[0] && mine.level > tiers[0].level) {
        const groups = ctx.target.cfg.user.groups.filter((g) => mine.groups.includes(g));
        return {
          outcome: 'warn',
          hop: 'maas-api',
          ...(groups[0] ? { object: `Group/${groups[0]}`, field: 'users' } : {}),
          message: `${msg}: the user is on tier ${b.tier}${groups.length ? ` through group ${groups.join(', ')}` : ''}, whose budget validate's call 10 (429 within 16 requests) cannot reach`,
          evidence: [`tiers by level: ${tiers.map((t) => `${t.name} ${t.tokensPerWindow}`).join(', ')}`, `the user's groups: ${ctx.target.cfg.user.groups.join(', ')}`],
          fix: { summary: `run the demo as a user only in the ${tiers[0].name} tier's groups (${tiers[0].groups.join(', ')})`, patch: groups.map((g) => `oc adm groups remove-users ${g} ${ctx.target.cfg.user.name}`).join('\n') || `# use a user whose groups map to tier ${tiers[0].name}` },
        };
      }
      if (b.source === 'observed' && b.spent >= b.limit) {
        // A spent budget is the limit working (validate's call 10 spends it on purpose), not a fault.
        return {
          outcome: 'warn',
          expectedWarning: true,
          message: `${msg}: further requests get 429 until the window resets`,
          evidence: ['per-user budget shared by every route of the gateway', 'validate spends it on purpose (call 10); validate again at any time: it waits for the window itself when too little is left'],
        };
      }
      return { outcome: 'pass', message: msg };
    },
  }),
  defineCheck({
    id: 'ratelimit-probe',
    category: 'rate-limits',
    title: '429s arrive once the budget is spent (--probe-rate-limit), and the over-admission',
    severity: 'error',
    hint: 'README.md#doctor-rate-limits',
    run: async (ctx): Promise<Finding> => {
      if (!ctx.probeRateLimit) return { outcome: 'skip', message: 'spends the token budget; run with --probe-rate-limit' };
      const r = await ctx.spend();
      const over = r.spentAfter !== undefined && r.limit !== undefined ? r.spentAfter - r.limit : undefined;
      const evidence = [`${r.admitted} requests admitted, ${r.tokens} tokens, ${r.first429 ? `429 at request ${r.first429}` : 'no 429'}`, ...(over !== undefined ? [`counter ended ${r.spentAfter} for a limit of ${r.limit}: over-admission ${Math.max(0, over)} tokens`] : [])];
      if (!r.first429 && r.limit !== undefined && r.tokens <= r.limit && r.admitted > 0) {
        // Still inside the budget: no 429 is due yet, so its absence proves nothing.
        return {
          outcome: 'warn',
          hop: 'maas-api',
          message: `tier ${tierOf(ctx)?.tier ?? '?'}'s budget (${r.limit} tokens per window) is too large to spend in a probe: ${r.tokens} tokens in ${r.admitted} requests, no 429 due yet`,
          evidence,
        };
      }
      if (!r.first429) {
        const past = r.limit !== undefined && r.tokens > r.limit;
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          message: past
            ? `${r.tokens} tokens in ${r.admitted} requests against a limit of ${r.limit} and no 429: usage is never counted, or Limitador is unreachable (its failure mode is allow)`
            : 'no 429 after spending well past the budget',
          evidence,
          fix: {
            summary: 'make the gateway count usage.total_tokens: the TokenRateLimitPolicy Enforced, Limitador running, providers answering in the OpenAI usage format',
            patch: [
              `kubectl -n ${ctx.target.cfg.maas.gatewayNamespace} get tokenratelimitpolicy -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions}{"\\n"}{end}'`,
              'kubectl -n kuadrant-system get limitador,pods   # Limitador down = every request admitted',
              '# counted: non-streaming responses with usage.total_tokens, streams only with stream_options.include_usage',
            ].join('\n'),
          },
        };
      }
      return { outcome: 'pass', message: `429 after ${r.admitted} requests${over !== undefined ? `; over-admission ${Math.max(0, over)} tokens (Limitador counts after the response)` : ''}`, evidence };
    },
  }),
];
