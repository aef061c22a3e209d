/**
 * What validate and doctor of the subscription era read from a cluster, beside the objects themselves:
 * install facts (the platform's Deployments, the MaaS gateway, the demo's simulators and on-prem model,
 * as their controllers report them), a subscription's token limit from `maas-trlp-<model>` (what was
 * spent lives in Limitador and cannot be read: `source: 'inferred'`), and fixes as object patches
 * applied by server-side apply with the field manager `maas-egress-demo`.
 */
import type { DemoConfig } from '../../core/config.js';
import type { EventInput } from '../../core/events.js';
import { Secret } from '../../core/secret.js';
import { DEMO_SELECTOR, type K8sObject } from '../../model/k8s-object.js';
import type { BudgetRecord, InstallFact } from '../../model/target-facts.js';
import type { FixProposal } from '../target.js';
import type { ClusterObjects } from './cluster-objects.js';
import { FIELD_MANAGER, refOf, refText, type Kube } from './client.js';
import { applyFailure } from './apply.js';
import { detectMaasGeneration, evidenceText } from './identity.js';
import { diagnosePod, verdictLine } from './pod-reasons.js';

type Condition = { type?: string; status?: string; reason?: string; message?: string };
const conditionOf = (o: K8sObject | undefined, type: string): Condition | undefined => ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

