/**
 * Rewrites: compute the path each hop should see from the route rules, and compare with what the
 * hops and the provider actually saw in a live probe. Catches a double slash (controller without the
 * prefix-rewrite fix), a missing rewrite on either hop, a missing or mis-matching route, and a
 * backend that does not answer.
 */
import { SIM_HEADERS } from '../../sim/headers.js';
import { envoyRoute, gatewayApiMatch, gatewayApiRewrite } from '../../model/gateway-paths.js';
import { NO_LIVE, bridgeOf, diff, egressRouteOf, factFailure, defineProviderCheck, specFix } from './findings.js';
import type { ProviderConfig } from '../../core/config.js';
import type { BackendSpec } from '../../model/topology.js';
import { defineCheck, type CheckDef, type DoctorContext, type Finding, type Fix } from './types.js';
import { attribute } from '../attribution.js';
import { backendCulprit } from './backend-culprit.js';

const PROBE_REST = '/v1/models';

const LLMIS_API = 'serving.kserve.io/v1alpha1';

export const rewrites: CheckDef[] = [
  defineProviderCheck({
    id: 'rewrite-bridge-prefix',
    category: 'rewrites',
    title: 'each bridge rewrites /external/<provider>/ to /<provider>/ on the MaaS gateway',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    passes: 'bridges send /<provider>/… to the egress gateway',
    each: async (ctx, p) => {
      const b = bridgeOf(ctx.spec, p.name);
      const want = `/${p.name}${PROBE_REST}`;
      if (!b) return { provider: p.name, ok: false, hop: 'maas-gateway', evidence: [`no bridge route for /external/${p.name}/ on the MaaS gateway`] };
      const computed = b.rewritePrefix === null ? `/external/${p.name}${PROBE_REST}` : gatewayApiRewrite(`/external/${p.name}${PROBE_REST}`, b.pathPrefix, b.rewritePrefix);
      const ex = await ctx.probe(p.name);
      const gw = ex?.records.find((r) => r.hop === 'maas-gateway');
      const seen = gw?.pathOut;
      const evidence = [`route rule: ${b.pathPrefix} → ${b.rewritePrefix ?? '(no rewrite)'}, so /external/${p.name}${PROBE_REST} → ${computed}`, ...(seen ? [`probe: the gateway sent ${seen}`] : [])];
      if (computed !== want || (seen !== undefined && seen !== want)) {
        return {
          provider: p.name,
          ok: false,
          hop: 'maas-gateway',
          field: b.rewritePrefix === null ? 'spec.rules[0].filters' : 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch',
          evidence: [`the egress gateway receives ${seen ?? computed}, expected ${want}`, ...evidence],
          fix: specFix('maasGateway', `add URLRewrite ReplacePrefixMatch /${p.name}/ to HTTPRoute ${b.name}`, diff(`HTTPRoute ${b.name}`, [[b.rewritePrefix === null ? '(no URLRewrite filter)' : `replacePrefixMatch: ${b.rewritePrefix}`, `filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /${p.name}/}}}]`]]), (s) => {
            const x = bridgeOf(s, p.name);
            if (x) x.rewritePrefix = `/${p.name}/`;
          }, [{ kind: 'HTTPRoute', name: b.name }]),
        };
      }
      const status = await factFailure(ctx, 'rewrite-bridge-prefix', p.name);
      if (status) return status;
      // Observed: the gateway's own record, or the provider got the clean path through the whole chain.
      if (!seen && ex?.headers[SIM_HEADERS.path] !== PROBE_REST) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: ${b.name} rewrites ${b.pathPrefix} → ${b.rewritePrefix}, no probe confirmed it${ex ? ` (${ex.answer.summary})` : ''}`] };
      return { provider: p.name, ok: true, evidence: [`${b.name}: ${b.pathPrefix} → ${b.rewritePrefix} (observed)`] };
    },
  }),
  defineProviderCheck({
    id: 'rewrite-egress-route-present',
    category: 'rewrites',
    title: 'the egress gateway has a route for each provider prefix',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    passes: 'every provider prefix has an egress route',
    each: async (ctx, p) => {
      const r = egressRouteOf(ctx.spec, p.name);
      const fixed = ctx.spec.egress?.controllerFixed ?? true;
      const path = `/${p.name}${PROBE_REST}`;
      const matches = r ? envoyRoute(path, r, fixed).matched : false;
      const ex = await ctx.probe(p.name);
      const eg = ex?.records.find((x) => x.hop === 'egress-gateway');
      const nr = eg ? eg.status === 404 && eg.answeredBy === 'self' : ex?.answer.kind === 'route-not-found';
      if (!r || !matches || nr) {
        const other = ctx.spec.egress?.routes.find((x) => envoyRoute(path, x, fixed).matched);
        return {
          provider: p.name,
          ok: false,
          hop: 'egress-gateway',
          ...(r ? { field: 'spec.rules[0].matches[0].path.value' } : {}),
          evidence: [
            r ? `route ${r.name} (prefix ${r.pathPrefix}) does not match ${path}` : `no HTTPRoute for /${p.name}/ on ${'poc-gateway'}`,
            ...(other ? [`${path} would match ${other.name} instead`] : []),
            ...(nr ? [`probe: the egress gateway answered 404 route_not_found for ${eg?.pathIn ?? path}`] : []),
          ],
          fix: specFix(
            'egress',
            `create HTTPRoute ${p.name}-route: PathPrefix /${p.name}/, ReplacePrefixMatch /, backend ${p.backend}:8000`,
            diff(`HTTPRoute ${p.name}-route (parentRef poc-gateway)`, [[null, `rules: [{matches: [{path: {type: PathPrefix, value: /${p.name}/}}], filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}], backendRefs: [{group: ainetworking.prototype.x-k8s.io, kind: Backend, name: ${p.backend}, port: 8000}]}]`]]),
            (s) => {
              if (!s.egress) return;
              s.egress.routes = s.egress.routes.filter((x) => x.provider !== p.name);
              s.egress.routes.push({ name: `${p.name}-route`, provider: p.name, pathPrefix: `/${p.name}/`, rewritePrefix: '/', backendRef: { kind: 'Backend', name: p.backend, port: 8000 }, removeHeaders: [] });
            },
            [{ kind: 'HTTPRoute', name: `${p.name}-route` }],
          ),
        };
      }
      const status = await factFailure(ctx, 'rewrite-egress-route-present', p.name);
      if (status) return status;
      const reached = (eg && !(eg.status === 404 && eg.answeredBy === 'self')) || ex?.headers[SIM_HEADERS.provider] !== undefined;
      if (!reached) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: ${r.name} matches ${path}, no probe reached the egress gateway${ex ? ` (${ex.answer.summary})` : ''}`] };
      return { provider: p.name, ok: true, evidence: [`${r.name} matches ${path}`] };
    },
  }),
  defineProviderCheck({
    id: 'rewrite-egress-strips-prefix',
    category: 'rewrites',
    title: 'the egress gateway strips /<provider> so the provider gets /v1/… (no double slash)',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    passes: 'providers receive clean /v1/… paths',
    each: async (ctx, p) => {
      const r = egressRouteOf(ctx.spec, p.name);
      if (!r) return { provider: p.name, ok: 'skip', evidence: ['no egress route (see rewrite-egress-route-present)'] };
      const fixed = ctx.spec.egress?.controllerFixed;
      const m = envoyRoute(`/${p.name}${PROBE_REST}`, r, fixed ?? true);
      const computed = m.matched ? m.pathOut : '(no match)';
      const ex = await ctx.probe(p.name);
      const received = ex?.headers[SIM_HEADERS.path];
      const evidence = [`route rule: ${r.pathPrefix} → ${r.rewritePrefix === null ? '(no rewrite)' : JSON.stringify(r.rewritePrefix)}; controller ${fixed === false ? 'WITHOUT' : fixed ? 'with' : 'with unknown'} the prefix-rewrite fix`, `computed provider path: ${computed}`, ...(received !== undefined ? [`probe: the provider received ${received}`] : [])];
      const actual = received ?? computed;
      if (actual === PROBE_REST) return received !== undefined ? { provider: p.name, ok: true, evidence: [`provider receives ${actual} (observed)`] } : { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the rule gives ${actual}, no probe reached the provider`] };
      // Without a probe a double slash is only a prediction from the controller build, which install-controller-rewrite-fix reports.
      if (actual.startsWith('//') && received === undefined) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the rule is right; the controller build decides whether ${computed} happens (see install-controller-rewrite-fix)`] };
      if (actual.startsWith('//')) {
        return {
          provider: p.name,
          ok: false,
          hop: 'egress-gateway',
          field: 'spec.template.spec.containers[0].image',
          evidence: [`double slash: the provider receives ${actual}`, ...evidence],
          fix: specFix('egress', 'run a wg-ai-gateway controller built with the prefix-rewrite fix (PR #38)', diff('Deployment ai-gateway-system/ai-gateway-controller', [['image: (a build without PR #38)', 'image: ghcr.io/nerdalert/wg-ai-gateway:prefix-rewrite-fix']]), (s) => {
            if (s.egress) s.egress.controllerFixed = true;
          }, [{ kind: 'Deployment', name: 'ai-gateway-controller' }]),
        };
      }
      return {
        provider: p.name,
        ok: false,
        hop: 'egress-gateway',
        field: r.rewritePrefix === null ? 'spec.rules[0].filters' : 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch',
        evidence: [`prefix not stripped: the provider receives ${actual}`, ...evidence],
        fix: specFix('egress', `add URLRewrite ReplacePrefixMatch / to HTTPRoute ${r.name}`, diff(`HTTPRoute ${r.name}`, [[r.rewritePrefix === null ? '(no URLRewrite filter)' : `replacePrefixMatch: ${JSON.stringify(r.rewritePrefix)}`, 'filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]']]), (s) => {
          const x = egressRouteOf(s, p.name);
          if (x) x.rewritePrefix = '/';
        }, [{ kind: 'HTTPRoute', name: r.name }]),
      };
    },
  }),
  defineProviderCheck({
    id: 'rewrite-backend-reachable',
    category: 'rewrites',
    title: "each provider's backend answers behind the egress gateway",
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    passes: 'every backend answers',
    each: async (ctx, p) => {
      const ex = await ctx.probe(p.name);
      if (!ex) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: no probe (no MaaS token)`] };
      const eg = ex.records.find((r) => r.hop === 'egress-gateway');
      const kind = ex.answer.kind;
      const unreachable = kind === 'upstream-connect-failure' || kind === 'no-healthy-upstream' || kind === 'upstream-timeout' || kind === 'direct-response-500' || (eg && eg.answeredBy === 'self' && eg.status >= 500);
      if (unreachable) {
        const route = egressRouteOf(ctx.spec, p.name);
        const backend = ctx.spec.egress?.backends.find((b) => b.name === (route?.backendRef.name ?? p.backend));
        // Which link of route → XBackendDestination → Service → workload does not hold.
        const culprit = await backendCulprit(ctx, p, route, eg?.detail.flags ? `${eg.detail.flags}: ${ex.answer.summary}` : ex.answer.summary);
        const evidence = [`${ex.answer.summary}${eg?.detail.flags ? ` (Envoy response flags ${eg.detail.flags})` : ''}`, ...(eg?.detail.reason ? [eg.detail.reason] : []), ...(eg?.detail.backend ? [`backend ${eg.detail.backend}`] : []), ...(backend ? [`XBackendDestination ${backend.name}: ${backend.hostname}:${backend.ports.join(',')}`] : [])];
        if (culprit?.field) {
          return {
            provider: p.name,
            ok: false,
            hop: culprit.hop,
            object: culprit.object,
            field: culprit.field,
            evidence: [culprit.reason, ...evidence],
            fix: { summary: `${culprit.object}: ${culprit.reason.split(':')[0]}; set ${culprit.field}`, patch: diff(`${culprit.object} ${culprit.field}`, [culprit.change ?? [null, null]]), objects: [culprit.ref] },
          };
        }
        return {
          provider: p.name,
          ok: false,
          hop: culprit?.hop ?? `provider:${p.name}`,
          ...(culprit ? { object: culprit.object } : {}),
          evidence: [...(culprit ? [culprit.reason] : []), ...evidence],
          fix: backendFix(ctx, p, kind, backend),
        };
      }
      // A probe that never got past the MaaS gateway says nothing about the backend.
      if (ex.error || ex.answer.hop === 'maas-gateway') return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the probe did not get past the MaaS gateway (${ex.answer.summary})`] };
      // The provider answered, but with its own server error: it is up and failing (an outage).
      if (ex.status >= 500) {
        const simulator = p.simulator ? { kind: 'Deployment', name: p.simulator, namespace: ctx.target.cfg.providersNamespace } : undefined;
        return {
          provider: p.name,
          ok: false,
          hop: `provider:${p.name}`,
          ...(simulator ? { object: `Deployment/${simulator.namespace}/${simulator.name}` } : {}),
          evidence: [`${p.name} answered ${ex.status}: ${ex.body.slice(0, 160)}`, 'the route, the key and the backend are fine: the provider itself fails the request'],
          fix: { summary: `the provider ${p.name} fails requests (${ex.status}): check its status page or, for a simulator, its Deployment and logs`, patch: simulator ? `kubectl -n ${simulator.namespace} logs deployment/${simulator.name} --tail 50\nkubectl -n ${simulator.namespace} get deployment ${simulator.name} -o jsonpath='{.spec.template.spec.containers[0].args}'` : `curl -sS ${p.remote ? `${p.remote.scheme}://${p.remote.host}:${p.remote.port}` : p.name}/v1/models` },
        };
      }
      return { provider: p.name, ok: true, evidence: [`${p.name} answered ${ex.status}`] };
    },
  }),
  defineCheck({
    id: 'rewrite-onprem-route',
    category: 'rewrites',
    title: 'the on-prem model answers through its KServe route on the MaaS gateway (no egress hop)',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    run: async (ctx): Promise<Finding> => {
      const { onprem, maas } = ctx.target.cfg;
      const prefix = `/${onprem.namespace}/${onprem.name}`;
      const llmKey = `LLMInferenceService/${onprem.namespace}/${onprem.name}`;
      const llm = await ctx.target.objects().get(LLMIS_API, 'LLMInferenceService', onprem.namespace, onprem.name);
      if (!llm) return { outcome: 'skip', message: `no ${llmKey} in this install (step 2 not run)` };
      const ex = await ctx.onpremChat();
      if (!ex) return { outcome: 'skip', message: `${NO_LIVE}: no MaaS token to call the model with` };
      const spec = llm.spec as { model?: { name?: string }; router?: { route?: unknown; gateway?: { refs?: { name?: string; namespace?: string }[] } } } | undefined;
      const served = spec?.model?.name ?? onprem.name;
      const refs = spec?.router?.gateway?.refs ?? [];
      const evidence = [`probe: POST ${prefix}/v1/chat/completions (model ${onprem.model}) → ${ex.answer.summary}`, `${llmKey}: model ${served}, gateway refs ${refs.map((r) => `${r.namespace ?? onprem.namespace}/${r.name}`).join(', ') || '(none)'}`];
      if (ex.status === 200) return { outcome: 'pass', message: `${onprem.model} answered through ${prefix}`, evidence };
      // A spent budget says nothing about the route (the rate-limit checks report the budget).
      if (ex.status === 429) return { outcome: 'skip', message: `${NO_LIVE}: the user's token budget is spent (429); the route was not tried`, evidence };
      const gw = ex.records.find((r) => r.hop === 'maas-gateway');
      const noRoute = (gw ? gw.status === 404 && gw.answeredBy === 'self' : ex.answer.kind === 'route-not-found');
      const attached = refs.some((r) => r.name === maas.gatewayName && (r.namespace ?? onprem.namespace) === maas.gatewayNamespace);
      if (noRoute && (!spec?.router?.route || !attached)) {
        const i = Math.max(0, refs.findIndex((r) => r.name !== maas.gatewayName));
        return {
          outcome: 'fail',
          hop: 'maas-gateway',
          object: llmKey,
          field: spec?.router?.route ? `spec.router.gateway.refs[${i}].name` : 'spec.router.route',
          message: `KServe attaches no route for ${prefix} to ${maas.gatewayNamespace}/${maas.gatewayName}: ${spec?.router?.route ? `the gateway refs name ${refs.map((r) => r.name).join(', ') || 'nothing'}` : 'spec.router.route is not set'}`,
          evidence,
          fix: { summary: `point ${llmKey} at the MaaS gateway`, patch: diff(`${llmKey} spec.router.gateway.refs`, [[refs.length ? refs.map((r) => `- {name: ${r.name}, namespace: ${r.namespace ?? onprem.namespace}}`).join(' ') : null, `- {name: ${maas.gatewayName}, namespace: ${maas.gatewayNamespace}}`]]), objects: [{ kind: 'LLMInferenceService', name: onprem.name, namespace: onprem.namespace }] },
        };
      }
      if (noRoute) {
        return { outcome: 'fail', hop: 'maas-gateway', object: `HTTPRoute/${onprem.namespace}/${onprem.name}-kserve-route`, field: 'spec.rules[0].matches[0].path.value', message: `the MaaS gateway has no route for ${prefix} although ${llmKey} is attached to it`, evidence };
      }
      const model404 = ex.status === 404 && /does not exist/.test(ex.body);
      if (model404) {
        return {
          outcome: 'fail',
          hop: 'onprem',
          object: llmKey,
          field: 'spec.model.name',
          message: `the model server behind ${prefix} serves ${served}; clients (and the listing the demo expects) ask for ${onprem.model}`,
          evidence,
          fix: { summary: `serve ${onprem.model} as ${llmKey}'s model name`, patch: diff(`${llmKey} spec.model.name`, [[served, onprem.model]]), objects: [{ kind: 'LLMInferenceService', name: onprem.name, namespace: onprem.namespace }] },
        };
      }
      const path404 = ex.status === 404 && /Route .* not found/.test(ex.body);
      if (path404) {
        return { outcome: 'fail', hop: 'maas-gateway', object: `HTTPRoute/${onprem.namespace}/${onprem.name}-kserve-route`, field: 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch', message: `the model server got ${prefix}/v1/… instead of /v1/…: the route does not strip ${prefix}`, evidence };
      }
      const att = attribute(ex, ctx.target);
      return { outcome: 'fail', hop: att?.hop ?? ex.answer.hop, message: att?.reason ?? `the on-prem model answered ${ex.answer.summary}`, evidence };
    },
  }),
];

