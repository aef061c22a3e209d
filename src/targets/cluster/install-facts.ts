/**
 * Install facts: what the controllers say about the demo's objects, each naming a hop and a concrete fix.
 * Facts with `check` set are reported by that doctor check (the policy status by key-policy-enforced, the
 * TRLP by ratelimit-policy-present, …); the rest by install-components. The objects are read from the
 * cluster through ClusterObjects; their configuration is read by src/model/read-objects.ts.
 */
import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import { WASM_SHIM_FACT } from '../../checks/doctor/types.js';
import type { K8sObject } from '../../model/k8s-object.js';
import type { InstallFact } from '../../model/target-facts.js';
import { names, envoyName } from '../../../steps/scope.js';
import { authPolicyFor, containerOf, controllerFixedOf, GW_API, ObjectList, onGateway, providerOfBridge, providerOfEgress, routeRule, routes, topologyReads, trlpOf, WG_MANAGED_LABEL, AUTH_API, TRLP_API, type Condition, type Deployment, type HttpRoute } from '../../model/read-objects.js';
import type { ClusterObjects } from './cluster-objects.js';
import { detectMaasGeneration, evidenceText, type MaasGeneration } from './identity.js';
import { diagnosePod, verdictLine } from './pod-reasons.js';
import { MANAGED_ANNOTATION } from './state.js';

