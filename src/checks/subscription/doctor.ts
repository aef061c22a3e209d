/**
 * doctor for the subscription era, from evidence: each check sends what a user would (an API key of
 * the subscription, a chat per model body- and path-routed, a stream, a bogus key, no credentials,
 * client-sent identity headers), reads what every hop reported for it, and only then looks at the
 * objects to name the one at fault — the Secret payload processing cannot read, the ExternalModel whose
 * TLS setting does not match its endpoint, the MaaSModelRef that is not Ready, the subscription or
 * policy without the model, the plugin ConfigMap with response translation, the stream-usage enforcer
 * or the headers guard left out. Each fix is a patch of that object.
 */
import { parse, stringify } from 'yaml';
import type { HopId } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { INFERENCE_GROUP_VERSION, MAAS_GROUP_VERSION, readPluginsConfig, readProviderSecret } from '../../model/subscription-read.js';
import { IPP_MANAGED_LABEL, PLUGINS_CONFIGMAP, PLUGINS_MAIN_KEY, PORT_ANNOTATION, PROVIDER_SECRET_KEY, TLS_ANNOTATION } from '../../model/subscription.js';
import { SIM_HEADERS } from '../../sim/headers.js';
import { eraProviders } from '../../generations/subscription/providers.js';
import type { Category, Finding } from '../doctor/types.js';
import { type EraContext, type EraExchange, type EraModel, eraAttribute, eraSend, json, openaiShape, usageOf } from './exchange.js';

/** A fix as an object patch: the reviewable change and the objects as they should be. */
export interface EraFix {
  summary: string;
  patch: string;
  apply: K8sObject[];
}

export type EraFinding = Omit<Finding, 'fix'> & { fix?: EraFix; exchange?: EraExchange };

export interface EraDoctorContext extends EraContext {
  /** One body-routed chat per model (max_tokens 1), sent once and shared. */
  chat(m: EraModel): Promise<EraExchange | undefined>;
  pathChat(m: EraModel): Promise<EraExchange | undefined>;
  /** A stream without include_usage, with the counter before and after. */
  stream(m: EraModel): Promise<{ ex: EraExchange; before?: number; after?: number; limitKey: string } | undefined>;
  /** Requests doctor spent against a budget. */
  spent: number;
}

export interface EraCheck {
  id: string;
  category: Category;
  title: string;
  severity: 'error' | 'warning';
  hint: string;
  run(ctx: EraDoctorContext): Promise<EraFinding>;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const name = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const find = (ctx: EraContext, kind: string, ns: string | undefined, n: string) => ctx.objects.find((o) => o.kind === kind && (ns === undefined || (o.metadata.namespace ?? '') === ns) && o.metadata.name === n);
const externalModel = (ctx: EraContext, m: EraModel) =>
  ctx.objects.find((o) => o.apiVersion === INFERENCE_GROUP_VERSION && o.kind === 'ExternalModel' && o.metadata.name === m.externalModel && o.metadata.namespace === m.namespace) ??
  ctx.objects.find((o) => o.apiVersion === MAAS_GROUP_VERSION && o.kind === 'ExternalModel' && o.metadata.name === m.externalModel && o.metadata.namespace === m.namespace);

/** `kubectl apply` of the corrected object: reviewable, and what `--fix` applies. */
function objectFix(summary: string, fixed: K8sObject[], lines: string[]): EraFix {
  const clean = fixed.map((o) => {
    const { status: _s, ...rest } = o;
    const { creationTimestamp: _c, ...meta } = o.metadata;
    return { ...rest, metadata: meta } as K8sObject;
  });
  // A Secret is printed without its values (a cluster serves them base64-encoded, which no masking recognises):
  // the lines above say what changes in it, and `--fix` applies the whole object.
  const printable = clean.map((o) => {
    if (o.kind !== 'Secret') return o;
    const { data: _d, stringData: _s, ...rest } = o;
    return rest as K8sObject;
  });
  const secrets = clean.some((o) => o.kind === 'Secret') ? ['# (Secret values are not printed; a server-side apply of this keeps them as they are)'] : [];
  return { summary, patch: [...lines, ...secrets, 'kubectl apply --server-side -f - <<EOF', ...printable.map((o) => `---\n${stringify(o, { lineWidth: 0 }).trimEnd()}`), 'EOF'].join('\n'), apply: clean };
}

const copy = <T>(v: T): T => structuredClone(v);

/** A spent budget is the limit working, not a fault: nothing to judge with this probe until it resets. */
function budgetSpent(ex: EraExchange | undefined): EraFinding | undefined {
  if (ex?.status !== 429) return undefined;
  const gw = ex.records.find((r) => r.hop === 'maas-gateway');
  return { outcome: 'warn', expectedWarning: true, hop: 'maas-gateway', message: `the token budget is spent (${gw?.detail.budget ?? 'Limitador 429'}): this probe cannot judge until the window resets`, evidence: [ex.answer.summary] };
}

/**
 * Each routable model's chat through `send` answers 200 in OpenAI's shape: the first that does not is the
 * finding (named by `what`); a spent budget ends the walk with its expected warning.
 */
async function everyModelAnswers(ctx: EraContext, send: (m: EraModel) => Promise<EraExchange | undefined>, what: (m: EraModel) => string): Promise<EraFinding | undefined> {
  for (const m of ctx.models.filter((x) => x.routable)) {
    const ex = await send(m);
    const spent = budgetSpent(ex);
    if (spent) return spent;
    if (ex && (ex.status !== 200 || !openaiShape(ex))) return chatFailure(ctx, m, ex, what(m));
  }
  return undefined;
}

/** The Secret an ExternalModel reads its key from. */
function credentialSecret(ctx: EraContext, m: EraModel): K8sObject | undefined {
  return m.route ? find(ctx, 'Secret', m.route.credentialRef.namespace, m.route.credentialRef.name) : undefined;
}

/** The finding for a chat that failed, named at the object the evidence points to. */
function chatFailure(ctx: EraContext, m: EraModel, ex: EraExchange, what: string): EraFinding {
  const att = eraAttribute(ex);
  return { outcome: 'fail', message: `${m.id}: ${what} answered ${ex.status || 'nothing'} (${att?.reason ?? ex.answer.summary})`, hop: att?.hop ?? ex.answer.hop, evidence: [`${ex.req.method} ${ex.req.path}: ${ex.answer.summary}`, ...ex.records.filter((r) => r.hop === 'maas-gateway').map((r) => `maas-gateway: ${Object.entries(r.detail).map(([k, v]) => `${k}=${v}`).join(', ')}`)] };
}

/** A chat the provider answered: its evidence (the simulator's headers, the hop records) is there to judge. */
const reachedProvider = (ex: EraExchange | undefined): boolean => Boolean(ex && (ex.headers[SIM_HEADERS.provider] || ex.headers[SIM_HEADERS.path] || ex.answer.hop.startsWith('provider:')));
/** Why a check that needs a request's evidence cannot judge it (a cluster keeps no per-hop records). */
const noEvidence = (what: string, ex: EraExchange | undefined): EraFinding => ({
  outcome: 'skip',
  message: `${what}: no request reached a provider (${ex ? ex.answer.summary : 'no API key, so no chat was sent'})${ex && !ex.records.length ? ', and this target keeps no per-hop record to look at instead' : ''}`,
});

const pluginsMap = (ctx: EraContext) => ctx.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === PLUGINS_CONFIGMAP);

