/**
 * One traced request through a subscription-era install, as validate and doctor send it: a request id,
 * the credential (the cluster user's token, an API key, none, a literal bogus key), the answer, who
 * gave it, the records every hop kept for that id, and the first hop whose evidence differs from what
 * the era's design says — maas-gateway (routes, auth, limits, TLS origination), maas-api (its
 * callbacks and listings), payload processing (key injection, translation), or the provider.
 */
import { randomUUID } from 'node:crypto';
import type { HopEvent, HopId } from '../../core/events.js';
import { Secret } from '../../core/secret.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { INFERENCE_GROUP_VERSION, MAAS_GROUP_VERSION, readInferenceExternalModel, readLegacyExternalModel, readSubscription } from '../../model/subscription-read.js';
import type { ProviderRoute } from '../../model/subscription.js';
import { SIM_HEADERS, timesReceived } from '../../sim/headers.js';
import type { TargetSession } from '../../targets/target.js';
import { type Answer, classify } from '../fingerprint.js';
import { exchangeJson, type ExchangeResult } from '../probe.js';

/** One model of a subscription, as a client and the checks see it. */
export interface EraModel {
  /** The id /v1/models lists and a body-routed request names. */
  id: string;
  /** The MaaSModelRef, `ns/name`. */
  ref: string;
  /** The ExternalModel behind it. */
  externalModel: string;
  namespace: string;
  /** Where it goes: provider API, endpoint, port, TLS. */
  route?: ProviderRoute;
  /** The configured provider whose simulator answers for it (x-sim-provider), when one does. */
  provider?: string;
  /** The MaaSModelRef is Ready and its ExternalModel known: requests for it should get through. */
  routable: boolean;
}

export interface EraContext {
  session: TargetSession;
  /** The subscription validate and doctor mint their key for (`MAAS_SUBSCRIPTION`). */
  subscription: string;
  /** The objects as the cluster serves them (statuses included). */
  objects: K8sObject[];
  key?: Secret;
  keyId?: string;
  /** The models of `subscription`, in its order. */
  models: EraModel[];
  /** Ids of the Ready models a MaaSAuthPolicy grants the user: the demo's subscription is meant to cover them all. */
  granted: string[];
  /** Another subscription the user owns, and a key bound to it (its models' budgets are its own). */
  other?: { name: string; models: EraModel[]; key?: Secret; keyId?: string };
}

export type Credential = 'cluster' | 'none' | Secret | { literal: string };

export interface EraRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  credential: Credential;
  body?: unknown;
  headers?: Record<string, string>;
  /** The provider meant to answer (configured name), for fingerprints and attribution. */
  provider?: string;
}

