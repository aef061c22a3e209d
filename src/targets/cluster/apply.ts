/**
 * Applying a rendered step: server-side apply with the field manager `maas-egress-demo`, one object
 * at a time in the plan's order, each reported as created, configured or unchanged by comparing the
 * resourceVersion before and after (a no-op apply leaves it alone, so a second `up` says "unchanged").
 *
 * Three exceptions to "apply everything":
 * - a Namespace or CRD that existed before our first `up` without our labels is left untouched (we
 *   need it to exist, not to own it), so `down` cannot delete it;
 * - an object marked `maas-egress-demo/apply: if-absent` (the gateway TokenRateLimitPolicy MaaS may
 *   already ship) is created only when missing;
 * - patches of foreign objects (step 5, maas-api) are applied with `force`, taking the image field
 *   from the operator that owns it; the original values were recorded first (state.ts).
 */
import type { EventInput } from '../../core/events.js';
import type { RenderedStep } from '../../manifests/render.js';
import { APPLY_MODE_ANNOTATION, type K8sObject, type ObjectPatch } from '../../model/k8s-object.js';
import { FIELD_MANAGER, Kube, KubeApiError, refOf, refText, toKubeError, type ObjRef } from './client.js';
import { isOurs, MANAGED_ANNOTATION, sameRef, stateObject, type DemoState, type MaasApiOriginal, type OriginalData } from './state.js';
import { appliedMark, kindOwner, type AppliedMarks } from './wait.js';

export { APPLY_MODE_ANNOTATION };

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyCounts {
  created: number;
  configured: number;
  unchanged: number;
  skipped: number;
}

export function emptyCounts(): ApplyCounts {
  return { created: 0, configured: 0, unchanged: 0, skipped: 0 };
}

/** An apply the cluster refused: the object, the cluster's reason and the fix. */
export class ApplyFailedError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'ApplyFailedError';
    this.hint = hint;
  }
}

/** Kinds we never take over when they pre-exist: creating them was someone else's decision. */
const NEVER_ADOPT = new Set(['Namespace', 'CustomResourceDefinition']);

/** The object as the API server should store it: without our apply-mode annotation. */
export function withoutApplyMode(obj: K8sObject): K8sObject {
  const ann = { ...(obj.metadata.annotations ?? {}) };
  if (!(APPLY_MODE_ANNOTATION in ann)) return obj;
  delete ann[APPLY_MODE_ANNOTATION];
  const { annotations: _drop, ...meta } = obj.metadata;
  return { ...obj, metadata: Object.keys(ann).length ? { ...meta, annotations: ann } : meta };
}

