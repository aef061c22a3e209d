/**
 * What the subscription era's controllers write into `status` (maas-controller for MaaSModelRef,
 * MaaSAuthPolicy and MaaSSubscription, the ExternalModel reconciler), as a pure function of the
 * objects. No controller runs on the local target, so it reads the objects through this: an object
 * that already carries a status (a dump from a cluster) keeps it, as it reflects what that cluster's
 * controllers decided; one without gets the status those controllers would give it. Our reading of
 * upstream's reconcilers, kept to what the era's hops and doctor use: phases, Ready and the
 * MaaSModelRef's endpoint, the HTTPRoute it is served by, model identity collisions.
 */
import type { K8sObject } from './k8s-object.js';
import { INFERENCE_GROUP_VERSION, MAAS_GROUP_VERSION, readInferenceExternalModel, readLegacyExternalModel } from './subscription-read.js';
import { PORT_ANNOTATION } from './subscription.js';

export interface ControllerContext {
  /** host[:port] of the MaaS gateway: a Ready MaaSModelRef's endpoint is `https://<host>/<ns>/<name>`. */
  gatewayHost: string;
  gatewayName: string;
  gatewayNamespace: string;
  now?: Date;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const is = (o: K8sObject, apiVersion: string, kind: string) => o.apiVersion === apiVersion && o.kind === kind;
const hasStatus = (o: K8sObject) => Object.keys(rec(o.status)).length > 0;

function cond(type: string, ok: boolean, reason: string, message: string, now: string): Obj {
  return { type, status: ok ? 'True' : 'False', reason, message, lastTransitionTime: now };
}

/** The ExternalModel a MaaSModelRef of kind ExternalModel points at: the canonical one first, then the legacy one. */
export function externalModelFor(objects: readonly K8sObject[], namespace: string, name: string): K8sObject | undefined {
  const find = (apiVersion: string) => objects.find((o) => is(o, apiVersion, 'ExternalModel') && o.metadata.name === name && (o.metadata.namespace ?? '') === namespace);
  return find(INFERENCE_GROUP_VERSION) ?? find(MAAS_GROUP_VERSION);
}

/** The body `model` an ExternalModel answers to (canonical `modelName`; legacy: its targetModel). */
export function modelNameOf(objects: readonly K8sObject[], em: K8sObject): string {
  return em.apiVersion === INFERENCE_GROUP_VERSION ? readInferenceExternalModel(em, objects.filter((o) => o.kind === 'ExternalProvider')).modelName : readLegacyExternalModel(em).modelName;
}

function externalModelStatus(o: K8sObject, now: string): Obj {
  const a = o.metadata.annotations ?? {};
  const port = a[PORT_ANNOTATION];
  if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { phase: 'Failed', conditions: [cond('Ready', false, 'InvalidConfiguration', `annotation ${PORT_ANNOTATION} "${port}" is not a port in 1–65535`, now)] };
  }
  const spec = rec(o.spec);
  const missing = o.apiVersion === MAAS_GROUP_VERSION ? ['provider', 'endpoint', 'targetModel'].filter((f) => !str(spec[f])) : arr(spec.externalProviderRefs).length ? [] : ['externalProviderRefs'];
  if (missing.length) return { phase: 'Failed', conditions: [cond('Ready', false, 'InvalidConfiguration', `spec.${missing.join(', spec.')} required`, now)] };
  return { phase: 'Ready', ...(o.apiVersion === INFERENCE_GROUP_VERSION ? { httpRouteName: `maas-${o.metadata.name}` } : {}), conditions: [cond('Ready', true, 'Reconciled', `HTTPRoute maas-${o.metadata.name} accepted`, now)] };
}

