/**
 * `down` on a cluster: finds every object carrying both demo labels (whatever flags the `up` had),
 * restores maas-api from the recorded originals, deletes the rest step by step in reverse order
 * (dependents before what they depend on, namespaces and CRDs last), waits through watches until
 * each step's objects are gone, and finally removes the state ConfigMap. Objects that existed before
 * the first `up` are never deleted: our labels are taken off them instead.
 */
import type { EventInput } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { DEMO_SELECTOR, LABEL_MANAGED_BY, LABEL_PART_OF, LABEL_STEP } from '../../model/k8s-object.js';
import { Kube, refOf, refText, toKubeError, type ObjRef } from './client.js';
import { MANAGED_ANNOTATION, STATE_NAME, readState, sameRef, type DemoState } from './state.js';
import { isFailure, runPlan, runWait, type WaitPlan } from './wait.js';
import { StepFailedError } from '../../core/errors.js';

/** Deletion order inside a step: users of a thing go before the thing. */
export const DELETE_ORDER: { apiVersion: string; kind: string }[] = [
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSSubscription' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSAuthPolicy' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSModelRef' },
  { apiVersion: 'inference.opendatahub.io/v1alpha1', kind: 'ExternalModel' },
  { apiVersion: 'inference.opendatahub.io/v1alpha1', kind: 'ExternalProvider' },
  { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'ExternalModel' },
  { apiVersion: 'serving.kserve.io/v1alpha1', kind: 'LLMInferenceService' },
  { apiVersion: 'kuadrant.io/v1', kind: 'AuthPolicy' },
  { apiVersion: 'kuadrant.io/v1alpha1', kind: 'TokenRateLimitPolicy' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' },
  { apiVersion: 'ainetworking.prototype.x-k8s.io/v0alpha0', kind: 'XBackendDestination' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway' },
  { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'v1', kind: 'Namespace' },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
];

// The subscription era's steps (key, s4–s0) go in the same reverse order.
const STEP_ORDER = ['5', '4', '3a', '3', '2', '1', 'key', 's4', 's3', 's2', 's1', 's0'];

function stepOf(o: K8sObject): string {
  return o.metadata.labels?.[LABEL_STEP] ?? '?';
}

/** Every object with both demo labels, in deletion order (state ConfigMap excluded). */
export async function labelledObjects(kube: Kube): Promise<K8sObject[]> {
  const found: K8sObject[] = [];
  for (const k of DELETE_ORDER) {
    if (!(await kube.served(k.apiVersion, k.kind))) continue;
    const r = await kube.list(k.apiVersion, k.kind, undefined, { labelSelector: DEMO_SELECTOR }).catch((err: unknown) => {
      // Its CRD went away since discovery was read (deleted by this very teardown).
      if (toKubeError(err, '').errorKind === 'kind-not-served') return { items: [] };
      throw err;
    });
    found.push(...r.items.map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.kind })));
  }
  const rank = (o: K8sObject) => DELETE_ORDER.findIndex((k) => k.kind === o.kind);
  const stepRank = (o: K8sObject) => {
    const i = STEP_ORDER.indexOf(stepOf(o));
    return i < 0 ? STEP_ORDER.length : i;
  };
  return found.sort((a, b) => stepRank(a) - stepRank(b) || rank(a) - rank(b));
}

function gonePlan(refs: ObjRef[], label: string): WaitPlan {
  let left: string[] = [];
  return {
    condition: `${label}: ${refs.length} object${refs.length === 1 ? '' : 's'} gone`,
    async probe(view) {
      left = [];
      for (const r of refs) {
        const o = await view.object(r.apiVersion, r.kind, r.namespace, r.name, refText(r));
        // a kind no longer served (its CRD went first) holds no objects
        if (!o || isFailure(o)) continue;
        left.push(`${refText(r)}${(o.metadata as { deletionTimestamp?: string }).deletionTimestamp ? ' (terminating)' : ''}`);
      }
      return left.length ? { met: false, reason: `${left.length} left: ${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''}` } : { met: true };
    },
    explain: async (last) => ({
      message: `still there: ${last}`,
      hint: 'a finalizer may hold them (`oc get <kind> <name> -o yaml` shows metadata.finalizers); run `demo down --target cluster` again once it is released',
      evidence: [],
      terminal: false,
    }),
  };
}

