// The controllers of the current MaaS generation ("subscription era"), as the rehearsal cluster's subscription preset
// runs them: maas-controller (ExternalModel → Service + HTTPRoute `maas-<name>`, MaaSModelRef → phase and endpoint,
// MaaSAuthPolicy → the gateway AuthPolicy and its status, MaaSSubscription → `maas-trlp-<model>` and phase) and the
// payload processor's reconciler of the canonical inference.opendatahub.io ExternalModel/ExternalProvider.
// What they write follows contracts-subscription-era.md §3–§4 and the upstream CRD reference pages; see README.md.
import type { Controllers } from './controllers.js';
import type { ResourceType } from './registry.js';
import type { StoreEvent } from './store.js';
import type { Condition, KObj } from './util.js';
import { findCondition, isPlainObject } from './util.js';

export const MAAS_GROUP = 'maas.opendatahub.io';
export const INFERENCE_GROUP = 'inference.opendatahub.io';
/** Where MaaSAuthPolicy and MaaSSubscription must live (the default tenant's namespace). */
export const SUBSCRIPTION_NAMESPACE = 'models-as-a-service';
export const MAAS_GATEWAY = { name: 'maas-default-gateway', namespace: 'openshift-ingress' } as const;
/** The singleton gateway AuthPolicy maas-controller builds from every MaaSAuthPolicy. */
export const GATEWAY_AUTH_POLICY = 'maas-gateway-auth';
export const MODEL_LABEL = 'maas.opendatahub.io/model';
export const SUBSCRIPTIONS_ANNOTATION = 'maas.opendatahub.io/subscriptions';
const TLS_ANNOTATION = 'maas.opendatahub.io/tls';
const PORT_ANNOTATION = 'maas.opendatahub.io/port';
const GW_GROUP = 'gateway.networking.k8s.io';
const MANAGER = 'maas-controller';
const IPP_MANAGER = 'payload-processing';

