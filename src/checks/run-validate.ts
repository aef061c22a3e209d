/**
 * Runs the validation calls against a target: sends each request with a request id, collects what
 * every hop reported (or infers it, marked as such, where hops cannot be asked), decides who
 * answered from the response's fingerprint, compares with the named expectation and attributes a
 * failure to the first hop whose evidence differs from what the route rules say it should be.
 */
import { randomUUID } from 'node:crypto';
import { request as urequest, Agent } from 'undici';
import type { CheckEvent, EventInput, HopEvent, HopId, Outcome } from '../core/events.js';
import { Secret, fingerprint, mask } from '../core/secret.js';
import { SIM_HEADERS, INFERENCE_HEADERS, timesReceived } from '../sim/headers.js';
import type { RouteModel, TargetSession } from '../targets/target.js';
import type { HopRecord } from '../model/hop-record.js';
import { type Answer, classify, lowerHeaders } from './fingerprint.js';
import { type CallDef, type CallId, type RequestSpec, CALL_IDS, validationCalls } from './validate.js';

export interface Exchange {
  spec: RequestSpec;
  requestId: string;
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
  ms: number;
  answer: Answer;
  records: HopRecord[];
  error?: string;
}

export interface RunContext {
  target: TargetSession;
  token?: Secret;
  routes: RouteModel;
  /** Tokens the completion calls used (for the call-10 prediction). */
  usage: number[];
  /** Tokens call 4 (the same kind of request as call 10) used. */
  usage4?: number;
}

type Headers = Record<string, string | undefined>;

/** Claims of a JWT without verifying it (the gateway verifies; we only read sub/aud for display). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function identityOf(token: Secret): { userid: string; tier: string; sub: string } | undefined {
  const sub = jwtClaims(token.reveal())?.sub;
  if (typeof sub !== 'string') return undefined;
  const f = sub.split(':');
  const ns = f[2] ?? '';
  return { sub, userid: f[3] ?? '', tier: ns.includes('-tier-') ? ns.slice(ns.indexOf('-tier-') + 6) : '' };
}

let directAgent: Agent | undefined;

export async function send(ctx: RunContext, spec: RequestSpec, signal?: AbortSignal): Promise<Exchange> {
  const requestId = randomUUID();
  const start = performance.now();
  const ep = await ctx.target.endpoint();
  let base = ep.baseUrl;
  let dispatcher = ep.dispatcher;
  if (spec.base === 'vllm-direct') {
    base = (await ctx.target.vllmDirectUrl()) ?? '';
    directAgent ??= new Agent({ keepAliveTimeout: 1_000 });
    dispatcher = directAgent;
  }
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (spec.auth === 'cluster') headers.authorization = `Bearer ${(await ctx.target.clusterToken()).reveal()}`;
  if (spec.auth === 'maas' && ctx.token) headers.authorization = `Bearer ${ctx.token.reveal()}`;
  if (spec.auth === 'bogus') headers.authorization = 'Bearer bogus-key';
  if (spec.body !== undefined) headers['content-type'] = 'application/json';
  let status = 0;
  let resHeaders: Headers = {};
  let body = '';
  let error: string | undefined;
  try {
    const res = await urequest(`${base}${spec.path}`, {
      method: spec.method,
      headers,
      dispatcher,
      ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
      ...(signal ? { signal } : {}),
    });
    status = res.statusCode;
    resHeaders = lowerHeaders(res.headers);
    body = await res.body.text();
  } catch (err) {
    error = describeNetworkError(err);
  }
  const ms = performance.now() - start;
  const answer: Answer = error
    ? { kind: 'unknown', hop: spec.base === 'vllm-direct' ? 'provider:vllm' : 'maas-gateway', status: 0, summary: `no response: ${error}` }
    : classify(status, resHeaders, body, { ...(spec.provider ? { provider: spec.provider } : {}), viaEgress: spec.route === 'bridge' });
  const records = spec.base === 'gateway' ? await ctx.target.hopRecords(requestId) : [];
  return { spec, requestId, status, headers: resHeaders, body, ms, answer, records, ...(error ? { error } : {}) };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = e.cause?.code ?? e.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS verification failed (${code})`;
  if (code === 'ECONNREFUSED') return 'connection refused (is the gateway up?)';
  if (code === 'ENOTFOUND') return 'host not found';
  return e.cause?.message ?? e.message ?? String(err);
}

/** The path each hop should see, from the intended route rules (the seed's design). */
export function expectedPaths(spec: RequestSpec, routes: RouteModel): { gatewayOut: string; egressOut?: string } {
  const path = spec.path.split('?')[0] ?? spec.path;
  if (spec.route === 'bridge' && spec.provider) {
    const rest = path.slice(`/external/${spec.provider}`.length) || '/';
    return { gatewayOut: `/${spec.provider}${rest}`, egressOut: rest };
  }
  if (spec.route === 'onprem') {
    const r = routes.onprem[0];
    const prefix = r?.pathPrefix ?? '';
    return { gatewayOut: path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path };
  }
  if (spec.route === 'maas-api') return { gatewayOut: path.startsWith('/maas-api') ? path.slice('/maas-api'.length) || '/' : path };
  return { gatewayOut: path };
}

