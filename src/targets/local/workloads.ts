/**
 * The local stand-in for the kubelet and the controllers: which loopback process each applied object
 * asks for, and how cluster DNS names reach them. A simulator Deployment runs its container's own
 * command line (our simulator code) with its environment resolved from Secrets; an
 * LLMInferenceService runs the inference simulator KServe would; the egress Gateway is the egress
 * hop. Objects whose work the hops' programming already does (the wg controller, CRDs, RBAC) are
 * accepted; an object that asks for something no local process can be is named with the reason.
 */
import type { K8sObject } from '../../model/k8s-object.js';
import { objectKey } from '../../model/object-source.js';
import type { HopId } from '../../core/events.js';
import type { LaunchSpec } from './launcher.js';

/** A process an object asks for. */
export interface Workload {
  /** Component name in the state (`provider-openai`, `onprem-sim`). */
  component: string;
  /** The object that asks for it, `Kind/namespace/name`. */
  object: string;
  hop: HopId;
  /** The entry script under dist/src and its command line (`{portFile}` is filled in by the launcher). */
  script: string;
  args: string[];
  env: Record<string, string>;
  /** Pod labels, for Services that select it. */
  labels: Record<string, string>;
  namespace: string;
  /** Readiness path (the container's probe). */
  health: string;
}

export interface WorkloadPlan {
  workloads: Workload[];
  /** Objects whose effect is the hops' programming, or which need nothing locally (with why). */
  accepted: { object: string; note: string }[];
  /** Objects the local target cannot represent, with the reason. */
  unrepresentable: { object: string; reason: string }[];
}

type Container = { name?: string; image?: string; command?: string[]; args?: string[]; env?: EnvVar[]; readinessProbe?: { httpGet?: { path?: string } } };
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string }; fieldRef?: { fieldPath?: string } } };
type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Container[] } };

const SIMULATORS: { entry: RegExp; script: string }[] = [
  { entry: /(^|\/)provider-sim\.js$/, script: 'sim/provider-sim.js' },
  { entry: /(^|\/)inference-sim\.js$/, script: 'sim/inference-sim.js' },
];

/** `--host X --port N` become loopback and an ephemeral port; the launcher learns the port from a file. */
export function loopbackArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--host' || a === '--port' || a === '--port-file' || a === '--ssl-certfile' || a === '--ssl-keyfile') {
      i++;
      continue;
    }
    if (/^--(host|port|port-file|ssl-certfile|ssl-keyfile)=/.test(a)) continue;
    out.push(a);
  }
  return [...out, '--host', '127.0.0.1', '--port', '0', '--port-file', '{portFile}'];
}

/** The value a Secret holds under a key (stringData first, then base64 data). */
export function secretValue(objects: readonly K8sObject[], namespace: string, name: string, key: string): string | undefined {
  const s = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name && (o.metadata.namespace ?? '') === namespace);
  if (!s) return undefined;
  const plain = (s.stringData as Record<string, string> | undefined)?.[key];
  if (typeof plain === 'string') return plain;
  const b64 = (s.data as Record<string, string> | undefined)?.[key];
  return typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
}

function resolveEnv(env: readonly EnvVar[], objects: readonly K8sObject[], pod: { namespace: string; name: string }, object: string): { env: Record<string, string>; missing?: string } {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const { name = '', key = '' } = e.valueFrom.secretKeyRef;
      const v = secretValue(objects, pod.namespace, name, key);
      if (v === undefined) return { env: out, missing: `${object}: env ${e.name} reads Secret ${pod.namespace}/${name} key ${key}, which is not among the objects (the pod would not start: CreateContainerConfigError)` };
      out[e.name] = v;
    } else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = pod.name;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') out[e.name] = pod.namespace;
  }
  return { env: out };
}

function simulatorOf(c: Container | undefined): (typeof SIMULATORS)[number] | undefined {
  const entry = c?.command?.find((x) => SIMULATORS.some((s) => s.entry.test(x)));
  return entry ? SIMULATORS.find((s) => s.entry.test(entry)) : undefined;
}

function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/**
 * What the objects ask to run. `egressClass` is the GatewayClass the egress hop implements; the
 * `controller` is the Deployment whose reconciling the hops' programming stands in for.
 */
