// Simulated controllers: each reacts to store events after a small delay and writes objects and status the way
// the real controller would (Deployment → ReplicaSet → Pods, kubelet, endpoints, Gateway API, Kuadrant, KServe, CRDs).
import { createHash } from 'node:crypto';
import type { Faults, PodFault } from './faults.js';
import type { ResourceType } from './registry.js';
import { matchLabels } from './selectors.js';
import type { ApiStore, StoreEvent } from './store.js';
import type { Condition, KObj, OwnerRef } from './util.js';
import { clone, deepEqual, findCondition, isPlainObject, nowIso, randomSuffix, setCondition } from './util.js';

export const WG_CLASS = 'wg-ai-gateway';
export const WG_CONTROLLER = 'sigs.k8s.io/wg-ai-gateway-envoy-controller';
export const OPENSHIFT_GATEWAY_CONTROLLER = 'openshift.io/gateway-controller/v1';
const WG_MANAGED_LABEL = 'aigateway.networking.k8s.io/managed';
const GW_GROUP = 'gateway.networking.k8s.io';
const KNOWN_CLASS_CONTROLLERS = [WG_CONTROLLER, OPENSHIFT_GATEWAY_CONTROLLER, 'istio.io/gateway-controller'];
const POLICY_KINDS: Record<string, string> = {
  authpolicies: 'AuthPolicy',
  ratelimitpolicies: 'RateLimitPolicy',
  tokenratelimitpolicies: 'TokenRateLimitPolicy',
};

export interface ControllerOptions {
  /** Delay before a controller reacts to a change (ms). Default 60. */
  delayMs?: number;
  /** Cluster apps domain used when no ingresses.config.openshift.io/cluster exists. */
  domain?: string;
}

export type Reconciler = (ns: string | undefined, name: string) => void;

function shortHash(v: unknown, len = 10): string {
  const hex = createHash('sha256').update(JSON.stringify(v)).digest('hex');
  // Kubernetes hashes render with a consonant/digit alphabet; keep the look
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < len; i++) out += alphabet[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

function controllerOwner(o: KObj): OwnerRef | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];
}

