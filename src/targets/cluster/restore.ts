/**
 * `demo doctor --fix` on a cluster: put named objects back the way `demo up` renders them.
 *
 * The plan is reviewable before anything changes: for each object, the fields that differ between the
 * stored object and what the demo would create (a server-side dry-run of the rendered object under a
 * scratch name, so server defaults appear on both sides and are not reported as changes), with every
 * key masked. Applying takes ownership of our fields (server-side apply, force), then removes what
 * another writer added (a JSON merge patch against the dry-run result: a renamed header, a stray
 * filter), then waits for the object's controller the way `up` does (route Accepted, policy Enforced,
 * Deployment rolled out). Objects the demo does not render, or that belong to someone else (MaaS's own
 * TokenRateLimitPolicy), are refused with the reason.
 */
import { isDeepStrictEqual as same } from 'node:util';
import type { EventInput } from '../../core/events.js';
import { mask } from '../../core/secret.js';
import type { DemoConfig } from '../../core/config.js';
import type { StepContext, StepDef, WaitSpec } from '../../core/step.js';
import { selectSteps } from '../../../steps/index.js';
import { APPLY_MODE_ANNOTATION, withoutApplyMode } from './apply.js';
import { Kube, refOf, refText, toKubeError } from './client.js';
import { Informers } from './informers.js';
import { celLiteral } from '../../model/read-objects.js';
import { maskKeys, renderStep } from '../../manifests/render.js';
import { objectRef } from './manifest-yaml.js';
import { type K8sObject } from '../../model/k8s-object.js';
import { isOurs } from './state.js';
import { appliedMark, runWait, WaitFailedError, type AppliedMarks } from './wait.js';

/** An object a fix names: kind and name, the namespace when the name alone is ambiguous. */
export interface ObjectName {
  kind: string;
  name: string;
  namespace?: string;
}

export interface RestoreItem {
  /** `Kind ns/name`. */
  ref: string;
  step: StepDef;
  desired: K8sObject;
  /** The desired object as the API server would store it (defaults filled), or `desired` itself. */
  fresh: K8sObject;
  live: K8sObject | undefined;
  /** Reviewable change lines (`- path: old`, `+ path: new`), keys masked. */
  changes: string[];
}

export interface RestorePlan {
  items: RestoreItem[];
  /** Objects that cannot be restored, each with the reason. */
  refused: string[];
}

/** The parts of an object a restore compares and sets (metadata and status are never touched). */
const SECTIONS = ['spec', 'data'] as const;

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const seg = (path: string, key: string) => (/^[A-Za-z_][\w-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/** Field-level differences `live` → `want`, as `- path: value` / `+ path: value` lines. */
export function changeLines(live: Json, want: Json, path = ''): string[] {
  if (same(live, want)) return [];
  if (isObj(live) && isObj(want)) {
    const keys = [...new Set([...Object.keys(live), ...Object.keys(want)])];
    return keys.flatMap((k) => changeLines(live[k], want[k], seg(path, k)));
  }
  if (Array.isArray(live) && Array.isArray(want) && live.length === want.length) return live.flatMap((x, i) => changeLines(x, want[i], `${path}[${i}]`));
  return [...(live !== undefined ? [`- ${path}: ${JSON.stringify(live)}`] : []), ...(want !== undefined ? [`+ ${path}: ${JSON.stringify(want)}`] : [])];
}

/** The JSON merge patch (RFC 7386) that turns `live` into `want`; undefined when they are equal. */
export function mergePatchOf(live: Json, want: Json): Json | undefined {
  if (same(live, want)) return undefined;
  if (isObj(live) && isObj(want)) {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(live)) if (!(k in want)) out[k] = null;
    for (const k of Object.keys(want)) {
      const p = mergePatchOf(live[k], want[k]);
      if (p !== undefined) out[k] = p;
    }
    return out;
  }
  return want;
}

/**
 * What may be shown of an object: provider keys of the configuration masked, and every literal a
 * policy injects as a header masked too (a wrong key is not in the configuration, yet still a key).
 */
export function safeView<T>(obj: T, cfg: DemoConfig): T {
  const walk = (v: Json, kind: string | undefined, underHeaders: boolean): Json => {
    if (Array.isArray(v)) return v.map((x) => walk(x, kind, underHeaders));
    if (!isObj(v)) return v;
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      if (kind === 'Secret' && (k === 'data' || k === 'stringData') && isObj(x)) {
        out[k] = Object.fromEntries(Object.keys(x).map((n) => [n, '(hidden)']));
      } else if (underHeaders && (k === 'expression' || k === 'value') && typeof x === 'string') {
        const lit = k === 'expression' ? celLiteral(x) : x;
        out[k] = lit === undefined ? x : k === 'expression' ? `'${mask(lit.replace(/^Bearer\s+/i, ''))}'` : mask(x);
      } else {
        out[k] = walk(x, kind, underHeaders || k === 'headers');
      }
    }
    return out;
  };
  // Header literals first (a configured key masks the same way either path), then the configured keys elsewhere.
  const kind = isObj(obj) && typeof obj.kind === 'string' ? obj.kind : undefined;
  return maskKeys(walk(obj, kind, false), cfg) as T;
}

function sections(obj: K8sObject | undefined): Record<string, Json> {
  const o = (obj ?? {}) as unknown as Record<string, Json>;
  return Object.fromEntries(SECTIONS.filter((s) => o[s] !== undefined).map((s) => [s, o[s]]));
}

