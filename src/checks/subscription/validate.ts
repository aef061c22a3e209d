/**
 * The subscription era's validation calls (contracts-subscription-era §8 "validate"), as a user of the
 * era makes them: mint an API key for the subscription, list the models with it, a body-routed chat
 * for every model and a path-routed one, an Anthropic model answered in OpenAI's shape, a stream that
 * counts against the budget, a bogus key, no credentials, another subscription's key and its models,
 * a revoked key, and the budget spent. Each call is a row: id, what is expected, and how it is judged
 * from what came back; every request leaves its per-hop trace.
 */
import type { EventInput, HopId, Outcome } from '../../core/events.js';
import { Secret } from '../../core/secret.js';
import { SIM_HEADERS } from '../../sim/headers.js';
import type { TargetSession } from '../../targets/target.js';
import { GENERATIONS } from '../../generations/index.js';
import { type EraContext, type EraExchange, type EraModel, eraAttribute, eraSend, eraTrace, grantedModels, json, openaiShape, readObjects, subscriptionModels, usageOf } from './exchange.js';

export interface EraVerdict {
  outcome: Outcome;
  actual: string;
  message?: string;
  hop?: HopId;
  data?: Record<string, unknown>;
}

export interface EraCall {
  id: string;
  slug: string;
  title: string;
  expected: string;
  hint: string;
  run(ctx: EraContext, signal: AbortSignal, emit: (ex: EraExchange) => void): Promise<EraVerdict>;
}

const HINT = 'README.md#validate-subscription-era';
const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], max_tokens: 10, ...extra });

/** A failed verdict naming the first hop whose evidence differs (or the given one). */
function failed(ex: EraExchange | undefined, actual: string, message?: string, hop?: HopId): EraVerdict {
  const att = ex ? eraAttribute(ex) : undefined;
  return { outcome: 'fail', actual, ...(message || att ? { message: message ?? att!.reason } : {}), ...((hop ?? att?.hop) ? { hop: (hop ?? att?.hop)! } : {}) };
}

const show = (ex: EraExchange) => `${ex.status || 'no response'} ${ex.answer.summary}`;

/** Mints a key as the cluster user; returns it (masked wherever printed) and its id. */
export async function mintKey(ctx: EraContext, subscription: string, name: string, emit: (ex: EraExchange) => void, signal?: AbortSignal): Promise<{ ex: EraExchange; key?: Secret; id?: string }> {
  const ex = await eraSend(ctx, { method: 'POST', path: '/maas-api/v1/api-keys', credential: 'cluster', body: { name, subscription, expiresIn: '1h', ephemeral: true } }, signal);
  emit(ex);
  const j = json(ex.body);
  if (ex.status !== 201 || typeof j?.key !== 'string') return { ex };
  return { ex, key: new Secret(j.key), id: String(j.id ?? '') };
}

async function chatEach(ctx: EraContext, models: EraModel[], path: (m: EraModel) => string, emit: (ex: EraExchange) => void, signal: AbortSignal): Promise<EraVerdict> {
  if (!ctx.key) return { outcome: 'skip', actual: 'no API key (call 2)' };
  if (!models.length) return failed(undefined, 'no model in the subscription', `the MaaSSubscription ${ctx.subscription} lists no model`, 'maas-api');
  const seen: string[] = [];
  for (const m of models) {
    const ex = await eraSend(ctx, { method: 'POST', path: path(m), credential: ctx.key, body: chat(m.id, `Hello from ${m.id}`), ...(m.provider ? { provider: m.provider } : {}) }, signal);
    emit(ex);
    if (ex.status !== 200 || !openaiShape(ex)) return failed(ex, `${m.id}: ${show(ex)}${ex.status === 200 ? ' (not an OpenAI chat completion)' : ''}`, ex.status === 200 ? `${m.id} answered in a shape that is not OpenAI's chat completion` : undefined, ex.status === 200 ? 'payload-processing' : undefined);
    const att = eraAttribute(ex);
    if (att) return failed(ex, `${m.id}: 200, but ${att.reason}`);
    seen.push(`${m.id} via ${ex.headers[SIM_HEADERS.provider] ? `provider:${ex.headers[SIM_HEADERS.provider]}` : (m.route?.endpoint ?? '?')} (${usageOf(ex) ?? '?'} tokens)`);
  }
  return { outcome: 'pass', actual: `200 ×${models.length}: ${seen.join('; ')}` };
}

