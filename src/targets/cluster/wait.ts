/**
 * Readiness waits on informer caches (informers.ts): a wait names what it looks at, reads it from the
 * caches (one LIST and one WATCH per waited kind for the whole run, pods through their workload's label
 * selector), and is probed again on every change of what it read, one probe at a time; a timer bounds
 * the whole wait. No sleeps and no re-reads: a wait that sees no change only ends by its timeout or Ctrl-C.
 *
 * A probe says met, pending (with the cluster's latest reason) or failed for good (a terminal pod or
 * condition reason). Conditions count only when current: their observedGeneration equals the object's
 * generation, or, where the writer sets none (the wg-ai-gateway controller), they changed after our
 * apply, or the controller wrote the status again since (a True that did not flip). A terminal reason
 * left from before our change is not a failure.
 *
 * On a timeout or failure the message names the object, the reason the cluster gave and the fix, and
 * carries the evidence gathered at that moment (pod Events, container states, the last log lines of a
 * crashing container).
 */
import type { EventInput } from '../../core/events.js';
import { InterruptedError, StepFailedError } from '../../core/errors.js';
import type { WaitSpec } from '../../core/step.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { FIELD_MANAGER, Kube, KubeApiError, refText, toKubeError } from './client.js';
import { Informers, type Informer, type WatchSource } from './informers.js';
import { diagnosePod, podEvents, podVerdict, verdictLine, isTerminating, type PodDiagnosis, type PodVerdict } from './pod-reasons.js';

export type { WatchSource };

/** Condition reasons after which no wait helps (Gateway API, Kuadrant, Deployment). */
export const TERMINAL_CONDITION_REASONS = new Set([
  'TranslationError',
  'Invalid',
  'InvalidParameters',
  'InvalidCelExpression',
  'UnsupportedValue',
  'UnsupportedProtocol',
  'InvalidKind',
  'NotAllowedByListeners',
  'NoMatchingListenerHostname',
  'Overridden',
  'ProgressDeadlineExceeded',
]);

export interface WaitFailure {
  /** What was waited for, e.g. `Deployment ai-gateway-system/ai-gateway-controller rolled out`. */
  condition: string;
  /** One line: object, the cluster's reason and message. */
  message: string;
  hint: string;
  evidence: string[];
  terminal: boolean;
}

type Failure = Omit<WaitFailure, 'condition'>;

export class WaitFailedError extends StepFailedError {
  readonly failure: WaitFailure;
  constructor(f: WaitFailure) {
    super(f.message, f.hint);
    this.name = 'WaitFailedError';
    this.failure = f;
  }
}

export type Probe = { met: true } | { met: false; reason: string; failure?: Failure };

/** Our last apply that changed an object: its generation then, and the server's time of it. */
export interface AppliedMark {
  generation: number;
  at: string;
}

/** Marks per object (`refText`), collected while applying; waits use them to judge conditions. */
export type AppliedMarks = Map<string, AppliedMark>;

/** The mark of an apply, read from the object the server returned (undefined when it changed nothing). */
export function appliedMark(before: K8sObject | undefined, after: K8sObject): AppliedMark | undefined {
  if (before && before.metadata.resourceVersion === after.metadata.resourceVersion) return undefined;
  const meta = after.metadata as { generation?: number; managedFields?: { manager?: string; operation?: string; subresource?: string; time?: string }[] };
  const mine = (meta.managedFields ?? []).find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply' && !m.subresource);
  if (meta.generation === undefined || !mine?.time) return undefined;
  return { generation: meta.generation, at: mine.time };
}

/** What a probe reads: objects from the run's informers (each read subscribes the wait to changes). */
export interface View {
  /** One object, or a terminal failure when its kind is not served or may not be read. */
  object(apiVersion: string, kind: string, namespace: string | undefined, name: string, objText: string): Promise<K8sObject | Failure | undefined>;
  /** Every object of a source (label-selected pods, labelled objects). */
  list(src: WatchSource, objText: string): Promise<K8sObject[] | Failure>;
}