const spec = (o: KObj): Record<string, unknown> => (isPlainObject(o['spec']) ? o['spec'] : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function owner(o: KObj) {
  return { apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata.name!, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** A condition as the MaaS controllers write it: reason and message always set, observedGeneration current. */
function cond(o: KObj, type: string, ok: boolean, reason: string, message: string): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: o.metadata.generation };
}

/** The route's status entry for the MaaS gateway, if the gateway's controller wrote one. */
function gatewayParent(route: KObj | undefined): { accepted: boolean; resolved: boolean; why: string } | undefined {
  const parents = ((route?.['status'] as { parents?: Record<string, unknown>[] } | undefined)?.parents ?? []);
  const p = parents.find((x) => {
    const ref = (x['parentRef'] ?? {}) as Record<string, unknown>;
    return ref['name'] === MAAS_GATEWAY.name && (ref['namespace'] ?? route!.metadata.namespace) === MAAS_GATEWAY.namespace;
  });
  if (!p) return undefined;
  const conds = (p['conditions'] ?? []) as Condition[];
  const accepted = conds.find((c) => c.type === 'Accepted');
  const resolved = conds.find((c) => c.type === 'ResolvedRefs');
  const bad = [accepted, resolved].find((c) => c && c.status !== 'True');
  return {
    accepted: accepted?.status === 'True',
    resolved: resolved?.status === 'True',
    why: bad ? `${bad.type}=${bad.status} ${bad.reason ?? ''}: ${bad.message ?? ''}`.trim() : '',
  };
}

export function installMaasControllers(c: Controllers): void {
  const store = c.store;
  const t = (group: string, plural: string): ResourceType | undefined => c.type(group, plural);
  const get = (group: string, plural: string, ns: string | undefined, name: string): KObj | undefined => {
    const rt = t(group, plural);
    return rt ? store.get(rt, ns, name) : undefined;
  };
  const apply = (group: string, plural: string, obj: KObj, manager = MANAGER): void => {
    const rt = t(group, plural);
    if (rt) store.apply(rt, obj.metadata.namespace, obj.metadata.name!, obj, { manager, force: true, fieldValidation: 'Ignore' });
  };

  /** Hostnames of the MaaS gateway's listeners (what the gateway serves routes without hostnames under). */
  const gatewayHosts = (): string[] => {
    const gw = get(GW_GROUP, 'gateways', MAAS_GATEWAY.namespace, MAAS_GATEWAY.name);
    const listeners = (gw ? (spec(gw)['listeners'] ?? []) : []) as { hostname?: string }[];
    return [...new Set(listeners.map((l) => l.hostname).filter((h): h is string => !!h))];
  };

  // ---- ExternalModel (both API groups) → Service (ExternalName) + HTTPRoute maas-<name> ----------------------

  /** Where an external model sends traffic, from its own fields or (canonical kind) its ExternalProvider. */
  interface ExternalTarget {
    endpoint: string;
    /** Value of X-Gateway-Model-Name the body-routed rule matches. */
    modelHeader: string;
    secret: string;
    annotations: Record<string, string>;
    problem?: { reason: string; message: string };
  }

  const externalRoute = (em: KObj, target: ExternalTarget, manager: string): { route?: KObj; problem?: { reason: string; message: string } } => {
    const ns = em.metadata.namespace!;
    const name = `maas-${em.metadata.name}`;
    const tls = target.annotations[TLS_ANNOTATION] !== 'false';
    const rawPort = target.annotations[PORT_ANNOTATION];
    const port = rawPort === undefined ? 443 : Number(rawPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { problem: { reason: 'InvalidSpec', message: `annotation ${PORT_ANNOTATION}="${rawPort}" is not a port (1-65535)` } };
    }
    const labels = { 'app.kubernetes.io/managed-by': manager, 'maas.opendatahub.io/external-model': em.metadata.name! };
    const meta = { name, namespace: ns, labels, ownerReferences: [owner(em)] };
    apply('', 'services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { type: 'ExternalName', externalName: target.endpoint, ports: [{ name: tls ? 'https' : 'http', port, protocol: 'TCP' }] },
    }, manager);
    const backend = [{ group: '', kind: 'Service', name, port, weight: 1 }];
    const rewriteHost = { type: 'URLRewrite', urlRewrite: { hostname: target.endpoint } };
    apply(GW_GROUP, 'httproutes', {
      apiVersion: `${GW_GROUP}/v1`,
      kind: 'HTTPRoute',
      metadata: meta,
      spec: {
        parentRefs: [{ group: GW_GROUP, kind: 'Gateway', name: MAAS_GATEWAY.name, namespace: MAAS_GATEWAY.namespace }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: `/${ns}/${em.metadata.name}` } }],
            filters: [{ type: 'URLRewrite', urlRewrite: { hostname: target.endpoint, path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
            backendRefs: backend,
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Gateway-Model-Name', value: target.modelHeader }] }],
            filters: [rewriteHost],
            backendRefs: backend,
          },
        ],
      },
    }, manager);
    return { route: get(GW_GROUP, 'httproutes', ns, name) };
  };

  /** Status of either ExternalModel kind; only the canonical one has `status.httpRouteName` in its schema. */
  const externalStatus = (em: KObj, target: ExternalTarget, manager: string): void => {
    const rt = t(em.apiVersion!.split('/')[0]!, 'externalmodels')!;
    let ready = false;
    let reason = 'Reconciled';
    let message = 'HTTPRoute accepted by the gateway';
    let routeName: string | undefined;
    if (target.problem) {
      ({ reason, message } = target.problem);
    } else {
      const { route, problem } = externalRoute(em, target, manager);
      if (problem) ({ reason, message } = problem);
      else {
        routeName = route?.metadata.name;
        const parent = gatewayParent(route);
        const secret = get('', 'secrets', em.metadata.namespace, target.secret);
        if (!secret) {
          reason = 'NotFound';
          message = `Secret ${em.metadata.namespace}/${target.secret} not found`;
        } else if (!parent) {
          reason = 'BackendNotReady';
          message = `HTTPRoute ${routeName} has no status from gateway ${MAAS_GATEWAY.namespace}/${MAAS_GATEWAY.name} yet`;
        } else if (!parent.accepted || !parent.resolved) {
          reason = 'NotAccepted';
          message = `HTTPRoute ${routeName}: ${parent.why}`;
        } else ready = true;
      }
    }
    const failed = reason === 'InvalidSpec';
    c.writeStatus(rt, em, {
      phase: ready ? 'Ready' : failed ? 'Failed' : 'Pending',
      ...(routeName && em.apiVersion!.startsWith(INFERENCE_GROUP) ? { httpRouteName: routeName } : {}),
      conditions: c.conditions(em.kind!, em, [cond(em, 'Ready', ready, reason, message)]),
    }, manager);
  };

  c.register(`${MAAS_GROUP}/externalmodels`, (ns, name) => {
    const em = get(MAAS_GROUP, 'externalmodels', ns, name);
    if (!em) return;
    const s = spec(em);
    externalStatus(em, {
      endpoint: str(s['endpoint']),
      modelHeader: str(s['targetModel']),
      secret: str((s['credentialRef'] as Record<string, unknown> | undefined)?.['name']),
      annotations: em.metadata.annotations ?? {},
    }, MANAGER);
  });

  c.register(`${INFERENCE_GROUP}/externalproviders`, (ns, name) => {
    const ep = get(INFERENCE_GROUP, 'externalproviders', ns, name);
    if (!ep) return;
    const secretName = str(((spec(ep)['auth'] as Record<string, unknown> | undefined)?.['secretRef'] as Record<string, unknown> | undefined)?.['name']);
    const secret = get('', 'secrets', ns, secretName);
    c.writeStatus(t(INFERENCE_GROUP, 'externalproviders')!, ep, {
      phase: secret ? 'Ready' : 'Pending',
      conditions: c.conditions('ExternalProvider', ep, [
        secret ? cond(ep, 'Ready', true, 'Reconciled', 'credentials found') : cond(ep, 'Ready', false, 'NotFound', `Secret ${ns}/${secretName} not found`),
      ]),
    }, IPP_MANAGER);
  });

  c.register(`${INFERENCE_GROUP}/externalmodels`, (ns, name) => {
    const em = get(INFERENCE_GROUP, 'externalmodels', ns, name);
    if (!em) return;
    const s = spec(em);
    const ref = ((s['externalProviderRefs'] ?? []) as Record<string, unknown>[])[0] ?? {};
    const providerName = str((ref['ref'] as Record<string, unknown> | undefined)?.['name']);
    const provider = get(INFERENCE_GROUP, 'externalproviders', ns, providerName);
    const auth = (ref['auth'] ?? (provider ? spec(provider)['auth'] : undefined)) as Record<string, unknown> | undefined;
    const target: ExternalTarget = {
      endpoint: provider ? str(spec(provider)['endpoint']) : '',
      modelHeader: str(s['modelName']) || name,
      secret: str((auth?.['secretRef'] as Record<string, unknown> | undefined)?.['name']),
      annotations: { ...(provider?.metadata.annotations ?? {}), ...(em.metadata.annotations ?? {}) },
      ...(provider ? {} : { problem: { reason: 'NotFound', message: `ExternalProvider ${ns}/${providerName} not found` } }),
    };
    externalStatus(em, target, IPP_MANAGER);
  });

  // ---- MaaSModelRef → phase, endpoint, route facts ----------------------------------------------------------

  /** The ExternalModel a MaaSModelRef names: the canonical kind when served and present, else the legacy one. */
  const externalModel = (ns: string, name: string): KObj | undefined =>
    get(INFERENCE_GROUP, 'externalmodels', ns, name) ?? get(MAAS_GROUP, 'externalmodels', ns, name);

  c.register(`${MAAS_GROUP}/maasmodelrefs`, (ns, name) => {
    const rt = t(MAAS_GROUP, 'maasmodelrefs');
    const ref = rt && store.get(rt, ns, name);
    if (!rt || !ref) return;
    const s = spec(ref);
    const target = (s['modelRef'] ?? {}) as Record<string, unknown>;
    const kind = str(target['kind']);
    const backendName = str(target['name']);
    let ready = false;
    let reason = 'BackendNotReady';
    let message = '';
    let endpoint = '';
    let route: KObj | undefined;
    if (kind === 'LLMInferenceService') {
      const llm = get('serving.kserve.io', 'llminferenceservices', ns, backendName);
      if (!llm) {
        reason = 'NotFound';
        message = `LLMInferenceService ${ns}/${backendName} not found`;
      } else {
        route = get(GW_GROUP, 'httproutes', ns, `${backendName}-kserve-route`);
        const r = findCondition(llm, 'Ready');
        ready = r?.status === 'True';
        message = ready ? 'LLMInferenceService is ready' : `LLMInferenceService ${ns}/${backendName} is not Ready${r?.reason ? ` (${r.reason})` : ''}`;
        const status = (llm['status'] ?? {}) as { url?: string };
        endpoint = str(s['endpointOverride']) || str(status.url);
      }
    } else if (kind === 'ExternalModel') {
      const em = externalModel(ns!, backendName);
      if (!em) {
        reason = 'NotFound';
        message = `ExternalModel ${ns}/${backendName} not found`;
      } else {
        route = get(GW_GROUP, 'httproutes', ns, `maas-${backendName}`);
        const parent = gatewayParent(route);
        ready = !!parent?.accepted && !!parent.resolved;
        message = ready ? 'HTTPRoute accepted by the gateway' : route ? `HTTPRoute ${route.metadata.name}: ${parent?.why || 'no status from the MaaS gateway yet'}` : `HTTPRoute maas-${backendName} not created yet`;
        const host = gatewayHosts()[0] ?? `maas.${c.domain()}`;
        endpoint = str(s['endpointOverride']) || `https://${host}/${ns}/${backendName}`;
      }
    } else {
      reason = 'InvalidSpec';
      message = `spec.modelRef.kind "${kind}" is not LLMInferenceService or ExternalModel`;
    }
    if (ready) reason = 'Reconciled';
    const hosts = route ? (((spec(route)['hostnames'] ?? []) as string[]).length ? (spec(route)['hostnames'] as string[]) : gatewayHosts()) : [];
    c.writeStatus(rt, ref, {
      phase: ready ? 'Ready' : reason === 'InvalidSpec' ? 'Invalid' : 'Pending',
      endpoint: ready ? endpoint : '',
      ...(route
        ? {
            httpRouteName: route.metadata.name,
            httpRouteNamespace: ns,
            httpRouteGatewayName: MAAS_GATEWAY.name,
            httpRouteGatewayNamespace: MAAS_GATEWAY.namespace,
            httpRouteHostnames: hosts,
          }
        : {}),
      conditions: c.conditions('MaaSModelRef', ref, [cond(ref, 'Ready', ready, reason, message)]),
    }, MANAGER);
  });

  const modelRefReady = (ns: string, name: string): { ref?: KObj; ready: boolean; why: string } => {
    const ref = get(MAAS_GROUP, 'maasmodelrefs', ns, name);
    if (!ref) return { ready: false, why: `MaaSModelRef ${ns}/${name} not found` };
    const phase = str((ref['status'] as Record<string, unknown> | undefined)?.['phase']);
    return { ref, ready: phase === 'Ready', why: phase === 'Ready' ? '' : `MaaSModelRef ${ns}/${name} is ${phase || 'not reconciled yet'}` };
  };

  const refsOf = (o: KObj): { name: string; namespace: string }[] =>
    ((spec(o)['modelRefs'] ?? []) as Record<string, unknown>[]).map((r) => ({ name: str(r['name']), namespace: str(r['namespace']) }));

  const phaseOf = (readyCount: number, total: number): string => (total > 0 && readyCount === total ? 'Active' : readyCount > 0 ? 'Degraded' : 'Pending');

  // ---- MaaSAuthPolicy → the gateway AuthPolicy and per-model status ----------------------------------------

  const ensureGatewayAuth = (): KObj | undefined => {
    apply('kuadrant.io', 'authpolicies', gatewayAuthPolicy());
    return get('kuadrant.io', 'authpolicies', MAAS_GATEWAY.namespace, GATEWAY_AUTH_POLICY);
  };

  c.register(`${MAAS_GROUP}/maasauthpolicies`, (ns, name) => {
    const rt = t(MAAS_GROUP, 'maasauthpolicies');
    const pol = rt && store.get(rt, ns, name);
    // maas-controller watches its tenant namespace only: a policy elsewhere never gets a status
    if (!rt || !pol || ns !== SUBSCRIPTION_NAMESPACE) return;
    const subjects = (spec(pol)['subjects'] ?? {}) as { groups?: unknown[]; users?: unknown[] };
    if (!subjects.groups?.length && !subjects.users?.length) {
      c.writeStatus(rt, pol, { phase: 'Invalid', conditions: c.conditions('MaaSAuthPolicy', pol, [cond(pol, 'Ready', false, 'InvalidSpec', 'spec.subjects names no group and no user')]) }, MANAGER);
      return;
    }
    const ap = ensureGatewayAuth();
    const enforced = findCondition(ap, 'Enforced');
    const apOk = enforced?.status === 'True';
    const entries = refsOf(pol).map((r) => {
      const m = modelRefReady(r.namespace, r.name);
      const ok = m.ready && apOk;
      return {
        name: GATEWAY_AUTH_POLICY,
        namespace: MAAS_GATEWAY.namespace,
        model: r.name,
        modelNamespace: r.namespace,
        ready: ok,
        reason: ok ? 'AcceptedEnforced' : !m.ref ? 'NotFound' : !m.ready ? 'BackendNotReady' : 'NotEnforced',
        message: ok ? 'AuthPolicy enforced for the model' : m.why || `AuthPolicy ${MAAS_GATEWAY.namespace}/${GATEWAY_AUTH_POLICY} is not enforced${enforced?.message ? `: ${enforced.message}` : ''}`,
      };
    });
    const good = entries.filter((e) => e.ready).length;
    const phase = phaseOf(good, entries.length);
    c.writeStatus(rt, pol, {
      phase,
      authPolicies: entries,
      conditions: c.conditions('MaaSAuthPolicy', pol, [
        cond(pol, 'Ready', phase === 'Active', phase === 'Active' ? 'Reconciled' : good ? 'PartialFailure' : 'ReconcileFailed', phase === 'Active' ? 'all models are reachable through the gateway AuthPolicy' : `${entries.length - good} of ${entries.length} models not ready`),
      ]),
    }, MANAGER);
  });

  // ---- MaaSSubscription → maas-trlp-<model> per model, phase ---------------------------------------------------

  const subscriptions = (): KObj[] => {
    const rt = t(MAAS_GROUP, 'maassubscriptions');
    return rt ? store.list(rt, SUBSCRIPTION_NAMESPACE) : [];
  };

  /** One TokenRateLimitPolicy per model, holding a limit for each subscription that includes the model. */
  const syncModelLimits = (modelNs: string, model: string): KObj | undefined => {
    const trlpT = t('kuadrant.io', 'tokenratelimitpolicies');
    if (!trlpT) return undefined;
    const name = `maas-trlp-${model}`;
    const subs = subscriptions().filter((s) => refsOf(s).some((r) => r.namespace === modelNs && r.name === model));
    const routeName = str(((get(MAAS_GROUP, 'maasmodelrefs', modelNs, model) ?? { metadata: {} })['status'] as Record<string, unknown> | undefined)?.['httpRouteName']);
    if (!subs.length || !routeName) {
      if (store.get(trlpT, modelNs, name)) store.delete(trlpT, modelNs, name);
      return undefined;
    }
    const limits: Record<string, unknown> = {};
    for (const sub of subs) {
      const r = ((spec(sub)['modelRefs'] ?? []) as Record<string, unknown>[]).find((x) => x['name'] === model && x['namespace'] === modelNs)!;
      const rates = ((r['tokenRateLimits'] ?? []) as { limit: number; window: string }[]).map((x) => ({ limit: x.limit, window: x.window }));
      const key = `${SUBSCRIPTION_NAMESPACE}/${sub.metadata.name}@${modelNs}/${model}`;
      limits[`${SUBSCRIPTION_NAMESPACE}-${sub.metadata.name}-${model}-tokens`] = {
        rates: rates.length ? rates : [{ limit: 100, window: '1m' }],
        when: [{ predicate: `auth.identity.selected_subscription_key == "${key}" && !request.path.endsWith("/v1/models")` }],
        counters: [{ expression: 'auth.identity.userid' }],
      };
    }
    apply('kuadrant.io', 'tokenratelimitpolicies', {
      apiVersion: 'kuadrant.io/v1alpha1',
      kind: 'TokenRateLimitPolicy',
      metadata: {
        name,
        namespace: modelNs,
        labels: { [MODEL_LABEL]: model, 'app.kubernetes.io/managed-by': MANAGER },
        annotations: { [SUBSCRIPTIONS_ANNOTATION]: subs.map((s) => s.metadata.name).sort().join(',') },
      },
      spec: { targetRef: { group: GW_GROUP, kind: 'HTTPRoute', name: routeName }, limits },
    });
    return store.get(trlpT, modelNs, name);
  };

  c.register(`${MAAS_GROUP}/maassubscriptions`, (ns, name) => {
    const rt = t(MAAS_GROUP, 'maassubscriptions');
    const sub = rt && store.get(rt, ns, name);
    if (!rt || !sub || ns !== SUBSCRIPTION_NAMESPACE) return;
    const ownerSpec = (spec(sub)['owner'] ?? {}) as { groups?: unknown[]; users?: unknown[] };
    if (!ownerSpec.groups?.length && !ownerSpec.users?.length) {
      c.writeStatus(rt, sub, { phase: 'Invalid', conditions: c.conditions('MaaSSubscription', sub, [cond(sub, 'Ready', false, 'InvalidSpec', 'spec.owner names no group and no user')]) }, MANAGER);
      return;
    }
    const modelStatuses: Record<string, unknown>[] = [];
    const limitStatuses: Record<string, unknown>[] = [];
    for (const r of refsOf(sub)) {
      const m = modelRefReady(r.namespace, r.name);
      modelStatuses.push({ name: r.name, namespace: r.namespace, ready: m.ready, reason: m.ready ? 'Valid' : m.ref ? 'BackendNotReady' : 'NotFound', ...(m.why ? { message: m.why } : {}) });
      const trlp = m.ref ? syncModelLimits(r.namespace, r.name) : undefined;
      const accepted = findCondition(trlp, 'Accepted');
      const ok = accepted?.status === 'True';
      limitStatuses.push({
        name: `maas-trlp-${r.name}`,
        namespace: r.namespace,
        model: r.name,
        ready: ok,
        reason: ok ? 'Accepted' : trlp ? 'NotAccepted' : 'NotFound',
        ...(ok ? {} : { message: trlp ? `TokenRateLimitPolicy not accepted${accepted?.message ? `: ${accepted.message}` : ' yet'}` : m.why || 'no HTTPRoute to attach the limits to yet' }),
      });
    }
    const good = limitStatuses.filter((s, i) => s['ready'] && modelStatuses[i]!['ready']).length;
    const phase = phaseOf(good, limitStatuses.length);
    c.writeStatus(rt, sub, {
      phase,
      modelRefStatuses: modelStatuses,
      tokenRateLimitStatuses: limitStatuses,
      conditions: c.conditions('MaaSSubscription', sub, [
        cond(sub, 'Ready', phase === 'Active', phase === 'Active' ? 'Reconciled' : good ? 'PartialFailure' : 'ReconcileFailed', phase === 'Active' ? 'token rate limits accepted for every model' : `${limitStatuses.length - good} of ${limitStatuses.length} models without accepted limits`),
      ]),
    }, MANAGER);
  });

  // A model's limits outlive none of its subscriptions: re-derived (or removed) whenever a TRLP of ours is touched.
  c.register('kuadrant.io/tokenratelimitpolicies#maas', (ns, name) => {
    const trlp = get('kuadrant.io', 'tokenratelimitpolicies', ns, name);
    const model = trlp?.metadata.labels?.[MODEL_LABEL];
    if (trlp && model && trlp.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGER) syncModelLimits(ns!, model);
  });

  c.addTrigger((e: StoreEvent) => {
    const key = `${e.resource.group}/${e.resource.plural}`;
    const ns = e.object.metadata.namespace;
    const all = () => true;
    // a model's backend changed → its MaaSModelRefs (and external models reading that Secret or provider)
    if (['serving.kserve.io/llminferenceservices', `${GW_GROUP}/httproutes`, `${MAAS_GROUP}/externalmodels`, `${INFERENCE_GROUP}/externalmodels`].includes(key)) {
      c.enqueueWhere(MAAS_GROUP, 'maasmodelrefs', all, ns);
    }
    if (key === '/secrets' || key === `${INFERENCE_GROUP}/externalproviders`) {
      c.enqueueWhere(MAAS_GROUP, 'externalmodels', all, ns);
      c.enqueueWhere(INFERENCE_GROUP, 'externalmodels', all, ns);
      if (key === '/secrets') c.enqueueWhere(INFERENCE_GROUP, 'externalproviders', all, ns);
    }
    if (key === `${GW_GROUP}/httproutes` && e.object.metadata.name?.startsWith('maas-')) {
      const em = e.object.metadata.name.slice('maas-'.length);
      c.enqueueWhere(MAAS_GROUP, 'externalmodels', (x) => x.metadata.name === em, ns);
      c.enqueueWhere(INFERENCE_GROUP, 'externalmodels', (x) => x.metadata.name === em, ns);
    }
    if (key === `${GW_GROUP}/gateways`) c.enqueueWhere(MAAS_GROUP, 'maasmodelrefs', all);
    // catalog or policy objects changed → the access and quota objects that name them
    if ([`${MAAS_GROUP}/maasmodelrefs`, 'kuadrant.io/authpolicies', 'kuadrant.io/tokenratelimitpolicies'].includes(key)) {
      c.enqueueWhere(MAAS_GROUP, 'maasauthpolicies', all, SUBSCRIPTION_NAMESPACE);
      c.enqueueWhere(MAAS_GROUP, 'maassubscriptions', all, SUBSCRIPTION_NAMESPACE);
    }
    if (key === `${MAAS_GROUP}/maassubscriptions`) {
      for (const r of refsOf(e.object)) c.enqueue('kuadrant.io/tokenratelimitpolicies#maas', r.namespace, `maas-trlp-${r.name}`);
    }
    if (key === `${MAAS_GROUP}/maasmodelrefs` && e.type === 'DELETED') {
      c.enqueue('kuadrant.io/tokenratelimitpolicies#maas', ns, `maas-trlp-${e.object.metadata.name}`);
    }
  });
}