/** Objects with the statuses their controllers would set (objects that carry one keep it). */
export function reconcileStatuses(objects: readonly K8sObject[], ctx: ControllerContext): K8sObject[] {
  const now = (ctx.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out = objects.map((o) => structuredClone(o));
  // The API server stamps every object it creates; /v1/models shows it as `created`.
  for (const o of out) if (!o.metadata.creationTimestamp) o.metadata.creationTimestamp = now;
  // ExternalModels and ExternalProviders first: MaaSModelRefs read their status.
  for (const o of out) {
    if (hasStatus(o)) continue;
    if (is(o, MAAS_GROUP_VERSION, 'ExternalModel') || is(o, INFERENCE_GROUP_VERSION, 'ExternalModel')) o.status = externalModelStatus(o, now);
    else if (is(o, INFERENCE_GROUP_VERSION, 'ExternalProvider')) o.status = { phase: 'Ready', conditions: [cond('Ready', true, 'Reconciled', '', now)] };
  }
  // MaaSModelRefs, in order: the first to claim a model name keeps it (ModelIdentityUnique).
  const claimed = new Map<string, string>();
  for (const o of out.filter((x) => is(x, MAAS_GROUP_VERSION, 'MaaSModelRef'))) {
    const ns = o.metadata.namespace ?? '';
    const spec = rec(o.spec);
    const kind = str(rec(spec.modelRef).kind);
    const target = str(rec(spec.modelRef).name);
    const key = `${ns}/${o.metadata.name}`;
    if (hasStatus(o)) {
      if (str(rec(o.status).phase) === 'Ready' && kind === 'ExternalModel') {
        const em = externalModelFor(out, ns, target);
        if (em) claimed.set(modelNameOf(out, em), claimed.get(modelNameOf(out, em)) ?? key);
      }
      continue;
    }
    const pending = (reason: string, message: string, phase = 'Pending') => {
      o.status = { phase, conditions: [cond('Ready', false, reason, message, now)] };
    };
    if (kind !== 'ExternalModel') {
      pending('Unsupported', kind === 'LLMInferenceService' ? `LLMInferenceService ${ns}/${target}: not run by this demo's subscription era` : `spec.modelRef.kind "${kind}" is not LLMInferenceService or ExternalModel`, 'Failed');
      continue;
    }
    const em = externalModelFor(out, ns, target);
    if (!em) {
      pending('BackendNotFound', `ExternalModel ${ns}/${target} not found`);
      continue;
    }
    if (str(rec(em.status).phase) !== 'Ready') {
      pending('BackendNotReady', `ExternalModel ${ns}/${target} is ${str(rec(em.status).phase) || 'not reconciled'}`);
      continue;
    }
    const modelName = modelNameOf(out, em);
    const holder = claimed.get(modelName);
    if (holder && holder !== key) {
      o.status = {
        phase: 'Failed',
        conditions: [cond('Ready', false, 'ModelIdentityConflict', `model name "${modelName}" is already served by MaaSModelRef ${holder}`, now), cond('ModelIdentityUnique', false, 'Conflict', `MaaSModelRef ${holder} serves "${modelName}"`, now)],
      };
      continue;
    }
    claimed.set(modelName, key);
    o.status = {
      phase: 'Ready',
      endpoint: `https://${ctx.gatewayHost}/${ns}/${o.metadata.name}`,
      httpRouteName: `maas-${target}`,
      httpRouteNamespace: ns,
      httpRouteGatewayName: ctx.gatewayName,
      httpRouteGatewayNamespace: ctx.gatewayNamespace,
      conditions: [cond('Ready', true, 'Reconciled', '', now), cond('RuntimeReady', true, 'RuntimeHealthy', '', now), cond('ModelIdentityUnique', true, 'Valid', '', now)],
    };
  }
  const readyRefs = new Set(out.filter((x) => is(x, MAAS_GROUP_VERSION, 'MaaSModelRef') && str(rec(x.status).phase) === 'Ready').map((x) => `${x.metadata.namespace ?? ''}/${x.metadata.name}`));
  const phaseOf = (refs: { name: string; namespace: string }[]) => {
    const ready = refs.filter((r) => readyRefs.has(`${r.namespace}/${r.name}`)).length;
    return ready === refs.length && refs.length > 0 ? 'Active' : ready > 0 ? 'Degraded' : 'Failed';
  };
  const refsOf = (o: K8sObject) => arr(rec(o.spec).modelRefs).map((r) => ({ name: str(rec(r).name), namespace: str(rec(r).namespace) }));
  for (const o of out) {
    if (hasStatus(o)) continue;
    if (is(o, MAAS_GROUP_VERSION, 'MaaSAuthPolicy')) {
      const refs = refsOf(o);
      const phase = phaseOf(refs);
      o.status = {
        phase,
        conditions: [cond('Ready', phase !== 'Failed', phase === 'Active' ? 'Reconciled' : 'ModelRefsNotReady', phase === 'Active' ? '' : `not Ready: ${refs.filter((r) => !readyRefs.has(`${r.namespace}/${r.name}`)).map((r) => `${r.namespace}/${r.name}`).join(', ')}`, now)],
        authPolicies: refs.map((r) => ({ name: 'maas-gateway-auth', namespace: ctx.gatewayNamespace, model: r.name, modelNamespace: r.namespace, ready: readyRefs.has(`${r.namespace}/${r.name}`), reason: readyRefs.has(`${r.namespace}/${r.name}`) ? 'AcceptedEnforced' : 'ModelRefNotReady', message: '' })),
      };
    } else if (is(o, MAAS_GROUP_VERSION, 'MaaSSubscription')) {
      const refs = refsOf(o);
      const phase = phaseOf(refs);
      const missing = refs.filter((r) => !readyRefs.has(`${r.namespace}/${r.name}`));
      o.status = {
        phase,
        conditions: [cond('Ready', phase === 'Active', phase === 'Active' ? 'Reconciled' : 'ModelRefsNotReady', missing.length ? `not Ready: ${missing.map((r) => `${r.namespace}/${r.name}`).join(', ')}` : '', now)],
        modelRefStatuses: refs.map((r) => ({ name: r.name, namespace: r.namespace, ready: readyRefs.has(`${r.namespace}/${r.name}`), reason: readyRefs.has(`${r.namespace}/${r.name}`) ? 'Valid' : 'NotReady' })),
        tokenRateLimitStatuses: refs.filter((r) => readyRefs.has(`${r.namespace}/${r.name}`)).map((r) => ({ model: r.name, name: `maas-trlp-${r.name}`, namespace: r.namespace, ready: true, reason: 'Enforced' })),
      };
    }
  }
  return out;
}