export interface WaitPlan {
  condition: string;
  probe: (view: View) => Promise<Probe>;
  /** The full explanation when time runs out (defaults to the last probe's reason). */
  explain: (last: string) => Promise<Failure>;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

function conditionsOf(obj: K8sObject): Condition[] {
  const st = (obj.status ?? {}) as { conditions?: Condition[] };
  return Array.isArray(st.conditions) ? st.conditions : [];
}

function generationOf(obj: K8sObject): number | undefined {
  return (obj.metadata as { generation?: number }).generation;
}

function condText(c: Condition): string {
  return `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`;
}

/** Has a status writer written the object since `at` (server times)? */
function statusWrittenSince(obj: K8sObject, at: string): boolean {
  const mf = (obj.metadata as { managedFields?: { subresource?: string; time?: string }[] }).managedFields ?? [];
  return mf.some((m) => m.subresource === 'status' && (m.time ?? '') >= at);
}

/**
 * Does a condition speak about the object as it is now? `statusGeneration` is status.observedGeneration
 * for writers that set it per object (Kuadrant, Deployments).
 */
export function currentness(obj: K8sObject, c: Condition | undefined, mark: AppliedMark | undefined, statusGeneration?: number): { current: boolean; why?: string } {
  const gen = generationOf(obj);
  const og = c?.observedGeneration ?? statusGeneration;
  if (og !== undefined && gen !== undefined) {
    return og === gen ? { current: true } : { current: false, why: `for generation ${og}; the object is at ${gen}` };
  }
  if (!mark || !c) return { current: true };
  // someone changed it again after us: our mark says nothing about these conditions any more
  if (gen !== undefined && gen !== mark.generation) return { current: true };
  if (c.lastTransitionTime && c.lastTransitionTime >= mark.at) return { current: true };
  if (c.status === 'True' && statusWrittenSince(obj, mark.at)) return { current: true };
  return { current: false, why: `set at ${c.lastTransitionTime ?? 'an unknown time'}, before our change at ${mark.at}; the controller has not reported since` };
}

const byName = (name: string) => `metadata.name=${name}`;

function selectorOf(obj: K8sObject | undefined): string | undefined {
  const sel = (obj?.spec as { selector?: { matchLabels?: Record<string, string> } | Record<string, string> } | undefined)?.selector;
  if (!sel) return undefined;
  const labels = 'matchLabels' in sel && typeof sel.matchLabels === 'object' ? sel.matchLabels : (sel as Record<string, string>);
  const parts = Object.entries(labels ?? {}).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.sort().join(',') : undefined;
}

const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff']);

/** Verdicts of the pods that are not Ready; terminal ones come with their full diagnosis. */
async function judgePods(kube: Kube, pods: K8sObject[]): Promise<{ worst?: PodVerdict; terminal?: PodDiagnosis }> {
  let worst: PodVerdict | undefined;
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    let v = podVerdict(pod);
    if (!v) continue;
    let events;
    if (PULL_REASONS.has(v.reason)) {
      events = await podEvents(kube, v.namespace, v.pod);
      v = podVerdict(pod, events) ?? v;
    }
    if (v.terminal) {
      const d = await diagnosePod(kube, pod, events);
      if (d) return { worst: v, terminal: d };
    }
    if (!worst || (worst.reason === 'ContainerCreating' && v.reason !== 'ContainerCreating')) worst = v;
  }
  return worst ? { worst } : {};
}

function podFailure(objText: string, d: PodDiagnosis): Failure {
  return { message: `${objText}: ${verdictLine(d)}`, hint: d.hint, evidence: d.evidence, terminal: d.terminal };
}

/** Explains a timeout from the pods of a workload: the first not-Ready pod's diagnosis. */
async function explainPods(kube: Kube, objText: string, pods: K8sObject[], last: string, fallbackHint: string): Promise<Failure> {
  for (const pod of pods) {
    const d = await diagnosePod(kube, pod).catch(() => undefined);
    if (d) return { ...podFailure(objText, d), terminal: false };
  }
  return { message: `${objText}: ${last}`, hint: fallbackHint, evidence: [], terminal: false };
}