/**
 * The gateway-wide AuthPolicy of the subscription era (contracts-subscription-era §2): API keys checked by a
 * maas-api callback, OpenShift tokens by a TokenReview with the cluster issuer as audience, subscription
 * selection by a second callback, then the OPA rules. Written as maas-controller writes it: it is the platform's.
 */
export function gatewayAuthPolicy(infraNamespace = 'opendatahub'): KObj {
  const api = `https://maas-api.${infraNamespace}.svc.cluster.local:8443`;
  return {
    apiVersion: 'kuadrant.io/v1',
    kind: 'AuthPolicy',
    metadata: {
      name: GATEWAY_AUTH_POLICY,
      namespace: MAAS_GATEWAY.namespace,
      labels: { 'app.kubernetes.io/managed-by': MANAGER, 'app.kubernetes.io/part-of': MANAGER },
    },
    spec: {
      targetRef: { group: GW_GROUP, kind: 'Gateway', name: MAAS_GATEWAY.name },
      rules: {
        authentication: {
          'api-keys': {
            plain: { selector: 'request.headers.authorization' },
            when: [{ predicate: 'request.headers.authorization.startsWith("Bearer sk-oai-")' }],
          },
          'openshift-identities': {
            kubernetesTokenReview: { audiences: ['https://kubernetes.default.svc'] },
            when: [{ predicate: '!request.headers.authorization.startsWith("Bearer sk-oai-")' }],
          },
        },
        metadata: {
          apiKeyValidation: {
            http: { url: `${api}/internal/v1/api-keys/validate`, method: 'POST', contentType: 'application/json', body: { expression: '{"key": request.headers.authorization.substring(7)}' } },
          },
          'subscription-info': {
            http: { url: `${api}/internal/v1/subscriptions/select`, method: 'POST', contentType: 'application/json' },
          },
        },
        authorization: {
          'auth-valid': { patternMatching: { patterns: [{ predicate: 'auth.metadata.apiKeyValidation.valid == true' }] } },
          'subscription-valid': { patternMatching: { patterns: [{ predicate: 'auth.metadata["subscription-info"].phase in ["Active", "Degraded"]' }] } },
          'require-group-membership': { patternMatching: { patterns: [{ predicate: 'auth.metadata["subscription-info"].accessAllowed == true' }] } },
        },
      },
    },
  };
}