/** The ConfigMap with a request plugin put back in its place in the chain (or response translation on). */
function pluginsFix(ctx: EraContext, change: 'response' | 'maas-headers-guard' | 'stream-usage-enforcer'): EraFix | undefined {
  const cm = pluginsMap(ctx);
  const text = rec(cm?.data)[PLUGINS_MAIN_KEY];
  if (!cm || typeof text !== 'string') return undefined;
  const cfg = rec(parse(text));
  const profile = rec((cfg.profiles as unknown[] | undefined)?.[0]);
  const chain = rec(profile.plugins);
  if (change === 'response') chain.response = [{ pluginRef: 'api-translation' }];
  else {
    const order = ['maas-headers-guard', 'stream-usage-enforcer', 'model-provider-resolver', 'api-translation', 'apikey-injection'];
    const req = ((chain.request as { pluginRef: string }[] | undefined) ?? []).filter((p) => p.pluginRef !== change);
    req.splice(Math.min(order.indexOf(change), req.length), 0, { pluginRef: change });
    chain.request = req;
    const plugins = (cfg.plugins as Obj[] | undefined) ?? [];
    if (!plugins.some((p) => p.type === change || p.name === change)) plugins.push({ type: change });
    cfg.plugins = plugins;
  }
  const fixed = copy(cm);
  fixed.data = { ...rec(cm.data), [PLUGINS_MAIN_KEY]: stringify(cfg) };
  const field = change === 'response' ? 'profiles[0].plugins.response' : 'profiles[0].plugins.request';
  return objectFix(change === 'response' ? 'turn response translation on in payload processing' : `put ${change} back into payload processing's request chain`, [fixed], [`# ${name(cm)} data["${PLUGINS_MAIN_KEY}"] ${field}`, 'kubectl rollout restart deployment/payload-processing -n ' + (cm.metadata.namespace ?? 'openshift-ingress') + '   # after the edit, as upstream says']);
}