function missingKind(objText: string, apiVersion: string, kind: string): Failure {
  return {
    message: `${objText}: the cluster does not serve ${apiVersion} ${kind} (its CRD is missing)`,
    hint: `install the operator that provides ${kind} (${kindOwner(kind)}), or check \`oc api-resources | grep -i ${kind}\``,
    evidence: [],
    terminal: true,
  };
}

export function kindOwner(kind: string): string {
  if (/Policy$/.test(kind)) return 'Kuadrant / Red Hat Connectivity Link';
  if (kind === 'LLMInferenceService') return 'KServe, part of OpenShift AI / ODH';
  if (kind === 'XBackendDestination' || kind === 'Backend') return 'the wg-ai-gateway CRDs: pass --wg-dir';
  if (['Gateway', 'HTTPRoute', 'GatewayClass'].includes(kind)) return 'the Gateway API CRDs (OpenShift 4.19+ ships them)';
  return 'its operator';
}

export function forbiddenFailure(objText: string, e: KubeApiError): Failure {
  return {
    message: `${objText}: forbidden: ${e.message}`,
    hint: 'your user lacks this permission: log in as a cluster admin (`oc login -u kubeadmin …`) or ask one to grant it, then run `demo up --target cluster` again',
    evidence: [],
    terminal: true,
  };
}

export function isFailure(v: unknown): v is Failure {
  return typeof v === 'object' && v !== null && 'hint' in v && 'terminal' in v && !('metadata' in v);
}

/** Pods of the Deployment's newest ReplicaSet (all pods of the selector when that cannot be told). */
function rolloutPods(d: K8sObject, pods: K8sObject[], replicaSets: K8sObject[]): K8sObject[] {
  const live = pods.filter((p) => !isTerminating(p));
  const uid = (d.metadata as { uid?: string }).uid;
  const owned = replicaSets.filter((rs) => ((rs.metadata as { ownerReferences?: { uid?: string }[] }).ownerReferences ?? []).some((o) => o.uid === uid));
  const rev = (rs: K8sObject) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  const newest = owned.sort((a, b) => rev(b) - rev(a))[0];
  const hash = newest?.metadata.labels?.['pod-template-hash'];
  const mine = hash ? live.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash) : live;
  return mine.length ? mine : live;
}

export interface PlanContext {
  kube: Kube;
  applied?: AppliedMarks;
}

function deploymentPlan(ctx: PlanContext, ns: string, name: string, needAvailable: boolean): WaitPlan {
  const { kube } = ctx;
  const objText = `Deployment ${ns}/${name}`;
  const condition = needAvailable ? `${objText} Available` : `${objText} rolled out`;
  let lastPods: K8sObject[] = [];
  return {
    condition,
    async probe(view) {
      const d = await view.object('apps/v1', 'Deployment', ns, name, objText);
      if (isFailure(d)) return { met: false, reason: d.message, failure: d };
      if (!d) return { met: false, reason: 'the Deployment does not exist yet' };
      const spec = (d.spec ?? {}) as { replicas?: number };
      const st = (d.status ?? {}) as { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
      const want = spec.replicas ?? 1;
      const gen = generationOf(d) ?? 0;
      const conds = conditionsOf(d);
      const progressing = conds.find((c) => c.type === 'Progressing');
      const available = conds.find((c) => c.type === 'Available');
      const observed = st.observedGeneration === gen;
      const updated = st.updatedReplicas ?? 0;
      const total = st.replicas ?? 0;
      const avail = st.availableReplicas ?? 0;
      const rolled = observed && updated >= want && total <= updated && avail >= want;
      if (rolled && (!needAvailable || available?.status === 'True')) return { met: true };
      const sel = selectorOf(d);
      if (sel) {
        const pods = await view.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: sel }, objText);
        const rss = await view.list({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns, labelSelector: sel }, objText);
        if (isFailure(pods)) return { met: false, reason: pods.message, failure: pods };
        lastPods = rolloutPods(d, pods, isFailure(rss) ? [] : rss);
      }
      const j = await judgePods(kube, lastPods);
      if (j.terminal) return { met: false, reason: verdictLine(j.terminal), failure: podFailure(objText, j.terminal) };
      if (observed && progressing?.status === 'False' && TERMINAL_CONDITION_REASONS.has(progressing.reason ?? '')) {
        return { met: false, reason: condText(progressing), failure: { message: `${objText}: ${condText(progressing)}`, hint: `\`oc describe deployment -n ${ns} ${name}\` and its pods' events show why the rollout stalled`, evidence: [], terminal: true } };
      }
      if (!observed) return { met: false, reason: `the controller has not seen generation ${gen} yet` };
      const counts = `${avail}/${want} available, ${updated}/${want} updated${total > updated ? `, ${total - updated} old` : ''}`;
      return { met: false, reason: j.worst ? `${counts}; ${verdictLine(j.worst)}` : counts };
    },
    explain: (last) => explainPods(kube, objText, lastPods, last, `\`oc describe deployment -n ${ns} ${name}\` and \`oc get events -n ${ns}\` show what it waits for`),
  };
}