const XBACKEND_CRD = 'xbackenddestinations.ainetworking.prototype.x-k8s.io';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const cond = (obj: K8sObject | undefined, type: string): Condition | undefined => ((obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const condText = (c: Condition | undefined, type: string) => (c ? `${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}` : `${type} not reported`);


async function deploymentFact(objs: ClusterObjects, ns: string, name: string, what: string, hop: HopId, extra: { missingFix: { summary: string; patch: string } }): Promise<InstallFact & { deployment?: Deployment }> {
  const d = (await objs.get('apps/v1', 'Deployment', ns, name)) as Deployment | undefined;
  if (!d) return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not found`, fix: extra.missingFix };
  const avail = cond(d, 'Available');
  const image = containerOf(d)?.image ?? '?';
  if (avail?.status === 'True') return { name: what, ok: true, hop, detail: `Deployment ${ns}/${name} Available (${image})`, deployment: d };
  // Why: the first pod that is not Ready, in the cluster's words (pull error, crash loop, Insufficient cpu…).
  const sel = Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = sel ? await objs.kube.list('v1', 'Pod', ns, { labelSelector: sel }).then((r) => r.items, () => []) : [];
  let why = '';
  let hint = `kubectl -n ${ns} rollout status deployment/${name} && kubectl -n ${ns} describe deployment/${name}`;
  for (const p of pods) {
    const dx = await diagnosePod(objs.kube, p).catch(() => undefined);
    if (dx) {
      why = `; ${verdictLine(dx)}`;
      hint = `${dx.hint}\nkubectl -n ${ns} describe pod ${dx.pod}`;
      break;
    }
  }
  return { name: what, ok: false, hop, detail: `Deployment ${ns}/${name} not available: ${condText(avail, 'Available')}${why}`, fix: { summary: `make Deployment ${ns}/${name} available`, patch: hint }, deployment: d };
}

function policyFact(kind: string, pol: K8sObject, hop: HopId, extra: Pick<InstallFact, 'check' | 'provider'>): InstallFact {
  const ns = pol.metadata.namespace ?? '';
  const name = pol.metadata.name;
  const accepted = cond(pol, 'Accepted');
  const enforced = cond(pol, 'Enforced');
  const ok = accepted?.status === 'True' && enforced?.status === 'True';
  const ref = `${kind} ${ns}/${name}`;
  const resource = kind === 'AuthPolicy' ? 'authpolicy' : 'tokenratelimitpolicy';
  const detail = `${ref}: ${condText(accepted, 'Accepted')}, ${condText(enforced, 'Enforced')}`;
  if (ok) return { name: ref, ok, hop, detail, ...extra };
  const target = (pol.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef;
  const reason = accepted?.status !== 'True' ? accepted?.reason : enforced?.reason;
  const show = `kubectl -n ${ns} get ${resource} ${name} -o jsonpath='{.status.conditions}'`;
  const fix =
    reason === 'TargetNotFound'
      ? { summary: `create ${target?.kind ?? 'the target'} ${target?.name ?? ''} that ${ref} targets, or fix spec.targetRef`, patch: `kubectl -n ${ns} get ${String(target?.kind ?? 'httproute').toLowerCase()} ${target?.name ?? ''}\n${show}` }
      : reason === 'Overridden'
        ? { summary: `${ref} is overridden by a policy with overrides on the gateway: remove the override or move the rule into it`, patch: `kubectl get ${resource} -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,TARGET:.spec.targetRef.name,OVERRIDES:.spec.overrides\n${show}` }
        : reason === 'Conflicted'
          ? { summary: `another ${kind} targets the same object: keep one`, patch: `kubectl get ${resource} -A\n${show}` }
          : reason === 'MissingDependency' || reason === 'MissingResource'
            ? { summary: `Kuadrant lacks a component for ${ref} (Authorino/Limitador, or the gateway's wasm plugin)`, patch: `kubectl -n kuadrant-system get kuadrant,authorino,limitador -o yaml\n${show}` }
            : { summary: `find why Kuadrant does not enforce ${ref}${enforced?.message ? ` (${enforced.message})` : ''}`, patch: `${show}\nkubectl -n kuadrant-system logs deployment/kuadrant-operator-controller-manager --tail 50` };
  return { name: ref, ok: false, hop, detail, fix, ...extra };
}

/** Fields in the last client-side applied object that the stored object lacks (pruned by the schema). */
export function prunedFields(obj: K8sObject): string[] {
  const text = obj.metadata.annotations?.[LAST_APPLIED];
  if (!text) return [];
  let applied: unknown;
  try {
    applied = JSON.parse(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (a: unknown, s: unknown, path: string) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return;
    for (const [k, v] of Object.entries(a)) {
      const here = path ? `${path}.${k}` : k;
      if (typeof s !== 'object' || s === null || !(k in s)) out.push(here);
      else walk(v, (s as Record<string, unknown>)[k], here);
    }
  };
  walk((applied as { spec?: unknown }).spec, obj.spec, 'spec');
  return out;
}

/** The hazard of contracts §6: the wg controller reconciling the MaaS gateway and its routes. */
async function foreignReconcileFact(objs: ClusterObjects, cfg: DemoConfig): Promise<InstallFact> {
  const { gatewayName, gatewayNamespace } = cfg.maas;
  const stray = `envoy-${gatewayNamespace}-${gatewayName}`.toLowerCase().replace(/_/g, '-');
  const found: string[] = [];
  const d = await objs.get('apps/v1', 'Deployment', gatewayNamespace, stray);
  if (d) found.push(`Deployment ${gatewayNamespace}/${stray} exists${d.metadata.labels?.[WG_MANAGED_LABEL] ? ' (created by the wg-ai-gateway controller)' : ''}`);
  let all = (await objs.list(GW_API, 'HTTPRoute')) as HttpRoute[];
  // Listing every namespace may be forbidden: then the namespaces where routes on the MaaS gateway live.
  if (!all.length) all = (await Promise.all([...new Set([cfg.egress.namespace, cfg.maas.apiNamespace, cfg.onprem.namespace])].map((ns) => objs.list(GW_API, 'HTTPRoute', ns)))).flat() as HttpRoute[];
  for (const r of all) {
    if (!onGateway(r, gatewayName, gatewayNamespace)) continue;
    const wg = (r.status?.parents ?? []).filter((p) => p.controllerName === cfg.egress.controllerName && (p.parentRef?.name ?? gatewayName) === gatewayName);
    if (wg.length) found.push(`HTTPRoute ${r.metadata.namespace}/${r.metadata.name} has a parent status written by ${cfg.egress.controllerName}`);
  }
  const name = `wg-ai-gateway controller leaves ${gatewayNamespace}/${gatewayName} alone`;
  if (!found.length) return { name, ok: true, hop: 'maas-gateway', check: 'install-no-foreign-reconcile', detail: `no ${stray} Deployment; no route on ${gatewayName} carries a status from ${cfg.egress.controllerName}` };
  return {
    name,
    ok: false,
    hop: 'maas-gateway',
    check: 'install-no-foreign-reconcile',
    detail: found.join('; '),
    fix: {
      summary: `the controller reconciles every parent Gateway of a route, not only class ${cfg.egress.className} (upstream bug): delete what it created for ${gatewayName} and run a build that checks the class`,
      patch: [
        `kubectl -n ${gatewayNamespace} delete deployment,service,configmap,serviceaccount ${stray} --ignore-not-found`,
        `kubectl -n ${cfg.egress.controllerNamespace} set image deployment/${names.controller} manager=<a wg-ai-gateway build whose HTTPRoute handler skips Gateways of other classes>`,
        '# until then the route statuses on the MaaS gateway are fought over by Istio and the wg controller; Istio rewrites them on its next sync',
      ].join('\n'),
    },
  };
}

export interface FactInputs {
  cfg: DemoConfig;
  env: Record<string, string | undefined>;
  providers: readonly ProviderConfig[];
  /** `--maas`: the generation when the evidence does not decide. */
  maas?: MaasGeneration;
}

export async function readInstallFacts(objs: ClusterObjects, inp: FactInputs): Promise<InstallFact[]> {
  const { cfg } = inp;
  const kube = objs.kube;
  const facts: InstallFact[] = [];
  const snapshot = new ObjectList(await objs.read(topologyReads(cfg)));

  // MaaS generation: the bridges authenticate tier-era ServiceAccount tokens only (contracts §4.5).
  const gen = await detectMaasGeneration(kube, cfg.maas.apiNamespace, { gatewayNamespace: cfg.maas.gatewayNamespace, ...(inp.maas ? { override: inp.maas } : {}) }).catch(() => undefined);
  if (gen) {
    const seen = evidenceText(gen);
    if (gen.generation === 'tier') {
      facts.push({ name: 'MaaS generation', ok: true, hop: 'maas-api', detail: `tier era${gen.override ? ' (--maas)' : ''}: ${seen}` });
    } else if (gen.generation === 'subscription') {
      // Only reached when the session runs the tier era's checks on it (--maas tier, or a run that could not tell).
      facts.push({ name: 'MaaS generation', ok: false, hop: 'maas-api', detail: `subscription era: ${seen} — the tier era's bridges, egress gateway and tokens are not what this cluster runs`, fix: { summary: "run the subscription era's checks", patch: 'demo doctor --target cluster --maas subscription   # or drop --maas: the evidence decides' } });
    } else {
      facts.push({ name: 'MaaS generation', ok: false, hop: 'maas-api', detail: `${gen.generation === 'mixed' ? 'the evidence points to both generations' : 'could not tell the generation'}: ${seen}`, fix: { summary: 'say which MaaS generation the cluster runs', patch: 'demo doctor --target cluster --maas tier   # or --maas subscription' } });
    }
  }
  const tierEra = !gen || gen.generation === 'tier';

  // Kuadrant: both policy kinds served.
  const missing: string[] = [];
  if (!(await kube.served(AUTH_API, 'AuthPolicy').catch(() => undefined))) missing.push('AuthPolicy (kuadrant.io/v1)');
  if (!(await kube.served(TRLP_API, 'TokenRateLimitPolicy').catch(() => undefined))) missing.push('TokenRateLimitPolicy (kuadrant.io/v1alpha1)');
  facts.push(
    missing.length
      ? { name: 'Kuadrant', ok: false, hop: 'maas-gateway', detail: `not served: ${missing.join(', ')}`, fix: { summary: 'install Red Hat Connectivity Link (Kuadrant) and create the Kuadrant CR', patch: 'kubectl get crd authpolicies.kuadrant.io tokenratelimitpolicies.kuadrant.io\nkubectl -n kuadrant-system get kuadrant' } }
      : { name: 'Kuadrant', ok: true, hop: 'maas-gateway', detail: 'AuthPolicy and TokenRateLimitPolicy served' },
  );

  // The XBackendDestination CRD, Established.
  const crd = await objs.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, XBACKEND_CRD);
  const est = cond(crd, 'Established');
  facts.push(
    est?.status === 'True'
      ? { name: 'XBackendDestination CRD', ok: true, hop: 'egress-gateway', detail: `${XBACKEND_CRD} Established` }
      : { name: 'XBackendDestination CRD', ok: false, hop: 'egress-gateway', detail: crd ? `${XBACKEND_CRD}: ${condText(est, 'Established')}` : `${XBACKEND_CRD} not installed`, fix: { summary: 'install the wg-ai-gateway backend CRDs (step 1)', patch: 'kubectl apply --server-side -f "$WG_DIR/backend/k8s/crds/"   # older checkouts: $WG_DIR/../internal/backend/k8s/crds/\ndemo up --target cluster --wg-dir "$WG_DIR"' } },
  );

  // The controller: running, and built with the prefix-rewrite fix (its own check).
  const ctl = await deploymentFact(objs, cfg.egress.controllerNamespace, names.controller, 'wg-ai-gateway controller', 'egress-gateway', {
    missingFix: { summary: 'deploy the wg-ai-gateway controller (step 1)', patch: 'demo up --target cluster --wg-dir "$WG_DIR"' },
  });
  const { deployment: ctlDeployment, ...ctlFact } = ctl;
  facts.push(ctlFact);
  if (ctlDeployment) {
    const image = containerOf(ctlDeployment, 'manager')?.image;
    const fixed = controllerFixedOf(image, cfg, inp.env);
    const setImage = `kubectl -n ${cfg.egress.controllerNamespace} set image deployment/${names.controller} manager=${cfg.egress.controllerImage}`;
    facts.push({
      name: 'controller image',
      ok: fixed !== false,
      hop: 'egress-gateway',
      check: 'install-controller-rewrite-fix',
      detail:
        fixed === true
          ? `${image} carries the prefix-rewrite fix (wg-ai-gateway PR #38)`
          : fixed === false
            ? `${image} predates the prefix-rewrite fix (wg-ai-gateway PR #38): /<provider>/v1/… reaches the provider as //v1/…`
            : `${image}: not a build known to carry the prefix-rewrite fix; only a live probe can tell (list verified images in DEMO_FIXED_CONTROLLER_IMAGES)`,
      ...(fixed === true ? {} : { fix: { summary: `run a wg-ai-gateway controller built with the prefix-rewrite fix (PR #38): ${cfg.egress.controllerImage}`, patch: `# Deployment ${cfg.egress.controllerNamespace}/${names.controller} container manager\n- image: ${image}\n+ image: ${cfg.egress.controllerImage}\n${setImage}\nkubectl -n ${cfg.egress.controllerNamespace} rollout status deployment/${names.controller}`, objects: [{ kind: 'Deployment', name: names.controller, namespace: cfg.egress.controllerNamespace }] } }),
    });
  }

  // The egress Gateway: Programmed, and — Programmed says nothing about the pod (§9.11) — its Envoy available.
  const gw = await objs.get(GW_API, 'Gateway', cfg.egress.namespace, cfg.egress.gatewayName);
  const prog = cond(gw, 'Programmed');
  const gwRef = `Gateway ${cfg.egress.namespace}/${cfg.egress.gatewayName}`;
  facts.push(
    !gw
      ? { name: 'egress Gateway', ok: false, hop: 'egress-gateway', detail: `${gwRef} not found`, fix: { summary: 'create the egress Gateway (step 1)', patch: 'demo up --target cluster --wg-dir "$WG_DIR"' } }
      : prog?.status === 'True'
        ? { name: 'egress Gateway', ok: true, hop: 'egress-gateway', detail: `${gwRef} Programmed` }
        : {
            name: 'egress Gateway',
            ok: false,
            hop: 'egress-gateway',
            detail: `${gwRef}: ${condText(prog, 'Programmed')}`,
            fix: {
              summary: (gw.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== cfg.egress.className ? `the controller serves only class ${cfg.egress.className}: set spec.gatewayClassName` : `read the controller's log for the translation error`,
              patch: (gw.spec as { gatewayClassName?: string } | undefined)?.gatewayClassName !== cfg.egress.className ? `# ${gwRef}\n- gatewayClassName: ${(gw.spec as { gatewayClassName?: string }).gatewayClassName}\n+ gatewayClassName: ${cfg.egress.className}` : `kubectl -n ${cfg.egress.controllerNamespace} logs deployment/${names.controller} --tail 50`,
            },
          },
  );
  const envoy = await deploymentFact(objs, cfg.egress.namespace, envoyName(cfg), 'egress Envoy', 'egress-gateway', {
    missingFix: { summary: `the controller creates ${envoyName(cfg)} for ${gwRef}: is it running and is the Gateway of class ${cfg.egress.className}?`, patch: `kubectl -n ${cfg.egress.controllerNamespace} logs deployment/${names.controller} --tail 50` },
  });
  const { deployment: _envoyDeployment, ...envoyFact } = envoy;
  if (!envoyFact.ok && envoyFact.fix) envoyFact.fix.patch += `\n# the controller force-applies ${envoyName(cfg)} on every reconcile: patching its requests does not last`;
  facts.push(envoyFact);

  // maas-api: available, the external-models image, and not managed by the operator (else it reverts, §9.15).
  const api = await deploymentFact(objs, cfg.maas.apiNamespace, names.maasApi, 'maas-api', 'maas-api', { missingFix: { summary: 'install MaaS (maas-api)', patch: `kubectl get deployment -A -l app.kubernetes.io/name=maas-api` } });
  const { deployment: apiDeployment, ...apiFact } = api;
  facts.push(apiFact);
  // On another generation, maas-api is not the tier-era fork's to replace: no image advice there.
  if (apiDeployment && tierEra) {
    const image = containerOf(apiDeployment, 'maas-api')?.image ?? '';
    const managed = apiDeployment.metadata.annotations?.[MANAGED_ANNOTATION];
    const ns = cfg.maas.apiNamespace;
    const external = image === cfg.maas.maasApiImage || /external-models/.test(image);
    facts.push(
      !external
        ? { name: 'maas-api lists external models', ok: false, hop: 'maas-api', detail: `image ${image} does not read the external model registry`, fix: { summary: `run the maas-api build with the external-models patch (step 5)`, patch: `# Deployment ${ns}/maas-api\n- image: ${image}\n+ image: ${cfg.maas.maasApiImage}\nkubectl -n ${ns} annotate deployment maas-api ${MANAGED_ANNOTATION}=false --overwrite\nkubectl -n ${ns} set image deployment/maas-api maas-api=${cfg.maas.maasApiImage}` } }
        : managed !== 'false'
          ? { name: 'maas-api lists external models', ok: false, hop: 'maas-api', detail: `image ${image}, but without ${MANAGED_ANNOTATION}=false the operator reverts it`, fix: { summary: `mark maas-api unmanaged so the operator keeps the patched image`, patch: `kubectl -n ${ns} annotate deployment maas-api ${MANAGED_ANNOTATION}=false --overwrite` } }
          : { name: 'maas-api lists external models', ok: true, hop: 'maas-api', detail: `image ${image}, ${MANAGED_ANNOTATION}=false` },
    );
  }

  // The foreign-gateway hazard (§6).
  facts.push(await foreignReconcileFact(objs, cfg));

  // Routes: accepted by their gateway's controller, references resolved.
  const r = routes(snapshot, cfg);
  const routeFact = (route: HttpRoute, gwName: string, gwNs: string, check: string, provider: string, hop: HopId): InstallFact => {
    const ref = `HTTPRoute ${route.metadata.namespace}/${route.metadata.name}`;
    const parent = (route.status?.parents ?? []).find((p) => (p.parentRef?.name ?? '') === gwName && (p.parentRef?.namespace ?? route.metadata.namespace) === gwNs) ?? route.status?.parents?.[0];
    const acc = parent?.conditions?.find((c) => c.type === 'Accepted');
    const res = parent?.conditions?.find((c) => c.type === 'ResolvedRefs');
    const detail = `${ref} on ${gwName}: ${condText(acc, 'Accepted')}, ${condText(res, 'ResolvedRefs')}`;
    if (!parent) return { name: ref, ok: false, hop, check, provider, detail: `${ref}: no status from ${gwName}'s controller (not reconciled)`, fix: { summary: `the controller of ${gwNs}/${gwName} has not taken ${ref}: check parentRefs and the Gateway`, patch: `kubectl -n ${route.metadata.namespace} get httproute ${route.metadata.name} -o yaml` } };
    if (acc?.status === 'True' && res?.status !== 'False') return { name: ref, ok: true, hop, check, provider, detail };
    const x = routeRule(route);
    const kindWrong = res?.status === 'False' && x.backendKind !== 'Backend' && x.backendKind !== 'Service';
    return {
      name: ref,
      ok: false,
      hop,
      check,
      provider,
      detail: `${detail}${res?.status === 'False' ? ' — Envoy answers 500 for this path' : ''}`,
      fix: kindWrong
        ? { summary: `backendRef kind must be Backend (an XBackendDestination of that name) or Service`, patch: `# ${ref} rules[0].backendRefs[0]\n- kind: ${x.backendKind}\n+ kind: Backend`, objects: [{ kind: 'HTTPRoute', name: route.metadata.name, ...(route.metadata.namespace ? { namespace: route.metadata.namespace } : {}) }] }
        : res?.status === 'False'
          ? { summary: `make backendRef ${x.backendKind}/${x.backend}:${x.backendPort} resolve: the object must exist in ${route.metadata.namespace} and list the port`, patch: `kubectl -n ${route.metadata.namespace} get ${x.backendKind === 'Backend' ? 'xbackenddestination' : 'service'} ${x.backend} -o yaml` }
          : { summary: `${ref} is not accepted by ${gwName}: ${acc?.reason ?? 'see its status'}`, patch: `kubectl -n ${route.metadata.namespace} get httproute ${route.metadata.name} -o jsonpath='{.status.parents}'` },
    };
  };
  for (const route of r.egress) facts.push(routeFact(route, cfg.egress.gatewayName, cfg.egress.namespace, 'rewrite-egress-route-present', providerOfEgress(route), 'egress-gateway'));
  for (const route of r.bridges) facts.push(routeFact(route, cfg.maas.gatewayName, cfg.maas.gatewayNamespace, 'rewrite-bridge-prefix', providerOfBridge(route), 'maas-gateway'));

  // Policies: accepted by Kuadrant and enforced on their target; fields the API server pruned.
  for (const route of r.bridges) {
    const pol = authPolicyFor(snapshot, cfg, route.metadata.name);
    if (!pol) continue;
    const provider = providerOfBridge(route);
    facts.push(policyFact('AuthPolicy', pol, 'maas-gateway', { check: 'key-policy-enforced', provider }));
    const pruned = prunedFields(pol);
    if (pruned.length) {
      facts.push({
        name: `AuthPolicy ${pol.metadata.namespace}/${pol.metadata.name} fields`,
        ok: false,
        hop: 'maas-gateway',
        check: 'key-injected',
        provider,
        detail: `the API server dropped ${pruned.join(', ')} (not in the AuthPolicy schema; kubectl only warned)`,
        fix: { summary: 'put the headers under spec.rules.response.success.headers and apply with strict field validation', patch: `kubectl apply --server-side --field-validation=Strict -f <the AuthPolicy file>   # rejects unknown fields instead of dropping them`, objects: [{ kind: 'AuthPolicy', name: pol.metadata.name, ...(pol.metadata.namespace ? { namespace: pol.metadata.namespace } : {}) }] },
      });
    }
  }
  const trlp = trlpOf(snapshot, cfg);
  if (trlp) facts.push(policyFact('TokenRateLimitPolicy', trlp, 'maas-gateway', { check: 'ratelimit-policy-present' }));
  facts.push(...(await wasmShimFacts(objs, cfg, inp.providers)));
  return facts;
}

/**
 * The wasm-shim build Kuadrant put on the MaaS gateway (Istio: WasmPlugin `kuadrant-<gateway>`): v0.12.0
 * appends injected headers instead of replacing them (§9.8), which breaks every provider whose key
 * replaces Authorization. A digest or an unknown tag says nothing; the live probe decides then.
 */
export function wasmShimVersion(url: string): string | undefined {
  return /wasm-shim(?:-rhel\d+)?:(v?\d+\.\d+\.\d+)/.exec(url)?.[1]?.replace(/^(?!v)/, 'v');
}

async function wasmShimFacts(objs: ClusterObjects, cfg: DemoConfig, providers: readonly ProviderConfig[]): Promise<InstallFact[]> {
  const replacing = providers.filter((p) => p.keyHeader === 'authorization');
  if (!replacing.length) return [];
  const name = `kuadrant-${cfg.maas.gatewayName}`;
  const plugin = await objs.get('extensions.istio.io/v1alpha1', 'WasmPlugin', cfg.maas.gatewayNamespace, name);
  const url = (plugin?.spec as { url?: string } | undefined)?.url;
  const version = url ? wasmShimVersion(url) : undefined;
  if (!url || !version) return [];
  const ref = `WasmPlugin ${cfg.maas.gatewayNamespace}/${name}`;
  return replacing.map((p): InstallFact => {
    if (version !== 'v0.12.0') return { name: WASM_SHIM_FACT, ok: true, hop: 'maas-gateway', check: 'key-injected', provider: p.name, detail: `${ref} runs wasm-shim ${version}, which replaces injected headers` };
    return {
      name: WASM_SHIM_FACT,
      ok: false,
      hop: 'maas-gateway',
      check: 'key-injected',
      provider: p.name,
      detail: `${ref} runs wasm-shim v0.12.0 (${url}), which appends injected headers: ${p.name} receives the MaaS token and its key as two Authorization headers and reads the first`,
    };
  });
}
