/**
 * Why a pod is not Ready, in the cluster's own words, and whether waiting longer can help.
 *
 * Terminal (stop waiting now): InvalidImageName, ErrImagePull/ImagePullBackOff once the kubelet has
 * retried or the registry gave a definitive answer, CreateContainerConfigError, CrashLoopBackOff.
 * Transient (keep waiting, report on timeout): ContainerCreating, FailedScheduling (an autoscaler may
 * still add a node), a readiness probe still failing, a first image pull failure.
 *
 * Evidence is collected at the moment of the verdict: Events expire after an hour, and image-pull
 * Events sit on the Pod, not on its Deployment.
 */
import type { K8sObject } from '../../model/k8s-object.js';
import type { Kube } from './client.js';

export interface PodVerdict {
  pod: string;
  namespace: string;
  container?: string;
  image?: string;
  /** The cluster's reason, e.g. `ImagePullBackOff`, `CrashLoopBackOff`, `FailedScheduling`. */
  reason: string;
  /** The cluster's message for it. */
  message: string;
  terminal: boolean;
  exitCode?: number;
}

export interface PodDiagnosis extends PodVerdict {
  hint: string;
  /** Events, container states and the last log lines, newest last. */
  evidence: string[];
}

export interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  metadata?: { creationTimestamp?: string };
}

/** How many failed pulls make an image failure terminal when the registry's answer is not definitive. */
export const IMAGE_PULL_RETRIES = 2;

/** Registry answers that no retry will change. */
const DEFINITIVE_PULL = /manifest unknown|not found|does not exist|unauthorized|authentication required|denied|invalid reference|no such host|repository .* not found/i;

const TERMINAL_WAITING = new Set(['InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'CrashLoopBackOff', 'RunContainerError', 'ErrImageNeverPull']);

interface ContainerStatus {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number; message?: string }; running?: unknown };
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}

interface PodStatus {
  phase?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

function statusOf(pod: K8sObject): PodStatus {
  return (pod.status ?? {}) as PodStatus;
}

export function isPodReady(pod: K8sObject): boolean {
  return statusOf(pod).conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isTerminating(obj: K8sObject): boolean {
  return Boolean((obj.metadata as { deletionTimestamp?: string }).deletionTimestamp);
}

/** Number of failed image pulls the pod's Events report (their counts summed). */
export function failedPulls(events: readonly EventLike[]): number {
  return events
    .filter((e) => e.reason === 'Failed' && /Failed to pull image|ErrImagePull/.test(e.message ?? ''))
    .reduce((n, e) => n + (e.count ?? 1), 0);
}

/**
 * The verdict for one pod from its status (and, for image pulls, its Events). Undefined when the pod
 * is Ready or terminating.
 */
export function podVerdict(pod: K8sObject, events: readonly EventLike[] = []): PodVerdict | undefined {
  if (isTerminating(pod) || isPodReady(pod)) return undefined;
  const st = statusOf(pod);
  const base = { pod: pod.metadata.name, namespace: pod.metadata.namespace ?? '' };
  const sched = st.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (sched) {
    return { ...base, reason: sched.reason === 'Unschedulable' ? 'FailedScheduling' : (sched.reason ?? 'Pending'), message: sched.message ?? 'the pod is not scheduled', terminal: false };
  }
  const containers = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])];
  for (const c of containers) {
    const w = c.state?.waiting;
    if (!w?.reason) continue;
    const image = c.image;
    const common = { ...base, container: c.name, ...(image ? { image } : {}), reason: w.reason, message: w.message ?? '' };
    if (w.reason === 'CrashLoopBackOff') {
      const code = c.lastState?.terminated?.exitCode;
      return { ...common, terminal: true, ...(code !== undefined ? { exitCode: code } : {}) };
    }
    if (TERMINAL_WAITING.has(w.reason)) return { ...common, terminal: true };
    if (w.reason === 'ErrImagePull' || w.reason === 'ImagePullBackOff') {
      const pullMsg = [w.message ?? '', ...events.filter((e) => e.reason === 'Failed').map((e) => e.message ?? '')].join('\n');
      const definitive = DEFINITIVE_PULL.test(pullMsg);
      const retried = failedPulls(events) >= IMAGE_PULL_RETRIES;
      // The first ErrImagePull may be a registry hiccup; once the kubelet backs off after a definitive
      // answer or a second failure, no wait will fix it.
      const terminal = w.reason === 'ImagePullBackOff' ? definitive || retried : definitive && retried;
      const detail = events.filter((e) => e.reason === 'Failed' && /Failed to pull image/.test(e.message ?? '')).pop()?.message;
      return { ...common, message: detail ?? common.message, terminal };
    }
    if (w.reason !== 'ContainerCreating' && w.reason !== 'PodInitializing') return { ...common, terminal: false };
  }
  for (const c of containers) {
    const t = c.state?.terminated;
    if (t && t.exitCode !== 0) return { ...base, container: c.name, reason: t.reason ?? 'Error', message: t.message ?? `exited with code ${t.exitCode}`, terminal: false, ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}) };
  }
  const notReady = st.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True');
  const waiting = containers.find((c) => c.state?.waiting)?.state?.waiting?.reason;
  if (waiting) return { ...base, reason: waiting, message: '', terminal: false };
  if (containers.length > 0 && containers.every((c) => c.state?.running)) {
    return { ...base, reason: 'ContainersNotReady', message: notReady?.message ?? 'readiness probe not passing yet', terminal: false };
  }
  return { ...base, reason: st.phase ?? 'Pending', message: notReady?.message ?? '', terminal: false };
}