function podsReadyPlan(ctx: PlanContext, ns: string, selector: string): WaitPlan {
  const { kube } = ctx;
  const objText = `pods ${selector} in ${ns}`;
  let lastPods: K8sObject[] = [];
  return {
    condition: `Pods ${ns}/${selector} Ready`,
    async probe(view) {
      const pods = await view.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: selector }, objText);
      if (isFailure(pods)) return { met: false, reason: pods.message, failure: pods };
      lastPods = pods.filter((p) => !isTerminating(p));
      if (lastPods.length === 0) return { met: false, reason: 'no pods yet' };
      const j = await judgePods(kube, lastPods);
      if (j.terminal) return { met: false, reason: verdictLine(j.terminal), failure: podFailure(objText, j.terminal) };
      if (!j.worst) return { met: true };
      return { met: false, reason: verdictLine(j.worst) };
    },
    explain: (last) => explainPods(kube, objText, lastPods, last, `\`oc get pods -n ${ns} -l ${selector}\` and \`oc describe\` them`),
  };
}

function endpointsPlan(ctx: PlanContext, ns: string, name: string): WaitPlan {
  const { kube } = ctx;
  const objText = `Service ${ns}/${name}`;
  let lastPods: K8sObject[] = [];
  return {
    condition: `${objText} has ready endpoints`,
    async probe(view) {
      const svc = await view.object('v1', 'Service', ns, name, objText);
      if (isFailure(svc)) return { met: false, reason: svc.message, failure: svc };
      if (!svc) return { met: false, reason: 'the Service does not exist yet (the gateway controller creates it)' };
      const slices = await view.list({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace: ns, labelSelector: `kubernetes.io/service-name=${name}` }, objText);
      if (isFailure(slices)) return { met: false, reason: slices.message, failure: slices };
      const ready = slices.flatMap((s) => ((s as { endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[] }).endpoints ?? []).filter((e) => (e.addresses ?? []).length > 0 && e.conditions?.ready !== false));
      if (ready.length > 0) return { met: true };
      const sel = selectorOf(svc);
      const pods = sel ? await view.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: sel }, objText) : [];
      lastPods = isFailure(pods) ? [] : pods.filter((p) => !isTerminating(p));
      const j = await judgePods(kube, lastPods);
      if (j.terminal) return { met: false, reason: verdictLine(j.terminal), failure: podFailure(objText, j.terminal) };
      return { met: false, reason: j.worst ? `no ready endpoints; ${verdictLine(j.worst)}` : lastPods.length ? 'no ready endpoints yet' : `no pod matches the selector ${sel ?? '(none)'}` };
    },
    explain: (last) => explainPods(kube, objText, lastPods, last, `\`oc get endpointslices -n ${ns} -l kubernetes.io/service-name=${name}\` and the selected pods show why none is ready`),
  };
}