export function applyFailure(obj: { kind?: string; metadata?: { namespace?: string; name?: string } }, err: unknown): ApplyFailedError {
  const e = toKubeError(err, `apply ${refText(obj)}`);
  const what = refText(obj);
  switch (e.errorKind) {
    case 'forbidden':
      return new ApplyFailedError(`${what}: ${e.message}`, 'your user lacks this permission: log in as a cluster admin (`oc login -u kubeadmin …`) or ask one to grant it, then run `demo up --target cluster` again');
    case 'kind-not-served':
      return new ApplyFailedError(`${what}: the cluster does not serve this kind (its CRD is missing)`, `install ${kindOwner(obj.kind ?? '')}, then run \`demo up --target cluster\` again`);
    case 'conflict': {
      const c = e.conflicts;
      if (!c.length) return new ApplyFailedError(`${what}: ${e.message}`, 'the object changed while it was applied: run `demo up --target cluster` again');
      const byManager = new Map<string, string[]>();
      for (const x of c) byManager.set(x.manager, [...(byManager.get(x.manager) ?? []), x.field]);
      const owners = [...byManager].map(([m, fields]) => `${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} owned by field manager "${m}"`).join('; ');
      return new ApplyFailedError(
        `${what}: ${owners}, which changed ${c.length === 1 ? 'it' : 'them'} after the demo applied ${c.length === 1 ? 'it' : 'them'}`,
        `to put the demo's values back and take ${c.length === 1 ? 'that field' : 'those fields'} over, run \`demo up --target cluster --force-conflicts\`; to keep the other change, leave it (\`oc get ${(obj.kind ?? '').toLowerCase()} -o yaml --show-managed-fields\` shows who owns what)`,
      );
    }
    case 'invalid': {
      const fields = e.refusedFields;
      if (fields.length) {
        return new ApplyFailedError(
          `${what}: the API server refused field${fields.length === 1 ? '' : 's'} ${fields.join(', ')}: not in the ${obj.kind} schema (strict validation; without it the server would drop ${fields.length === 1 ? 'it' : 'them'} silently and the policy would not do what it says)`,
          `\`demo manifests\` prints the object as rendered; move or rename ${fields.length === 1 ? 'that field' : 'those fields'} to where the ${obj.kind} CRD declares ${fields.length === 1 ? 'it' : 'them'} (\`oc explain ${(obj.kind ?? '').toLowerCase()}.spec --recursive\`)`,
        );
      }
      return new ApplyFailedError(`${what}: the API server rejected it: ${e.message}`, `\`demo manifests\` prints the object as rendered; check the values your --config gave it`);
    }
    case 'unreachable':
      return new ApplyFailedError(`${what}: the API server went away: ${e.message}`, 'check the connection to the cluster, then run `demo up --target cluster` again to resume');
    default:
      return new ApplyFailedError(`${what}: ${e.message}`, 'run `demo up --target cluster` again; if it repeats, run with --debug');
  }
}