export interface EraExchange extends ExchangeResult {
  req: EraRequest;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** The models of a subscription, as its MaaSModelRefs and ExternalModels say. */
export function subscriptionModels(objects: readonly K8sObject[], subscription: string, session: TargetSession): EraModel[] {
  const sub = objects.find((o) => o.apiVersion === MAAS_GROUP_VERSION && o.kind === 'MaaSSubscription' && o.metadata.name === subscription);
  if (!sub) return [];
  const providers = objects.filter((o) => o.kind === 'ExternalProvider');
  return readSubscription(sub).modelRefs.map((r) => {
    const ref = objects.find((o) => o.kind === 'MaaSModelRef' && o.metadata.name === r.name && (o.metadata.namespace ?? '') === r.namespace);
    const target = String(rec(rec(ref?.spec).modelRef).name ?? r.name);
    const em =
      objects.find((o) => o.apiVersion === INFERENCE_GROUP_VERSION && o.kind === 'ExternalModel' && o.metadata.name === target && o.metadata.namespace === r.namespace) ??
      objects.find((o) => o.apiVersion === MAAS_GROUP_VERSION && o.kind === 'ExternalModel' && o.metadata.name === target && o.metadata.namespace === r.namespace);
    const route = em ? (em.apiVersion === INFERENCE_GROUP_VERSION ? readInferenceExternalModel(em, providers) : readLegacyExternalModel(em)).routes[0] : undefined;
    const provider = route ? session.cfg.providers.find((p) => p.model === route.targetModel)?.name ?? session.cfg.providers.find((p) => p.name === route.provider)?.name : undefined;
    const routable = Boolean(route) && (ref?.status as { phase?: string } | undefined)?.phase === 'Ready';
    return { id: target, ref: `${r.namespace}/${r.name}`, externalModel: target, namespace: r.namespace, ...(route ? { route } : {}), ...(provider ? { provider } : {}), routable };
  });
}

/** Ready models (listing ids) a MaaSAuthPolicy grants this user. */
export function grantedModels(objects: readonly K8sObject[], user: { name: string; groups: string[] }): string[] {
  const refs = objects
    .filter((o) => o.kind === 'MaaSAuthPolicy')
    .filter((p) => {
      const s = rec(rec(p.spec).subjects);
      return ((s.users as string[] | undefined) ?? []).includes(user.name) || ((s.groups as { name: string }[] | undefined) ?? []).some((g) => user.groups.includes(g.name));
    })
    .flatMap((p) => ((rec(p.spec).modelRefs as { name: string; namespace: string }[] | undefined) ?? []).map((r) => `${r.namespace}/${r.name}`));
  return objects
    .filter((o) => o.kind === 'MaaSModelRef' && rec(o.status).phase === 'Ready' && refs.includes(`${o.metadata.namespace ?? ''}/${o.metadata.name}`))
    .map((o) => String(rec(rec(o.spec).modelRef).name ?? o.metadata.name));
}

/** The objects of the install, with statuses, as plain objects. */
export async function readObjects(session: TargetSession): Promise<K8sObject[]> {
  const src = session.objects();
  const kinds: [string, string][] = [
    ['v1', 'Secret'],
    ['v1', 'ConfigMap'],
    [MAAS_GROUP_VERSION, 'ExternalModel'],
    [INFERENCE_GROUP_VERSION, 'ExternalModel'],
    [INFERENCE_GROUP_VERSION, 'ExternalProvider'],
    [MAAS_GROUP_VERSION, 'MaaSModelRef'],
    [MAAS_GROUP_VERSION, 'MaaSAuthPolicy'],
    [MAAS_GROUP_VERSION, 'MaaSSubscription'],
  ];
  return (await Promise.all(kinds.map(([v, k]) => src.list(v, k)))).flat();
}

export async function eraSend(ctx: Pick<EraContext, 'session'>, req: EraRequest, signal?: AbortSignal): Promise<EraExchange> {
  const requestId = randomUUID();
  const start = performance.now();
  const ep = await ctx.session.endpoint();
  const headers: Record<string, string> = { 'x-request-id': requestId, ...(req.headers ?? {}) };
  const c = req.credential;
  if (c === 'cluster') headers.authorization = `Bearer ${(await ctx.session.clusterToken()).reveal()}`;
  else if (c instanceof Secret) headers.authorization = `Bearer ${c.reveal()}`;
  else if (typeof c === 'object') headers.authorization = `Bearer ${c.literal}`;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const got = await exchangeJson(`${ep.baseUrl}${req.path}`, { method: req.method, headers, dispatcher: ep.dispatcher, body: req.body, signal });
  const { status, headers: resHeaders, body } = got;
  let error: string | undefined;
  if ('failure' in got) {
    const e = got.failure as { cause?: { message?: string }; message?: string };
    error = e.cause?.message ?? e.message ?? String(got.failure);
  }
  const ms = performance.now() - start;
  const answer: Answer = error ? { kind: 'unknown', hop: 'maas-gateway', status: 0, summary: `no response: ${error}` } : classify(status, resHeaders, body, { ...(req.provider ? { provider: req.provider } : {}), viaEgress: false });
  const records = await ctx.session.hopRecords(requestId);
  return { req, requestId, status, headers: resHeaders, body, ms, answer, records, ...(error ? { error } : {}) };
}

/** The JSON of a body, or undefined. */
export function json(text: string): Obj | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
  } catch {
    return undefined;
  }
}