function crdPlan(ctx: PlanContext, name: string): WaitPlan {
  const objText = `CustomResourceDefinition ${name}`;
  return {
    condition: `${objText} Established`,
    async probe(view) {
      const crd = await view.object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, name, objText);
      if (isFailure(crd)) return { met: false, reason: crd.message, failure: crd };
      if (!crd) return { met: false, reason: 'the CRD does not exist' };
      const c = conditionsOf(crd).find((x) => x.type === 'Established');
      if (c?.status === 'True') {
        const spec = crd.spec as { group?: string; versions?: { name: string }[] };
        for (const v of spec.versions ?? []) ctx.kube.forgetDiscovery(`${spec.group}/${v.name}`);
        return { met: true };
      }
      const names = conditionsOf(crd).find((x) => x.type === 'NamesAccepted' && x.status === 'False');
      if (names) return { met: false, reason: condText(names), failure: { message: `${objText}: ${condText(names)}`, hint: 'another CRD already uses these names: remove the conflicting CRD or keep the installed one and pass --skip-crds', evidence: [], terminal: true } };
      return { met: false, reason: c ? condText(c) : 'not Established yet' };
    },
    explain: async (last) => ({
      message: `${objText} is not Established: ${last}`,
      hint: `the API server did not serve the CRD: \`oc get crd ${name} -o yaml\` shows its conditions; if your cluster already has it, pass --skip-crds`,
      evidence: [],
      terminal: false,
    }),
  };
}

function conditionPlan(ctx: PlanContext, spec: Extract<WaitSpec, { kind: 'condition' }>): WaitPlan {
  const { kube } = ctx;
  const { apiVersion, resource: kind, namespace: ns, name, type } = spec;
  const objText = `${kind} ${ns ? `${ns}/` : ''}${name}`;
  const isModel = kind === 'LLMInferenceService';
  let lastPods: K8sObject[] = [];
  let lastCond: Condition | undefined;
  return {
    condition: `${objText} ${type}`,
    async probe(view) {
      const obj = await view.object(apiVersion, kind, ns, name, objText);
      if (isFailure(obj)) return { met: false, reason: obj.message, failure: obj };
      if (!obj) return { met: false, reason: `the ${kind} does not exist` };
      const c = conditionsOf(obj).find((x) => x.type === type);
      lastCond = c;
      const now = currentness(obj, c, ctx.applied?.get(refText({ kind, namespace: ns, name })));
      if (c?.status === 'True' && now.current) return { met: true };
      if (isModel && ns) {
        const pods = await view.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: `app.kubernetes.io/name=${name}` }, objText);
        lastPods = isFailure(pods) ? [] : pods;
        const j = await judgePods(kube, lastPods);
        if (j.terminal) return { met: false, reason: verdictLine(j.terminal), failure: podFailure(objText, j.terminal) };
      }
      if (!c) return { met: false, reason: `no ${type} condition yet (the controller has not reported)` };
      if (!now.current) return { met: false, reason: `${condText(c)} (${now.why})` };
      if (c.status === 'False' && TERMINAL_CONDITION_REASONS.has(c.reason ?? '')) {
        return { met: false, reason: condText(c), failure: { message: `${objText}: ${condText(c)}`, hint: conditionHint(kind, c), evidence: [], terminal: true } };
      }
      return { met: false, reason: condText(c) };
    },
    async explain(last) {
      if (isModel && lastPods.length) {
        const byPods = await explainPods(kube, objText, lastPods, last, '');
        if (byPods.hint) return byPods;
      }
      return { message: `${objText}: ${last}`, hint: conditionHint(kind, lastCond), evidence: [], terminal: false };
    },
  };
}

function conditionHint(kind: string, c: Condition | undefined): string {
  const reason = c?.reason ?? '';
  if (kind === 'GatewayClass' || kind === 'Gateway') {
    if (!c) return 'no controller has reported on it: check that the wg-ai-gateway controller runs (`oc logs -n ai-gateway-system deploy/ai-gateway-controller`) and serves the class wg-ai-gateway (the name is matched literally)';
    if (reason === 'TranslationError') return 'the controller cannot translate the Gateway or its routes into Envoy config: its message says which; fix the route or backend it names';
    return 'read the controller logs: `oc logs -n ai-gateway-system deploy/ai-gateway-controller`';
  }
  if (kind === 'LLMInferenceService') return 'KServe reports why in the conditions: `oc get llminferenceservice -n llm -o yaml`; check the workload pods and that the MaaS gateway exists';
  return `\`oc get ${kind.toLowerCase()} -o yaml\` shows the conditions; the controller's logs say more`;
}