/** Hop events for one exchange: observed from hop records and echo headers, inferred otherwise. */
export function traceOf(checkId: string, ex: Exchange, routes: RouteModel): Omit<HopEvent, 't'>[] {
  const hops: Omit<HopEvent, 't'>[] = [];
  const base = { kind: 'hop' as const, check: checkId, requestId: ex.requestId };
  const exp = expectedPaths(ex.spec, routes);
  hops.push({
    ...base,
    index: 0,
    hop: 'client',
    source: 'observed',
    pathIn: `${ex.spec.method} ${ex.spec.path}`,
    status: ex.status,
    ms: Math.round(ex.ms),
    detail: { answeredBy: ex.answer.hop, answer: ex.answer.summary, ...(ex.headers['server'] ? { server: ex.headers['server'] } : {}) },
  });
  if (ex.spec.base === 'vllm-direct') {
    hops.push({ ...base, index: 1, hop: 'provider:vllm', source: ex.headers[SIM_HEADERS.path] ? 'observed' : 'inferred', pathIn: ex.headers[SIM_HEADERS.path] ?? ex.spec.path, status: ex.status, detail: keyDetail(ex.headers) });
    return hops;
  }
  const rec = (hop: HopId) => ex.records.find((r) => r.hop === hop);
  const gw = rec('maas-gateway');
  if (gw) {
    hops.push({ ...base, index: 1, hop: 'maas-gateway', source: 'observed', pathIn: gw.pathIn, ...(gw.pathOut ? { pathOut: gw.pathOut } : {}), status: gw.status, ms: Math.round(gw.ms), detail: gw.detail });
  } else {
    const detail: Record<string, string> = {};
    if (ex.headers['x-request-id']) detail.requestId = ex.headers['x-request-id'];
    if (ex.answer.hop === 'maas-gateway') detail.answered = ex.answer.summary;
    hops.push({ ...base, index: 1, hop: 'maas-gateway', source: 'inferred', pathIn: ex.spec.path, pathOut: exp.gatewayOut, status: ex.status, detail: { ...detail, note: 'path from the route rules' } });
  }
  if (ex.spec.route === 'bridge') {
    const eg = rec('egress-gateway');
    if (eg) {
      hops.push({ ...base, index: 2, hop: 'egress-gateway', source: 'observed', pathIn: eg.pathIn, ...(eg.pathOut ? { pathOut: eg.pathOut } : {}), status: eg.status, ms: Math.round(eg.ms), detail: Object.fromEntries(Object.entries(eg.detail).filter(([k]) => !k.startsWith('provider.'))) });
    } else if (ex.answer.hop !== 'maas-gateway') {
      hops.push({ ...base, index: 2, hop: 'egress-gateway', source: 'inferred', pathIn: exp.gatewayOut, ...(exp.egressOut ? { pathOut: exp.egressOut } : {}), detail: { note: 'path from the route rules', ...(ex.headers['x-envoy-upstream-service-time'] ? { upstreamMs: ex.headers['x-envoy-upstream-service-time'] } : {}) } });
    }
    if (ex.headers[SIM_HEADERS.provider] || ex.headers[SIM_HEADERS.path]) {
      hops.push({ ...base, index: 3, hop: `provider:${ex.headers[SIM_HEADERS.provider] ?? ex.spec.provider ?? 'unknown'}`, source: 'observed', pathIn: ex.headers[SIM_HEADERS.path] ?? '', status: ex.status, detail: keyDetail(ex.headers) });
    }
  } else if (ex.spec.route === 'onprem') {
    if (ex.headers[INFERENCE_HEADERS.pod] || ex.headers[SIM_HEADERS.path]) {
      hops.push({ ...base, index: 2, hop: 'onprem', source: 'observed', pathIn: ex.headers[SIM_HEADERS.path] ?? exp.gatewayOut, status: ex.status, detail: { pod: ex.headers[INFERENCE_HEADERS.pod] ?? '', namespace: ex.headers[INFERENCE_HEADERS.namespace] ?? '' } });
    }
  } else if (ex.spec.route === 'maas-api') {
    const api = rec('maas-api');
    if (api) hops.push({ ...base, index: 2, hop: 'maas-api', source: 'observed', pathIn: api.pathIn, status: api.status, ms: Math.round(api.ms), detail: api.detail });
  }
  return hops;
}

