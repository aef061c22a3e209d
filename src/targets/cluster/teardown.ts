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

const STEP_ORDER = ['5', '4', '3a', '3', '2', '1'];

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

/** Puts maas-api back: the recorded image and `opendatahub.io/managed` value (or no annotation). */
export async function* restoreMaasApi(kube: Kube, state: DemoState, step: string, opts: { timeoutMs: number; signal: AbortSignal }): AsyncGenerator<EventInput> {
  const o = state.maasApi;
  if (!o) return;
  const live = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: o.namespace, name: o.name });
  if (!live) {
    yield { kind: 'log', level: 'warn', message: `Deployment ${o.namespace}/${o.name} no longer exists; nothing to restore` };
    return;
  }
  const restore: K8sObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace, ...(o.managed !== null ? { annotations: { [MANAGED_ANNOTATION]: o.managed } } : {}) },
    ...(o.image ? { spec: { template: { spec: { containers: [{ name: o.container, image: o.image }] } } } } : {}),
  };
  const before = live.metadata.resourceVersion;
  const after = await kube.apply(restore, { force: true });
  const changes = [o.image ? `image ${o.image}` : 'image unknown (left as is)', o.managed === null ? `${MANAGED_ANNOTATION} removed` : `${MANAGED_ANNOTATION}=${o.managed}`];
  yield { kind: 'apply', step, object: `Deployment/${o.namespace}/${o.name} (restored: ${changes.join(', ')})`, action: after.metadata.resourceVersion === before ? 'unchanged' : 'configured' };
  if (!o.image) yield { kind: 'log', level: 'warn', message: `the original maas-api image was not recorded; set it back by hand or let the operator do it (the ${MANAGED_ANNOTATION} annotation is restored)` };
  yield* runWait(kube, step, { kind: 'rollout', namespace: o.namespace, name: o.name, timeoutMs: opts.timeoutMs }, opts);
}

export interface TeardownResult {
  deleted: number;
  kept: string[];
  restored: boolean;
}

/** Deletes what the demo created and restores what it changed. */
export async function* teardown(kube: Kube, maasNamespace: string, opts: { timeoutMs: number; signal: AbortSignal }): AsyncGenerator<EventInput, TeardownResult> {
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
  for (const step of steps) {
    if (opts.signal.aborted) break;
    const t0 = performance.now();
    const mine = toDelete.filter((o) => stepOf(o) === step);
    yield { kind: 'step-start', step, title: step === '5' && state?.maasApi ? `Remove step ${step} and restore maas-api` : `Remove step ${step}` };
    try {
      if (step === '5' && state) yield* restoreMaasApi(kube, state, step, opts);
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
  if (opts.signal.aborted) return { deleted, kept, restored: false };
  for (const k of kept) {
    const o = all.find((x) => refText(x) === k);
    if (!o) continue;
    await kube.mergePatch(refOf(o), { metadata: { labels: { [LABEL_MANAGED_BY]: null, [LABEL_PART_OF]: null, [LABEL_STEP]: null } } }).catch(() => undefined);
    yield { kind: 'log', level: 'info', message: `${k} existed before the demo: kept, our labels removed` };
  }
  const stateObjs = all.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === STATE_NAME);
  for (const o of stateObjs) await kube.remove(refOf(o));
  return { deleted, kept, restored: Boolean(state?.maasApi) };
}
