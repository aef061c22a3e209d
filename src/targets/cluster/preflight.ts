/**
 * Preflight, before anything is touched: the cluster answers and accepts our credentials, it is
 * OpenShift (and its apps domain is read), Gateway API, Kuadrant and KServe are served, MaaS is
 * installed (maas-api and its gateway; its namespace is detected), MaaS is the tier generation the
 * demo needs, the XBackendDestination CRD is there or can be installed from --wg-dir, and the user
 * may do every verb the run needs (SelfSubjectAccessReview). Each check is a `wait` event of the
 * pseudo-step `preflight`; the first failure ends it with the cluster's answer and the fix.
 */
import type { EventInput } from '../../core/events.js';
import { StepFailedError, UnreachableError, UserError } from '../../core/errors.js';
import type { DemoConfig } from '../../core/config.js';
import type { RenderedStep } from '../../manifests/render.js';
import type { ClusterStep } from './cluster-step.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { loadXBackendCrds } from '../../manifests/xbackend-crd.js';
import { Kube, KubeApiError, toKubeError, UNREACHABLE_HINT, type RulesReview } from './client.js';
import type { LoadedKubeconfig } from './kubeconfig.js';
import { detectMaasGeneration, evidenceText, identityFor, proxyTargetOf, type GenerationFacts, type MaasGeneration, type MaasIdentity } from './identity.js';
import { kindOwner } from './wait.js';

export const PREFLIGHT_STEP = 'preflight';

export const MAAS_NAMESPACES = ['opendatahub', 'redhat-ods-applications'] as const;
export const XBACKEND = { apiVersion: 'ainetworking.prototype.x-k8s.io/v0alpha0', kind: 'XBackendDestination' } as const;

export interface ClusterFacts {
  context: string;
  server: string;
  user: string;
  serverVersion: string;
  /** Apps domain (ingresses.config.openshift.io/cluster spec.domain). */
  domain: string;
  maasNamespace: string;
  generation: GenerationFacts;
  /** Undefined when the generation could not be decided (only `down` goes on then). */
  identity: MaasIdentity | undefined;
  /** The cluster serves XBackendDestination already (step 1 then renders no CRD). */
  xbackendServed: boolean;
  /** Subscription era: the cluster serves the canonical inference.opendatahub.io ExternalProvider/ExternalModel. */
  canonical: boolean;
}

/**
 * What the subscription era needs before anything changes, each with its fix: the era's CRDs, payload
 * processing running in the gateway namespace (without it the model in the body routes nowhere and no
 * provider key is injected), and maas-api answering. Returns whether the canonical ExternalModel API is served.
 */
