/**
 * Runs the doctor catalog: builds the shared context (token, configuration, one traced probe per
 * provider, one small completion), runs each category's checks in order and turns findings into
 * check events (failing warnings become `warn`), with the probe's hop trace under each failure.
 * `--fix` applies the proposed fixes after confirmation and re-runs the checks that failed.
 */
import type { EventInput } from '../../core/events.js';
import { Secret } from '../../core/secret.js';
import { onpremPrefix } from '../../core/config.js';
import { type Exchange, type RunContext, identityOf, send } from '../probe.js';
import { traceOf } from '../trace.js';
import type { RequestSpec } from '../validate.js';
import { install, modelListing } from './listing-exposure-install.js';
import { exposure } from './exposure.js';
import { objectKeyOf } from './findings.js';
import { keyInjection } from './key-injection.js';
import { rateLimits } from './rate-limits.js';
import { rewrites } from './rewrites.js';
import { CATEGORIES, type CheckDef, type DoctorContext, type DoctorOptions, type DoctorResult, type Fix } from './types.js';
import { applyFix, checkEvent, doctorSummary, findingOf, outcomeOf, wantsFix } from './report.js';
import type { TargetSession } from '../../targets/target.js';
import { GENERATIONS } from '../../generations/index.js';

export const CATALOG: CheckDef[] = [...install, ...rewrites, ...keyInjection, ...rateLimits, ...modelListing, ...exposure];

export type { DoctorOptions, DoctorResult };

async function mintToken(target: TargetSession, rc: RunContext): Promise<Secret | undefined> {
  const ex = await send(rc, { base: 'gateway', method: 'POST', path: '/maas-api/v1/tokens', auth: 'cluster', body: { expiration: '10m' }, route: 'maas-api' });
  if (ex.status !== 201) return undefined;
  try {
    const token = (JSON.parse(ex.body) as { token?: string }).token;
    return token ? new Secret(token) : undefined;
  } catch {
    return undefined;
  }
}

export async function buildContext(target: TargetSession, opts: Pick<DoctorOptions, 'probeRateLimit'>): Promise<DoctorContext> {
  const rc: RunContext = { target, routes: await target.routeModel(), usage: [] };
  let token: Secret | undefined;
  try {
    token = await mintToken(target, rc);
  } catch {
    token = undefined;
  }
  rc.token = token;
  const probes = new Map<string, Promise<Exchange | undefined>>();
  const cached = (key: string, make: () => Promise<Exchange | undefined>) => {
    if (!probes.has(key)) probes.set(key, make().catch(() => undefined));
    return probes.get(key)!;
  };
  const modelsProbe = (provider: string, auth: RequestSpec['auth']): RequestSpec => ({ base: 'gateway', method: 'GET', path: `/external/${provider}/v1/models`, auth, provider, route: 'bridge' });
  const first = target.providers()[0];
  const ctx: DoctorContext = {
    target,
    ...(token ? { token } : {}),
    spec: await target.topology(),
    probeRateLimit: opts.probeRateLimit,
    spent: 0,
    probe: (p) => (token ? cached(`auth:${p}`, () => send(rc, modelsProbe(p, 'maas'))) : Promise.resolve(undefined)),
    probeNoAuth: (p) => cached(`none:${p}`, () => send(rc, modelsProbe(p, 'none'))),
    chat: () =>
      token && first
        ? cached('chat', async () => {
            const id = identityOf(token!);
            if (id) ctx.budgetBefore = await target.budget(id.userid, id.tier);
            ctx.spent += 1;
            return send(rc, { base: 'gateway', method: 'POST', path: `/external/${first.name}/v1/chat/completions`, auth: 'maas', body: { model: first.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }, provider: first.name, route: 'bridge' });
          })
        : Promise.resolve(undefined),
    onpremChat: () =>
      token
        ? cached('onprem-chat', async () => {
            ctx.spent += 1;
            const { onprem } = target.cfg;
            return send(rc, { base: 'gateway', method: 'POST', path: `${onpremPrefix(target.cfg)}/v1/chat/completions`, auth: 'maas', body: { model: onprem.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }, route: 'onprem' });
          })
        : Promise.resolve(undefined),
    streamChat: () =>
      token && first
        ? cached('stream-chat', async () => {
            ctx.spent += 1;
            return send(rc, { base: 'gateway', method: 'POST', path: `/external/${first.name}/v1/chat/completions`, auth: 'maas', body: { model: first.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: true, stream_options: { include_usage: true } }, provider: first.name, route: 'bridge' });
          })
        : Promise.resolve(undefined),
    spend: async () => {
      const id = token ? identityOf(token) : undefined;
      const before = id ? await target.budget(id.userid, id.tier) : undefined;
      let admitted = 0;
      let tokens = 0;
      let first429: number | undefined;
      const max = before ? Math.max(20, Math.ceil((before.limit - before.spent) / 2) + 10) : 40;
      for (let i = 1; i <= Math.min(max, 200) && first; i++) {
        const ex = await send(rc, { base: 'gateway', method: 'POST', path: `/external/${first.name}/v1/chat/completions`, auth: 'maas', body: { model: first.model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 }, provider: first.name, route: 'bridge' });
        ctx.spent += 1;
        if (ex.status === 429) {
          first429 = i;
          break;
        }
        if (ex.status !== 200) break;
        admitted += 1;
        tokens += (JSON.parse(ex.body) as { usage?: { total_tokens?: number } }).usage?.total_tokens ?? 0;
      }
      const after = id ? await target.budget(id.userid, id.tier) : undefined;
      return { admitted, tokens, ...(after ? { limit: after.limit } : {}), ...(first429 ? { first429 } : {}), ...(after?.source === 'observed' ? { spentAfter: after.spent } : {}) };
    },
  };
  return ctx;
}