export const ERA_CHECKS: EraCheck[] = [
  // ------------------------------------------------------------------ install
  {
    id: 'sub-platform-running',
    category: 'install',
    title: 'PostgreSQL, maas-api, payload processing, the MaaS gateway and the provider simulators run',
    severity: 'error',
    hint: 'README.md#doctor-subscription-install',
    run: async (ctx) => {
      const facts = await ctx.session.installFacts();
      const down = facts.filter((f) => !f.ok);
      if (!down.length) return { outcome: 'pass', message: `${facts.length} processes answer` };
      const f = down[0]!;
      return { outcome: 'fail', hop: f.hop ?? 'maas-gateway', message: `${down.map((d) => d.name).join(', ')} not running: ${f.detail}`, evidence: down.map((d) => `${d.name}: ${d.detail}`), fix: { summary: 'start the stopped processes again', patch: f.hint ?? 'demo up', apply: [] } };
    },
  },
  {
    id: 'sub-database-ready',
    category: 'install',
    title: 'maas-api reaches its PostgreSQL: the key configuration answers and a key can be minted',
    severity: 'error',
    hint: 'README.md#doctor-subscription-install',
    run: async (ctx) => {
      const ex = await eraSend(ctx, { method: 'GET', path: '/maas-api/v1/api-keys/config', credential: 'cluster' });
      if (ex.status !== 200) return { outcome: 'fail', hop: ex.answer.hop === 'maas-gateway' ? 'maas-gateway' : 'maas-api', message: `GET /maas-api/v1/api-keys/config → ${ex.answer.summary}`, evidence: [ex.body.slice(0, 200)] };
      if (!ctx.key) return { outcome: 'fail', hop: 'maas-api', message: `no API key could be minted for ${ctx.subscription}`, evidence: ['POST /maas-api/v1/api-keys did not answer 201 (see the install facts and maas-api\'s log)'] };
      return { outcome: 'pass', message: `config ${ex.body.trim()}; a key for ${ctx.subscription} was minted` };
    },
  },
  {
    id: 'sub-modelrefs-ready',
    category: 'install',
    title: 'every MaaSModelRef is Ready with an endpoint (and so listed and routable)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-install',
    run: async (ctx) => {
      const refs = ctx.objects.filter((o) => o.kind === 'MaaSModelRef');
      const bad = refs.filter((o) => rec(o.status).phase !== 'Ready' && rec((rec(o.status).conditions as Obj[] | undefined)?.find((c) => rec(c).type === 'Ready')).reason !== 'ModelIdentityConflict');
      if (!bad.length) return { outcome: 'pass', message: `${refs.length} Ready` };
      const o = bad[0]!;
      const ready = rec(((rec(o.status).conditions as unknown[] | undefined) ?? []).map(rec).find((c) => c.type === 'Ready'));
      const target = String(rec(rec(o.spec).modelRef).name ?? '');
      const existing = ctx.objects.filter((x) => x.kind === 'ExternalModel' && x.metadata.namespace === o.metadata.namespace).map((x) => x.metadata.name);
      const closest = existing.find((n) => target.startsWith(n) || n.startsWith(target)) ?? existing.find((n) => !refs.some((r) => r !== o && rec(rec(r.spec).modelRef).name === n));
      const listing = ctx.key ? await eraSend(ctx, { method: 'GET', path: '/v1/models', credential: 'cluster' }) : undefined;
      const listed = ((json(listing?.body ?? '')?.data as { id: string }[] | undefined) ?? []).map((m) => m.id);
      const notFound = ready.reason === 'BackendNotFound';
      const fixed = copy(o);
      if (notFound && closest) rec(rec(fixed.spec).modelRef).name = closest;
      return {
        outcome: 'fail',
        hop: 'maas-api',
        object: name(o),
        field: notFound ? 'spec.modelRef.name' : 'status.phase',
        message: `${name(o)} is ${String(rec(o.status).phase || 'not reconciled')}: ${String(ready.reason ?? '')} ${String(ready.message ?? '')}; maas-api does not list it and the gateway has no subscription limit for it`,
        evidence: [`phase ${String(rec(o.status).phase)}, Ready=${String(ready.status)} (${String(ready.reason)})`, `GET /v1/models (user token) lists: ${listed.join(', ') || 'nothing'}`],
        ...(notFound && closest ? { fix: objectFix(`point ${name(o)} at the ExternalModel ${closest}`, [fixed], [`# ${name(o)} spec.modelRef.name: ${target} → ${closest}`]) } : {}),
      };
    },
  },
  {
    id: 'sub-model-names-unique',
    category: 'install',
    title: 'no two models claim one model name (ModelIdentityUnique)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-install',
    run: async (ctx) => {
      const conflicted = ctx.objects.filter((o) => o.kind === 'MaaSModelRef' && ((rec(o.status).conditions as unknown[] | undefined) ?? []).map(rec).some((c) => c.type === 'ModelIdentityUnique' && c.status === 'False'));
      if (!conflicted.length) return { outcome: 'pass', message: 'every model name is served by one MaaSModelRef' };
      const o = conflicted[0]!;
      const cond = ((rec(o.status).conditions as unknown[]) ?? []).map(rec).find((c) => c.type === 'ModelIdentityUnique')!;
      const em = ctx.objects.find((x) => x.kind === 'ExternalModel' && x.metadata.name === String(rec(rec(o.spec).modelRef).name) && x.metadata.namespace === o.metadata.namespace);
      // What the endpoint really serves, where the demo knows it (a simulated or configured provider at that endpoint).
      const endpoint = String(rec(em?.spec).endpoint ?? '');
      const served = eraProviders(ctx.session.cfg, { vllm: true }).find((p) => p.endpoint === endpoint && p.targetModel !== String(rec(em?.spec).targetModel))?.targetModel;
      const fixed = em && served ? copy(em) : undefined;
      if (fixed) rec(fixed.spec).targetModel = served;
      return {
        outcome: 'fail',
        hop: 'maas-api',
        object: em ? name(em) : name(o),
        field: em ? 'spec.targetModel' : 'status.conditions',
        message: `${name(o)} failed ModelIdentityUnique: ${String(cond.message ?? '')}; it is not listed, and body-routed requests for that name reach the other model`,
        evidence: [`${name(o)}: phase ${String(rec(o.status).phase)}`, `${em ? `${name(em)} spec.targetModel ${String(rec(em.spec).targetModel)}` : ''}`],
        ...(fixed && em ? { fix: objectFix(`give ${name(em)} the model its endpoint serves`, [fixed], [`# ${name(em)} spec.targetModel: ${String(rec(em.spec).targetModel)} → ${served}`]) } : {}),
      };
    },
  },
  {
    id: 'sub-subscriptions-active',
    category: 'install',
    title: 'every MaaSSubscription and MaaSAuthPolicy is Active (each of its models Ready)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-install',
    run: async (ctx) => {
      const all = ctx.objects.filter((o) => o.kind === 'MaaSSubscription' || o.kind === 'MaaSAuthPolicy');
      const bad = all.filter((o) => rec(o.status).phase !== 'Active');
      if (!bad.length) return { outcome: 'pass', message: all.map((o) => `${o.kind} ${o.metadata.name}: Active`).join('; ') };
      const o = bad[0]!;
      const refs = ((rec(o.spec).modelRefs as { name: string; namespace: string }[] | undefined) ?? []);
      const ready = new Set(ctx.objects.filter((x) => x.kind === 'MaaSModelRef' && rec(x.status).phase === 'Ready').map((x) => `${x.metadata.namespace}/${x.metadata.name}`));
      const missing = refs.filter((r) => !ready.has(`${r.namespace}/${r.name}`)).map((r) => `${r.namespace}/${r.name}`);
      const ex = o.kind === 'MaaSSubscription' ? await eraSend(ctx, { method: 'GET', path: '/v1/subscriptions', credential: 'cluster' }) : undefined;
      const listed = ((ex && ex.status === 200 ? (JSON.parse(ex.body) as { subscription_id_header?: string }[]) : []) ?? []).map((x) => x.subscription_id_header);
      return {
        outcome: 'fail',
        hop: 'maas-api',
        object: name(o),
        field: 'spec.modelRefs',
        message: `${name(o)} is ${String(rec(o.status).phase || 'not reconciled')}: ${refs.length ? `not Ready: ${missing.join(', ') || '(none)'}` : 'it names no model'}${o.kind === 'MaaSSubscription' && !listed.includes(o.metadata.name) ? '; maas-api offers it to nobody (GET /v1/subscriptions)' : ''}`,
        evidence: [`phase ${String(rec(o.status).phase)}`, ...(ex ? [`GET /v1/subscriptions: ${listed.join(', ') || 'none'}`] : [])],
      };
    },
  },
  // ------------------------------------------------------------------ key injection
  {
    id: 'sub-secrets-readable',
    category: 'key-injection',
    title: `payload processing can read each provider Secret (label ${IPP_MANAGED_LABEL}=true, data key ${PROVIDER_SECRET_KEY})`,
    severity: 'error',
    hint: 'README.md#doctor-subscription-key-injection',
    run: async (ctx) => {
      for (const m of ctx.models.filter((x) => x.routable)) {
        const ex = await ctx.chat(m);
        const spent = budgetSpent(ex);
        if (spent) return spent;
        const pp = ex?.records.find((r) => r.hop === 'payload-processing' && r.detail.key?.startsWith('no managed Secret'));
        const s = credentialSecret(ctx, m);
        const read = s ? readProviderSecret(s) : undefined;
        const problem = !s ? 'missing' : !read!.managed ? 'label' : read!.apiKey === undefined ? 'key' : undefined;
        if (!pp && !problem) continue;
        if (!s) return { outcome: 'fail', hop: 'payload-processing', object: `Secret/${m.route?.credentialRef.namespace}/${m.route?.credentialRef.name}`, message: `${m.id}: the Secret its ExternalModel names does not exist`, evidence: [pp?.detail.key ?? '', ex?.answer.summary ?? ''] };
        const fixed = copy(s);
        const lines: string[] = [];
        if (problem === 'label') {
          fixed.metadata.labels = { ...(fixed.metadata.labels ?? {}), [IPP_MANAGED_LABEL]: 'true' };
          lines.push(`kubectl label secret ${s.metadata.name} -n ${s.metadata.namespace} ${IPP_MANAGED_LABEL}=true`);
        } else if (problem === 'key') {
          // A cluster serves the values base64-encoded under data; a file or the local target may give stringData.
          const data: Obj = { ...Object.fromEntries(Object.entries(rec(s.data)).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')])), ...rec(s.stringData) };
          const other = Object.keys(data).find((k) => k !== PROVIDER_SECRET_KEY);
          if (other) {
            fixed.stringData = { [PROVIDER_SECRET_KEY]: data[other] };
            delete fixed.data;
            lines.push(`# ${name(s)}: move the key from data["${other}"] to data["${PROVIDER_SECRET_KEY}"]`);
          }
        }
        return {
          outcome: 'fail',
          hop: 'payload-processing',
          object: name(s),
          field: problem === 'label' ? `metadata.labels["${IPP_MANAGED_LABEL}"]` : `data["${PROVIDER_SECRET_KEY}"]`,
          message: `${m.id}: payload processing cannot read ${name(s)} (${problem === 'label' ? `no label ${IPP_MANAGED_LABEL}=true: its Secret reconciler never sees it` : `no data key ${PROVIDER_SECRET_KEY} (has ${read!.dataKeys.join(', ') || 'none'})`}), so it answers ${ex?.status ?? '?'} without calling the provider`,
          evidence: [`${ex?.req.method} ${ex?.req.path}: ${ex?.answer.summary}`, `payload-processing: ${pp?.detail.key ?? 'no key injected'}`],
          ...(lines.length ? { fix: objectFix(problem === 'label' ? `label ${name(s)} for payload processing` : `put the key under ${PROVIDER_SECRET_KEY}`, [fixed], lines) } : {}),
        };
      }
      const routable = ctx.models.filter((x) => x.routable);
      const injected = await Promise.all(routable.map(async (m) => reachedProvider(await ctx.chat(m))));
      if (routable.length && injected.every(Boolean)) return { outcome: 'pass', message: `${routable.length} Secrets read, a key injected for each model` };
      // The objects are as payload processing needs them; whether it injected a key, no request showed.
      return { outcome: 'pass', message: `${routable.length} Secrets labelled ${IPP_MANAGED_LABEL}=true with data key ${PROVIDER_SECRET_KEY}; ${injected.filter(Boolean).length} of ${routable.length} models showed an injected key (no request reached the others)` };
    },
  },
  {
    id: 'sub-provider-accepts-key',
    category: 'key-injection',
    title: 'each provider accepts the key payload processing injects',
    severity: 'error',
    hint: 'README.md#doctor-subscription-key-injection',
    run: async (ctx) => {
      const seen: string[] = [];
      let last: EraExchange | undefined;
      for (const m of ctx.models.filter((x) => x.routable)) {
        const ex = await ctx.chat(m);
        const spent = budgetSpent(ex);
        if (spent) return spent;
        if (!ex) continue;
        last = ex;
        const status = ex.headers[SIM_HEADERS.keyStatus];
        const rejected = status === 'invalid' || status === 'missing' || ((ex.status === 401 || ex.status === 403) && ex.answer.hop.startsWith('provider:'));
        if (!rejected) {
          if (status === 'ok') seen.push(`${m.id}: ${status}`);
          continue;
        }
        const s = credentialSecret(ctx, m);
        const configured = ctx.session.cfg.providers.find((p) => p.name === m.provider);
        const fixed = s && configured ? copy(s) : undefined;
        if (fixed && configured) fixed.stringData = { ...rec(s!.stringData), [PROVIDER_SECRET_KEY]: configured.key.reveal() };
        return {
          outcome: 'fail',
          hop: 'payload-processing',
          ...(s ? { object: name(s), field: `data["${PROVIDER_SECRET_KEY}"]` } : {}),
          message: `${m.id}: the provider rejected the key payload processing took from ${s ? name(s) : 'its Secret'} (${ex.answer.summary})`,
          evidence: [`provider key status ${status ?? ex.status}, fingerprint ${ex.headers[SIM_HEADERS.keyFingerprint] ?? '-'}${configured ? `; the provider's key has fingerprint ${configured.key.fingerprint}` : ''}`],
          ...(fixed && configured ? { fix: objectFix(`put ${m.provider}'s key into ${name(s!)}`, [fixed], [`# ${name(s!)} data["${PROVIDER_SECRET_KEY}"]: ${configured.key.masked} (the configured key of ${m.provider})`]) } : {}),
        };
      }
      if (!seen.length && !ctx.models.some((m) => m.routable && ctx.key)) return noEvidence('whether the providers accept the injected keys', last);
      if (!seen.length) {
        const answered = await Promise.all(ctx.models.filter((x) => x.routable).map(async (m) => reachedProvider(await ctx.chat(m))));
        if (!answered.some(Boolean)) return noEvidence('whether the providers accept the injected keys', last);
      }
      return { outcome: 'pass', message: seen.length ? seen.join('; ') : 'no provider refused its key' };
    },
  },
  {
    id: 'sub-tls-matches-endpoint',
    category: 'key-injection',
    title: "each ExternalModel's TLS setting matches its endpoint (TLS origination verified, or plain HTTP where it says so)",
    severity: 'error',
    hint: 'README.md#doctor-subscription-key-injection',
    run: async (ctx) => {
      for (const m of ctx.models.filter((x) => x.routable)) {
        const ex = await ctx.chat(m);
        const spent = budgetSpent(ex);
        if (spent) return spent;
        const gw = ex?.records.find((r) => r.hop === 'maas-gateway');
        // Without the gateway's record, only a request that got through says the TLS setting works.
        if (ex && !gw && !reachedProvider(ex)) return noEvidence(`whether ${m.id}'s TLS setting matches its endpoint`, ex);
        if (!ex || !gw || ex.status < 500 || gw.answeredBy !== 'self' || !(gw.detail.tls || gw.detail.flags === 'UC')) continue;
        const em = externalModel(ctx, m);
        if (!em) continue;
        const annotated = em.metadata.annotations?.[TLS_ANNOTATION] === 'false';
        const fixed = copy(em);
        const lines: string[] = [];
        if (gw.detail.tls && /WRONG_VERSION|EPROTO|ERR_SSL/.test(gw.detail.tls)) {
          // TLS origination met a server that speaks plain HTTP.
          fixed.metadata.annotations = { ...(fixed.metadata.annotations ?? {}), [TLS_ANNOTATION]: 'false', [PORT_ANNOTATION]: String(m.route?.port ?? 80) };
          lines.push(`kubectl annotate ${em.kind.toLowerCase()}.${em.apiVersion.split('/')[0]} ${em.metadata.name} -n ${em.metadata.namespace} ${TLS_ANNOTATION}=false --overwrite   # the endpoint speaks plain HTTP: the key then travels in clear`);
        } else if (annotated) {
          const { [TLS_ANNOTATION]: _t, [PORT_ANNOTATION]: _p, ...rest } = fixed.metadata.annotations ?? {};
          fixed.metadata.annotations = rest;
          lines.push(`kubectl annotate ${em.kind.toLowerCase()}.${em.apiVersion.split('/')[0]} ${em.metadata.name} -n ${em.metadata.namespace} ${TLS_ANNOTATION}- ${PORT_ANNOTATION}-   # back to TLS origination on 443`);
        }
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          object: name(em),
          field: `metadata.annotations["${TLS_ANNOTATION}"]`,
          message: annotated
            ? `${m.id}: ${name(em)} says ${TLS_ANNOTATION}: "false", but ${m.route?.endpoint}:${m.route?.port} speaks TLS: the provider closed the plain-HTTP connection (${gw.detail.flags})`
            : lines.length
              ? `${m.id}: TLS origination to ${m.route?.endpoint}:${m.route?.port} failed: ${gw.detail.tls}: the endpoint speaks plain HTTP`
              : `${m.id}: the certificate of ${m.route?.endpoint}:${m.route?.port} did not verify (${gw.detail.tls}): it is not signed by a CA the gateway trusts for that name (a private CA: --provider-ca-file ${m.provider ?? '<name>'}=FILE; on a cluster, the DestinationRule's caCertificates)`,
          evidence: [`maas-gateway: ${gw.detail.upstream ?? ''} → ${ex.status} ${gw.detail.flags ?? ''} ${gw.detail.tls ?? ''}`.trim()],
          ...(lines.length ? { fix: objectFix(annotated ? 'turn TLS origination back on' : 'say that the endpoint is plain HTTP', [fixed], lines) } : {}),
        };
      }
      if (!ctx.key) return noEvidence('whether the TLS settings match the endpoints', undefined);
      return { outcome: 'pass', message: ctx.models.map((m) => `${m.id}: ${m.route?.tls ? 'TLS verified' : 'plain HTTP'}`).join('; ') };
    },
  },
  {
    id: 'sub-keys-not-in-clear',
    category: 'key-injection',
    title: 'no provider key travels in clear (an ExternalModel with tls: "false" and a credentialRef)',
    severity: 'warning',
    hint: 'README.md#doctor-subscription-key-injection',
    run: async (ctx) => {
      const clear = ctx.models.filter((m) => m.route && !m.route.tls && m.route.credentialRef.name);
      if (!clear.length) return { outcome: 'pass', message: 'every model with a key uses TLS origination' };
      const m = clear[0]!;
      const em = externalModel(ctx, m);
      // The demo's own internal vLLM is plain HTTP by design (upstream's own example of tls: "false").
      // So are the simulators the cluster target runs inside the cluster (reached on their Service).
      const inCluster = (x: EraModel) => Boolean(x.route?.endpoint.endsWith('.svc.cluster.local'));
      const byDesign = clear.every((x) => x.route?.endpoint.endsWith('.internal.example.com') || inCluster(x));
      return {
        outcome: 'fail',
        hop: 'maas-gateway',
        ...(em ? { object: name(em), field: `metadata.annotations["${TLS_ANNOTATION}"]` } : {}),
        message: `${clear.map((x) => `${x.id} (http://${x.route?.endpoint}:${x.route?.port})`).join(', ')}: the provider key is sent in clear between the gateway and the endpoint`,
        evidence: ['upstream warns: only on a trusted, isolated network', ...(clear.some(inCluster) ? ["the demo's provider simulators run in the cluster over plain HTTP: their keys travel in clear inside the cluster, never outside it"] : [])],
        ...(byDesign ? { expectedWarning: true } : {}),
      };
    },
  },
  // ------------------------------------------------------------------ routing
  {
    id: 'sub-body-routing',
    category: 'routing',
    title: 'a body-routed POST /v1/chat/completions reaches every model of the subscription',
    severity: 'error',
    hint: 'README.md#doctor-subscription-routing',
    run: async (ctx) => {
      if (!ctx.key) return { outcome: 'skip', message: 'no API key' };
      const failed = await everyModelAnswers(ctx, (m) => ctx.chat(m), () => 'POST /v1/chat/completions');
      return failed ?? { outcome: 'pass', message: `${ctx.models.filter((m) => m.routable).map((m) => m.id).join(', ')}: 200` };
    },
  },
  {
    id: 'sub-path-routing',
    category: 'routing',
    title: 'the legacy path route /<ns>/<name>/v1/chat/completions reaches every model',
    severity: 'error',
    hint: 'README.md#doctor-subscription-routing',
    run: async (ctx) => {
      if (!ctx.key) return { outcome: 'skip', message: 'no API key' };
      const failed = await everyModelAnswers(ctx, (m) => ctx.pathChat(m), (m) => `POST /${m.namespace}/${m.externalModel}/v1/chat/completions`);
      return failed ?? { outcome: 'pass', message: `${ctx.models.filter((m) => m.routable).map((m) => `/${m.namespace}/${m.externalModel}`).join(', ')}: 200` };
    },
  },
  {
    id: 'sub-anthropic-translated',
    category: 'routing',
    title: 'an Anthropic model answers an OpenAI client in OpenAI shape (response translation on)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-routing',
    run: async (ctx) => {
      const m = ctx.models.find((x) => x.routable && x.route?.provider === 'anthropic');
      if (!m) return { outcome: 'skip', message: 'no Anthropic model in the subscription' };
      const ex = await ctx.chat(m);
      const spent = budgetSpent(ex);
      if (spent) return spent;
      if (!ex || ex.status !== 200) return { outcome: 'skip', message: `the chat did not get through (${ex?.answer.summary ?? 'no answer'}): see the other checks` };
      if (openaiShape(ex)) return { outcome: 'pass', message: `${m.id}: chat.completion (translated from Messages)` };
      const cm = pluginsMap(ctx);
      const plugins = cm ? readPluginsConfig(cm) : {};
      const fix = pluginsFix(ctx, 'response');
      return {
        outcome: 'fail',
        hop: 'payload-processing',
        ...(cm ? { object: name(cm), field: `data["${PLUGINS_MAIN_KEY}"] profiles[0].plugins.response` } : {}),
        message: `${m.id}: the client got Anthropic's Messages shape (${String(json(ex.body)?.type ?? 'unknown')}), not a chat completion: response translation is ${plugins.responseTranslation ? 'on but did not run' : 'off (upstream\'s default)'}; its usage is not counted either`,
        evidence: [ex.body.slice(0, 160)],
        ...(fix ? { fix } : {}),
      };
    },
  },
  // ------------------------------------------------------------------ access
  {
    id: 'sub-no-credentials-401',
    category: 'access',
    title: 'a model route without credentials answers 401',
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      const m = ctx.models.find((x) => x.routable) ?? ctx.models[0];
      if (!m) return { outcome: 'skip', message: 'no model' };
      const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: 'none', body: { model: m.id, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 } });
      if (ex.status === 401 && ex.headers['www-authenticate']) return { outcome: 'pass', message: '401 Authentication required' };
      return { outcome: 'fail', hop: 'maas-gateway', message: `a request without credentials got ${ex.answer.summary}`, evidence: [ex.answer.summary] };
    },
  },
  {
    id: 'sub-bogus-key-403',
    category: 'access',
    title: 'a bogus sk-oai- key answers 403 with x-ext-auth-reason',
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      const m = ctx.models.find((x) => x.routable) ?? ctx.models[0];
      if (!m) return { outcome: 'skip', message: 'no model' };
      const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: { literal: 'sk-oai-FAKE-KEY-demo-doctor' }, body: { model: m.id, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 } });
      if (ex.status === 403 && ex.headers['x-ext-auth-reason']) return { outcome: 'pass', message: `403 (${ex.headers['x-ext-auth-reason']})` };
      return { outcome: 'fail', hop: 'maas-gateway', message: `a bogus key got ${ex.answer.summary}`, evidence: [ex.answer.summary] };
    },
  },
  {
    id: 'sub-identity-headers-refused',
    category: 'access',
    title: 'client-sent X-MaaS-Username / X-MaaS-Group are refused (deny-client-identity-headers)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      const m = ctx.models.find((x) => x.routable) ?? ctx.models[0];
      if (!m || !ctx.key) return { outcome: 'skip', message: 'no API key or model' };
      const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key, headers: { 'x-maas-username': 'someone-else', 'x-maas-group': '["admin-group"]' }, body: { model: m.id, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 } });
      if (ex.status === 403) return { outcome: 'pass', message: `403 (${ex.headers['x-ext-auth-reason'] ?? ''})` };
      if (ex.status === 200) ctx.spent += 1;
      return { outcome: 'fail', hop: 'maas-gateway', message: `a request carrying its own X-MaaS-Username got ${ex.answer.summary}: a client can claim any identity`, evidence: [ex.answer.summary] };
    },
  },
  {
    id: 'sub-identity-headers-stripped',
    category: 'access',
    title: "the gateway's X-MaaS-* identity headers never reach a provider (maas-headers-guard)",
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      let shown = 0;
      let last: EraExchange | undefined;
      for (const m of ctx.models.filter((x) => x.routable)) {
        const ex = await ctx.chat(m);
        const spent = budgetSpent(ex);
        if (spent) return spent;
        last = ex ?? last;
        // Only a simulator says which headers it received.
        if (ex?.headers[SIM_HEADERS.headerNames] !== undefined) shown++;
        const names = (ex?.headers[SIM_HEADERS.headerNames] ?? '').split(',').filter((n) => n.startsWith('x-maas-'));
        if (!ex || !names.length) continue;
        const cm = pluginsMap(ctx);
        const fix = pluginsFix(ctx, 'maas-headers-guard');
        return {
          outcome: 'fail',
          hop: 'payload-processing',
          ...(cm ? { object: name(cm), field: `data["${PLUGINS_MAIN_KEY}"] profiles[0].plugins.request` } : {}),
          message: `${m.id}: the provider received ${[...new Set(names)].join(', ')}: the user's identity leaves the cluster (maas-headers-guard is not in payload processing's request chain)`,
          evidence: [`provider received headers: ${ex.headers[SIM_HEADERS.headerNames]}`],
          ...(fix ? { fix } : {}),
        };
      }
      if (!shown) return noEvidence('which headers reach a provider', last);
      return { outcome: 'pass', message: `no X-MaaS-* header reached a provider (${shown} provider${shown === 1 ? '' : 's'} reported what it received)` };
    },
  },
  {
    id: 'sub-subscription-covers-models',
    category: 'access',
    title: 'the subscription covers every model a MaaSAuthPolicy grants the user',
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      const user = ctx.session.cfg.user;
      const sub = find(ctx, 'MaaSSubscription', undefined, ctx.subscription);
      if (!sub) return { outcome: 'fail', hop: 'maas-api', message: `no MaaSSubscription ${ctx.subscription}`, evidence: [] };
      const granted = ctx.objects
        .filter((o) => o.kind === 'MaaSAuthPolicy')
        .filter((p) => {
          const s = rec(rec(p.spec).subjects);
          return ((s.users as string[] | undefined) ?? []).includes(user.name) || ((s.groups as { name: string }[] | undefined) ?? []).some((g) => user.groups.includes(g.name));
        })
        .flatMap((p) => ((rec(p.spec).modelRefs as { name: string; namespace: string }[] | undefined) ?? []).map((r) => `${r.namespace}/${r.name}`));
      const ready = ctx.objects.filter((o) => o.kind === 'MaaSModelRef' && rec(o.status).phase === 'Ready').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
      const covered = new Set(ctx.objects.filter((o) => o.kind === 'MaaSSubscription').flatMap((o) => ((rec(o.spec).modelRefs as { name: string; namespace: string }[] | undefined) ?? []).map((r) => `${r.namespace}/${r.name}`)));
      const mine = new Set(ctx.models.map((m) => m.ref));
      const missing = [...new Set(granted)].filter((r) => ready.includes(r) && !mine.has(r));
      if (!missing.length) return { outcome: 'pass', message: `${ctx.subscription} covers ${[...mine].join(', ')}` };
      const ref = missing[0]!;
      const model = ref.split('/')[1]!;
      const ex = ctx.key ? await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key, body: { model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 } }) : undefined;
      const fixed = copy(sub);
      const refs = ((rec(fixed.spec).modelRefs as Obj[] | undefined) ?? []);
      refs.push({ name: model, namespace: ref.split('/')[0]!, tokenRateLimits: (rec(refs[0]).tokenRateLimits as unknown[] | undefined) ?? [{ limit: 100, window: '1m' }] });
      rec(fixed.spec).modelRefs = refs;
      return {
        outcome: 'fail',
        hop: 'maas-api',
        object: name(sub),
        field: 'spec.modelRefs',
        message: `${missing.join(', ')}: a MaaSAuthPolicy grants ${user.name} access, the model is Ready, but ${name(sub)} does not include it${covered.has(ref) ? '' : ' (and no subscription does: gateway-default-deny)'}; a key bound to it gets ${ex?.status ?? 403}`,
        evidence: ex ? [`POST /v1/chat/completions model ${model} with the key: ${ex.answer.summary}`] : [],
        fix: objectFix(`add ${ref} to ${name(sub)}`, [fixed], [`# ${name(sub)} spec.modelRefs += ${ref}`]),
      };
    },
  },
  {
    id: 'sub-access-granted',
    category: 'access',
    title: "a MaaSAuthPolicy grants the user every model of the subscription",
    severity: 'error',
    hint: 'README.md#doctor-subscription-access',
    run: async (ctx) => {
      for (const m of ctx.models.filter((x) => x.routable)) {
        const ex = await ctx.chat(m);
        const spent = budgetSpent(ex);
        if (spent) return spent;
        const sel = ex?.records.find((r) => r.hop === 'maas-api' && r.detail.route === 'select');
        // A refusal (or no answer) without maas-api's selection record: who refused cannot be told here.
        if (!ex || (ex.status !== 200 && !sel)) return noEvidence(`whether ${m.id} is granted`, ex);
        if (!ex || ex.status !== 403 || sel?.detail.accessAllowed !== 'false') continue;
        const policy = ctx.objects.find((o) => o.kind === 'MaaSAuthPolicy');
        const fixed = policy ? copy(policy) : undefined;
        if (fixed) {
          const refs = (rec(fixed.spec).modelRefs as Obj[] | undefined) ?? [];
          refs.push({ name: m.ref.split('/')[1]!, namespace: m.namespace });
          rec(fixed.spec).modelRefs = refs;
        }
        return {
          outcome: 'fail',
          hop: 'maas-api',
          ...(policy ? { object: name(policy), field: 'spec.modelRefs' } : {}),
          message: `${m.id}: the subscription includes it, but no MaaSAuthPolicy grants ${ctx.session.cfg.user.name} access (maas-api's selection: accessAllowed false; the gateway answers 403)`,
          evidence: [ex.answer.summary, `maas-api select: ${Object.entries(sel.detail).map(([k, v]) => `${k}=${v}`).join(', ')}`],
          ...(fixed && policy ? { fix: objectFix(`grant ${m.ref} in ${name(policy)}`, [fixed], [`# ${name(policy)} spec.modelRefs += ${m.ref}`]) } : {}),
        };
      }
      return { outcome: 'pass', message: 'every model of the subscription is granted' };
    },
  },
  // ------------------------------------------------------------------ rate limits
  {
    id: 'sub-limits-enforced',
    category: 'rate-limits',
    title: 'each model of the subscription has its maas-trlp limit, counted per user',
    severity: 'error',
    hint: 'README.md#doctor-subscription-rate-limits',
    run: async (ctx) => {
      const facts: string[] = [];
      for (const m of ctx.models.filter((x) => x.routable)) {
        const key = `${subNs(ctx)}-${ctx.subscription}-${m.ref.split('/')[1]}-tokens`;
        const b = await ctx.session.budget(ctx.session.cfg.user.name, key);
        if (!b) {
          const ex = await ctx.chat(m);
          const gw = ex?.records.find((r) => r.hop === 'maas-gateway');
          return { outcome: 'fail', hop: 'maas-gateway', message: `${m.id}: no limit ${key} in maas-trlp-${m.ref.split('/')[1]}: ${gw?.detail.budget ?? 'the gateway holds none'}`, evidence: [ex?.answer.summary ?? ''] };
        }
        facts.push(b.source === 'observed' ? `${m.id}: ${b.spent}/${b.limit}` : `${m.id}: limit ${b.limit} (what was spent is Limitador's, not readable here)`);
      }
      return { outcome: 'pass', message: facts.join('; ') };
    },
  },
  {
    id: 'sub-streams-counted',
    category: 'rate-limits',
    title: 'a stream without include_usage is counted (stream-usage-enforcer)',
    severity: 'error',
    hint: 'README.md#doctor-subscription-rate-limits',
    run: async (ctx) => {
      const m = ctx.models.find((x) => x.routable && x.route?.provider !== 'anthropic') ?? ctx.models.find((x) => x.routable);
      if (!m) return { outcome: 'skip', message: 'no model' };
      const r = await ctx.stream(m);
      if (!r) return { outcome: 'skip', message: 'no API key' };
      const spent = budgetSpent(r.ex);
      if (spent) return spent;
      if (r.ex.status !== 200) return { outcome: 'skip', message: `the stream did not get through (${r.ex.answer.summary}): see the other checks` };
      if (r.before === undefined || r.after === undefined) return { outcome: 'skip', message: 'the counter is not observable here' };
      if (r.after > r.before) return { outcome: 'pass', message: `${r.limitKey}: ${r.before} → ${r.after} (+${r.after - r.before}; usage ${usageOf(r.ex) ?? '?'})` };
      const cm = pluginsMap(ctx);
      const fix = pluginsFix(ctx, 'stream-usage-enforcer');
      return {
        outcome: 'fail',
        hop: 'payload-processing',
        ...(cm ? { object: name(cm), field: `data["${PLUGINS_MAIN_KEY}"] profiles[0].plugins.request` } : {}),
        message: `${m.id}: a stream without stream_options.include_usage left ${r.limitKey} at ${r.before}: the response carried no usage, so streams are free (stream-usage-enforcer is not in the request chain)`,
        evidence: [`stream answered ${r.ex.status}, usage in the stream: ${usageOf(r.ex) ?? 'none'}`],
        ...(fix ? { fix } : {}),
      };
    },
  },
  // ------------------------------------------------------------------ model listing
  {
    id: 'sub-models-listed',
    category: 'model-listing',
    title: '/v1/models with the key lists every Ready model of its subscription, and only those',
    severity: 'error',
    hint: 'README.md#doctor-subscription-model-listing',
    run: async (ctx) => {
      if (!ctx.key) return { outcome: 'skip', message: 'no API key' };
      const ex = await eraSend(ctx, { method: 'GET', path: '/v1/models', credential: ctx.key });
      if (ex.status !== 200) return { outcome: 'fail', hop: ex.answer.hop === 'maas-gateway' ? 'maas-gateway' : 'maas-api', message: `GET /v1/models → ${ex.answer.summary}`, evidence: [ex.body.slice(0, 160)] };
      const ids = ((json(ex.body)?.data as { id: string }[] | undefined) ?? []).map((m) => m.id);
      const ready = ctx.models.filter((m) => rec(find(ctx, 'MaaSModelRef', m.namespace, m.ref.split('/')[1]!)?.status).phase === 'Ready').map((m) => m.id);
      const missing = ready.filter((id) => !ids.includes(id));
      const extra = ids.filter((id) => !ctx.models.some((m) => m.id === id));
      if (!missing.length && !extra.length) return { outcome: 'pass', message: ids.join(', ') };
      return { outcome: 'fail', hop: 'maas-api', message: `${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `listed outside ${ctx.subscription}: ${extra.join(', ')}` : ''}`, evidence: [`listed: ${ids.join(', ') || 'nothing'}`] };
    },
  },
];