export function subscriptionCalls(): EraCall[] {
  return [
    {
      id: '1',
      slug: 'endpoint',
      title: 'gateway endpoint discovered and TLS verified',
      expected: 'the MaaS gateway answers over verified TLS',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const ex = await eraSend(ctx, { method: 'GET', path: '/', credential: 'none' }, signal);
        emit(ex);
        if (ex.error) return failed(ex, ex.error, /CERT|SELF_SIGNED|verify/i.test(ex.error) ? 'the gateway certificate did not verify with the CA in use' : 'the gateway did not answer', 'maas-gateway');
        return { outcome: 'pass', actual: `HTTP ${ex.status} from ${ex.headers.server ?? 'the gateway'} over verified TLS` };
      },
    },
    {
      id: '2',
      slug: 'api-key',
      title: 'mint an API key for the subscription',
      expected: '201, sk-oai-… shown once',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const m = await mintKey(ctx, ctx.subscription, 'demo-validate', emit, signal);
        if (!m.key) return failed(m.ex, `${show(m.ex)} ${m.ex.body.slice(0, 100)}`.trim(), m.ex.status === 401 ? 'the cluster token was refused by maas-gateway-auth' : undefined);
        if (!m.key.reveal().startsWith('sk-oai-')) return failed(m.ex, '201 with a key that is not sk-oai-…', 'maas-api minted a key of another format', 'maas-api');
        ctx.key = m.key;
        ctx.keyId = m.id;
        return { outcome: 'pass', actual: `201, ${m.key.masked} (id ${m.id}) bound to ${ctx.subscription}`, data: { keyId: m.id } };
      },
    },
    {
      id: '3',
      slug: 'models',
      title: '/v1/models with the key lists every model of the subscription',
      expected: 'every model of the subscription (every model the user is granted)',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        if (!ctx.key) return { outcome: 'skip', actual: 'no API key (call 2)' };
        const ex = await eraSend(ctx, { method: 'GET', path: '/v1/models', credential: ctx.key }, signal);
        emit(ex);
        if (ex.status !== 200) return failed(ex, show(ex));
        const ids = ((json(ex.body)?.data as { id: string }[] | undefined) ?? []).map((m) => m.id);
        const missing = ctx.models.filter((m) => !ids.includes(m.id)).map((m) => m.id);
        if (missing.length) return failed(ex, ids.join(' + ') || '(empty)', `missing from the listing: ${missing.join(', ')} (a MaaSModelRef not Ready)`, 'maas-api');
        // The demo's subscription is meant to cover every model the user is granted.
        const uncovered = ctx.granted.filter((id) => !ids.includes(id));
        if (uncovered.length) return failed(ex, ids.join(' + ') || '(empty)', `granted to ${ctx.session.cfg.user.name} but not in ${ctx.subscription}: ${uncovered.join(', ')}`, 'maas-api');
        return { outcome: 'pass', actual: ids.join(' + ') };
      },
    },
    {
      id: '4',
      slug: 'chat-body',
      title: 'body-routed chat (POST /v1/chat/completions) for every model',
      expected: '200 in OpenAI shape from each model',
      hint: HINT,
      run: (ctx, signal, emit) => chatEach(ctx, ctx.models, () => '/v1/chat/completions', emit, signal),
    },
    {
      id: '5',
      slug: 'chat-path',
      title: 'path-routed chat (legacy /<ns>/<name>/v1/chat/completions)',
      expected: '200 in OpenAI shape',
      hint: HINT,
      // One model: the route kind is what is proven; every model's budget is spared a second chat.
      run: (ctx, signal, emit) => chatEach(ctx, ctx.models.slice(0, 1), (m) => `/${m.namespace}/${m.externalModel}/v1/chat/completions`, emit, signal),
    },
    {
      id: '6',
      slug: 'anthropic-translated',
      title: 'an Anthropic model answers in OpenAI shape (translated both ways)',
      expected: 'Messages API with x-api-key and anthropic-version at the provider; a chat completion back',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const m = ctx.models.find((x) => x.route?.provider === 'anthropic');
        if (!m) return { outcome: 'skip', actual: 'no Anthropic model in the subscription' };
        if (!ctx.key) return { outcome: 'skip', actual: 'no API key (call 2)' };
        const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key, body: { ...chat(m.id, 'Hello from Claude'), messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello from Claude' }] }, ...(m.provider ? { provider: m.provider } : {}) }, signal);
        emit(ex);
        if (ex.status !== 200) return failed(ex, show(ex));
        const simulated = ex.headers[SIM_HEADERS.path] !== undefined;
        const names = (ex.headers[SIM_HEADERS.headerNames] ?? '').split(',');
        if (simulated && ex.headers[SIM_HEADERS.path] !== '/v1/messages') return failed(ex, `the provider received ${ex.headers[SIM_HEADERS.path]}`, 'the request was not translated to the Messages API (/v1/messages)', 'payload-processing');
        if (simulated && (!names.includes('x-api-key') || !names.includes('anthropic-version'))) return failed(ex, `the provider received ${names.join(',')}`, 'x-api-key or anthropic-version missing at the provider', 'payload-processing');
        if (!openaiShape(ex)) {
          const anthropicShape = json(ex.body)?.type === 'message';
          return failed(ex, anthropicShape ? '200 in Anthropic Messages shape' : '200 in an unknown shape', anthropicShape ? 'the response was not translated back: response translation is off in payload-processing-plugins' : 'not an OpenAI chat completion', 'payload-processing');
        }
        return { outcome: 'pass', actual: `200 chat.completion from ${m.id}${simulated ? ' (provider saw POST /v1/messages with x-api-key and anthropic-version)' : ''}, ${usageOf(ex) ?? '?'} tokens` };
      },
    },
    {
      id: '7',
      slug: 'stream-counted',
      title: 'a stream without include_usage counts against the budget',
      expected: 'the counter grows by the stream\'s tokens',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        // The last model: the budgets of the first two already pay for calls 5 and 6.
        const m = ctx.models.at(-1);
        if (!m || !ctx.key) return { outcome: 'skip', actual: 'no API key or model' };
        const limitKey = `${subscriptionNamespace(ctx)}-${ctx.subscription}-${m.ref.split('/')[1]}-tokens`;
        const user = ctx.session.cfg.user.name;
        const before = await ctx.session.budget(user, limitKey);
        const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key, body: chat(m.id, 'Stream a short answer', { stream: true }), ...(m.provider ? { provider: m.provider } : {}) }, signal);
        emit(ex);
        if (ex.status !== 200 || !openaiShape(ex)) return failed(ex, show(ex));
        const after = await ctx.session.budget(user, limitKey);
        const tokens = usageOf(ex);
        if (!before || !after || before.source !== 'observed' || after.source !== 'observed') return { outcome: 'pass', actual: `200 stream${tokens ? ` with usage ${tokens}` : ''}; the counter is not observable on this target`, data: { tokens } };
        const counted = after.spent - before.spent;
        if (counted <= 0) return failed(ex, `200 stream, counter ${before.spent} → ${after.spent}`, 'the stream was not counted: no usage reached the limiter (stream-usage-enforcer off?)', 'payload-processing');
        return { outcome: 'pass', actual: `200 stream; ${limitKey} for ${user}: ${before.spent} → ${after.spent} of ${after.limit} (+${counted})`, data: { counted, tokens } };
      },
    },
    {
      id: '8',
      slug: 'bogus-key',
      title: 'a bogus sk-oai- key → 403',
      expected: '403 with x-ext-auth-reason',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const m = ctx.models[0];
        const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: { literal: 'sk-oai-FAKE-KEY-demo-validate' }, body: chat(m?.id ?? 'gpt-4', 'hi') }, signal);
        emit(ex);
        if (ex.status === 403 && ex.headers['x-ext-auth-reason']) return { outcome: 'pass', actual: `403 (${ex.headers['x-ext-auth-reason']})` };
        return failed(ex, show(ex), ex.status === 200 ? 'a bogus key was accepted' : undefined, 'maas-gateway');
      },
    },
    {
      id: '9',
      slug: 'no-credentials',
      title: 'no credentials → 401',
      expected: '401 with WWW-Authenticate',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const m = ctx.models[0];
        const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: 'none', body: chat(m?.id ?? 'gpt-4', 'hi') }, signal);
        emit(ex);
        if (ex.status === 401 && ex.headers['www-authenticate']) return { outcome: 'pass', actual: '401 (Authentication required)' };
        return failed(ex, show(ex), undefined, 'maas-gateway');
      },
    },
    {
      id: '10',
      slug: 'other-subscription',
      title: "a key bound to another subscription lists that subscription's models",
      expected: "exactly the other subscription's models",
      hint: HINT,
      run: async (ctx, signal, emit) => {
        if (!ctx.other) return { outcome: 'skip', actual: 'the user owns no other subscription' };
        const m = await mintKey(ctx, ctx.other.name, 'demo-validate-other', emit, signal);
        if (!m.key) return failed(m.ex, show(m.ex));
        ctx.other.key = m.key;
        ctx.other.keyId = m.id;
        const ex = await eraSend(ctx, { method: 'GET', path: '/v1/models', credential: m.key }, signal);
        emit(ex);
        if (ex.status !== 200) return failed(ex, show(ex));
        const ids = ((json(ex.body)?.data as { id: string }[] | undefined) ?? []).map((x) => x.id).sort();
        const want = ctx.other.models.map((x) => x.id).sort();
        if (ids.join() !== want.join()) return failed(ex, ids.join(' + ') || '(empty)', `a key bound to ${ctx.other.name} must list ${want.join(', ')}`, 'maas-api');
        return { outcome: 'pass', actual: `${ctx.other.name}: ${ids.join(' + ')}` };
      },
    },
    {
      id: '11',
      slug: 'revoked-key',
      title: 'a revoked key → 403 (once the identity cache lets go of it)',
      expected: 'DELETE 200, then 403',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        const model = ctx.models[0];
        if (!model) return { outcome: 'skip', actual: 'no model' };
        const m = await mintKey(ctx, ctx.subscription, 'demo-validate-revoked', emit, signal);
        if (!m.key || !m.id) return failed(m.ex, show(m.ex));
        const use = async () => {
          // The listing goes through maas-gateway-auth like a chat, and spends no budget.
          const ex = await eraSend(ctx, { method: 'GET', path: '/v1/models', credential: m.key! }, signal);
          emit(ex);
          return ex;
        };
        const first = await use();
        const del = await eraSend(ctx, { method: 'DELETE', path: `/maas-api/v1/api-keys/${m.id}`, credential: 'cluster' }, signal);
        emit(del);
        if (del.status !== 200 || json(del.body)?.status !== 'revoked') return failed(del, show(del), 'revoking the key did not answer 200 with status revoked', 'maas-api');
        const t0 = Date.now();
        let last = first;
        while (Date.now() - t0 < 15_000 && !signal.aborted) {
          last = await use();
          if (last.status === 403) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        const after = Math.round((Date.now() - t0) / 100) / 10;
        if (last.status !== 403) return failed(last, `still ${last.status} ${after} s after revoking`, 'the gateway kept accepting a revoked key past its identity cache', 'maas-gateway');
        return { outcome: 'pass', actual: `first use ${first.status}; DELETE 200; 403 (${last.headers['x-ext-auth-reason'] ?? ''}) after ${after} s (identity cache)`, data: { secondsUntil403: after } };
      },
    },
    {
      id: '12',
      slug: 'rate-limit',
      title: 'token budget: 200s then 429',
      expected: '200s, then 429 once the budget is spent',
      hint: HINT,
      run: async (ctx, signal, emit) => {
        // Another subscription's key has budgets of its own: spending them leaves the main key's intact.
        const key = ctx.other?.key ?? ctx.key;
        const sub = ctx.other?.key ? ctx.other.name : ctx.subscription;
        const model = (ctx.other?.key ? ctx.other.models : ctx.models)[0];
        if (!key || !model) return { outcome: 'skip', actual: 'no API key or model' };
        const limitKey = `${subscriptionNamespace(ctx)}-${sub}-${model.ref.split('/')[1]}-tokens`;
        const before = await ctx.session.budget(ctx.session.cfg.user.name, limitKey);
        const max = before ? Math.min(200, Math.ceil(Math.max(0, before.limit - before.spent) / 5) + 5) : 40;
        const statuses: number[] = [];
        let tokens = 0;
        let first429: number | undefined;
        let last: EraExchange | undefined;
        for (let i = 1; i <= max && !signal.aborted; i++) {
          last = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: key, body: chat(model.id, 'Hello'), ...(model.provider ? { provider: model.provider } : {}) }, signal);
          if (i <= 2 || last.status !== 200) emit(last);
          statuses.push(last.status);
          if (last.status === 200) {
            tokens += usageOf(last) ?? 0;
            continue;
          }
          if (last.status === 429) first429 = i;
          break;
        }
        const ok = statuses.filter((s) => s === 200).length;
        const data = { subscription: sub, model: model.id, limit: before?.limit ?? null, spentBefore: before?.spent ?? null, admitted: ok, first429At: first429 ?? null, tokensCounted: tokens };
        const summary = `${sub}/${model.id}: ${ok}×200 then ${first429 ? `429 at request ${first429}` : 'no 429'}; ${tokens} tokens${before ? ` (budget ${before.limit}, ${before.spent} spent before)` : ''}`;
        if (first429 && (ok > 0 || (before && before.spent >= before.limit))) return { outcome: 'pass', actual: summary, data };
        if (last && last.status !== 200 && last.status !== 429) return { ...failed(last, summary, `request ${statuses.length} answered ${last.answer.summary}`), data };
        return { ...failed(undefined, summary, `${max} requests and no 429: the budget is never enforced`, 'maas-gateway'), data };
      },
    },
  ];
}