/** Applies one object of ours; returns what happened (and, when it changed, the mark waits judge conditions by). */
export async function applyObject(kube: Kube, obj: K8sObject, preexisting: readonly ObjRef[], applied?: AppliedMarks, forceConflicts = false): Promise<{ action: ApplyAction | 'skipped'; note?: string }> {
  const ref = refOf(obj);
  let before: K8sObject | undefined;
  try {
    before = await kube.get(ref);
  } catch (err) {
    const e = toKubeError(err, `get ${refText(obj)}`);
    if (e.errorKind !== 'kind-not-served') throw applyFailure(obj, e);
  }
  if (before && NEVER_ADOPT.has(obj.kind) && !isOurs(before) && preexisting.some((p) => sameRef(p, ref))) {
    return { action: 'skipped', note: 'existed before the demo; left as it is' };
  }
  if (obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'if-absent' && before && !isOurs(before)) {
    return { action: 'skipped', note: 'exists already; the cluster\'s own copy is kept' };
  }
  let after: K8sObject;
  // The platform's object we configure (payload processing's plugins): its fields are taken, the original was recorded.
  const takeOver = obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'take-over';
  try {
    after = await kube.apply(withoutApplyMode(obj), { force: forceConflicts || takeOver });
  } catch (err) {
    throw applyFailure(obj, err);
  }
  const mark = appliedMark(before, after);
  if (mark && applied) applied.set(refText(obj), mark);
  if (!before) return { action: 'created' };
  return { action: before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured' };
}

/** Applies a patch of a foreign object (force: the operator owns those fields). */
export async function applyPatch(kube: Kube, patch: ObjectPatch, applied?: AppliedMarks): Promise<ApplyAction> {
  const ref = { apiVersion: patch.target.apiVersion, kind: patch.target.kind, namespace: patch.target.namespace, name: patch.target.name };
  let before: K8sObject | undefined;
  try {
    before = await kube.get(ref);
  } catch (err) {
    throw applyFailure(patch.applyObject, err);
  }
  if (!before) {
    throw new ApplyFailedError(`${refText(patch.applyObject)} does not exist, so it cannot be patched`, 'step 5 changes the MaaS maas-api Deployment: install MaaS first (preflight should have said so)');
  }
  try {
    const after = await kube.apply(patch.applyObject, { force: true });
    const mark = appliedMark(before, after);
    if (mark && applied) applied.set(refText(patch.applyObject), mark);
    return before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured';
  } catch (err) {
    throw applyFailure(patch.applyObject, err);
  }
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/** The field manager owning a path of the object (FieldsV1 keys, e.g. ['f:spec', …]); undefined when none does. */
export function ownerOf(obj: K8sObject, path: string[]): string | undefined {
  const entries = ((obj.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ?? []).filter((e) => !e.subresource);
  return entries.find((e) => {
    let node: unknown = e.fieldsV1;
    for (const k of path) {
      if (typeof node !== 'object' || node === null || !(k in node)) return false;
      node = (node as Record<string, unknown>)[k];
    }
    return true;
  })?.manager;
}

const imagePath = (container: string) => ['f:spec', 'f:template', 'f:spec', 'f:containers', `k:{"name":"${container}"}`, 'f:image'];
const annotationPath = (key: string) => ['f:metadata', 'f:annotations', `f:${key}`];

/** The maas-api values step 5 replaces, and who owned them, read from the live Deployment. */
export function maasApiOriginal(deployment: K8sObject, container: string, setImage?: string): MaasApiOriginal {
  const spec = deployment.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined;
  const image = spec?.template?.spec?.containers?.find((c) => c.name === container)?.image ?? null;
  const managed = deployment.metadata.annotations?.[MANAGED_ANNOTATION] ?? null;
  const imageManager = ownerOf(deployment, imagePath(container));
  const managedManager = ownerOf(deployment, annotationPath(MANAGED_ANNOTATION));
  return {
    namespace: deployment.metadata.namespace ?? '',
    name: deployment.metadata.name,
    container,
    image,
    managed,
    ...(setImage ? { setImage } : {}),
    ...(imageManager && imageManager !== FIELD_MANAGER ? { imageManager } : {}),
    ...(managedManager && managedManager !== FIELD_MANAGER ? { managedManager } : {}),
  };
}

/**
 * Records, before the first change, what `down` must restore or keep: the maas-api originals and the
 * plan's objects that exist without our labels. Earlier records win (a second `up` must not record
 * our own patched image as the original). Yields the apply event of the state ConfigMap.
 */
export async function* recordState(
  kube: Kube,
  plan: readonly RenderedStep[],
  namespace: string,
  existing: DemoState | undefined,
  step: string,
): AsyncGenerator<EventInput, DemoState> {
  const preexisting: ObjRef[] = [...(existing?.preexisting ?? [])];
  const originals: OriginalData[] = [...(existing?.originals ?? [])];
  for (const obj of plan.flatMap((r) => r.objects)) {
    const ref = refOf(obj);
    if (preexisting.some((p) => sameRef(p, ref))) continue;
    const live = await kube.get(ref).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.errorKind === 'kind-not-served') return undefined;
      throw applyFailure(obj, err);
    });
    if (live && !isOurs(live)) {
      preexisting.push(ref);
      // A platform object we configure: what it held, for `down` to put back.
      if (obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'take-over') originals.push({ ref, data: { ...((live.data ?? {}) as Record<string, string>) } });
    }
  }
  let maasApi = existing?.maasApi;
  const patch = plan.flatMap((r) => r.patches)[0];
  if (maasApi && !maasApi.setImage && patch?.container?.image) maasApi = { ...maasApi, setImage: patch.container.image };
  if (!maasApi && patch) {
    const live = await kube.get({ apiVersion: patch.target.apiVersion, kind: patch.target.kind, namespace: patch.target.namespace, name: patch.target.name });
    if (live) {
      maasApi = maasApiOriginal(live, patch.container?.name ?? patch.target.name, patch.container?.image);
      if (maasApi.image && maasApi.image === patch.container?.image) {
        yield { kind: 'log', level: 'warn', message: `${patch.target.kind} ${patch.target.namespace}/${patch.target.name} already runs ${maasApi.image} and no original was recorded: \`demo down\` will not be able to restore the stock image` };
        maasApi = { ...maasApi, image: null };
      }
    }
  }
  const state: DemoState = { ...(maasApi ? { maasApi } : {}), preexisting, ...(originals.length ? { originals } : {}), recordedAt: existing?.recordedAt || new Date().toISOString() };
  const obj = stateObject(namespace, state);
  const r = await applyObject(kube, obj, []);
  yield { kind: 'apply', step, object: refText(obj), action: r.action === 'skipped' ? 'unchanged' : r.action };
  for (const p of preexisting.filter((x) => !existing?.preexisting.some((y) => sameRef(x, y)))) {
    yield { kind: 'log', level: 'info', message: `${refText(p)} existed before the demo: it is used but never deleted by \`demo down\`` };
  }
  return state;
}