async function* eraPreconditions(kube: Kube, cfg: DemoConfig, maasNamespace: string): AsyncGenerator<EventInput, boolean> {
  const canonical = yield* check('the subscription era\'s CRDs are served (MaaSModelRef, MaaSAuthPolicy, MaaSSubscription, ExternalModel)', async () => {
    const missing = await servedAll(kube, [
      { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSModelRef' },
      { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSAuthPolicy' },
      { apiVersion: 'maas.opendatahub.io/v1alpha1', kind: 'MaaSSubscription' },
    ]);
    const inference = Boolean((await kube.served('inference.opendatahub.io/v1alpha1', 'ExternalModel')) && (await kube.served('inference.opendatahub.io/v1alpha1', 'ExternalProvider')));
    const legacy = Boolean(await kube.served('maas.opendatahub.io/v1alpha1', 'ExternalModel'));
    if (!inference && !legacy) missing.push('ExternalModel (inference.opendatahub.io/v1alpha1 or maas.opendatahub.io/v1alpha1)');
    if (missing.length) {
      fail(
        `the cluster does not serve ${missing.join(', ')}: MaaS of the subscription era is not fully installed`,
        'enable Models-as-a-Service in the DataScienceCluster (`spec.components.kserve.modelsAsService.managementState: Managed`) and wait for maas-controller, then run again',
      );
    }
    return { value: inference, detail: inference ? 'external models as inference.opendatahub.io ExternalProvider + ExternalModel' : 'external models as the legacy maas.opendatahub.io ExternalModel' };
  });
  yield* check(`payload processing runs in ${cfg.maas.gatewayNamespace}`, async () => {
    const d = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: cfg.maas.gatewayNamespace, name: 'payload-processing' });
    const hint =
      'without payload processing the gateway routes no body-routed request and injects no provider key: install it with MaaS ' +
      `(\`oc get deploy -n ${cfg.maas.gatewayNamespace} payload-processing\`; its ext-proc EnvoyFilter comes with it), then run again`;
    if (!d) fail(`no Deployment ${cfg.maas.gatewayNamespace}/payload-processing`, hint);
    const conds = ((d.status as { conditions?: { type?: string; status?: string; reason?: string }[] } | undefined)?.conditions ?? []);
    const available = conds.find((c) => c.type === 'Available');
    if (available?.status !== 'True') fail(`Deployment ${cfg.maas.gatewayNamespace}/payload-processing is not Available (${available ? `${available.reason ?? available.status}` : 'no status'})`, `${hint}; \`oc describe deploy -n ${cfg.maas.gatewayNamespace} payload-processing\` says why it is not running`);
    return { value: true, detail: 'Available' };
  });
  yield* check('maas-api answers (GET /health through the API server\'s service proxy)', async () => {
    const svc = await kube.get({ apiVersion: 'v1', kind: 'Service', namespace: maasNamespace, name: 'maas-api' });
    const target = proxyTargetOf(svc);
    if (!target) fail(`no Service ${maasNamespace}/maas-api with a port`, 'the MaaS install is incomplete: `oc get svc -n ' + maasNamespace + '`');
    const r = await kube.serviceProxy(maasNamespace, target, 'GET', '/health');
    if (r.status === 403) fail(`the service proxy to maas-api is forbidden to this user: ${r.body.slice(0, 120)}`, `the demo asks maas-api directly to mint its API key: it needs get/create on services/proxy in ${maasNamespace} (a cluster admin has it)`);
    if (r.status !== 200) fail(`maas-api does not answer: GET /health → HTTP ${r.status} ${r.body.slice(0, 120)}`, `\`oc get pods -n ${maasNamespace} -l app.kubernetes.io/name=maas-api\` and its log say why; maas-api needs its PostgreSQL (Secret maas-db-config)`);
    return { value: true, detail: `${target} healthy` };
  });
  return canonical;
}

export interface PreflightOptions {
  mode: 'up' | 'dry-run' | 'down' | 'read';
  wgDir?: string;
  skipCrds?: boolean;
  /** `--maas`: the generation when the evidence does not decide (or decides wrongly). */
  maas?: MaasGeneration;
  /** Renders the plan once the facts are known, so permissions are checked on the exact objects. */
  render?: (facts: ClusterFacts) => ClusterStep[];
}

class PreflightError extends StepFailedError {}

function fail(message: string, hint: string): never {
  throw new PreflightError(message, hint);
}

/** A check: `wait` met with its text, or `failed` with the reason; the caller ends the step. */
async function* check<T>(condition: string, run: () => Promise<{ value: T; detail?: string }>): AsyncGenerator<EventInput, T> {
  const start = performance.now();
  try {
    const { value, detail } = await run();
    yield { kind: 'wait', step: PREFLIGHT_STEP, condition: detail ? `${condition}: ${detail}` : condition, state: 'met', elapsedMs: Math.round(performance.now() - start) };
    return value;
  } catch (err) {
    const e = err instanceof StepFailedError ? err : err instanceof UserError ? new PreflightError(err.message, err.hint) : connectionFailure(err);
    yield { kind: 'wait', step: PREFLIGHT_STEP, condition, state: 'failed', reason: e.message, elapsedMs: Math.round(performance.now() - start) };
    throw e;
  }
}

function connectionFailure(err: unknown): StepFailedError {
  const e = err instanceof KubeApiError ? err : toKubeError(err, 'request');
  if (e.errorKind === 'forbidden') return new PreflightError(e.message, 'log in as a cluster admin or ask one for read access to this resource');
  if (e.errorKind === 'unauthorized') return new PreflightError(e.message, 'log in again (`oc login <api-url>`): the token in the kubeconfig is missing or expired');
  if (e.errorKind === 'unreachable') return new UnreachableError(`cannot reach the API server: ${e.message}`, UNREACHABLE_HINT);
  return new PreflightError(e.message, 'run again with --debug for details');
}

async function servedAll(kube: Kube, kinds: { apiVersion: string; kind: string }[]): Promise<string[]> {
  const missing: string[] = [];
  for (const k of kinds) if (!(await kube.served(k.apiVersion, k.kind))) missing.push(`${k.kind} (${k.apiVersion})`);
  return missing;
}

/** `plural.group` of a kind, from discovery when served, else the usual lower-case plural. */
async function resourceOf(kube: Kube, apiVersion: string, kind: string): Promise<{ group: string; resource: string }> {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const served = await kube.served(apiVersion, kind).catch(() => undefined);
  return { group, resource: served?.name ?? `${kind.toLowerCase()}s` };
}