function routePlan(ctx: PlanContext, spec: Extract<WaitSpec, { kind: 'route-accepted' }>): WaitPlan {
  const { namespace: ns, name } = spec;
  const wanted = spec.conditions ?? ['Accepted', 'ResolvedRefs'];
  const objText = `HTTPRoute ${ns}/${name}`;
  const parentText = spec.parent ? `${spec.parent.namespace}/${spec.parent.name}` : 'every parent';
  let last: Condition | undefined;
  return {
    condition: `${objText} ${wanted.join(' and ')} by ${parentText}`,
    async probe(view) {
      const route = await view.object('gateway.networking.k8s.io/v1', 'HTTPRoute', ns, name, objText);
      if (isFailure(route)) return { met: false, reason: route.message, failure: route };
      if (!route) return { met: false, reason: 'the HTTPRoute does not exist (yet)' };
      type Parent = { parentRef?: { name?: string; namespace?: string }; controllerName?: string; conditions?: Condition[] };
      const parents = (((route.status ?? {}) as { parents?: Parent[] }).parents ?? []).filter((p) => {
        if (!spec.parent) return true;
        return p.parentRef?.name === spec.parent.name && (p.parentRef?.namespace ?? ns) === spec.parent.namespace;
      });
      if (parents.length === 0) return { met: false, reason: `no status from the controller of ${parentText} yet` };
      const mark = ctx.applied?.get(refText({ kind: 'HTTPRoute', namespace: ns, name }));
      const current = (c: Condition) => currentness(route, c, mark);
      const ok = (p: Parent) => wanted.every((t) => p.conditions?.some((c) => c.type === t && c.status === 'True' && current(c).current));
      if (parents.some(ok)) return { met: true };
      for (const p of parents) {
        for (const t of wanted) {
          const c = p.conditions?.find((x) => x.type === t);
          if (!c) continue;
          const now = current(c);
          if (!now.current) return { met: false, reason: `${condText(c)} (${p.controllerName ?? 'controller'}; ${now.why})` };
          if (c.status !== 'True') {
            last = c;
            const text = `${condText(c)} (${p.controllerName ?? 'controller'})`;
            if (TERMINAL_CONDITION_REASONS.has(c.reason ?? '')) return { met: false, reason: text, failure: { message: `${objText}: ${text}`, hint: routeHint(c), evidence: [], terminal: true } };
            return { met: false, reason: text };
          }
        }
      }
      return { met: false, reason: `waiting for ${wanted.join(' and ')}` };
    },
    explain: async (lastReason) => ({ message: `${objText}: ${lastReason}`, hint: routeHint(last), evidence: [], terminal: false }),
  };
}

function routeHint(c: Condition | undefined): string {
  switch (c?.reason) {
    case 'BackendNotFound':
      return 'the backendRef names nothing that exists: check the XBackendDestination / Service name and namespace (the egress controller resolves kind Backend to an XBackendDestination of that name); the controller does not watch backends, so touch the route after fixing it';
    case 'UnsupportedValue':
      return 'the backendRef kind or a match is not supported: the egress controller accepts kind Backend (an XBackendDestination) or Service';
    case 'ResolvedRefs':
      return 'the backendRef port must be one the XBackendDestination lists';
    case 'NotAllowedByListeners':
    case 'NoMatchingListenerHostname':
      return 'the Gateway does not admit this route: check its listeners (allowedRoutes, hostname)';
    default:
      return c ? 'the gateway controller says why in the route status: `oc get httproute -o yaml`' : 'no controller has reported on the route: check that the Gateway exists and its controller runs';
  }
}

