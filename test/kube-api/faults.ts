// Fault switches: make the simulated cluster misbehave in the ways the demo's `doctor` must recognise.
import { matchLabels, parseLabelSelector } from './selectors.js';
import type { KObj } from './util.js';

/** Which pods a pod fault hits: all given fields must match (namespace, owning Deployment, pod name, labels). */
export interface PodTarget {
  namespace?: string;
  deployment?: string;
  pod?: string;
  labelSelector?: string;
}

export type PodFault =
  | { kind: 'ImagePullFailure'; message?: string }
  | { kind: 'CrashLoop'; exitCode?: number; logs?: string[] }
  | { kind: 'CreateContainerConfigError'; message?: string }
  | { kind: 'FailedScheduling'; message?: string };

export interface ForbidRule {
  /** One verb or several (get, list, watch, create, update, patch, delete, deletecollection); default: all. */
  verb?: string | string[];
  /** Plural resource name, e.g. `deployments`, `authpolicies`. */
  resource: string;
  /** API group; matches any group when omitted. */
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** A condition that never arrives (`never`) or is written False with a terminal reason. */
export interface ConditionFault {
  kind: string;
  namespace?: string;
  name?: string;
  type: string;
  never?: boolean;
  status?: 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface FaultHandle {
  clear(): void;
}

export class Faults {
  private readonly pods: { target: PodTarget; fault: PodFault }[] = [];
  private readonly forbids: ForbidRule[] = [];
  private readonly conds: ConditionFault[] = [];
  private readonly crds = new Set<string>();
  /** Called after every change so controllers re-reconcile; set by the server. */
  onChange: () => void = () => {};
  /** Called by missingCrd so the server can delete the CRD right away. */
  onCrdMissing: (nameOrKind: string) => void = () => {};

  private add<T>(list: T[], item: T): FaultHandle {
    list.push(item);
    this.onChange();
    return {
      clear: () => {
        const i = list.indexOf(item);
        if (i >= 0) list.splice(i, 1);
        this.onChange();
      },
    };
  }

  /** Pods stay Pending: ErrImagePull, then ImagePullBackOff; Events Failed/BackOff. */
  imagePullFailure(target: PodTarget, opts: { message?: string } = {}): FaultHandle {
    return this.add(this.pods, { target, fault: { kind: 'ImagePullFailure', ...opts } });
  }

  /** Containers start and exit with `exitCode` (default 1): CrashLoopBackOff, restartCount rising, logs served. */
  crashLoop(target: PodTarget, opts: { exitCode?: number; logs?: string[] } = {}): FaultHandle {
    return this.add(this.pods, { target, fault: { kind: 'CrashLoop', ...opts } });
  }

  /** Containers wait in CreateContainerConfigError (default message: a missing Secret). */
  createContainerConfigError(target: PodTarget, opts: { message?: string } = {}): FaultHandle {
    return this.add(this.pods, { target, fault: { kind: 'CreateContainerConfigError', ...opts } });
  }

  /** Pods are never scheduled: PodScheduled=False/Unschedulable and a FailedScheduling Event. */
  failedScheduling(target: PodTarget, opts: { message?: string } = {}): FaultHandle {
    return this.add(this.pods, { target, fault: { kind: 'FailedScheduling', ...opts } });
  }

  /** Requests matching the rule get 403 Forbidden; SelfSubjectAccessReviews answer allowed=false. */
  forbid(rule: ForbidRule): FaultHandle {
    return this.add(this.forbids, rule);
  }

  /** The controller never writes condition `type` on matching objects (e.g. Gateway never Programmed). */
  neverCondition(f: Omit<ConditionFault, 'never' | 'status'>): FaultHandle {
    return this.add(this.conds, { ...f, never: true });
  }

  /** The controller writes condition `type` as False (or Unknown) with the given reason and message. */
  conditionFalse(f: Omit<ConditionFault, 'never'> & { reason: string }): FaultHandle {
    return this.add(this.conds, { status: 'False', ...f });
  }