function keyDetail(h: Headers): Record<string, string> {
  const d: Record<string, string> = {};
  if (h[SIM_HEADERS.keyStatus]) d.key = h[SIM_HEADERS.keyStatus]!;
  if (h[SIM_HEADERS.keyFingerprint]) d.keyFp = h[SIM_HEADERS.keyFingerprint]!;
  if (h[SIM_HEADERS.authorization]) d.authorization = h[SIM_HEADERS.authorization]!;
  return d;
}

const UPSTREAM_FAILURES = new Set<Answer['kind']>(['upstream-connect-failure', 'no-healthy-upstream', 'upstream-reset', 'upstream-timeout']);

export interface Attribution {
  hop: HopId;
  reason: string;
}

/**
 * The first hop whose evidence differs from what the route rules say it should be. Observed hop
 * records are used where they exist; otherwise the answer's fingerprint and the provider's echo.
 */
export function attribute(ex: Exchange, target: TargetSession): Attribution | undefined {
  const { spec, answer } = ex;
  if (ex.error) return { hop: spec.base === 'vllm-direct' ? 'provider:vllm' : 'maas-gateway', reason: ex.error };
  const provider = spec.provider ? target.cfg.providers.find((p) => p.name === spec.provider) : undefined;
  const exp = expectedPaths(spec, { bridges: [], egress: [], onprem: [] });
  const gw = ex.records.find((r) => r.hop === 'maas-gateway');
  const eg = ex.records.find((r) => r.hop === 'egress-gateway');
  // The MaaS gateway's own 503/504 for its upstream (UF/UH/UC/UT) blames the hop behind it, which is
  // down or unreachable: the egress gateway on a bridge route, the model on the on-prem route, maas-api.
  if (answer.hop === 'maas-gateway' && UPSTREAM_FAILURES.has(answer.kind)) {
    const behind = gw?.detail.upstream ?? (spec.route === 'bridge' ? 'egress' : spec.route);
    const hop: HopId | undefined = behind === 'egress' ? 'egress-gateway' : behind === 'onprem' ? 'onprem' : behind === 'maas-api' ? 'maas-api' : undefined;
    if (hop) return { hop, reason: `${hop} down or unreachable: the MaaS gateway could not get an answer from it (${answer.summary.replace(/^maas-gateway /, '')})` };
  }
  if (answer.hop === 'maas-gateway' && answer.kind !== 'route-not-found') return { hop: 'maas-gateway', reason: answer.summary };
  if (spec.route === 'bridge' && provider) {
    const simPath = ex.headers[SIM_HEADERS.path];
    if (gw && gw.pathOut !== undefined && gw.pathOut !== exp.gatewayOut) {
      return { hop: 'maas-gateway', reason: `bridge sent ${gw.pathOut} to the egress gateway; the route rules say ${exp.gatewayOut}` };
    }
    if (gw && provider.keyHeader !== 'authorization') {
      const injected = gw.detail.keyInjected ?? '';
      if (injected === 'none') return { hop: 'maas-gateway', reason: 'the bridge policy injected no provider key' };
      if (!injected.toLowerCase().startsWith(provider.keyHeader)) return { hop: 'maas-gateway', reason: `key injected as ${injected.split(':')[0]}, the provider reads ${provider.keyHeader}` };
    }
    if (eg) {
      if (eg.status === 404 && eg.answeredBy === 'self') return { hop: 'egress-gateway', reason: `no egress route matched ${eg.pathIn}` };
      if (eg.answeredBy === 'self' && (eg.status === 503 || eg.status === 504)) return { hop: `provider:${provider.name}`, reason: `backend unreachable (${eg.detail.flags ?? eg.status}: ${eg.detail.backend ?? ''})` };
      if (eg.answeredBy === 'self' && eg.status === 500) return { hop: 'egress-gateway', reason: `route backend did not resolve (${eg.detail.reason ?? ''})` };
      if (eg.pathOut !== undefined && exp.egressOut !== undefined && eg.pathOut.split('?')[0] !== exp.egressOut) {
        return { hop: 'egress-gateway', reason: `egress sent ${eg.pathOut} to the provider; the route rules say ${exp.egressOut}` };
      }
    } else if (answer.kind === 'route-not-found' || answer.kind === 'direct-response-500') {
      return { hop: answer.hop, reason: answer.summary };
    } else if (answer.kind === 'upstream-connect-failure' || answer.kind === 'no-healthy-upstream') {
      return { hop: `provider:${provider.name}`, reason: answer.summary };
    } else if (simPath !== undefined && simPath.split('?')[0] !== exp.egressOut) {
      const hop: HopId = simPath.startsWith('/external/') ? 'maas-gateway' : 'egress-gateway';
      return { hop, reason: `the provider received ${simPath}; the route rules say ${exp.egressOut}` };
    }
    const keyStatus = ex.headers[SIM_HEADERS.keyStatus];
    if (keyStatus === 'missing') return { hop: 'maas-gateway', reason: `the provider got no key in ${provider.keyHeader}` };
    if (keyStatus === 'invalid') {
      const fp = ex.headers[SIM_HEADERS.keyFingerprint];
      const twice = timesReceived(ex.headers[SIM_HEADERS.headerNames], provider.keyHeader) > 1;
      if (twice) return { hop: 'maas-gateway', reason: `the provider received ${provider.keyHeader} twice and read the first (fingerprint ${fp ?? '?'}, not the key ${provider.key.fingerprint}): the gateway appended the key instead of replacing the MaaS token (wasm-shim v0.12.0)` };
      return { hop: 'maas-gateway', reason: `the provider rejected the injected key (fingerprint ${fp ?? '?'}, expected ${provider.key.fingerprint})` };
    }
    if (provider.keyHeader !== 'authorization' && ex.headers[SIM_HEADERS.authorization] === 'jwt') {
      return { hop: 'maas-gateway', reason: "the user's MaaS token reached the provider (Authorization not removed by the bridge)" };
    }
    if (answer.kind === 'provider-not-found') return { hop: answer.hop, reason: answer.summary };
  }
  if (answer.kind === 'route-not-found') return { hop: answer.hop, reason: answer.summary };
  if (answer.kind === 'upstream-connect-failure' || answer.kind === 'no-healthy-upstream') return { hop: spec.route === 'onprem' ? 'onprem' : answer.hop, reason: answer.summary };
  return undefined;
}

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
      return { outcome: 'pass', actual: `HTTP ${ex.status} from ${ex.headers.server ?? 'the gateway'} over verified TLS` };
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
      if (typeof tokens === 'number' && call.id === '4') ctx.usage4 = tokens;
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
  const exchanges: Exchange[] = [];
  for (const spec of call.requests) {
    const ex = await send(ctx, spec, signal);
    exchanges.push(ex);
    for (const hop of traceOf(`call-${call.id}`, ex, ctx.routes)) yield hop;
  }
  const v = judge(call, exchanges, ctx);
  yield { ...base, outcome: v.outcome, actual: v.actual, ...(v.message ? { message: v.message } : {}), ...(v.hop ? { hop: v.hop } : {}), ms: Math.round(performance.now() - t0), ...(v.data ? { data: v.data } : {}) };
}

