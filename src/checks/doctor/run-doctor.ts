/**
 * Runs the doctor catalog: builds the shared context (token, configuration, one traced probe per
 * provider, one small completion), runs each category's checks in order and turns findings into
 * check events (failing warnings become `warn`), with the probe's hop trace under each failure.
 * `--fix` applies the proposed fixes after confirmation and re-runs the checks that failed.
 */
import type { EventInput, Outcome } from '../../core/events.js';
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
import { CATEGORIES, type Category, type CheckDef, type DoctorContext, type Finding, type Fix } from './types.js';
import type { TargetSession } from '../../targets/target.js';
import { GENERATIONS } from '../../generations/index.js';

export const CATALOG: CheckDef[] = [...install, ...rewrites, ...keyInjection, ...rateLimits, ...modelListing, ...exposure];

export interface DoctorOptions {
  categories?: Category[];
  probeRateLimit: boolean;
  fix: boolean;
  confirm?: (question: string) => Promise<boolean>;
  signal: AbortSignal;
  /** Emit nothing but check events (self-test runs doctor many times). */
  quiet?: boolean;
  /** The command's environment (the subscription era reads MAAS_SUBSCRIPTION from it). */
  env?: NodeJS.ProcessEnv;
}

export interface DoctorResult {
  id: string;
  outcome: Outcome;
  hop?: string;
  expectedWarning?: boolean;
  /** The fix the finding proposed (for `--fix`, without running the check again). */
  fix?: Fix;
}

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

function toOutcome(check: CheckDef, f: Finding): Outcome {
  if (f.outcome === 'fail' && check.severity === 'warning') return 'warn';
  return f.outcome;
}

async function* runOne(check: CheckDef, ctx: DoctorContext, quiet: boolean, idSuffix = ''): AsyncGenerator<EventInput, DoctorResult> {
  const t0 = performance.now();
  const id = `${check.id}${idSuffix}`;
  if (!quiet) yield { kind: 'check-start', id, category: check.category, title: check.title };
  let f: Finding;
  try {
    f = await check.run(ctx);
  } catch (err) {
    f = { outcome: 'fail', message: `the check itself failed: ${(err as Error).message}` };
  }
  const outcome = toOutcome(check, f);
  // The object at fault: named by the finding, or the one object its fix changes.
  const object = f.object ?? (f.fix?.objects?.length === 1 ? objectKeyOf(ctx, f.fix.objects[0]!) : undefined);
  if (!quiet && (outcome === 'fail' || outcome === 'warn') && f.hop) {
    // The probe behind the finding, hop by hop.
    const provider = ctx.target.providers().find((p) => (f.message ?? '').startsWith(p.name) || (f.evidence ?? []).some((e) => e.startsWith(`${p.name}:`)));
    const ex = provider ? await ctx.probe(provider.name) : undefined;
    if (ex) for (const h of traceOf(id, ex, { bridges: [], egress: [], onprem: [] })) yield h;
  }
  yield {
    kind: 'check',
    id,
    category: check.category,
    title: check.title,
    outcome,
    ...(f.message ? { message: f.message } : {}),
    ...(f.hop ? { hop: f.hop } : {}),
    ...(object && outcome !== 'pass' ? { object, ...(f.field ? { field: f.field } : {}) } : {}),
    ...(f.evidence?.length && outcome !== 'pass' ? { evidence: f.evidence } : {}),
    ...(f.fix && outcome !== 'pass' ? { fix: `${f.fix.summary}\n${f.fix.patch}` } : {}),
    ...(outcome !== 'pass' && outcome !== 'skip' ? { hint: check.hint } : {}),
    ...(f.expectedWarning ? { data: { expectedWarning: true } } : {}),
    ms: Math.round(performance.now() - t0),
  };
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
      const gen = runOne(check, ctx, Boolean(opts.quiet));
      let step = await gen.next();
      while (!step.done) {
        yield step.value;
        step = await gen.next();
      }
      results.push(step.value);
      if (opts.fix && (step.value.outcome === 'fail' || (step.value.outcome === 'warn' && !step.value.expectedWarning))) {
        const fix = step.value.fix;
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
      const proposal = await target.proposeFix(fix);
      if (!proposal) {
        yield { kind: 'log', level: 'info', message: `not applied: ${id}: this target cannot make that change (the printed fix is done by hand)` };
        continue;
      }
      yield { kind: 'log', level: 'info', message: `${id}: ${fix.summary}\n${proposal.patch}` };
      if (!proposal.changes) {
        yield { kind: 'log', level: 'info', message: `not applied: ${id}: the objects are already as proposed (the printed fix is done by hand)` };
        continue;
      }
      const ok = opts.confirm ? await opts.confirm(`${proposal.changes === 1 ? 'change this object' : `change these ${proposal.changes} objects`} for ${id}: ${fix.summary}?`) : false;
      if (!ok) {
        yield { kind: 'log', level: 'info', message: `not applied: ${id}` };
        continue;
      }
      const t0 = performance.now();
      yield { kind: 'step-start', step: 'fix', title: `fix for ${id}: ${fix.summary}` };
      const notReady = yield* proposal.apply(opts.signal);
      yield { kind: 'step-end', step: 'fix', ok: notReady.length === 0, ms: Math.round(performance.now() - t0), ...(notReady.length ? { message: notReady.join('; ') } : {}) };
      applied += 1;
      yield { kind: 'log', level: notReady.length ? 'warn' : 'info', message: notReady.length ? `applied for ${id}, but not ready yet: ${notReady.join('; ')}` : `applied: ${fix.summary}` };
    }
    if (applied) {
      // Re-run the failed checks against the repaired configuration, with fresh probes.
      const again = await buildContext(target, opts);
      for (const [id, fx] of fixes) {
        const gen = runOne(fx.check, again, Boolean(opts.quiet));
        let step = await gen.next();
        while (!step.done) {
          yield step.value;
          step = await gen.next();
        }
        const i = results.findIndex((r) => r.id === id);
        if (i >= 0) results[i] = step.value;
      }
    }
  } else if (opts.fix && !opts.quiet) {
    yield { kind: 'log', level: 'info', message: 'nothing to fix automatically' };
  }
  if (!opts.quiet) {
    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    const expectedWarns = results.filter((r) => r.outcome === 'warn' && r.expectedWarning).length;
    yield {
      kind: 'summary',
      title: 'Doctor summary',
      facts: {
        MaaS: GENERATIONS.tier.title,
        passed: count('pass'),
        failed: count('fail'),
        warnings: `${count('warn')}${expectedWarns ? ` (${expectedWarns} expected for the seed design)` : ''}`,
        skipped: count('skip'),
        'requests counted against the budget': ctx.spent,
        ...(results.some((r) => r.outcome === 'fail') && !opts.fix ? { next: target.fixable ? 'review the fixes above; `demo doctor --fix` applies them after asking' : 'review the fixes above and apply them to the objects named (this target prints fixes, it does not apply them)' } : {}),
      },
    };
  }
  return results;
}