/**
 * What to do about an unreachable backend, by what Envoy said (contracts §9.9): UH — the name does not
 * resolve from the Envoy pod (LOGICAL_DNS, IPv4 only); UF — nothing accepts the connection (backend down,
 * egress firewall, wrong port); UT — it answers too slowly; an empty 500 — the backendRef did not resolve.
 */
function backendFix(ctx: DoctorContext, p: ProviderConfig, kind: string, backend: BackendSpec | undefined): Fix {
  const host = backend?.hostname ?? p.backend;
  const port = backend?.ports[0] ?? 8000;
  const onCluster = ctx.target.apiServer;
  const ns = ctx.target.cfg.egress.namespace;
  const inCluster = /\.svc(\.cluster\.local)?$/.test(host);
  const why =
    kind === 'no-healthy-upstream'
      ? `${host} does not resolve to an IPv4 address from the egress Envoy (or has no endpoint)`
      : kind === 'upstream-timeout'
        ? `${host}:${port} accepts the connection but does not answer within the route timeout`
        : kind === 'direct-response-500'
          ? `the egress route's backendRef does not resolve to XBackendDestination ${p.backend}`
          : `nothing accepts connections at ${host}:${port}${inCluster ? '' : ' from the cluster (egress firewall or NetworkPolicy)'}`;
  const objects = [{ kind: 'XBackendDestination', name: p.backend }, ...(p.simulator && inCluster ? [{ kind: 'Deployment', name: p.simulator }] : [])];
  const lines = [
    `kubectl get xbackenddestination ${p.backend} -n ${ns} -o jsonpath='{.spec.destination}'   # hostname and port the Envoy dials`,
    ...(inCluster && p.simulator ? [`kubectl -n ${ctx.target.cfg.providersNamespace} rollout status deployment/${p.simulator}`] : []),
    ...(onCluster
      ? [
          `kubectl -n ${ns} run egress-check --rm -i --restart=Never --image=registry.access.redhat.com/ubi9/ubi-minimal -- curl -sv --max-time 5 ${backend?.scheme ?? 'http'}://${host}:${port}/v1/models`,
          ...(kind === 'no-healthy-upstream' ? ['# the wg controller resolves FQDN backends with LOGICAL_DNS, IPv4 only: an IPv6-only or unresolvable name is never healthy'] : []),
          '# XBackendDestination edits are not watched by the wg controller: touch the HTTPRoute (or restart the controller) after changing it',
        ]
      : []),
  ];
  return { summary: `make ${p.simulator && inCluster ? p.simulator : host} reachable: ${why}`, patch: lines.join('\n'), objects };
}

export { gatewayApiMatch };