export interface Need {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  subresource?: string;
}

function needText(n: Need): string {
  return `${n.verb} ${n.resource}${n.subresource ? `/${n.subresource}` : ''}${n.group ? `.${n.group}` : ''}${n.namespace ? ` in ${n.namespace}` : ' (cluster-wide)'}`;
}

/** The verbs a run needs on the plan's objects: apply (create+patch) and read them, watch what waits watch. */
export async function permissionNeeds(kube: Kube, plan: readonly RenderedStep[], mode: PreflightOptions['mode']): Promise<Need[]> {
  const needs = new Map<string, Need>();
  const add = (n: Need) => needs.set(needText(n), n);
  const objects: K8sObject[] = [...plan.flatMap((r) => r.objects), ...plan.flatMap((r) => r.patches.map((p) => p.applyObject))];
  const writeVerbs = mode === 'down' ? ['delete', 'list'] : mode === 'up' ? ['create', 'patch', 'get'] : mode === 'dry-run' ? ['patch', 'get'] : ['get'];
  for (const obj of objects) {
    const { group, resource } = await resourceOf(kube, obj.apiVersion, obj.kind);
    const ns = obj.kind === 'Namespace' || obj.kind === 'CustomResourceDefinition' || !obj.metadata.namespace ? undefined : obj.metadata.namespace;
    for (const verb of writeVerbs) add({ verb, group, resource, ...(ns ? { namespace: ns } : {}) });
    if (mode === 'up') add({ verb: 'watch', group, resource, ...(ns ? { namespace: ns } : {}) });
  }
  if (mode === 'up') {
    const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => Boolean(n)));
    for (const ns of namespaces) {
      add({ verb: 'list', group: '', resource: 'pods', namespace: ns });
      add({ verb: 'watch', group: '', resource: 'pods', namespace: ns });
      add({ verb: 'list', group: '', resource: 'events', namespace: ns });
    }
  }
  return [...needs.values()];
}

/** Does one resource rule of a SelfSubjectRulesReview grant the need (on every object name)? */
export function ruleGrants(rule: RulesReview['resourceRules'][number], n: Need): boolean {
  if (rule.resourceNames?.length) return false;
  const verbs = rule.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(n.verb)) return false;
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(n.group)) return false;
  const resource = n.subresource ? `${n.resource}/${n.subresource}` : n.resource;
  const resources = rule.resources ?? [];
  return resources.includes('*') || resources.includes(resource) || (n.subresource !== undefined && resources.includes(`${n.resource}/*`));
}

/**
 * The needs the user lacks: one SelfSubjectRulesReview per namespace (cluster-scoped needs ride on the
 * first); where a review is incomplete (an authorizer that cannot list its rules) the needs it does not
 * cover are asked one by one with SelfSubjectAccessReview.
 */
export async function missingPermissions(kube: Kube, needs: Need[]): Promise<{ missing: string[]; reviews: number; accessReviews: number }> {
  const byNs = new Map<string, Need[]>();
  for (const n of needs) {
    const ns = n.namespace ?? '';
    byNs.set(ns, [...(byNs.get(ns) ?? []), n]);
  }
  const clusterNeeds = byNs.get('') ?? [];
  byNs.delete('');
  const namespaces = [...byNs.keys()];
  if (namespaces.length === 0) namespaces.push('default');
  const missing: string[] = [];
  let accessReviews = 0;
  for (const [i, ns] of namespaces.entries()) {
    const review = await kube.rulesReview(ns);
    const mine = [...(byNs.get(ns) ?? []), ...(i === 0 ? clusterNeeds : [])];
    for (const n of mine) {
      if (review.resourceRules.some((r) => ruleGrants(r, n))) continue;
      if (review.incomplete) {
        accessReviews++;
        if ((await kube.canI(n)).allowed) continue;
      }
      missing.push(needText(n));
    }
  }
  return { missing, reviews: namespaces.length, accessReviews };
}

/** Finds maas-api: the configured namespace first, then ODH's and RHOAI's. */
async function findMaasApi(kube: Kube, cfg: DemoConfig): Promise<string | undefined> {
  const candidates = [...new Set([cfg.maas.apiNamespace, ...MAAS_NAMESPACES])];
  for (const ns of candidates) {
    if (await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'maas-api' })) return ns;
  }
  return undefined;
}