  /**
   * The CRD (by name, e.g. `authpolicies.kuadrant.io`, or by kind) is deleted now, and creating it again never
   * makes it Established, so its kind keeps answering 404.
   */
  missingCrd(nameOrKind: string): FaultHandle {
    this.crds.add(nameOrKind);
    this.onCrdMissing(nameOrKind);
    this.onChange();
    return {
      clear: () => {
        this.crds.delete(nameOrKind);
        this.onChange();
      },
    };
  }

  clearAll(): void {
    this.pods.length = 0;
    this.forbids.length = 0;
    this.conds.length = 0;
    this.crds.clear();
    this.onChange();
  }

  // ---- queries used by the server and the controllers -----------------------------------------

  podFault(pod: KObj, deployment: string | undefined): PodFault | undefined {
    for (let i = this.pods.length - 1; i >= 0; i--) {
      const { target, fault } = this.pods[i]!;
      if (target.namespace && target.namespace !== pod.metadata.namespace) continue;
      if (target.pod && target.pod !== pod.metadata.name) continue;
      if (target.deployment && target.deployment !== deployment) continue;
      if (target.labelSelector && !matchLabels(pod.metadata.labels, parseLabelSelector(target.labelSelector))) {
        continue;
      }
      return fault;
    }
    return undefined;
  }

  isForbidden(
    verb: string,
    group: string,
    resource: string,
    namespace: string | undefined,
    name: string | undefined,
    subresource?: string,
  ): boolean {
    return this.forbids.some((r) => {
      const verbs = r.verb === undefined ? undefined : Array.isArray(r.verb) ? r.verb : [r.verb];
      if (verbs && !verbs.includes(verb) && !verbs.includes('*')) return false;
      if (r.resource !== resource && r.resource !== '*') return false;
      if (r.group !== undefined && r.group !== group) return false;
      if (r.namespace !== undefined && r.namespace !== namespace) return false;
      if (r.name !== undefined && r.name !== name) return false;
      if (r.subresource !== undefined && r.subresource !== (subresource ?? '')) return false;
      return true;
    });
  }

  hasForbids(): boolean {
    return this.forbids.length > 0;
  }

  /**
   * How far the forbid rules reach for one verb on a resource in a namespace (`undefined` = every namespace;
   * `clusterScoped` for resources outside namespaces): `all` objects, only `some` (rules limited to names, or to
   * one namespace of several), or `none`.
   */
  forbidCoverage(verb: string, group: string, resource: string, namespace: string | undefined, subresource?: string, clusterScoped = false): 'all' | 'some' | 'none' {
    let out: 'some' | 'none' = 'none';
    for (const r of this.forbids) {
      const verbs = r.verb === undefined ? undefined : Array.isArray(r.verb) ? r.verb : [r.verb];
      if (verbs && !verbs.includes(verb) && !verbs.includes('*')) continue;
      if (r.resource !== resource && r.resource !== '*') continue;
      if (r.group !== undefined && r.group !== group) continue;
      if (r.subresource !== undefined && r.subresource !== (subresource ?? '')) continue;
      if (r.namespace !== undefined && (clusterScoped || (namespace !== undefined && r.namespace !== namespace))) continue;
      if (r.name !== undefined || (r.namespace !== undefined && namespace === undefined)) out = 'some';
      else return 'all';
    }
    return out;
  }

  condition(kind: string, obj: KObj, type: string): ConditionFault | undefined {
    return this.conds.find(
      (c) =>
        c.kind === kind &&
        c.type === type &&
        (c.namespace === undefined || c.namespace === obj.metadata.namespace) &&
        (c.name === undefined || c.name === obj.metadata.name),
    );
  }

  crdBlocked(crdName: string, kind: string): boolean {
    return this.crds.has(crdName) || this.crds.has(kind);
  }
}