function policyPlan(ctx: PlanContext, spec: Extract<WaitSpec, { kind: 'policy-enforced' }>): WaitPlan {
  const { apiVersion, resource: kind, namespace: ns, name } = spec;
  const objText = `${kind} ${ns}/${name}`;
  let last: Condition | undefined;
  return {
    condition: `${objText} Accepted and Enforced`,
    async probe(view) {
      const pol = await view.object(apiVersion, kind, ns, name, objText);
      if (isFailure(pol)) return { met: false, reason: pol.message, failure: pol };
      if (!pol) return { met: false, reason: `the ${kind} does not exist` };
      const st = (pol.status ?? {}) as { observedGeneration?: number };
      const gen = generationOf(pol);
      if (st.observedGeneration !== undefined && gen !== undefined && st.observedGeneration !== gen) return { met: false, reason: `Kuadrant has not seen generation ${gen} yet` };
      const mark = ctx.applied?.get(refText({ kind, namespace: ns, name }));
      const conds = conditionsOf(pol);
      const accepted = conds.find((c) => c.type === 'Accepted');
      const enforced = conds.find((c) => c.type === 'Enforced');
      const cur = (c: Condition | undefined) => currentness(pol, c, mark, st.observedGeneration).current;
      if (accepted?.status === 'True' && enforced?.status === 'True' && cur(accepted) && cur(enforced)) return { met: true };
      const bad = accepted?.status !== 'True' ? accepted : enforced;
      last = bad;
      if (!bad) return { met: false, reason: `no ${accepted ? 'Enforced' : 'Accepted'} condition yet (is the Kuadrant operator running?)` };
      if (!cur(bad)) return { met: false, reason: `${condText(bad)} (${currentness(pol, bad, mark, st.observedGeneration).why})` };
      if (bad.status === 'False' && TERMINAL_CONDITION_REASONS.has(bad.reason ?? '')) {
        return { met: false, reason: condText(bad), failure: { message: `${objText}: ${condText(bad)}`, hint: policyHint(kind, bad), evidence: [], terminal: true } };
      }
      return { met: false, reason: condText(bad) };
    },
    explain: async (lastReason) => ({ message: `${objText}: ${lastReason}`, hint: policyHint(kind, last), evidence: [], terminal: false }),
  };
}

function policyHint(kind: string, c: Condition | undefined): string {
  switch (c?.reason) {
    case 'TargetNotFound':
      return `the ${kind}'s targetRef names no existing route or gateway: check the name and namespace`;
    case 'Overridden':
      return 'a gateway-level policy with overrides replaces this one: remove its overrides or target the route from it';
    case 'Invalid':
    case 'InvalidCelExpression':
      return 'Kuadrant rejected the policy: its message names the field; `demo doctor` checks the bridge policies';
    case 'MissingDependency':
      return 'Kuadrant lacks a component (Authorino or Limitador): check the Kuadrant CR in kuadrant-system';
    default:
      return 'check the Kuadrant operator (`oc get kuadrant -n kuadrant-system`, its logs) and that the MaaS gateway is Programmed';
  }
}

export function planFor(ctx: PlanContext, spec: WaitSpec): WaitPlan {
  switch (spec.kind) {
    case 'crd-established':
      return crdPlan(ctx, spec.name);
    case 'deployment-available':
      return deploymentPlan(ctx, spec.namespace, spec.name, true);
    case 'rollout':
      return deploymentPlan(ctx, spec.namespace, spec.name, false);
    case 'pods-ready':
      return podsReadyPlan(ctx, spec.namespace, spec.selector);
    case 'service-endpoints':
      return endpointsPlan(ctx, spec.namespace, spec.name);
    case 'condition':
      return conditionPlan(ctx, spec);
    case 'route-accepted':
      return routePlan(ctx, spec);
    case 'policy-enforced':
      return policyPlan(ctx, spec);
  }
}

/** Human text of a wait, for plans and the tour. */
export function describeWait(kube: Kube, spec: WaitSpec): string {
  return planFor({ kube }, spec).condition;
}

export interface RunWaitOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** The run's informers; a wait without them starts its own and stops them when it ends. */
  informers?: Informers;
  applied?: AppliedMarks;
}

/**
 * Runs one wait: `wait` events (pending with the latest reason, then met, timeout or failed).
 * Throws WaitFailedError on a terminal reason or a timeout, InterruptedError when the signal aborts.
 */
export async function* runWait(kube: Kube, step: string, spec: WaitSpec, opts: RunWaitOptions): AsyncGenerator<EventInput> {
  yield* runPlan(kube, step, planFor({ kube, ...(opts.applied ? { applied: opts.applied } : {}) }, spec), opts);
}