/** Usage of a completion, JSON or SSE (the last chunk that carries one). */
export function usageOf(ex: EraExchange): number | undefined {
  if ((ex.headers['content-type'] ?? '').includes('text/event-stream')) {
    let found: number | undefined;
    for (const line of ex.body.split('\n')) {
      if (!line.startsWith('data:') || line.includes('[DONE]')) continue;
      const t = rec(rec(json(line.slice(5).trim())).usage).total_tokens;
      if (typeof t === 'number') found = t;
    }
    return found;
  }
  const t = rec(rec(json(ex.body)).usage).total_tokens;
  return typeof t === 'number' ? t : undefined;
}

/** Is the answer an OpenAI chat completion (or, streamed, chunks ending with [DONE])? */
export function openaiShape(ex: EraExchange): boolean {
  if ((ex.headers['content-type'] ?? '').includes('text/event-stream')) {
    const chunks = ex.body.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim());
    return chunks.at(-1) === '[DONE]' && chunks.slice(0, -1).every((c) => rec(json(c)).object === 'chat.completion.chunk');
  }
  const j = json(ex.body);
  const msg = rec(rec((Array.isArray(j?.choices) ? j.choices : [])[0]).message);
  return j?.object === 'chat.completion' && typeof msg.content === 'string' && typeof rec(j.usage).total_tokens === 'number';
}

/** Per-hop trace of one exchange: client, maas-gateway, maas-api's callbacks, payload processing, the provider. */
export function eraTrace(checkId: string, ex: EraExchange): Omit<HopEvent, 't'>[] {
  const base = { kind: 'hop' as const, check: checkId, requestId: ex.requestId };
  const hops: Omit<HopEvent, 't'>[] = [
    { ...base, index: 0, hop: 'client', source: 'observed', pathIn: `${ex.req.method} ${ex.req.path}`, status: ex.status, ms: Math.round(ex.ms), detail: { answeredBy: ex.answer.hop, answer: ex.answer.summary, ...(ex.headers.server ? { server: ex.headers.server } : {}) } },
  ];
  const gw = ex.records.find((r) => r.hop === 'maas-gateway');
  if (gw) hops.push({ ...base, index: hops.length, hop: 'maas-gateway', source: 'observed', pathIn: gw.pathIn, ...(gw.pathOut ? { pathOut: gw.pathOut } : {}), status: gw.status, ms: Math.round(gw.ms), detail: gw.detail });
  for (const api of ex.records.filter((r) => r.hop === 'maas-api')) {
    hops.push({ ...base, index: hops.length, hop: 'maas-api', source: 'observed', pathIn: `${api.method} ${api.pathIn}`, status: api.status, ms: Math.round(api.ms), detail: api.detail });
  }
  const pp = ex.records.filter((r) => r.hop === 'payload-processing');
  if (pp.length) {
    const detail: Record<string, string> = {};
    for (const r of pp) for (const [k, v] of Object.entries(r.detail)) detail[`${r.detail.stage ?? ''}${r.detail.phase ? `/${r.detail.phase}` : ''}.${k}`.replace(/^\./, '')] = v;
    const main = pp.find((r) => r.detail.stage === 'main' && !r.detail.phase);
    hops.push({ ...base, index: hops.length, hop: 'payload-processing', source: 'observed', pathIn: pp[0]!.pathIn, ...(main?.pathOut ? { pathOut: main.pathOut } : {}), ...(main && main.status >= 300 ? { status: main.status } : {}), detail });
  }
  if (ex.headers[SIM_HEADERS.provider] || ex.headers[SIM_HEADERS.path]) {
    const d: Record<string, string> = {};
    if (ex.headers[SIM_HEADERS.keyStatus]) d.key = ex.headers[SIM_HEADERS.keyStatus]!;
    if (ex.headers[SIM_HEADERS.keyFingerprint]) d.keyFp = ex.headers[SIM_HEADERS.keyFingerprint]!;
    if (ex.headers[SIM_HEADERS.authorization]) d.authorization = ex.headers[SIM_HEADERS.authorization]!;
    const names = (ex.headers[SIM_HEADERS.headerNames] ?? '').split(',').filter((n) => /^(x-api-key|anthropic-version|authorization|x-maas-)/.test(n));
    if (names.length) d.received = [...new Set(names)].join(',');
    hops.push({ ...base, index: hops.length, hop: `provider:${ex.headers[SIM_HEADERS.provider] ?? ex.req.provider ?? 'unknown'}`, source: 'observed', pathIn: ex.headers[SIM_HEADERS.path] ?? '', status: ex.status, detail: d });
  }
  return hops;
}