async function deploymentFact(objs: ClusterObjects, ns: string, name: string, what: string, hop: InstallFact['hop'], missing: string): Promise<InstallFact> {
  const d = await objs.get('apps/v1', 'Deployment', ns, name);
  if (!d) return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not found`, hint: missing };
  const avail = conditionOf(d, 'Available');
  if (avail?.status === 'True') return { name: what, ok: true, hop, detail: `Deployment ${ns}/${name} Available` };
  const sel = Object.entries((d.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = sel ? await objs.kube.list('v1', 'Pod', ns, { labelSelector: sel }).then((r) => r.items, () => []) : [];
  for (const p of pods) {
    const dx = await diagnosePod(objs.kube, p).catch(() => undefined);
    if (dx) return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not available: ${verdictLine(dx)}`, hint: dx.hint };
  }
  return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not available: Available=${avail?.status ?? 'not reported'} ${avail?.reason ?? ''}`.trim(), hint: `kubectl -n ${ns} describe deployment/${name}` };
}

/** The era's install as its controllers report it (doctor's sub-platform-running reads these). */
export async function eraInstallFacts(objs: ClusterObjects, cfg: DemoConfig, opts: { maas?: 'tier' | 'subscription' } = {}): Promise<InstallFact[]> {
  const facts: InstallFact[] = [];
  const gen = await detectMaasGeneration(objs.kube, cfg.maas.apiNamespace, { gatewayNamespace: cfg.maas.gatewayNamespace, ...(opts.maas ? { override: opts.maas } : {}) }).catch(() => undefined);
  if (gen) facts.push({ name: 'MaaS generation', ok: gen.generation === 'subscription', hop: 'maas-api', detail: `${gen.generation}${gen.override ? ' (--maas)' : ''}: ${evidenceText(gen)}` });
  facts.push(await deploymentFact(objs, cfg.maas.apiNamespace, 'maas-api', 'maas-api', 'maas-api', 'install MaaS (the DataScienceCluster with modelsAsService Managed)'));
  facts.push(await deploymentFact(objs, cfg.maas.apiNamespace, 'maas-controller', 'maas-controller', 'maas-api', 'maas-controller turns MaaSModelRefs, MaaSAuthPolicies and MaaSSubscriptions into routes and policies: install MaaS'));
  facts.push(await deploymentFact(objs, cfg.maas.gatewayNamespace, 'payload-processing', 'payload processing', 'payload-processing', 'without payload processing no body-routed request is routed and no provider key injected'));
  const gw = await objs.get('gateway.networking.k8s.io/v1', 'Gateway', cfg.maas.gatewayNamespace, cfg.maas.gatewayName);
  const programmed = conditionOf(gw, 'Programmed');
  facts.push({ name: 'MaaS gateway', ok: programmed?.status === 'True', hop: 'maas-gateway', detail: gw ? `Gateway ${cfg.maas.gatewayNamespace}/${cfg.maas.gatewayName}: Programmed=${programmed?.status ?? 'not reported'}` : `Gateway ${cfg.maas.gatewayNamespace}/${cfg.maas.gatewayName} not found` });
  // The demo's own workloads: simulators (step s0) and the on-prem model.
  const ours = await objs.kube.list('apps/v1', 'Deployment', cfg.providersNamespace, { labelSelector: DEMO_SELECTOR }).then((r) => r.items, () => []);
  for (const d of ours) facts.push(await deploymentFact(objs, cfg.providersNamespace, d.metadata.name, `simulator ${d.metadata.name}`, `provider:${d.metadata.name.replace(/-simulator$/, '')}`, 'demo up --target cluster'));
  const llmis = await objs.get('serving.kserve.io/v1alpha1', 'LLMInferenceService', cfg.onprem.namespace, cfg.onprem.name);
  if (llmis) {
    const ready = conditionOf(llmis, 'Ready');
    facts.push({ name: 'on-prem model', ok: ready?.status === 'True', hop: 'maas-gateway', detail: `LLMInferenceService ${cfg.onprem.namespace}/${cfg.onprem.name}: Ready=${ready?.status ?? 'not reported'}${ready?.reason ? ` (${ready.reason})` : ''}` });
  }
  return facts;
}

/**
 * The limit named `limitKey` (`<ns>-<subscription>-<model>-tokens`) in the `maas-trlp-<model>` policies
 * maas-controller writes. The counter lives in Limitador, which the API server cannot show.
 */
export async function eraBudget(kube: Kube, limitKey: string): Promise<BudgetRecord | undefined> {
  const trlps = await kube.list('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy').then((r) => r.items, () => []);
  type Limit = { rates?: { limit?: number }[] };
  for (const t of trlps.filter((x) => x.metadata.name.startsWith('maas-trlp-'))) {
    const limit = ((t.spec as { limits?: Record<string, Limit> } | undefined)?.limits ?? {})[limitKey]?.rates?.[0]?.limit;
    if (typeof limit === 'number') return { tier: limitKey, limit, spent: 0, source: 'inferred' };
  }
  return undefined;
}

/** The object as an apply sends it: no server-written metadata, no status. */
export function applyable(o: K8sObject): K8sObject {
  const { status: _s, ...rest } = o;
  const { uid: _u, resourceVersion: _r, generation: _g, managedFields: _m, creationTimestamp: _c, selfLink: _l, ...meta } = o.metadata as Record<string, unknown>;
  return { ...rest, metadata: meta } as K8sObject;
}

/** `a.b[0].c = v` lines of what differs between two objects (labels, annotations, spec, data). */
function diffLines(before: unknown, after: unknown, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((k) => diffLines(before[k], after[k], path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 120));
  return [`${path}: ${show(before)} → ${show(after)}`];
}

/** A Secret's values as the Secret class masks them: a fix's diff never shows a key (nor its base64). */
function secretValues(o: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  const show = (v: string) => {
    const sec = new Secret(v);
    return `${sec.masked} (fingerprint ${sec.fingerprint})`;
  };
  for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) out[k] = show(Buffer.from(v, 'base64').toString('utf8'));
  for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, string>)) out[k] = show(v);
  return out;
}

const comparable = (o: K8sObject | undefined) =>
  o ? { labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, spec: o.spec, data: o.kind === 'Secret' ? secretValues(o) : o.data } : undefined;

/**
 * A fix of the era as the cluster carries it out: each object applied by server-side apply (field
 * manager maas-egress-demo, taking the fields it names), first as a dry run to show what changes.
 */
export async function eraFix(kube: Kube, objects: K8sObject[]): Promise<FixProposal> {
  const items: { obj: K8sObject; lines: string[] }[] = [];
  for (const raw of objects) {
    const obj = applyable(raw);
    const live = await kube.get(refOf(obj)).catch(() => undefined);
    let after: K8sObject;
    try {
      after = await kube.apply(obj, { force: true, dryRun: true });
    } catch (err) {
      throw applyFailure(obj, err);
    }
    items.push({ obj, lines: diffLines(comparable(live), comparable(after)) });
  }
  const changing = items.filter((i) => i.lines.length);
  const patch = items.map((i) => [`# ${refText(i.obj)}: server-side apply, field manager ${FIELD_MANAGER}`, ...(i.lines.length ? i.lines.map((l) => `  ${l}`) : ['  (no change)'])].join('\n')).join('\n');
  return {
    patch,
    changes: changing.length,
    async *apply(): AsyncGenerator<EventInput, string[]> {
      for (const i of changing) {
        try {
          await kube.apply(i.obj, { force: true });
        } catch (err) {
          throw applyFailure(i.obj, err);
        }
        yield { kind: 'apply', step: 'fix', object: refText(i.obj), action: 'configured' };
      }
      return [];
    },
  };
}