function ownerRef(o: KObj): OwnerRef {
  return {
    apiVersion: o.apiVersion!,
    kind: o.kind!,
    name: o.metadata.name!,
    uid: o.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export class Controllers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Objects (`group/plural|ns|name`) no controller touches: seeded as-is, status included. */
  readonly unmanaged = new Set<string>();
  private readonly reconcilers = new Map<string, Reconciler>();
  private readonly triggers: ((e: StoreEvent) => void)[] = [];
  private readonly podSteps = new Map<string, number>();
  private readonly podIps = new Map<string, string>();
  /** Generation of each wg-class route when its status was last written (uid → generation). */
  private readonly wgRouteGenerations = new Map<string, number | undefined>();
  private nextIp = 10;
  private stopped = false;
  private readonly unsubscribe: () => void;
  delayMs: number;
  private readonly domainDefault: string;

  constructor(
    readonly store: ApiStore,
    private readonly faults: Faults,
    opts: ControllerOptions = {},
  ) {
    this.delayMs = opts.delayMs ?? 60;
    this.domainDefault = opts.domain ?? 'apps.demo.example.com';
    this.reconcilers.set('apiextensions.k8s.io/customresourcedefinitions', (_ns, n) => this.crd(n));
    this.reconcilers.set('apps/deployments', (ns, n) => this.deployment(ns!, n));
    this.reconcilers.set('apps/replicasets', (ns, n) => this.replicaSet(ns!, n));
    this.reconcilers.set('/pods', (ns, n) => this.pod(ns!, n));
    this.reconcilers.set('/services', (ns, n) => this.service(ns!, n));
    this.reconcilers.set(`${GW_GROUP}/gatewayclasses`, (_ns, n) => this.gatewayClass(n));
    this.reconcilers.set(`${GW_GROUP}/gateways`, (ns, n) => this.gateway(ns!, n));
    this.reconcilers.set(`${GW_GROUP}/httproutes`, (ns, n) => this.httpRoute(ns!, n));
    for (const plural of Object.keys(POLICY_KINDS)) {
      this.reconcilers.set(`kuadrant.io/${plural}`, (ns, n) => this.policy(plural, ns!, n));
    }
    this.reconcilers.set('serving.kserve.io/llminferenceservices', (ns, n) => this.llmisvc(ns!, n));
    this.unsubscribe = store.subscribe((e) => this.onEvent(e));
  }

  /** Number of reconciles waiting to run; 0 means the simulated cluster has settled. */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Re-runs every controller over every object (used after fault switches change). */
  resyncAll(): void {
    for (const key of this.reconcilers.keys()) {
      const t = this.typeByKey(key);
      if (!t) continue;
      for (const o of this.store.list(t)) this.enqueue(key, o.metadata.namespace, o.metadata.name!);
    }
  }

  private typeByKey(key: string): ResourceType | undefined {
    const [group, plural] = key.split('/') as [string, string];
    return this.store.registry.all().find((t) => t.group === group && t.plural === plural);
  }

  /**
   * Adds a controller from outside this file (the MaaS controllers of the subscription preset): `key` is
   * `group/plural`; the reconciler runs after each change of such an object, like the built-in ones.
   */
  register(key: string, reconciler: Reconciler): void {
    this.reconcilers.set(key, reconciler);
  }

  /** Runs `fn` on every store event, so a plug-in can enqueue the objects that depend on the changed one. */
  addTrigger(fn: (e: StoreEvent) => void): void {
    this.triggers.push(fn);
  }

  /** Enqueues every object of `group/plural` (in `ns`, or everywhere) that `fn` selects. */
  enqueueWhere(group: string, plural: string, fn: (x: KObj) => boolean, ns?: string): void {
    const rt = this.type(group, plural);
    if (!rt) return;
    for (const x of this.store.list(rt, ns)) if (fn(x)) this.enqueue(`${group}/${plural}`, x.metadata.namespace, x.metadata.name!);
  }

  /** The served resource type of `group/plural` (undefined while its CRD is absent). */
  type(group: string, plural: string): ResourceType | undefined {
    return this.store.registry.all().find((t) => t.group === group && t.plural === plural);
  }

  enqueue(key: string, ns: string | undefined, name: string, delay = this.delayMs): void {
    if (this.stopped || !this.reconcilers.has(key)) return;
    const id = `${key}|${ns ?? ''}|${name}`;
    if (this.timers.has(id) || this.unmanaged.has(id)) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (this.stopped) return;
      try {
        this.reconcilers.get(key)!(ns, name);
      } catch (err) {
        // objects vanish between event and reconcile; a controller error must never crash the test run
        if (process.env['KUBE_API_DEBUG']) console.error(`controller ${key} ${ns}/${name}:`, err);
      }
    }, delay);
    timer.unref?.();
    this.timers.set(id, timer);
  }

  private onEvent(e: StoreEvent): void {
    const t = e.resource;
    const key = `${t.group}/${t.plural}`;
    const o = e.object;
    const ns = o.metadata.namespace;
    if (e.type !== 'DELETED') this.enqueue(key, ns, o.metadata.name!);
    const owner = controllerOwner(o);
    if (owner) {
      const ot = this.store.registry.all().find((r) => r.kind === owner.kind && owner.apiVersion.startsWith(r.group));
      if (ot) this.enqueue(`${ot.group}/${ot.plural}`, ns, owner.name);
    }
    const each = (group: string, plural: string, fn: (x: KObj) => boolean, inNs = ns): void => this.enqueueWhere(group, plural, fn, inNs);
    if (key === '/pods') each('', 'services', () => true);
    if (key === `${GW_GROUP}/gatewayclasses`) {
      each(GW_GROUP, 'gateways', (g) => spec(g)['gatewayClassName'] === o.metadata.name, undefined);
    }
    if (key === `${GW_GROUP}/gateways`) {
      each(GW_GROUP, 'httproutes', (r) => parentRefs(r).some((p) => p.name === o.metadata.name && p.namespace === ns), undefined);
    }
    if (key === `${GW_GROUP}/gateways` || key === `${GW_GROUP}/httproutes`) {
      for (const plural of Object.keys(POLICY_KINDS)) each('kuadrant.io', plural, () => true);
    }
    if (key === 'ainetworking.prototype.x-k8s.io/xbackenddestinations' || key === '/services') {
      each(GW_GROUP, 'httproutes', () => true);
    }
    if (key === 'apiextensions.k8s.io/customresourcedefinitions' && e.type === 'DELETED') {
      this.store.registry.all().filter((r) => r.crd === o.metadata.name).forEach((r) => this.store.registry.remove(r.group, r.plural));
    }
    if (key === 'config.openshift.io/ingresses') each('serving.kserve.io', 'llminferenceservices', () => true, undefined);
    for (const trigger of this.triggers) trigger(e);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Writes `status` through the status subresource as `manager`, unless it is already what is stored. */
  writeStatus(t: ResourceType, obj: KObj, status: Record<string, unknown>, manager: string): void {
    if (deepEqual(obj['status'], status)) return;
    const fresh = this.store.get(t, obj.metadata.namespace, obj.metadata.name!);
    if (!fresh) return;
    this.store.replace(t, obj.metadata.namespace, obj.metadata.name!, { ...fresh, status }, {
      subresource: 'status',
      manager,
      fieldValidation: 'Ignore',
    });
  }

  /** Applies the condition faults: `undefined` = leave the condition as it is (it never arrives). */
  private cond(kind: string, obj: KObj, wanted: Condition): Condition | undefined {
    const f = this.faults.condition(kind, obj, wanted.type);
    if (!f) return wanted;
    if (f.never) return undefined;
    return {
      ...wanted,
      status: f.status ?? 'False',
      reason: f.reason ?? 'Failed',
      message: f.message ?? `${kind} ${wanted.type} is ${f.status ?? 'False'}`,
    };
  }

  /** The object's conditions with `wanted` set (condition faults applied; transition times kept when unchanged). */
  conditions(kind: string, obj: KObj, wanted: Condition[], start?: unknown): Condition[] {
    let list = Array.isArray(start) ? (clone(start) as Condition[]) : ((obj['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? []);
    for (const w of wanted) {
      const c = this.cond(kind, obj, w);
      if (c) list = setCondition(list, c);
    }
    return list;
  }

  /** The cluster's apps domain (ingresses.config.openshift.io/cluster, else the configured default). */
  domain(): string {
    const t = this.type('config.openshift.io', 'ingresses');
    const ing = t ? this.store.get(t, undefined, 'cluster') : undefined;
    const d = ing ? spec(ing)['domain'] : undefined;
    return typeof d === 'string' && d ? d : this.domainDefault;
  }

  /** Records (or bumps the count of) a core/v1 Event about an object. */
  event(involved: KObj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const t = this.type('', 'events')!;
    const ns = involved.metadata.namespace ?? 'default';
    const name = `${involved.metadata.name}.${shortHash([involved.metadata.uid, reason, message], 16)}`;
    const now = nowIso();
    const existing = this.store.get(t, ns, name);
    if (existing) {
      existing['count'] = Number(existing['count'] ?? 1) + 1;
      existing['lastTimestamp'] = now;
      this.store.replace(t, ns, name, existing, { manager: component });
      return;
    }
    this.store.create(
      t,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          namespace: ns,
          name: involved.metadata.name,
          uid: involved.metadata.uid,
          resourceVersion: involved.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component, ...(component === 'kubelet' ? { host: 'worker-0' } : {}) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? 'worker-0' : '',
      },
      { manager: component },
    );
  }

  // ---- CRDs -----------------------------------------------------------------------------------

  private crd(name: string): void {
    const t = this.type('apiextensions.k8s.io', 'customresourcedefinitions')!;
    const crd = this.store.get(t, undefined, name);
    if (!crd) return;
    const names = (spec(crd)['names'] ?? {}) as Record<string, unknown>;
    const blocked = this.faults.crdBlocked(name, String(names['kind'] ?? ''));
    const versions = (spec(crd)['versions'] ?? []) as Record<string, unknown>[];
    const status: Record<string, unknown> = {
      acceptedNames: names,
      storedVersions: versions.filter((v) => v['storage']).map((v) => v['name']),
      conditions: setCondition(
        setCondition(((crd['status'] as { conditions?: Condition[] })?.conditions) ?? [], {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
        }),
        blocked
          ? { type: 'Established', status: 'False', reason: 'Installing', message: 'the initial names have not been accepted' }
          : { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ),
    };
    if (blocked) {
      const rt = this.store.registry.all().find((r) => r.crd === name);
      if (rt) this.store.registry.remove(rt.group, rt.plural);
    } else {
      this.store.registerCrd(crd);
    }
    this.writeStatus(t, crd, status, 'kube-apiserver');
  }

  // ---- workloads ------------------------------------------------------------------------------

  private deployment(ns: string, name: string): void {
    const t = this.type('apps', 'deployments')!;
    const rsT = this.type('apps', 'replicasets')!;
    const d = this.store.get(t, ns, name);
    if (!d) return;
    const s = spec(d);
    const replicas = typeof s['replicas'] === 'number' ? s['replicas'] : 1;
    const template = clone((s['template'] ?? {}) as Record<string, unknown>);
    const hash = shortHash(template);
    const rsName = `${name}-${hash}`;
    const owned = this.store.list(rsT, ns).filter((r) => controllerOwner(r)?.uid === d.metadata.uid);
    for (const old of owned) {
      if (old.metadata.name !== rsName) this.store.delete(rsT, ns, old.metadata.name!);
    }
    const tmeta = (template['metadata'] ?? {}) as Record<string, unknown>;
    const labels = { ...((tmeta['labels'] ?? {}) as Record<string, string>), 'pod-template-hash': hash };
    const selector = clone((s['selector'] ?? {}) as Record<string, unknown>);
    selector['matchLabels'] = { ...((selector['matchLabels'] ?? {}) as Record<string, string>), 'pod-template-hash': hash };
    let rs = this.store.get(rsT, ns, rsName);
    if (!rs) {
      rs = this.store.create(
        rsT,
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: rsName,
            namespace: ns,
            labels,
            annotations: { 'deployment.kubernetes.io/revision': String(owned.length + 1) },
            ownerReferences: [ownerRef(d)],
          },
          spec: { replicas, selector, template: { ...template, metadata: { ...tmeta, labels } } },
        },
        { manager: 'kube-controller-manager' },
      ).object;
      this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rsName} from 0 to ${replicas}`, 'deployment-controller');
    } else if (spec(rs)['replicas'] !== replicas) {
      rs = this.store.replace(rsT, ns, rsName, { ...rs, spec: { ...spec(rs), replicas } }, { manager: 'kube-controller-manager' }).object;
    }
    const rss = (rs['status'] ?? {}) as Record<string, number>;
    const ready = rss['readyReplicas'] ?? 0;
    const available = rss['availableReplicas'] ?? 0;
    const current = rss['replicas'] ?? 0;
    const isAvailable = available >= replicas;
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation,
      ...(current ? { replicas: current, updatedReplicas: current } : {}),
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
    };
    status['conditions'] = this.conditions('Deployment', d, [
      isAvailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      isAvailable
        ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` },
    ]);
    this.writeStatus(t, d, status, 'kube-controller-manager');
  }

  private replicaSet(ns: string, name: string): void {
    const t = this.type('apps', 'replicasets')!;
    const podT = this.type('', 'pods')!;
    const rs = this.store.get(t, ns, name);
    if (!rs) return;
    const s = spec(rs);
    const replicas = typeof s['replicas'] === 'number' ? s['replicas'] : 1;
    let pods = this.store.list(podT, ns).filter((p) => controllerOwner(p)?.uid === rs.metadata.uid);
    const template = (s['template'] ?? {}) as Record<string, unknown>;
    const tmeta = (template['metadata'] ?? {}) as Record<string, unknown>;
    while (pods.length < replicas) {
      const podName = `${name}-${randomSuffix()}`;
      const pod = this.store.create(
        podT,
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: podName,
            namespace: ns,
            labels: clone((tmeta['labels'] ?? {}) as Record<string, string>),
            ...(tmeta['annotations'] ? { annotations: clone(tmeta['annotations'] as Record<string, string>) } : {}),
            ownerReferences: [ownerRef(rs)],
          },
          spec: { ...clone((template['spec'] ?? {}) as Record<string, unknown>), restartPolicy: 'Always' },
          status: { phase: 'Pending', qosClass: 'BestEffort' },
        },
        { manager: 'kube-controller-manager' },
      ).object;
      this.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${podName}`, 'replicaset-controller');
      pods.push(pod);
    }
    while (pods.length > replicas) {
      const p = pods.pop()!;
      this.store.delete(podT, ns, p.metadata.name!);
      this.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, 'replicaset-controller');
    }
    pods = pods.map((p) => this.store.get(podT, ns, p.metadata.name!) ?? p);
    const ready = pods.filter((p) => findCondition(p, 'Ready')?.status === 'True').length;
    const status: Record<string, unknown> = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      observedGeneration: rs.metadata.generation,
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
    };
    this.writeStatus(t, rs, status, 'kube-controller-manager');
  }

  private deploymentOf(pod: KObj): string | undefined {
    const rsRef = controllerOwner(pod);
    if (rsRef?.kind !== 'ReplicaSet') return undefined;
    const rs = this.store.get(this.type('apps', 'replicasets')!, pod.metadata.namespace, rsRef.name);
    const dRef = rs ? controllerOwner(rs) : undefined;
    return dRef?.kind === 'Deployment' ? dRef.name : rsRef.name.replace(/-[^-]+$/, '');
  }

  /** Scheduler + kubelet: step 0 schedules and starts pulling; step 1+ runs, or shows the planted fault. */
  private pod(ns: string, name: string): void {
    const t = this.type('', 'pods')!;
    const pod = this.store.get(t, ns, name);
    if (!pod) return;
    const uid = pod.metadata.uid!;
    const fault = this.faults.podFault(pod, this.deploymentOf(pod));
    const podSpec = spec(pod);
    const containers = (podSpec['containers'] ?? []) as { name: string; image?: string }[];
    const old = (pod['status'] ?? {}) as Record<string, unknown>;
    const step = this.podSteps.get(uid) ?? 0;
    const now = nowIso();
    const base: Record<string, unknown> = {
      qosClass: old['qosClass'] ?? 'BestEffort',
      ...(old['startTime'] ? { startTime: old['startTime'] } : {}),
    };
    if (fault?.kind === 'FailedScheduling') {
      const message =
        fault.message ??
        '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
      this.writeStatus(t, pod, {
        ...base,
        phase: 'Pending',
        conditions: setCondition((old['conditions'] as Condition[]) ?? [], {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message,
        }),
      }, 'kube-scheduler');
      if (step === 0) this.event(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      this.podSteps.set(uid, step + 1);
      return;
    }
    if (!podSpec['nodeName']) {
      this.store.replace(t, ns, name, { ...pod, spec: { ...podSpec, nodeName: 'worker-0' } }, { manager: 'kube-scheduler' });
      this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to worker-0`, 'default-scheduler');
      return; // the write re-enqueues this pod
    }
    if (!this.podIps.has(uid)) this.podIps.set(uid, `10.128.0.${this.nextIp++ % 250}`);
    base['startTime'] = base['startTime'] ?? now;
    base['hostIP'] = '192.168.0.10';
    base['podIP'] = this.podIps.get(uid);
    base['podIPs'] = [{ ip: this.podIps.get(uid) }];
    const condList = (ready: boolean, notReady: string[]): Condition[] => {
      let c = (old['conditions'] as Condition[]) ?? [];
      const msg = `containers with unready status: [${notReady.join(' ')}]`;
      c = setCondition(c, { type: 'PodReadyToStartContainers', status: 'True' });
      c = setCondition(c, { type: 'Initialized', status: 'True' });
      c = setCondition(c, ready ? { type: 'Ready', status: 'True' } : { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: msg });
      c = setCondition(c, ready ? { type: 'ContainersReady', status: 'True' } : { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: msg });
      c = setCondition(c, { type: 'PodScheduled', status: 'True' });
      return c;
    };
    const names = containers.map((c) => c.name);
    if (step === 0) {
      for (const c of containers) this.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, 'kubelet');
      this.writeStatus(t, pod, {
        ...base,
        phase: 'Pending',
        conditions: condList(false, names),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason: 'ContainerCreating' } },
          lastState: {},
        })),
      }, 'kubelet');
      this.podSteps.set(uid, 1);
      this.enqueue('/pods', ns, name);
      return;
    }
    this.podSteps.set(uid, step + 1);
    const status = this.kubelet(pod, containers, fault, step, base, condList);
    this.writeStatus(t, pod, status, 'kubelet');
  }

  private kubelet(
    pod: KObj,
    containers: { name: string; image?: string }[],
    fault: PodFault | undefined,
    step: number,
    base: Record<string, unknown>,
    condList: (ready: boolean, notReady: string[]) => Condition[],
  ): Record<string, unknown> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const names = containers.map((c) => c.name);
    const prev = ((pod['status'] as Record<string, unknown> | undefined)?.['containerStatuses'] ?? []) as Record<string, unknown>[];
    const imageId = (img?: string): string => `${img?.split(':')[0] ?? 'image'}@sha256:${createHash('sha256').update(img ?? '').digest('hex')}`;
    const cid = (c: string): string => `cri-o://${createHash('sha256').update(`${pod.metadata.uid}/${c}/${step}`).digest('hex')}`;
    if (fault?.kind === 'ImagePullFailure') {
      const backoff = step >= 2;
      for (const c of containers) {
        const msg =
          fault.message ??
          `Failed to pull image "${c.image}": initializing source docker://${c.image}: reading manifest ${c.image?.split(':')[1] ?? 'latest'} in ${c.image?.split(':')[0]}: manifest unknown`;
        if (!backoff) {
          this.event(pod, 'Warning', 'Failed', msg, 'kubelet');
          this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet');
        } else {
          this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, 'kubelet');
          this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet');
        }
      }
      if (step < 6) this.enqueue('/pods', ns, name, this.delayMs * 2);
      return {
        ...base,
        phase: 'Pending',
        conditions: condList(false, names),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            waiting: backoff
              ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` }
              : { reason: 'ErrImagePull', message: fault.message ?? `reading manifest in ${c.image}: manifest unknown` },
          },
          lastState: {},
        })),
      };
    }
    if (fault?.kind === 'CreateContainerConfigError') {
      const msg = fault.message ?? 'secret "provider-keys" not found';
      for (const c of containers) {
        if (step === 1) this.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet');
        this.event(pod, 'Warning', 'Failed', `Error: ${msg}`, 'kubelet');
      }
      return {
        ...base,
        phase: 'Pending',
        conditions: condList(false, names),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason: 'CreateContainerConfigError', message: msg } },
          lastState: {},
        })),
      };
    }
    for (const c of containers) {
      if (step === 1) {
        this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in 1.2s (1.2s including waiting). Image size: 52428800 bytes.`, 'kubelet');
        this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet');
        this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet');
      }
    }
    if (fault?.kind === 'CrashLoop') {
      const restarts = step - 1;
      const exitCode = fault.exitCode ?? 1;
      for (const c of containers) {
        this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${name}_${ns}(${pod.metadata.uid})`, 'kubelet');
      }
      if (step < 40) this.enqueue('/pods', ns, name, this.delayMs * 3);
      const finished = nowIso();
      return {
        ...base,
        phase: 'Running',
        conditions: condList(false, names),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: imageId(c.image),
          containerID: cid(c.name),
          ready: false,
          restartCount: restarts,
          started: false,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${Math.min(10 * 2 ** Math.max(restarts - 1, 0), 300)}s restarting failed container=${c.name} pod=${name}_${ns}(${pod.metadata.uid})`,
            },
          },
          lastState: {
            terminated: {
              exitCode,
              reason: 'Error',
              startedAt: (base['startTime'] as string) ?? finished,
              finishedAt: finished,
              containerID: cid(c.name),
            },
          },
        })),
      };
    }
    return {
      ...base,
      phase: 'Running',
      conditions: condList(true, []),
      containerStatuses: containers.map((c) => {
        const p = prev.find((x) => x['name'] === c.name);
        const running = (p?.['state'] as Record<string, unknown> | undefined)?.['running'];
        return {
          name: c.name,
          image: c.image,
          imageID: imageId(c.image),
          containerID: (p?.['containerID'] as string) ?? cid(c.name),
          ready: true,
          restartCount: (p?.['restartCount'] as number) ?? 0,
          started: true,
          state: { running: running ?? { startedAt: nowIso() } },
          lastState: p?.['lastState'] ?? {},
        };
      }),
    };
  }

  /** Log lines a pod's container prints (crash-looping containers print the fault's lines). */
  podLogs(pod: KObj, container: string | undefined): string[] {
    const fault = this.faults.podFault(pod, this.deploymentOf(pod));
    const containers = (spec(pod)['containers'] ?? []) as { name: string; image?: string }[];
    const c = containers.find((x) => x.name === container) ?? containers[0];
    if (fault?.kind === 'CrashLoop') {
      return fault.logs ?? [
        `starting ${c?.name ?? 'app'}`,
        'loading configuration from /etc/config',
        'Error: required environment variable API_KEY is not set',
        `exit status ${fault.exitCode ?? 1}`,
      ];
    }
    const status = (pod['status'] ?? {}) as Record<string, unknown>;
    if (status['phase'] !== 'Running') return [];
    return [`starting ${c?.name ?? 'app'} (${c?.image ?? ''})`, 'listening on 0.0.0.0:8080', 'ready'];
  }

  private service(ns: string, name: string): void {
    const t = this.type('', 'services')!;
    const svc = this.store.get(t, ns, name);
    if (!svc) return;
    const s = spec(svc);
    if (s['type'] === 'LoadBalancer') {
      const want = { loadBalancer: { ingress: [{ ip: `192.0.2.${(parseInt(shortHash([ns, name], 2), 36) % 200) + 10}` }] } };
      this.writeStatus(t, svc, want, 'service-controller');
    }
    const selector = s['selector'] as Record<string, string> | undefined;
    if (!selector || !Object.keys(selector).length) return;
    const reqs = Object.entries(selector).map(([key, value]) => ({ op: 'eq' as const, key, value }));
    const pods = this.store.list(this.type('', 'pods')!, ns).filter((p) => matchLabels(p.metadata.labels, reqs));
    const withIp = pods.filter((p) => (p['status'] as Record<string, unknown> | undefined)?.['podIP']);
    const isReady = (p: KObj): boolean => findCondition(p, 'Ready')?.status === 'True';
    const addr = (p: KObj) => ({
      ip: (p['status'] as Record<string, unknown>)['podIP'],
      nodeName: spec(p)['nodeName'],
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
    });
    const svcPorts = (s['ports'] ?? []) as { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
    const ports = svcPorts.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: typeof p.targetPort === 'number' ? p.targetPort : resolveNamedPort(pods[0], p.targetPort) ?? p.port,
      protocol: p.protocol ?? 'TCP',
    }));
    const ready = withIp.filter(isReady);
    const notReady = withIp.filter((p) => !isReady(p));
    const subsets = withIp.length
      ? [{ ...(ready.length ? { addresses: ready.map(addr) } : {}), ...(notReady.length ? { notReadyAddresses: notReady.map(addr) } : {}), ports }]
      : [];
    const epT = this.type('', 'endpoints')!;
    const ep = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, ...(svc.metadata.labels ? { labels: svc.metadata.labels } : {}) }, subsets };
    this.store.apply(epT, ns, name, ep, { manager: 'endpoint-controller', force: true });
    const sliceT = this.type('discovery.k8s.io', 'endpointslices')!;
    const sliceName = `${name}-${shortHash([ns, name], 5)}`;
    this.store.apply(
      sliceT,
      ns,
      sliceName,
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: sliceName,
          namespace: ns,
          labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
          ownerReferences: [ownerRef(svc)],
        },
        addressType: 'IPv4',
        endpoints: withIp.map((p) => ({
          addresses: [(p['status'] as Record<string, unknown>)['podIP']],
          conditions: { ready: isReady(p), serving: isReady(p), terminating: false },
          nodeName: spec(p)['nodeName'],
          targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
        })),
        ports,
      },
      { manager: 'endpointslice-controller', force: true },
    );
  }

  // ---- Gateway API ----------------------------------------------------------------------------

  private gatewayClass(name: string): void {
    const t = this.type(GW_GROUP, 'gatewayclasses');
    const gc = t && this.store.get(t, undefined, name);
    if (!t || !gc) return;
    if (!KNOWN_CLASS_CONTROLLERS.includes(String(spec(gc)['controllerName']))) return;
    const conditions = this.conditions('GatewayClass', gc, [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Handled by controller', observedGeneration: gc.metadata.generation },
    ]);
    this.writeStatus(t, gc, { ...((gc['status'] ?? {}) as object), conditions }, String(spec(gc)['controllerName']));
  }

  /** Name of the Envoy objects the wg controller creates for a Gateway (contracts §6). */
  static envoyName(ns: string, gw: string): string {
    const raw = ns === 'default' ? `envoy-${gw}` : `envoy-${ns}-${gw}`;
    return raw.toLowerCase().replace(/_/g, '-');
  }

  private gateway(ns: string, name: string): void {
    const t = this.type(GW_GROUP, 'gateways');
    const gw = t && this.store.get(t, ns, name);
    if (!t || !gw) return;
    const className = String(spec(gw)['gatewayClassName'] ?? '');
    const gcT = this.type(GW_GROUP, 'gatewayclasses');
    const gc = gcT ? this.store.get(gcT, undefined, className) : undefined;
    const status = clone((gw['status'] ?? {}) as Record<string, unknown>);
    if (className === WG_CLASS) {
      this.ensureEnvoy(gw);
      status['conditions'] = this.conditions('Gateway', gw, [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Gateway accepted by wg-ai-gateway controller' },
        { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Envoy proxy configuration pushed' },
      ], status['conditions']);
      this.writeStatus(t, gw, status, WG_CONTROLLER);
      return;
    }
    const controller = gc ? String(spec(gc)['controllerName'] ?? '') : '';
    if (!gc || controller === WG_CONTROLLER) return; // nobody owns this class: conditions stay Pending
    const g = gw.metadata.generation;
    status['conditions'] = this.conditions('Gateway', gw, [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Resource accepted', observedGeneration: g },
      { type: 'Programmed', status: 'True', reason: 'Programmed', message: `Resource programmed, assigned to service(s) ${name}-${className}.${ns}.svc.cluster.local:443`, observedGeneration: g },
    ], status['conditions']);
    status['addresses'] = [{ type: 'Hostname', value: `${name}-${className}.${ns}.svc.cluster.local` }];
    this.writeStatus(t, gw, status, controller);
  }

  private ensureEnvoy(gw: KObj): void {
    const ns = gw.metadata.namespace!;
    const name = Controllers.envoyName(ns, gw.metadata.name!);
    const labels = { [WG_MANAGED_LABEL]: 'sigs.k8s.io-wg-ai-gateway-envoy-controller' };
    const meta = { name, namespace: ns, labels, ownerReferences: [ownerRef(gw)] };
    const listeners = (spec(gw)['listeners'] ?? []) as { name: string; port: number; protocol: string }[];
    const seen = new Set<number>();
    const ports = listeners.filter((l) => !seen.has(l.port) && seen.add(l.port));
    const opts = { manager: WG_CONTROLLER, force: true };
    const manageable = (plural: string, group = ''): boolean => {
      const rt = this.type(group, plural)!;
      const existing = this.store.get(rt, ns, name);
      return !existing || existing.metadata.labels?.[WG_MANAGED_LABEL] !== undefined;
    };
    if (manageable('configmaps')) {
      this.store.apply(this.type('', 'configmaps')!, ns, name, { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { 'envoy.yaml': `node:\n  id: envoy-proxy-${createHash('sha256').update(`${ns}/${gw.metadata.name}`).digest('hex').slice(0, 12)}\n  cluster: ${ns}/${gw.metadata.name}\n` } }, opts);
    }
    if (manageable('serviceaccounts')) {
      this.store.apply(this.type('', 'serviceaccounts')!, ns, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta }, opts);
    }
    if (manageable('deployments', 'apps')) {
      this.store.apply(this.type('apps', 'deployments')!, ns, name, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta,
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              serviceAccountName: name,
              containers: [
                {
                  name: 'envoy',
                  image: 'docker.io/envoyproxy/envoy:v1.37-latest',
                  args: ['-c', '/etc/envoy/envoy.yaml', '--log-level', 'trace'],
                  ports: ports.map((l) => ({ containerPort: l.port, name: l.name.slice(0, 15), protocol: 'TCP' })),
                  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
                },
              ],
            },
          },
        },
      }, opts);
    }
    if (manageable('services')) {
      this.store.apply(this.type('', 'services')!, ns, name, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        spec: {
          type: 'LoadBalancer',
          selector: { app: name },
          ports: ports.map((l) => ({ name: l.name, port: l.port, targetPort: l.port, protocol: 'TCP', appProtocol: l.protocol.toLowerCase() })),
        },
      }, opts);
    }
  }

  private httpRoute(ns: string, name: string): void {
    const t = this.type(GW_GROUP, 'httproutes');
    const route = t && this.store.get(t, ns, name);
    if (!t || !route) return;
    const gwT = this.type(GW_GROUP, 'gateways');
    const gcT = this.type(GW_GROUP, 'gatewayclasses');
    const refs = parentRefs(route);
    const rules = (spec(route)['rules'] ?? []) as { backendRefs?: Record<string, unknown>[] }[];
    const backendProblem = this.backendProblem(ns, rules);
    const existing = (((route['status'] ?? {}) as Record<string, unknown>)['parents'] ?? []) as Record<string, unknown>[];
    const parents: Record<string, unknown>[] = [];
    for (const p of refs) {
      const gw = gwT ? this.store.get(gwT, p.namespace, p.name) : undefined;
      if (!gw) continue;
      const className = String(spec(gw)['gatewayClassName'] ?? '');
      const gc = gcT ? this.store.get(gcT, undefined, className) : undefined;
      const controllerName =
        className === WG_CLASS ? WG_CONTROLLER : gc ? String(spec(gc)['controllerName'] ?? OPENSHIFT_GATEWAY_CONTROLLER) : undefined;
      if (!controllerName || (className !== WG_CLASS && controllerName === WG_CONTROLLER)) continue;
      const g = className === WG_CLASS ? undefined : route.metadata.generation;
      // The wg controller builds each parent's conditions anew when it translates a changed route (fresh
      // lastTransitionTime, no observedGeneration); other controllers keep the time while the status holds.
      const rebuilt = className === WG_CLASS && this.wgRouteGenerations.get(route.metadata.uid!) !== route.metadata.generation;
      const prev = rebuilt ? undefined : existing.find((e) => deepEqual(e['parentRef'], p.raw) && e['controllerName'] === controllerName);
      const conditions = this.conditions('HTTPRoute', route, [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Route was valid', ...(g ? { observedGeneration: g } : {}) },
        backendProblem
          ? { type: 'ResolvedRefs', status: 'False', reason: backendProblem.reason, message: backendProblem.message, ...(g ? { observedGeneration: g } : {}) }
          : { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'All references resolved', ...(g ? { observedGeneration: g } : {}) },
      ], prev?.['conditions'] ?? []);
      parents.push({ parentRef: p.raw, controllerName, conditions });
    }
    this.writeStatus(t, route, { ...((route['status'] ?? {}) as object), parents }, 'gateway-controllers');
    if (refs.some((p) => this.wgParent(p))) this.wgRouteGenerations.set(route.metadata.uid!, route.metadata.generation);
  }

  private wgParent(p: { name: string; namespace: string }): boolean {
    const gwT = this.type(GW_GROUP, 'gateways');
    const gw = gwT ? this.store.get(gwT, p.namespace, p.name) : undefined;
    return !!gw && spec(gw)['gatewayClassName'] === WG_CLASS;
  }

  private backendProblem(ns: string, rules: { backendRefs?: Record<string, unknown>[] }[]): { reason: string; message: string } | undefined {
    const xbdT = this.type('ainetworking.prototype.x-k8s.io', 'xbackenddestinations');
    const svcT = this.type('', 'services')!;
    for (const rule of rules) {
      for (const b of rule.backendRefs ?? []) {
        const kind = String(b['kind'] ?? 'Service');
        const bns = String(b['namespace'] ?? ns);
        const bname = String(b['name'] ?? '');
        if (kind === 'Backend') {
          const xbd = xbdT ? this.store.get(xbdT, bns, bname) : undefined;
          if (!xbd) return { reason: 'BackendNotFound', message: `Backend ${bns}/${bname} not found` };
          // XBackendDestination keeps its ports under spec.destination (the CRD's layout).
          const dest = (spec(xbd)['destination'] ?? {}) as Record<string, unknown>;
          const ports = (dest['ports'] ?? spec(xbd)['ports'] ?? []) as { number?: number }[];
          if (b['port'] === undefined) return { reason: 'ResolvedRefs', message: `Port must be specified for backend ${bns}/${bname}` };
          if (!ports.some((p) => p.number === b['port'])) {
            return { reason: 'ResolvedRefs', message: `No port ${String(b['port'])} found in backend ${bns}/${bname}` };
          }
        } else if (kind === 'Service') {
          if (!this.store.get(svcT, bns, bname)) return { reason: 'BackendNotFound', message: `Service ${bns}/${bname} not found` };
        } else {
          return { reason: 'UnsupportedValue', message: `unsupported backend kind: ${kind}` };
        }
      }
    }
    return undefined;
  }

  // ---- Kuadrant policies ----------------------------------------------------------------------

  private policy(plural: string, ns: string, name: string): void {
    const t = this.type('kuadrant.io', plural);
    const pol = t && this.store.get(t, ns, name);
    if (!t || !pol) return;
    const kind = POLICY_KINDS[plural]!;
    const target = (spec(pol)['targetRef'] ?? {}) as Record<string, unknown>;
    const tkind = String(target['kind'] ?? '');
    const tname = String(target['name'] ?? '');
    const tType = tkind === 'Gateway' ? this.type(GW_GROUP, 'gateways') : tkind === 'HTTPRoute' ? this.type(GW_GROUP, 'httproutes') : undefined;
    const targetObj = tType ? this.store.get(tType, ns, tname) : undefined;
    const g = pol.metadata.generation;
    let conditions: Condition[] = ((pol['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter(
      (c) => c.type === 'Accepted' || c.type === 'Enforced',
    );
    if (!targetObj) {
      conditions = this.conditions(kind, pol, [
        { type: 'Accepted', status: 'False', reason: 'TargetNotFound', message: `${kind} target ${tname} was not found` },
      ], conditions).filter((c) => c.type !== 'Enforced');
    } else {
      const waiting = this.unprogrammedGateways(tkind, targetObj);
      conditions = this.conditions(kind, pol, [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: `${kind} has been accepted` },
        waiting.length
          ? { type: 'Enforced', status: 'False', reason: 'Unknown', message: `${kind} waiting for the following components to sync: [${waiting.map((w) => `Gateway (${w})`).join(' ')}]` }
          : { type: 'Enforced', status: 'True', reason: 'Enforced', message: `${kind} has been successfully enforced` },
      ], conditions);
    }
    this.writeStatus(t, pol, { observedGeneration: g, conditions }, 'kuadrant-operator');
  }

  private unprogrammedGateways(kind: string, target: KObj): string[] {
    const gwT = this.type(GW_GROUP, 'gateways');
    if (!gwT) return [];
    const gws = kind === 'Gateway' ? [target] : parentRefs(target).map((p) => this.store.get(gwT, p.namespace, p.name)).filter((x): x is KObj => !!x);
    return gws
      .filter((gw) => findCondition(gw, 'Programmed')?.status !== 'True')
      .map((gw) => `${gw.metadata.namespace}/${gw.metadata.name}`);
  }

  // ---- KServe LLMInferenceService ----------------------------------------------------------------

  private llmisvc(ns: string, name: string): void {
    const t = this.type('serving.kserve.io', 'llminferenceservices');
    const svc = t && this.store.get(t, ns, name);
    if (!t || !svc) return;
    const s = spec(svc);
    const template = (s['template'] ?? {}) as Record<string, unknown>;
    const containers = clone((template['containers'] ?? [{ name: 'main', image: 'ghcr.io/llm-d/llm-d-inference-sim:v0.6.1' }]) as Record<string, unknown>[]);
    const workload = `${name}-kserve`;
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'llminferenceservice', 'app.kubernetes.io/component': 'llminferenceservice-workload' };
    const meta = { name: workload, namespace: ns, labels, ownerReferences: [ownerRef(svc)] };
    const dT = this.type('apps', 'deployments')!;
    this.store.apply(dT, ns, workload, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: typeof s['replicas'] === 'number' ? s['replicas'] : 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers } },
      },
    }, { manager: 'llmisvc-controller', force: true });
    const svcName = `${name}-kserve-workload-svc`;
    this.store.apply(this.type('', 'services')!, ns, svcName, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...meta, name: svcName },
      spec: { selector: labels, ports: [{ name: 'https', port: 8000, targetPort: 8000, protocol: 'TCP', appProtocol: 'https' }] },
    }, { manager: 'llmisvc-controller', force: true });
    const router = (s['router'] ?? {}) as Record<string, unknown>;
    const routeT = this.type(GW_GROUP, 'httproutes');
    const gwRefs = ((router['gateway'] as Record<string, unknown> | undefined)?.['refs'] ?? []) as { name: string; namespace: string }[];
    if (routeT && router['route'] !== undefined) {
      const routeName = `${name}-kserve-route`;
      this.store.apply(routeT, ns, routeName, {
        apiVersion: `${GW_GROUP}/v1`,
        kind: 'HTTPRoute',
        metadata: { ...meta, name: routeName },
        spec: {
          parentRefs: gwRefs.map((r) => ({ group: GW_GROUP, kind: 'Gateway', name: r.name, namespace: r.namespace })),
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: `/${ns}/${name}` } }],
              filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
              backendRefs: [{ group: '', kind: 'Service', name: svcName, port: 8000, weight: 1 }],
              timeouts: { request: '0s', backendRequest: '0s' },
            },
          ],
        },
      }, { manager: 'llmisvc-controller', force: true });
    }
    const d = this.store.get(dT, ns, workload);
    const available = d ? findCondition(d, 'Available')?.status === 'True' : false;
    const yes = (type: string, message?: string): Condition => ({ type, status: 'True', ...(message ? { message } : {}) });
    const wanted: Condition[] = [
      yes('PresetsCombined'),
      available ? yes('MainWorkloadReady') : { type: 'MainWorkloadReady', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      available ? yes('WorkloadsReady') : { type: 'WorkloadsReady', status: 'False', reason: 'MainWorkloadNotReady' },
      yes('GatewaysReady'),
      yes('HTTPRoutesReady'),
      yes('RouterReady'),
    ];
    let conditions = this.conditions('LLMInferenceService', svc, wanted);
    const allTrue = conditions.filter((c) => c.type !== 'Ready').every((c) => c.status === 'True');
    conditions = this.conditions('LLMInferenceService', svc, [
      allTrue ? yes('Ready') : { type: 'Ready', status: 'False', reason: 'NotAllConditionsReady', message: 'some conditions are not ready' },
    ], conditions);
    const url = `http://maas.${this.domain()}/${ns}/${name}`;
    this.writeStatus(t, svc, {
      observedGeneration: svc.metadata.generation,
      conditions,
      url,
      addresses: [{ url }],
    }, 'llmisvc-controller');
  }
}

function spec(o: KObj): Record<string, unknown> {
  return isPlainObject(o['spec']) ? o['spec'] : {};
}

function parentRefs(route: KObj): { name: string; namespace: string; raw: Record<string, unknown> }[] {
  const refs = (spec(route)['parentRefs'] ?? []) as Record<string, unknown>[];
  return refs
    .filter((r) => (r['kind'] ?? 'Gateway') === 'Gateway')
    .map((r) => ({ name: String(r['name']), namespace: String(r['namespace'] ?? route.metadata.namespace), raw: r }));
}

function resolveNamedPort(pod: KObj | undefined, name: unknown): number | undefined {
  if (!pod || typeof name !== 'string') return undefined;
  for (const c of (spec(pod)['containers'] ?? []) as { ports?: { name?: string; containerPort: number }[] }[]) {
    const p = c.ports?.find((x) => x.name === name);
    if (p) return p.containerPort;
  }
  return undefined;
}