export interface Attribution {
  hop: HopId;
  reason: string;
}

/** The first hop whose evidence differs from what the era's design says it should be. */
export function eraAttribute(ex: EraExchange): Attribution | undefined {
  if (ex.error) return { hop: 'maas-gateway', reason: ex.error };
  const gw = ex.records.find((r) => r.hop === 'maas-gateway');
  const select = ex.records.find((r) => r.hop === 'maas-api' && r.detail.route === 'select');
  const providerHop: HopId = `provider:${ex.headers[SIM_HEADERS.provider] ?? ex.req.provider ?? 'unknown'}`;
  const a = ex.answer;
  if (a.kind === 'auth-401') return { hop: 'maas-gateway', reason: a.summary };
  if (a.kind === 'authz-403') {
    // The selection is maas-api's decision; the gateway only enforces it.
    if (select && (select.detail.error || select.detail.accessAllowed === 'false')) return { hop: 'maas-api', reason: `maas-api's subscription selection: ${select.detail.error ?? 'access not allowed'} (${ex.headers['x-ext-auth-reason'] ?? ''})` };
    return { hop: 'maas-gateway', reason: a.summary };
  }
  if (a.kind === 'rate-limited') return { hop: 'maas-gateway', reason: `${a.summary}${gw?.detail.budget ? `: ${gw.detail.budget}` : ''}` };
  if (a.kind === 'route-not-found') return { hop: 'maas-gateway', reason: `${a.summary}${gw?.detail.modelHeader ? ` for X-Gateway-Model-Name ${gw.detail.modelHeader}` : ''}` };
  if (ex.status >= 500 && gw?.answeredBy === 'self') {
    if (gw.detail.tls) return { hop: 'maas-gateway', reason: `TLS origination to ${gw.detail.upstream ?? 'the provider'} failed: ${gw.detail.tls}` };
    if (gw.detail.flags === 'UC') return { hop: 'maas-gateway', reason: `the provider closed the connection (UC) at ${gw.detail.upstream ?? ''}: a plain-HTTP request to a TLS port?` };
    if (gw.detail.flags === 'UH') return { hop: 'maas-gateway', reason: `the provider's endpoint does not resolve (UH) at ${gw.detail.upstream ?? ''}` };
    if (gw.detail.flags === 'UF' || gw.detail.flags === 'UT') return { hop: providerHop, reason: `the provider did not answer (${gw.detail.flags}) at ${gw.detail.upstream ?? ''}` };
    if (gw.detail.ipp?.startsWith('failed')) return { hop: 'payload-processing', reason: gw.detail.ipp };
    if (gw.detail.ipp?.startsWith('answered')) return { hop: 'payload-processing', reason: `payload processing answered itself: ${ex.body.slice(0, 160)}` };
    return { hop: 'maas-gateway', reason: gw.detail.reason ?? a.summary };
  }
  if (a.kind === 'provider-invalid-key' || a.kind === 'provider-missing-key' || (ex.headers[SIM_HEADERS.keyStatus] === 'invalid' || ex.headers[SIM_HEADERS.keyStatus] === 'missing')) {
    return { hop: 'payload-processing', reason: `the provider ${ex.headers[SIM_HEADERS.keyStatus] === 'missing' ? 'got no key' : 'rejected the key payload processing injected'} (fingerprint ${ex.headers[SIM_HEADERS.keyFingerprint] ?? '-'})` };
  }
  if (timesReceived(ex.headers[SIM_HEADERS.headerNames], 'x-maas-username') > 0) return { hop: 'payload-processing', reason: 'the identity headers X-MaaS-* reached the provider' };
  if (a.kind === 'provider-not-found' || a.kind === 'provider-error') return { hop: 'payload-processing', reason: `the provider refused what payload processing sent: ${a.summary} ${ex.body.slice(0, 120)}` };
  return undefined;
}