/** The cluster's apps domain, e.g. apps.cluster.example.com. */
export async function clusterDomain(kube: Kube): Promise<string | undefined> {
  if (!(await kube.served('config.openshift.io/v1', 'Ingress'))) return undefined;
  const ing = await kube.get({ apiVersion: 'config.openshift.io/v1', kind: 'Ingress', name: 'cluster' });
  const domain = (ing?.spec as { domain?: string } | undefined)?.domain;
  return typeof domain === 'string' && domain !== '' ? domain : undefined;
}

/**
 * Runs the checks for `mode` and returns the facts. Emits step-start/step-end of `preflight`;
 * throws StepFailedError (exit 1) with the fix on the first failing check.
 */
export async function* preflight(kube: Kube, loaded: LoadedKubeconfig, cfg: DemoConfig, opts: PreflightOptions): AsyncGenerator<EventInput, ClusterFacts & { plan: ClusterStep[] }> {
  const t0 = performance.now();
  yield {
    kind: 'step-start',
    step: PREFLIGHT_STEP,
    title: 'Preflight: cluster, credentials, OpenShift, MaaS, Kuadrant and permissions',
    explain: 'Checks everything the deployment relies on before touching the cluster, so a missing piece is named up front instead of failing half-way.',
  };
  try {
    const serverVersion = yield* check(`cluster reachable at ${loaded.server} (context ${loaded.context}, user ${loaded.user})`, async () => {
      const v = await kube.version();
      return { value: v.gitVersion ?? 'unknown', detail: `Kubernetes ${v.gitVersion ?? '?'}` };
    });
    const domain = yield* check('OpenShift cluster domain (ingresses.config.openshift.io/cluster)', async () => {
      const d = await clusterDomain(kube).catch((err: unknown) => {
        if (opts.mode === 'down') return undefined;
        throw err;
      });
      if (!d && opts.mode === 'down') return { value: '', detail: 'not found (not needed to remove the demo)' };
      if (!d) {
        fail(
          `${loaded.server} is not an OpenShift cluster with an apps domain (no ingresses.config.openshift.io/cluster spec.domain)`,
          'the cluster target needs OpenShift with OpenShift AI / ODH MaaS; without one, run the demo locally: `demo up`',
        );
      }
      return { value: d, detail: d };
    });
    if (opts.mode !== 'down') {
      yield* check('Gateway API, Kuadrant and KServe are served', async () => {
        const missing = await servedAll(kube, [
          { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway' },
          { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' },
          { apiVersion: 'kuadrant.io/v1', kind: 'AuthPolicy' },
          { apiVersion: 'kuadrant.io/v1alpha1', kind: 'TokenRateLimitPolicy' },
          { apiVersion: 'serving.kserve.io/v1alpha1', kind: 'LLMInferenceService' },
        ]);
        if (missing.length) {
          const owners = [...new Set(missing.map((m) => kindOwner(m.split(' ')[0]!)))];
          fail(`the cluster does not serve ${missing.join(', ')}: their CRDs are missing`, `install ${owners.join(' and ')} (MaaS relies on them), then run again`);
        }
        return { value: true };
      });
    }
    const maasNamespace = yield* check('MaaS installed (maas-api and maas-default-gateway)', async () => {
      const ns = await findMaasApi(kube, cfg);
      if (!ns) {
        if (opts.mode === 'down') return { value: cfg.maas.apiNamespace, detail: `maas-api not found; assuming ${cfg.maas.apiNamespace}` };
        fail(
          `no maas-api Deployment in ${[...new Set([cfg.maas.apiNamespace, ...MAAS_NAMESPACES])].join(' or ')}`,
          'install Models-as-a-Service first (OpenShift AI / ODH with MaaS enabled, or models-as-a-service scripts/deploy-rhoai-stable.sh)',
        );
      }
      if (opts.mode !== 'down') {
        const gw = await kube.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', namespace: cfg.maas.gatewayNamespace, name: cfg.maas.gatewayName });
        if (!gw) fail(`maas-api runs in ${ns} but there is no Gateway ${cfg.maas.gatewayNamespace}/${cfg.maas.gatewayName}`, 'the MaaS install is incomplete: re-run its deploy script, which creates the maas-default-gateway');
      }
      return { value: ns, detail: `maas-api in ${ns}` };
    });
    const generation = yield* check('MaaS generation, from the CRDs, maas-api\'s answers and its image', async () => {
      const g = await detectMaasGeneration(kube, maasNamespace, { gatewayNamespace: cfg.maas.gatewayNamespace, ...(opts.maas ? { override: opts.maas } : {}) });
      const seen = evidenceText(g);
      if (opts.mode === 'down') return { value: g, detail: `${g.generation}: ${seen}` };
      if (g.generation === 'unknown') {
        fail(
          `could not tell which MaaS generation this cluster runs, and the demo does not guess (seen: ${seen})`,
          'if it is the tier era (maas-api serves /v1/tokens), say so with --maas tier; otherwise let your user reach maas-api through the API server (get/create services/proxy in its namespace) so it can be asked',
        );
      }
      if (g.generation === 'mixed') {
        fail(`the evidence points to both MaaS generations (seen: ${seen})`, 'say which one this cluster runs with --maas tier or --maas subscription');
      }
      if (g.override === 'tier' && g.maasApiSays === 'subscription') {
        fail(
          `--maas tier was given, but maas-api itself answers as the subscription era (seen: ${seen}); the demo never replaces a maas-api of another generation with the tier-era fork`,
          'run the demo on a tier-era MaaS, or on the local target: `demo up`',
        );
      }
      const identity = identityFor(g.generation);
      if (!identity.supported) {
        const why = identity.explain();
        fail(`${why.message} (seen: ${seen})`, why.hint);
      }
      return { value: g, detail: `${g.generation}${g.override ? ' (--maas)' : ''}: ${seen}` };
    });
    let xbackendServed = false;
    let canonical = false;
    const era = generation.generation === 'subscription';
    if (era && (opts.mode === 'up' || opts.mode === 'dry-run')) {
      canonical = yield* eraPreconditions(kube, cfg, maasNamespace);
    }
    if (!era && (opts.mode === 'up' || opts.mode === 'dry-run')) {
      xbackendServed = yield* check('XBackendDestination CRD installed or available from --wg-dir', async () => {
        const served = Boolean(await kube.served(XBACKEND.apiVersion, XBACKEND.kind));
        if (served) return { value: true, detail: 'already served by the cluster; step 1 will not install it' };
        if (opts.skipCrds) fail('--skip-crds was given but the cluster does not serve XBackendDestination', 'drop --skip-crds and pass --wg-dir <wg-ai-gateway>/prototypes/backend-control-plane so step 1 installs it');
        if (!opts.wgDir) {
          fail(
            'the cluster has no XBackendDestination CRD and no --wg-dir was given to install it from',
            'pass --wg-dir <wg-ai-gateway checkout>/prototypes/backend-control-plane, or install the CRD yourself (`kubectl apply -f <wg-ai-gateway>/prototypes/backend-control-plane/backend/k8s/crds/`)',
          );
        }
        loadXBackendCrds(opts.wgDir);
        return { value: false, detail: `from ${opts.wgDir}` };
      });
    }
    const facts: ClusterFacts = {
      context: loaded.context,
      server: loaded.server,
      user: loaded.user,
      serverVersion,
      domain,
      maasNamespace,
      generation,
      identity: generation.generation === 'tier' || generation.generation === 'subscription' ? identityFor(generation.generation) : undefined,
      xbackendServed,
      canonical,
    };
    const plan = opts.render ? opts.render(facts) : [];
    if (plan.length) {
      yield* check(`permissions for ${opts.mode === 'down' ? 'removing' : 'applying'} the demo (SelfSubjectRulesReview per namespace)`, async () => {
        const needs = await permissionNeeds(kube, plan, opts.mode);
        const { missing, reviews, accessReviews } = await missingPermissions(kube, needs);
        if (missing.length) {
          fail(
            `user ${loaded.user} may not ${missing.slice(0, 6).join('; ')}${missing.length > 6 ? `; and ${missing.length - 6} more` : ''}`,
            'log in as a cluster admin (`oc login -u kubeadmin …`) or ask one to grant these verbs, then run again',
          );
        }
        return { value: true, detail: `${needs.length} verbs allowed (${reviews} SelfSubjectRulesReview${reviews === 1 ? '' : 's'}${accessReviews ? `, ${accessReviews} SelfSubjectAccessReview${accessReviews === 1 ? '' : 's'} where a review was incomplete` : ''})` };
      });
    }
    yield { kind: 'step-end', step: PREFLIGHT_STEP, ok: true, ms: Math.round(performance.now() - t0) };
    return { ...facts, plan };
  } catch (err) {
    const e = err instanceof StepFailedError ? err : err instanceof UserError ? new PreflightError(err.message, err.hint) : connectionFailure(err);
    yield { kind: 'step-end', step: PREFLIGHT_STEP, ok: false, ms: Math.round(performance.now() - t0), message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    throw e;
  }
}