async function* runOne(check: CheckDef, ctx: DoctorContext, quiet: boolean, idSuffix = ''): AsyncGenerator<EventInput, DoctorResult> {
  const t0 = performance.now();
  const id = `${check.id}${idSuffix}`;
  if (!quiet) yield { kind: 'check-start', id, category: check.category, title: check.title };
  const f = await findingOf(() => check.run(ctx));
  const outcome = outcomeOf(check, f);
  // The object at fault: named by the finding, or the one object its fix changes.
  const object = f.object ?? (f.fix?.objects?.length === 1 ? objectKeyOf(ctx, f.fix.objects[0]!) : undefined);
  if (!quiet && (outcome === 'fail' || outcome === 'warn') && f.hop) {
    // The probe behind the finding, hop by hop.
    const provider = ctx.target.providers().find((p) => (f.message ?? '').startsWith(p.name) || (f.evidence ?? []).some((e) => e.startsWith(`${p.name}:`)));
    const ex = provider ? await ctx.probe(provider.name) : undefined;
    if (ex) for (const h of traceOf(id, ex, { bridges: [], egress: [], onprem: [] })) yield h;
  }
  yield checkEvent(check, id, f, outcome, object, t0);
  return { id: check.id, outcome, ...(f.hop ? { hop: f.hop } : {}), ...(f.expectedWarning ? { expectedWarning: true } : {}), ...(f.fix && outcome !== 'pass' ? { fix: f.fix } : {}) };
}

export async function* runDoctor(target: TargetSession, opts: DoctorOptions): AsyncGenerator<EventInput, DoctorResult[]> {
  if (target.generation === 'subscription') {
    const { runSubscriptionDoctor } = await import('../subscription/run-doctor.js');
    return yield* runSubscriptionDoctor(target, opts);
  }
  // The tier era's categories (the others belong to the subscription era).
  const categories = (opts.categories?.length ? opts.categories : [...CATEGORIES]).filter((c) => CATALOG.some((x) => x.category === c));
  const ctx = await buildContext(target, opts);
  if (!ctx.token && !opts.quiet) yield { kind: 'log', level: 'warn', message: 'could not mint a MaaS token: checks that need one are skipped' };
  const results: DoctorResult[] = [];
  const fixes = new Map<string, { check: CheckDef; fix: Fix }>();
  for (const category of categories) {
    if (opts.signal.aborted) break;
    if (!opts.quiet) yield { kind: 'section', id: category, title: category };
    for (const check of CATALOG.filter((c) => c.category === category)) {
      const result = yield* runOne(check, ctx, Boolean(opts.quiet));
      results.push(result);
      if (opts.fix && wantsFix(result)) {
        const fix = result.fix;
        if (fix && (fix.edits?.length || fix.objects?.length)) fixes.set(check.id, { check, fix });
      }
    }
  }
  if (opts.fix && fixes.size) {
    yield { kind: 'section', id: 'fixes', title: 'fixes' };
    let applied = 0;
    for (const [id, { fix }] of fixes) {
      if (opts.signal.aborted) break;
      // What the fix changes on this target, shown before asking.
      if (yield* applyFix(target, id, fix, opts)) applied += 1;
    }
    if (applied) {
      // Re-run the failed checks against the repaired configuration, with fresh probes.
      const again = await buildContext(target, opts);
      for (const [id, fx] of fixes) {
        const result = yield* runOne(fx.check, again, Boolean(opts.quiet));
        const i = results.findIndex((r) => r.id === id);
        if (i >= 0) results[i] = result;
      }
    }
  } else if (opts.fix && !opts.quiet) {
    yield { kind: 'log', level: 'info', message: 'nothing to fix automatically' };
  }
  if (!opts.quiet) {
    yield doctorSummary(results, {
      generation: GENERATIONS.tier.title,
      expectedBecause: 'for the seed design',
      spent: ctx.spent,
      fix: opts.fix,
      fixable: target.fixable,
      byHand: 'review the fixes above and apply them to the objects named (this target prints fixes, it does not apply them)',
    });
  }
  return results;
}
