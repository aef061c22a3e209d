/** Building findings and fixes: per-provider folding, fix patches and topology edits, install facts by check. */
import type { HopId } from '../../core/events.js';
import type { ProviderConfig } from '../../core/config.js';
import type { BridgeSpec, EgressRouteSpec, TopologySpec } from '../../model/topology.js';
import type { CheckDef, DoctorContext, Finding, Fix } from './types.js';
import type { InstallFact, ObjectName } from '../../model/target-facts.js';

export interface ProviderResult {
  provider: string;
  ok: boolean | 'skip';
  evidence: string[];
  hop?: HopId;
  /** The object at fault (`Kind/namespace/name`) and its field, where one object is. */
  object?: string;
  field?: string;
  fix?: Fix;
}

/** Where the demo puts each kind it names without a namespace. */
export function objectKeyOf(ctx: DoctorContext, o: ObjectName): string {
  const { cfg } = ctx.target;
  const ns =
    o.namespace ??
    ({ TokenRateLimitPolicy: cfg.maas.gatewayNamespace, ConfigMap: cfg.maas.apiNamespace, LLMInferenceService: cfg.onprem.namespace } as Record<string, string>)[o.kind] ??
    (o.kind === 'Deployment' && o.name === 'ai-gateway-controller' ? cfg.egress.controllerNamespace : o.kind === 'Deployment' ? cfg.providersNamespace : cfg.egress.namespace);
  return `${o.kind}/${ns}/${o.name}`;
}

/**
 * A check that looks at each deployed provider in turn (`each`), its results folded by {@link perProvider}
 * into one finding; `passes` is its message when every provider passed.
 */
export function defineProviderCheck(c: Omit<CheckDef, 'run'> & { passes: string; each: (ctx: DoctorContext, p: ProviderConfig) => Promise<ProviderResult> }): CheckDef {
  const { passes, each, ...def } = c;
  return { ...def, run: (ctx) => perProvider(ctx, (p) => each(ctx, p), passes) };
}

/** Runs `each` for every deployed provider and folds the results into one finding. */
export async function perProvider(ctx: DoctorContext, each: (p: ProviderConfig) => Promise<ProviderResult>, okMessage: string): Promise<Finding> {
  const results: ProviderResult[] = [];
  for (const p of ctx.target.providers()) results.push(await each(p));
  const bad = results.filter((r) => r.ok === false);
  if (bad.length === 0) {
    const skipped = results.filter((r) => r.ok === 'skip');
    if (results.every((r) => r.ok === 'skip')) return { outcome: 'skip', message: results[0]?.evidence[0] ?? 'nothing to check' };
    // A provider without evidence never lets the check pass for all of them.
    if (skipped.length) return { outcome: 'skip', message: `${skipped.map((r) => r.provider).join(', ')}: ${skipped[0]!.evidence[0] ?? 'no evidence'} (the others passed)`, evidence: results.flatMap((r) => r.evidence.map((e) => `${r.provider}: ${e}`)) };
    return { outcome: 'pass', message: okMessage, evidence: results.flatMap((r) => r.evidence) };
  }
  const fixes = bad.map((r) => r.fix).filter((f): f is Fix => Boolean(f));
  return {
    outcome: 'fail',
    message: `${bad.map((r) => r.provider).join(', ')}: ${bad[0]!.evidence[0] ?? ''}`,
    ...(bad[0]!.hop ? { hop: bad[0]!.hop } : {}),
    ...(bad[0]!.object ? { object: bad[0]!.object, ...(bad[0]!.field ? { field: bad[0]!.field } : {}) } : {}),
    evidence: bad.flatMap((r) => r.evidence.map((e) => `${r.provider}: ${e}`)),
    ...(fixes.length ? { fix: mergeFixes(fixes) } : {}),
  };
}