const subNs = (ctx: EraContext) => find(ctx, 'MaaSSubscription', undefined, ctx.subscription)?.metadata.namespace ?? 'models-as-a-service';

/** The probes every check shares, each sent once (doctor spends as little budget as it can: max_tokens 1). */
export function withProbes(ctx: EraContext): EraDoctorContext {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    if (!cache.has(key)) cache.set(key, make().catch(() => undefined));
    return cache.get(key) as Promise<T>;
  };
  const body = (m: EraModel, extra: Record<string, unknown> = {}) => ({ model: m.id, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, ...extra });
  const d: EraDoctorContext = {
    ...ctx,
    spent: 0,
    chat: (m) =>
      ctx.key
        ? once(`chat:${m.id}`, async () => {
            d.spent += 1;
            return eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key!, body: body(m), ...(m.provider ? { provider: m.provider } : {}) });
          })
        : Promise.resolve(undefined),
    pathChat: (m) =>
      ctx.key
        ? once(`path:${m.id}`, async () => {
            d.spent += 1;
            return eraSend(ctx, { method: 'POST', path: `/${m.namespace}/${m.externalModel}/v1/chat/completions`, credential: ctx.key!, body: body(m), ...(m.provider ? { provider: m.provider } : {}) });
          })
        : Promise.resolve(undefined),
    stream: (m) =>
      ctx.key
        ? once(`stream:${m.id}`, async () => {
            const limitKey = `${subNs(ctx)}-${ctx.subscription}-${m.ref.split('/')[1]}-tokens`;
            const user = ctx.session.cfg.user.name;
            // A counter this target only infers (a cluster: Limitador's counters are not readable) shows nothing.
            const counter = async () => {
              const b = await ctx.session.budget(user, limitKey);
              return b?.source === 'observed' ? b.spent : undefined;
            };
            const before = await counter();
            d.spent += 1;
            const ex = await eraSend(ctx, { method: 'POST', path: '/v1/chat/completions', credential: ctx.key!, body: body(m, { stream: true, max_tokens: 2 }), ...(m.provider ? { provider: m.provider } : {}) });
            const after = await counter();
            return { ex, limitKey, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) };
          })
        : Promise.resolve(undefined),
  };
  return d;
}

export type { HopId };