const subscriptionNamespace = (ctx: EraContext) => ctx.objects.find((o) => o.kind === 'MaaSSubscription' && o.metadata.name === ctx.subscription)?.metadata.namespace ?? 'models-as-a-service';

/** The shared context: the objects, the subscription's models, another subscription the user owns. */
export async function eraValidateContext(session: TargetSession, subscription: string): Promise<EraContext> {
  const objects = await readObjects(session);
  const ctx: EraContext = { session, subscription, objects, models: subscriptionModels(objects, subscription, session), granted: grantedModels(objects, session.cfg.user) };
  const user = session.cfg.user;
  const other = objects
    .filter((o) => o.kind === 'MaaSSubscription' && o.metadata.name !== subscription)
    .find((o) => {
      const owner = (o.spec as { owner?: { groups?: { name: string }[]; users?: string[] } } | undefined)?.owner;
      return owner?.users?.includes(user.name) || owner?.groups?.some((g) => user.groups.includes(g.name));
    });
  if (other) ctx.other = { name: other.metadata.name, models: subscriptionModels(objects, other.metadata.name, session) };
  return ctx;
}

export function selectEraCalls(all: EraCall[], only?: string, skip?: string): EraCall[] {
  const ids = all.map((c) => c.id);
  const parse = (s: string, flag: string) => {
    const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = xs.filter((x) => !ids.includes(x));
    if (bad.length) throw Object.assign(new Error(`${flag} takes call numbers 1–${ids.length}; got ${bad.join(', ')}`), { usage: true });
    return xs;
  };
  let calls = all;
  if (only) calls = calls.filter((c) => parse(only, '--only').includes(c.id));
  if (skip) calls = calls.filter((c) => !parse(skip, '--skip').includes(c.id));
  // The budget call spends a budget: it runs last; the key (2) is a prerequisite of most.
  return [...calls.filter((c) => c.slug !== 'rate-limit'), ...calls.filter((c) => c.slug === 'rate-limit')];
}