/** Someone other than the demo owned these fields before `up` took them; without a record, this name gets them. */
export const RETURNED_FIELDS_MANAGER = 'before-maas-egress-demo';

export type MaasApiOutcome = 'restored' | 'left' | 'gone' | 'not-recorded';

/**
 * Puts maas-api back, but only while it still runs the image `up` set: someone who changed it since (an
 * upgrade, an operator) keeps their version, and the run says what runs. Restoring hands each field back
 * to the field manager that owned it before `up` (an update under that name), removes the annotation if
 * there was none, and finally applies nothing under our name, so no field of maas-api stays ours.
 */
export async function* restoreMaasApi(kube: Kube, state: DemoState, step: string, opts: { timeoutMs: number; signal: AbortSignal; setImage?: string }): AsyncGenerator<EventInput, MaasApiOutcome> {
  const o = state.maasApi;
  if (!o) return 'not-recorded';
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: o.namespace, name: o.name };
  const live = await kube.get(ref);
  if (!live) {
    yield { kind: 'log', level: 'warn', message: `Deployment ${o.namespace}/${o.name} no longer exists; nothing to restore` };
    return 'gone';
  }
  const containers = ((live.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined)?.template?.spec?.containers ?? []);
  const running = containers.find((c) => c.name === o.container)?.image;
  const set = o.setImage ?? opts.setImage;
  const before = live.metadata.resourceVersion;
  if (set && running !== set) {
    yield {
      kind: 'log',
      level: 'warn',
      message: `maas-api runs ${running ?? '(no image)'}, not ${set} which \`demo up\` set: it was changed since, so it is left as it is (before the demo it ran ${o.image ?? 'an image that was not recorded'})`,
    };
  } else {
    const index = containers.findIndex((c) => c.name === o.container);
    if (o.image && index >= 0) {
      // a JSON patch of that one field (a merge patch would replace the whole containers list)
      const at = `/spec/template/spec/containers/${index}`;
      await kube.jsonPatch(ref, [{ op: 'test', path: `${at}/name`, value: o.container }, { op: 'replace', path: `${at}/image`, value: o.image }], o.imageManager ?? RETURNED_FIELDS_MANAGER);
    }
    const managedNow = live.metadata.annotations?.[MANAGED_ANNOTATION];
    if (managedNow === 'false' && o.managed !== 'false') {
      await kube.mergePatch(ref, { metadata: { annotations: { [MANAGED_ANNOTATION]: o.managed } } }, o.managedManager ?? RETURNED_FIELDS_MANAGER);
    }
  }
  // Nothing of maas-api stays ours: an apply of no fields drops our field manager's entry. Left as it runs,
  // its unmanaged mark stays (released, the API server would delete it and the operator would revert the
  // image someone chose): that one field stays ours, and the run says so.
  const keepMark = Boolean(set && running !== set && live.metadata.annotations?.[MANAGED_ANNOTATION] === 'false' && o.managed !== 'false');
  await kube.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: o.name, namespace: o.namespace, ...(keepMark ? { annotations: { [MANAGED_ANNOTATION]: 'false' } } : {}) } });
  const after = await kube.get(ref);
  if (set && running !== set) {
    if (keepMark) {
      yield { kind: 'log', level: 'info', message: `${MANAGED_ANNOTATION}=false stays on maas-api so the operator does not put its own image back; remove it when it may (\`oc -n ${o.namespace} annotate deployment ${o.name} ${MANAGED_ANNOTATION}-\`)` };
    }
    yield { kind: 'apply', step, object: `Deployment/${o.namespace}/${o.name} (left as it runs: ${running ?? 'no image'}; our fields released${keepMark ? ` but ${MANAGED_ANNOTATION}` : ''})`, action: 'unchanged' };
    return 'left';
  }
  const changes = [o.image ? `image ${o.image}` : 'image unknown (left as is)', o.managed === null ? `${MANAGED_ANNOTATION} removed` : `${MANAGED_ANNOTATION}=${o.managed}`];
  yield { kind: 'apply', step, object: `Deployment/${o.namespace}/${o.name} (restored: ${changes.join(', ')}; fields handed back to ${o.imageManager ?? RETURNED_FIELDS_MANAGER})`, action: after?.metadata.resourceVersion === before ? 'unchanged' : 'configured' };
  if (!o.image) yield { kind: 'log', level: 'warn', message: `the original maas-api image was not recorded; set it back by hand or let the operator do it (the ${MANAGED_ANNOTATION} annotation is restored)` };
  yield* runWait(kube, step, { kind: 'rollout', namespace: o.namespace, name: o.name, timeoutMs: opts.timeoutMs }, opts);
  return 'restored';
}