export function planWorkloads(objects: readonly K8sObject[], opts: { egressClass: string; controller: { namespace: string; name: string }; platform: { namespace: string; name: string; note: string }[] }): WorkloadPlan {
  const plan: WorkloadPlan = { workloads: [], accepted: [], unrepresentable: [] };
  for (const o of objects) {
    const key = objectKey(o);
    const ns = o.metadata.namespace ?? '';
    if (o.kind === 'Deployment') {
      if (ns === opts.controller.namespace && o.metadata.name === opts.controller.name) {
        plan.accepted.push({ object: key, note: 'the wg controller: its work (Envoy config from routes and backends) is the egress hop’s programming' });
        continue;
      }
      const platform = opts.platform.find((x) => x.namespace === ns && x.name === o.metadata.name);
      if (platform) {
        plan.accepted.push({ object: key, note: platform.note });
        continue;
      }
      const template = (o.spec as { template?: PodTemplate } | undefined)?.template;
      const c = template?.spec?.containers?.[0];
      const sim = simulatorOf(c);
      if (!sim || !c) {
        plan.unrepresentable.push({ object: key, reason: `runs image ${c?.image ?? '(none)'}: the local target has no container runtime and runs only the demo's own simulator code (drop --simulator-image, or use --target cluster)` });
        continue;
      }
      const podName = `${o.metadata.name}-local-0`;
      const { env, missing } = resolveEnv(c.env ?? [], objects, { namespace: ns, name: podName }, key);
      if (missing) {
        plan.unrepresentable.push({ object: key, reason: missing });
        continue;
      }
      const name = argValue(c.args ?? [], '--name') ?? o.metadata.name;
      plan.workloads.push({
        component: sim.script.includes('provider') ? `provider-${name}` : `sim-${o.metadata.name}`,
        object: key,
        hop: sim.script.includes('provider') ? `provider:${name}` : 'onprem',
        script: sim.script,
        args: [...loopbackArgs(c.args ?? []), ...(sim.script.includes('provider') ? ['--quiet'] : [])],
        env,
        labels: template?.metadata?.labels ?? {},
        namespace: ns,
        health: c.readinessProbe?.httpGet?.path ?? '/health',
      });
    } else if (o.kind === 'LLMInferenceService') {
      // KServe runs the model server; locally the inference simulator serves the same API on loopback.
      const spec = o.spec as { model?: { name?: string }; template?: { containers?: Container[] } } | undefined;
      const c = spec?.template?.containers?.[0];
      const model = spec?.model?.name ?? argValue(c?.args ?? [], '--model') ?? o.metadata.name;
      const mode = argValue(c?.args ?? [], '--mode') ?? 'random';
      plan.workloads.push({
        component: 'onprem-sim',
        object: key,
        hop: 'onprem',
        script: 'sim/inference-sim.js',
        args: ['--port', '0', '--host', '127.0.0.1', '--model', model, '--mode', mode, '--port-file', '{portFile}'],
        env: { POD_NAME: `${o.metadata.name}-kserve-0`, POD_NAMESPACE: ns },
        labels: { 'app.kubernetes.io/name': o.metadata.name },
        namespace: ns,
        health: '/health',
      });
    } else if (o.kind === 'Gateway') {
      const cls = (o.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName;
      if (cls === opts.egressClass) plan.accepted.push({ object: key, note: 'served by the egress hop' });
      else plan.unrepresentable.push({ object: key, reason: `gatewayClassName ${cls ?? '(none)'}: locally only ${opts.egressClass} gateways run (the MaaS gateway is the platform's)` });
    } else if (o.kind === 'Service') {
      plan.accepted.push({ object: key, note: 'a cluster DNS name for the processes it selects' });
    } else {
      plan.accepted.push({ object: key, note: NOTES[o.kind] ?? 'read by the hops it configures' });
    }
  }
  return plan;
}

const NOTES: Record<string, string> = {
  Namespace: 'namespaces are names here',
  ServiceAccount: 'no pods run as it locally',
  ClusterRole: 'no API server to authorise locally',
  ClusterRoleBinding: 'no API server to authorise locally',
  Role: 'no API server to authorise locally',
  RoleBinding: 'no API server to authorise locally',
  CustomResourceDefinition: 'the hops read these kinds natively',
  GatewayClass: 'the egress hop implements it',
  ConfigMap: 'read by the process that mounts it',
  Secret: 'read by the processes whose environment refers to it',
};

/** `host:port` a backend dials → the loopback address of the process its Service selects (cluster DNS, locally). */
export function serviceAddresses(objects: readonly K8sObject[], workloads: readonly Workload[], ports: Record<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const ns = svc.metadata.namespace ?? '';
    const spec = svc.spec as { selector?: Record<string, string>; ports?: { port?: number }[] } | undefined;
    const sel = Object.entries(spec?.selector ?? {});
    if (!sel.length) continue;
    const w = workloads.find((x) => x.namespace === ns && sel.every(([k, v]) => x.labels[k] === v));
    const port = w ? ports[w.component] : undefined;
    if (!w || !port) continue;
    for (const p of spec?.ports ?? []) {
      for (const host of [`${svc.metadata.name}.${ns}.svc.cluster.local`, `${svc.metadata.name}.${ns}.svc`]) out[`${host}:${p.port ?? 80}`] = `127.0.0.1:${port}`;
    }
  }
  return out;
}

/** The launch spec of a workload. */
export function launchOf(w: Workload, scriptPath: (rel: string) => string, extraEnv: Record<string, string> = {}): LaunchSpec {
  return { name: w.component, script: scriptPath(w.script), args: w.args, env: { ...w.env, ...extraEnv } };
}