/**
 * Applies one rendered step's objects and patches; `dryRun` asks the server to validate each one
 * without persisting it (kinds not served yet are only listed).
 */
export async function* applyStep(
  kube: Kube,
  rendered: RenderedStep,
  opts: { preexisting: readonly ObjRef[]; signal: AbortSignal; counts: ApplyCounts; onApplied?: (ref: string) => void; applied?: AppliedMarks; forceConflicts?: boolean },
): AsyncGenerator<EventInput> {
  const step = rendered.step.id;
  for (const obj of rendered.objects) {
    if (opts.signal.aborted) return;
    const r = await applyObject(kube, obj, opts.preexisting, opts.applied, opts.forceConflicts);
    if (r.action === 'skipped') {
      opts.counts.skipped++;
      yield { kind: 'apply', step, object: `${refText(obj)} (${r.note})`, action: 'unchanged' };
      continue;
    }
    opts.counts[r.action]++;
    opts.onApplied?.(refText(obj));
    yield { kind: 'apply', step, object: refText(obj), action: r.action };
  }
  for (const patch of rendered.patches) {
    if (opts.signal.aborted) return;
    const action = await applyPatch(kube, patch, opts.applied);
    opts.counts[action]++;
    opts.onApplied?.(refText(patch.applyObject));
    const what = [patch.container ? `image ${patch.container.image}` : '', ...Object.entries(patch.annotations).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(', ');
    yield { kind: 'apply', step, object: `${refText(patch.applyObject)} (patched: ${what})`, action };
  }
}

/** `--dry-run`: what each object would do, validated by the server where its kind is served. */
export async function* dryRunStep(kube: Kube, rendered: RenderedStep, preexisting: readonly ObjRef[]): AsyncGenerator<EventInput> {
  const step = rendered.step.id;
  const all: { obj: K8sObject; force: boolean; patch: boolean }[] = [
    ...rendered.objects.map((obj) => ({ obj, force: false, patch: false })),
    ...rendered.patches.map((p) => ({ obj: p.applyObject, force: true, patch: true })),
  ];
  for (const { obj, force, patch } of all) {
    const ref = refOf(obj);
    const served = await kube.served(obj.apiVersion, obj.kind);
    if (!served) {
      yield { kind: 'apply', step, object: `${refText(obj)} (new; kind not served yet, installed by an earlier step)`, action: 'would-apply' };
      continue;
    }
    const live = await kube.get(ref).catch(() => undefined);
    if (live && !patch && ((NEVER_ADOPT.has(obj.kind) && !isOurs(live) && preexisting.some((p) => sameRef(p, ref))) || (obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'if-absent' && !isOurs(live)))) {
      yield { kind: 'apply', step, object: `${refText(obj)} (exists and is not ours: left as it is)`, action: 'would-apply' };
      continue;
    }
    if (obj.metadata.namespace && !(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: obj.metadata.namespace }))) {
      yield { kind: 'apply', step, object: `${refText(obj)} (new; its namespace is created by this run)`, action: 'would-apply' };
      continue;
    }
    try {
      await kube.apply(withoutApplyMode(obj), { force: force || obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'take-over', dryRun: true });
    } catch (err) {
      throw applyFailure(obj, err);
    }
    yield { kind: 'apply', step, object: `${refText(obj)} (${patch ? 'patch of the existing object' : live ? 'exists: would be updated if it differs' : 'new'})`, action: 'would-apply' };
  }
}