async function* runRateLimit(call: CallDef, base: Omit<CheckEvent, 't' | 'outcome' | 'ms'>, ctx: RunContext, signal: AbortSignal, t0: number): AsyncGenerator<EventInput> {
  const max = call.expect.name === 'RATE_LIMITED_AFTER' ? call.expect.max : 16;
  const id = ctx.token ? identityOf(ctx.token) : undefined;
  const before = id ? await ctx.target.budget(id.userid, id.tier) : undefined;
  // Call 10 repeats call 4's kind of request; its usage is the best estimate of what each one costs.
  const sample = ctx.usage4 ?? (ctx.usage.length ? ctx.usage.reduce((a, b) => a + b, 0) / ctx.usage.length : 15);
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
  const message = bad
    ? `request ${statuses.length} answered ${bad.answer.summary}`
    : `${max} requests and no 429: the token budget is never enforced (policy missing, or tokens never counted)`;
  yield { ...base, outcome: 'fail', actual: summary, message, hop: att?.hop ?? 'maas-gateway', ms, data };
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
  if (needsToken && !calls.some((c) => c.id === '2')) {
    // The token is a prerequisite, not a result: mint it quietly when call 2 was not selected.
    const mint = validationCalls(target.cfg, target.providers()).find((c) => c.id === '2')!;
    const ex = await send(ctx, mint.requests[0]!, signal);
    const v = judge(mint, [ex], ctx);
    if (v.outcome !== 'pass') yield { kind: 'log', level: 'warn', message: `could not mint a MaaS token: ${v.actual}` };
    ordered = calls;
  }
  for (const call of ordered) {
    if (signal.aborted) return;
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
    facts: { passed, failed, skipped, ...(ctx.token ? { token: ctx.token.masked } : {}) },
  };
}

export { mask, fingerprint };