/** The desired object as stored: a dry-run create under a scratch name (defaults filled in). */
async function storedForm(kube: Kube, desired: K8sObject): Promise<K8sObject> {
  const scratch = `${desired.metadata.name}-doctor-dry-run`.slice(0, 63).replace(/-+$/, '');
  try {
    const r = await kube.apply({ ...desired, metadata: { ...desired.metadata, name: scratch } }, { dryRun: true });
    return { ...r, metadata: desired.metadata };
  } catch {
    return desired;
  }
}

/** The rendered objects of every step this install uses, with the step that applies each. */
export function renderedObjects(ctx: StepContext): { step: StepDef; object: K8sObject }[] {
  const out: { step: StepDef; object: K8sObject }[] = [];
  for (const step of selectSteps({ vllm: ctx.providers.some((p) => p.optional) })) {
    try {
      for (const object of renderStep(step, ctx)) out.push({ step, object });
    } catch {
      // A step that cannot render here (e.g. the CRDs without --wg-dir) restores nothing.
    }
  }
  return out;
}

export async function planRestore(kube: Kube, ctx: StepContext, wanted: readonly ObjectName[]): Promise<RestorePlan> {
  const rendered = renderedObjects(ctx);
  const items: RestoreItem[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  for (const w of wanted) {
    const label = `${w.kind} ${w.namespace ? `${w.namespace}/` : ''}${w.name}`;
    const hit = rendered.find((r) => r.object.kind === w.kind && r.object.metadata.name === w.name && (!w.namespace || r.object.metadata.namespace === w.namespace));
    if (!hit) {
      refused.push(`${label}: not one of the objects \`demo up\` applies; change it by hand as shown`);
      continue;
    }
    const ref = objectRef(hit.object);
    if (seen.has(ref)) continue;
    seen.add(ref);
    let live: K8sObject | undefined;
    try {
      live = await kube.get(refOf(hit.object));
    } catch (err) {
      refused.push(`${ref}: ${toKubeError(err, `get ${ref}`).message}`);
      continue;
    }
    if (live && hit.object.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'if-absent' && !isOurs(live)) {
      refused.push(`${ref}: belongs to the platform (not created by the demo); change it by hand as shown`);
      continue;
    }
    const desired = withoutApplyMode(hit.object);
    const fresh = await storedForm(kube, desired);
    const changes = live ? changeLines(safeView(sections(live), ctx.cfg), safeView(sections(fresh), ctx.cfg)) : [`+ create ${ref} as \`demo up\` renders it (step ${hit.step.id})`];
    items.push({ ref, step: hit.step, desired, fresh, live, changes });
  }
  return { items, refused };
}

/** The plan as the reviewable patch people read before saying yes. */
export function planText(plan: RestorePlan): string {
  const lines: string[] = [];
  for (const i of plan.items) {
    lines.push(`# ${i.ref} (server-side apply as step ${i.step.id} renders it, then remove what others added)`);
    lines.push(...(i.changes.length ? i.changes : ['  (already as the demo renders it: nothing to change)']));
  }
  for (const r of plan.refused) lines.push(`# not restored: ${r}`);
  return lines.join('\n');
}

function waitsFor(item: RestoreItem, ctx: StepContext): WaitSpec[] {
  const { kind, namespace, name } = { kind: item.desired.kind, namespace: item.desired.metadata.namespace, name: item.desired.metadata.name };
  return item.step.waits(ctx).filter((w) => {
    if (!('name' in w) || w.name !== name) return false;
    if ('namespace' in w && w.namespace !== undefined && w.namespace !== namespace) return false;
    switch (w.kind) {
      case 'route-accepted':
        return kind === 'HTTPRoute';
      case 'policy-enforced':
      case 'condition':
        return w.resource === kind;
      case 'deployment-available':
      case 'rollout':
        return kind === 'Deployment';
      case 'crd-established':
        return kind === 'CustomResourceDefinition';
      case 'service-endpoints':
        return kind === 'Service';
      default:
        return false;
    }
  });
}

/**
 * Applies the plan: apply events per object, then the object's readiness waits. Returns one line per
 * object that is not ready afterwards (the re-run checks will say more).
 */
export async function* applyRestore(kube: Kube, ctx: StepContext, plan: RestorePlan, opts: { timeoutMs: number; signal: AbortSignal }): AsyncGenerator<EventInput, string[]> {
  const problems: string[] = [];
  const informers = new Informers(kube);
  const applied: AppliedMarks = new Map();
  try {
    for (const item of plan.items) {
      const step = `fix`;
      const object = `${item.desired.kind}/${item.desired.metadata.namespace ? `${item.desired.metadata.namespace}/` : ''}${item.desired.metadata.name}`;
      let after: K8sObject;
      try {
        after = await kube.apply(item.desired, { force: true });
        const mark = appliedMark(item.live, after);
        if (mark) applied.set(refText(item.desired), mark);
        const residual = mergePatchOf(sections(after), sections(item.fresh));
        if (residual !== undefined && item.live) after = await kube.mergePatch(refOf(item.desired), residual);
      } catch (err) {
        problems.push(`${item.ref}: ${toKubeError(err, `restore ${item.ref}`).message}`);
        continue;
      }
      yield { kind: 'apply', step, object, action: !item.live ? 'created' : item.live.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured' };
      for (const w of waitsFor(item, ctx)) {
        try {
          yield* runWait(kube, step, { ...w, timeoutMs: opts.timeoutMs }, { ...opts, informers, applied });
        } catch (err) {
          if (err instanceof WaitFailedError) problems.push(`${item.ref}: ${err.message}`);
          else throw err;
        }
      }
    }
  } finally {
    informers.stopAll();
  }
  return problems;
}