export interface TeardownResult {
  deleted: number;
  kept: string[];
  maasApi: MaasApiOutcome;
}

/** Deletes what the demo created and restores what it changed. */
export async function* teardown(kube: Kube, maasNamespace: string, opts: { timeoutMs: number; signal: AbortSignal; setImage?: string }): AsyncGenerator<EventInput, TeardownResult> {
  const state = await readState(kube, maasNamespace);
  const all = await labelledObjects(kube);
  const preexisting = state?.preexisting ?? [];
  const kept: string[] = [];
  const toDelete: K8sObject[] = [];
  for (const o of all) {
    if (o.kind === 'ConfigMap' && o.metadata.name === STATE_NAME) continue;
    if (preexisting.some((p) => sameRef(p, refOf(o)))) kept.push(refText(o));
    else toDelete.push(o);
  }
  const steps = [...new Set([...(state?.maasApi ? ['5'] : []), ...toDelete.map(stepOf)])].sort((a, b) => {
    const ia = STEP_ORDER.indexOf(a);
    const ib = STEP_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  let deleted = 0;
  let maasApi: MaasApiOutcome = 'not-recorded';
  for (const step of steps) {
    if (opts.signal.aborted) break;
    const t0 = performance.now();
    const mine = toDelete.filter((o) => stepOf(o) === step);
    yield { kind: 'step-start', step, title: step === '5' && state?.maasApi ? `Remove step ${step} and restore maas-api` : `Remove step ${step}` };
    try {
      if (step === '5' && state) maasApi = yield* restoreMaasApi(kube, state, step, opts);
      for (const o of mine) {
        if (opts.signal.aborted) break;
        const gone = await kube.remove(refOf(o), 'Background');
        if (gone) deleted++;
        yield { kind: 'apply', step, object: refText(o), action: 'deleted' };
      }
      if (mine.length && !opts.signal.aborted) yield* runPlan(kube, step, gonePlan(mine.map(refOf), `step ${step}`), opts);
      yield { kind: 'step-end', step, ok: true, ms: Math.round(performance.now() - t0) };
    } catch (err) {
      const e = err instanceof StepFailedError ? err : new StepFailedError(toKubeError(err, `step ${step}`).message, 'run `demo down --target cluster` again; it only touches what is left');
      yield { kind: 'step-end', step, ok: false, ms: Math.round(performance.now() - t0), message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      throw e;
    }
  }
  if (opts.signal.aborted) return { deleted, kept, maasApi };
  for (const k of kept) {
    const o = all.find((x) => refText(x) === k);
    if (!o) continue;
    await kube.mergePatch(refOf(o), { metadata: { labels: { [LABEL_MANAGED_BY]: null, [LABEL_PART_OF]: null, [LABEL_STEP]: null } } }).catch(() => undefined);
    // A platform object `up` configured (payload processing's plugins): its data as it was before.
    const original = state?.originals?.find((x) => sameRef(x.ref, refOf(o)));
    if (original) {
      const now = (o.data ?? {}) as Record<string, string>;
      const data: Record<string, string | null> = { ...original.data };
      for (const key of Object.keys(now)) if (!(key in original.data)) data[key] = null;
      await kube.mergePatch(refOf(o), { data }, RETURNED_FIELDS_MANAGER);
      yield { kind: 'apply', step: 'restore', object: `${k} (data restored as it was before the demo)`, action: 'configured' };
    }
    yield { kind: 'log', level: 'info', message: `${k} existed before the demo: kept, our labels removed` };
  }
  const stateObjs = all.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === STATE_NAME);
  for (const o of stateObjs) await kube.remove(refOf(o));
  return { deleted, kept, maasApi };
}