/** The fix for a pod reason, in one line. */
export function podHint(v: PodVerdict): string {
  const image = v.image ? ` "${v.image}"` : '';
  switch (v.reason) {
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'InvalidImageName':
    case 'ErrImageNeverPull':
      return `the image${image} cannot be pulled: check its name and tag, that the cluster can reach the registry, and add an imagePullSecret if it is private (the simulators take --simulator-image IMAGE)`;
    case 'CrashLoopBackOff':
    case 'RunContainerError':
      return `container ${v.container ?? ''} exits right after it starts${v.exitCode !== undefined ? ` (exit code ${v.exitCode})` : ''}: read its last log lines above, fix the cause, then run \`demo up --target cluster\` again`;
    case 'CreateContainerConfigError':
    case 'CreateContainerError':
      return `the pod refers to something missing (${v.message || 'a Secret or ConfigMap'}): create it or fix the reference, then run \`demo up --target cluster\` again`;
    case 'FailedScheduling':
      return 'no node can run the pod: free capacity or add a node (ROSA often says "Insufficient cpu"), or lower the requests, then wait or run `demo up --target cluster` again';
    case 'ContainersNotReady':
      return `the container runs but its readiness probe fails: \`oc logs -n ${v.namespace} ${v.pod}\` and \`oc describe pod -n ${v.namespace} ${v.pod}\` show why`;
    default:
      return `\`oc describe pod -n ${v.namespace} ${v.pod}\` shows what the kubelet is waiting for`;
  }
}

function eventTime(e: EventLike): string {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? '';
}

/** The pod's Events, oldest first (empty when they cannot be read). */
export async function podEvents(kube: Kube, namespace: string, pod: string): Promise<EventLike[]> {
  try {
    const r = await kube.list('v1', 'Event', namespace, { fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod}` });
    return (r.items as unknown as EventLike[]).sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
  } catch {
    return [];
  }
}

/** The last log lines of a container: the previous instance when it crashed, else the current one. */
export async function lastLogLines(kube: Kube, namespace: string, pod: string, container: string | undefined, lines = 10): Promise<string[]> {
  for (const previous of [true, false]) {
    try {
      const text = await kube.podLog(namespace, pod, { ...(container ? { container } : {}), tailLines: lines, previous });
      const out = text.split('\n').filter((l) => l.trim() !== '');
      if (out.length) return out.slice(-lines);
    } catch {
      /* no previous instance, or logs not readable: try the next */
    }
  }
  return [];
}

/** A verdict with its evidence (Events now, the last log lines of a crashing container) and its fix. */
export async function diagnosePod(kube: Kube, pod: K8sObject, known?: readonly EventLike[]): Promise<PodDiagnosis | undefined> {
  const events = known ?? (await podEvents(kube, pod.metadata.namespace ?? '', pod.metadata.name));
  const v = podVerdict(pod, events);
  if (!v) return undefined;
  const evidence: string[] = [];
  for (const e of events.filter((x) => x.type === 'Warning' || /Pulling|BackOff|Unhealthy|FailedScheduling/.test(x.reason ?? '')).slice(-6)) {
    evidence.push(`event ${e.type ?? ''} ${e.reason ?? ''}${(e.count ?? 1) > 1 ? ` (×${e.count})` : ''}: ${e.message ?? ''}`.replace(/\s+/g, ' ').trim());
  }
  if (v.reason === 'CrashLoopBackOff' || v.reason === 'Error' || v.reason === 'RunContainerError') {
    const lines = await lastLogLines(kube, v.namespace, v.pod, v.container);
    for (const l of lines) evidence.push(`log ${v.container ?? ''}: ${l}`);
  }
  return { ...v, hint: podHint(v), evidence };
}

/** One line for a wait's reason: `pod x: ImagePullBackOff (Back-off pulling image "…")`. */
export function verdictLine(v: PodVerdict): string {
  return `pod ${v.pod}${v.container ? ` container ${v.container}` : ''}: ${v.reason}${v.message ? ` (${v.message})` : ''}`;
}