function mergeFixes(all: Fix[]): Fix {
  // Providers that share one cause (e.g. the controller image) share one fix: list it once. Each
  // provider's own edit still counts (the same summary can edit another provider's route).
  const fixes = all.filter((f, i) => all.findIndex((g) => g.summary === f.summary && g.patch === f.patch) === i);
  const objects = mergeObjects(all);
  const edits = all.flatMap((f) => f.edits ?? []);
  const shared = { ...(objects ? { objects } : {}), ...(edits.length ? { edits } : {}) };
  if (fixes.length === 1) return { summary: fixes[0]!.summary, patch: fixes[0]!.patch, ...shared };
  return { summary: fixes.map((f) => f.summary).join('; '), patch: fixes.map((f) => f.patch).join('\n'), ...shared };
}

/** The objects of several fixes, each once; undefined when none names any. */
export function mergeObjects(fixes: readonly Pick<Fix, 'objects'>[]): ObjectName[] | undefined {
  const out: ObjectName[] = [];
  for (const o of fixes.flatMap((f) => f.objects ?? [])) {
    if (!out.some((x) => x.kind === o.kind && x.name === o.name && x.namespace === o.namespace)) out.push(o);
  }
  return out.length ? out : undefined;
}

export const bridgeOf = (spec: Partial<TopologySpec>, provider: string): BridgeSpec | undefined => spec.maasGateway?.bridges.find((b) => b.provider === provider);
export const egressRouteOf = (spec: Partial<TopologySpec>, provider: string): EgressRouteSpec | undefined => spec.egress?.routes.find((r) => r.provider === provider);

/** A fix that edits one part of the configuration: a local topology reprograms it; on a cluster the named objects are restored. */
export function specFix(part: keyof TopologySpec, summary: string, patch: string, edit: (spec: Partial<TopologySpec>) => void, objects?: ObjectName[]): Fix {
  return { summary, patch, ...(objects?.length ? { objects } : {}), edits: [{ part, edit }] };
}

/** Object diff lines for a fix: `kind/name`, then `- old` / `+ new`. */
export function diff(object: string, lines: [string | null, string | null][]): string {
  return [`# ${object}`, ...lines.flatMap(([a, b]) => [...(a !== null ? [`- ${a}`] : []), ...(b !== null ? [`+ ${b}`] : [])])].join('\n');
}

/** Why a check skips instead of passing on configuration alone. */
export const NO_LIVE = 'no live evidence';

const factCache = new WeakMap<DoctorContext, Promise<InstallFact[]>>();

/** The target's install facts, read once per doctor context. */
export function installFactsOf(ctx: DoctorContext): Promise<InstallFact[]> {
  if (!factCache.has(ctx)) factCache.set(ctx, ctx.target.installFacts());
  return factCache.get(ctx)!;
}

/** Facts a given check reports (for one provider, or the provider-independent ones). */
export async function factsFor(ctx: DoctorContext, check: string, provider?: string): Promise<InstallFact[]> {
  const all = await installFactsOf(ctx).catch(() => []);
  return all.filter((f) => f.check === check && (provider === undefined || f.provider === undefined || f.provider === provider));
}

/** The first unhealthy fact of a check as a per-provider failure (controller status: not accepted, not enforced…). */
export async function factFailure(ctx: DoctorContext, check: string, provider: string): Promise<ProviderResult | undefined> {
  const bad = (await factsFor(ctx, check, provider)).filter((f) => !f.ok);
  if (!bad.length) return undefined;
  const fixes = bad.map((f) => f.fix ?? (f.hint ? { summary: f.hint, patch: f.hint } : undefined)).filter((f): f is Fix => Boolean(f));
  const objects = mergeObjects(fixes);
  return {
    provider,
    ok: false,
    ...(bad[0]!.hop ? { hop: bad[0]!.hop } : {}),
    evidence: bad.map((f) => f.detail),
    ...(fixes.length ? { fix: fixes.length === 1 ? fixes[0]! : { summary: fixes.map((f) => f.summary).join('; '), patch: fixes.map((f) => f.patch).join('\n'), ...(objects ? { objects } : {}) } } : {}),
  };
}