/** Objects of most kinds are cached per kind and namespace; CRDs (large) and cluster-wide reads by name. */
function sourceFor(apiVersion: string, kind: string, namespace: string | undefined, name: string): WatchSource {
  if (kind === 'CustomResourceDefinition' || !namespace) return { apiVersion, kind, fieldSelector: byName(name) };
  return { apiVersion, kind, namespace };
}

/** Runs any wait plan (teardown builds its own "gone" plans). */
export async function* runPlan(kube: Kube, step: string, plan: WaitPlan, opts: RunWaitOptions): AsyncGenerator<EventInput> {
  const start = performance.now();
  const elapsed = () => Math.round(performance.now() - start);
  const own = !opts.informers;
  const informers = opts.informers ?? new Informers(kube);
  let dirty = true;
  let timedOut = false;
  let wake: () => void = () => {};
  let wakeup = new Promise<void>((r) => (wake = r));
  const poke = () => {
    dirty = true;
    wake();
  };
  const subscribed = new Map<Informer, () => void>();
  const use = async (src: WatchSource): Promise<Informer> => {
    const inf = await informers.of(src);
    if (!subscribed.has(inf)) subscribed.set(inf, inf.onChange(poke));
    return inf;
  };
  const unusable = (inf: Informer, objText: string): Failure | undefined => {
    if (inf.state === 'forbidden' && inf.error) return forbiddenFailure(objText, inf.error);
    if (inf.state === 'not-served') return missingKind(objText, inf.source.apiVersion, inf.source.kind);
    return undefined;
  };
  const view: View = {
    async object(apiVersion, kind, namespace, name, objText) {
      const inf = await use(sourceFor(apiVersion, kind, namespace, name));
      return unusable(inf, objText) ?? inf.get(kind === 'CustomResourceDefinition' || !namespace ? undefined : namespace, name);
    },
    async list(src, objText) {
      const inf = await use(src);
      return unusable(inf, objText) ?? inf.items();
    },
  };

  const timer = setTimeout(() => {
    timedOut = true;
    wake();
  }, opts.timeoutMs);
  timer.unref?.();
  const onAbort = () => wake();
  opts.signal.addEventListener('abort', onAbort);
  let lastReason = 'starting';
  let announced = false;
  try {
    for (;;) {
      if (opts.signal.aborted) throw new InterruptedError();
      if (dirty || timedOut) {
        dirty = false;
        let p: Probe;
        try {
          p = await plan.probe(view);
        } catch (err) {
          const e = toKubeError(err, plan.condition);
          p = e.errorKind === 'forbidden' ? { met: false, reason: e.message, failure: forbiddenFailure(plan.condition, e) } : { met: false, reason: e.message };
        }
        if (!announced) {
          announced = true;
          yield { kind: 'wait', step, condition: plan.condition, state: 'pending', elapsedMs: elapsed() };
        }
        if (p.met) {
          yield { kind: 'wait', step, condition: plan.condition, state: 'met', elapsedMs: elapsed() };
          return;
        }
        if (p.failure?.terminal) {
          yield { kind: 'wait', step, condition: plan.condition, state: 'failed', reason: p.reason, elapsedMs: elapsed() };
          throw new WaitFailedError({ ...p.failure, condition: plan.condition });
        }
        if (timedOut) {
          const f = await plan.explain(p.reason).catch(() => ({ message: `${plan.condition}: ${p.reason}`, hint: '', evidence: [], terminal: false }));
          const seconds = Math.round(opts.timeoutMs / 100) / 10;
          yield { kind: 'wait', step, condition: plan.condition, state: 'timeout', reason: p.reason, elapsedMs: elapsed() };
          throw new WaitFailedError({ ...f, message: `${f.message} (not met within ${seconds} s)`, hint: f.hint ? `${f.hint}; or raise --timeout` : 'raise --timeout if the cluster is just slow', condition: plan.condition });
        }
        if (p.reason !== lastReason) {
          lastReason = p.reason;
          yield { kind: 'wait', step, condition: plan.condition, state: 'pending', reason: p.reason, elapsedMs: elapsed() };
        }
        continue;
      }
      await wakeup;
      wakeup = new Promise<void>((r) => (wake = r));
    }
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', onAbort);
    for (const off of subscribed.values()) off();
    if (own) informers.stopAll();
  }
}