export async function* runSubscriptionValidate(session: TargetSession, calls: EraCall[], signal: AbortSignal, subscription: string): AsyncGenerator<EventInput> {
  const ctx = await eraValidateContext(session, subscription);
  if (calls.some((c) => c.id !== '1' && c.id !== '2') && !calls.some((c) => c.id === '2')) {
    // The key is a prerequisite, not a result: minted quietly when call 2 was not selected.
    const m = await mintKey(ctx, subscription, 'demo-validate', () => undefined, signal);
    if (m.key) {
      ctx.key = m.key;
      ctx.keyId = m.id;
    } else yield { kind: 'log', level: 'warn', message: `could not mint an API key for ${subscription}: ${m.ex.answer.summary}` };
  }
  const results: { call: EraCall; outcome: Outcome; actual: string; ms: number }[] = [];
  for (const call of calls) {
    if (signal.aborted) return;
    const id = `call-${call.id}`;
    const t0 = performance.now();
    yield { kind: 'check-start', id, category: 'validate', title: `${call.id} ${call.title}` };
    const hops: EventInput[] = [];
    let v: EraVerdict;
    try {
      v = await call.run(ctx, signal, (ex) => hops.push(...eraTrace(id, ex)));
    } catch (err) {
      v = { outcome: 'fail', actual: `the call itself failed: ${(err as Error).message}` };
    }
    yield* hops;
    const ms = Math.round(performance.now() - t0);
    results.push({ call, outcome: v.outcome, actual: v.actual, ms });
    yield { kind: 'check', id, category: 'validate', title: `${call.id} ${call.title}`, outcome: v.outcome, expected: call.expected, actual: v.actual, hint: call.hint, ms, ...(v.message ? { message: v.message } : {}), ...(v.hop ? { hop: v.hop } : {}), ...(v.data ? { data: v.data } : {}) };
  }
  const symbol = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' } as const;
  yield {
    kind: 'summary',
    title: 'Expected results',
    table: { head: ['#', 'test', 'expected', 'actual', 'result', 'time'], rows: results.map((r) => [r.call.id, r.call.title, r.call.expected, r.actual, symbol[r.outcome], `${r.ms} ms`]) },
    facts: {
      MaaS: GENERATIONS.subscription.title,
      subscription,
      passed: results.filter((r) => r.outcome === 'pass').length,
      failed: results.filter((r) => r.outcome === 'fail').length,
      skipped: results.filter((r) => r.outcome === 'skip').length,
      ...(ctx.key ? { key: ctx.key.masked } : {}),
    },
  };
}
