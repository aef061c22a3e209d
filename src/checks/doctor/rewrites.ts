/**
 * Rewrites: compute the path each hop should see from the route rules, and compare with what the
 * hops and the provider actually saw in a live probe. Catches a double slash (controller without the
 * prefix-rewrite fix), a missing rewrite on either hop, a missing or mis-matching route, and a
 * backend that does not answer.
 */
import { SIM_HEADERS } from '../../sim/headers.js';
import { envoyRoute, gatewayApiMatch, gatewayApiRewrite } from '../../model/gateway-paths.js';
import { NO_LIVE, bridgeOf, diff, egressRouteOf, factFailure, perProvider, specFix } from './findings.js';
import type { ProviderConfig } from '../../core/config.js';
import type { BackendSpec } from '../../model/topology.js';
import { defineCheck, type CheckDef, type DoctorContext, type Fix } from './types.js';

const PROBE_REST = '/v1/models';

export const rewrites: CheckDef[] = [
  defineCheck({
    id: 'rewrite-bridge-prefix',
    category: 'rewrites',
    title: 'each bridge rewrites /external/<provider>/ to /<provider>/ on the MaaS gateway',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    run: (ctx) =>
      perProvider(
        ctx,
        async (p) => {
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
        'bridges send /<provider>/… to the egress gateway',
      ),
  }),
  defineCheck({
    id: 'rewrite-egress-route-present',
    category: 'rewrites',
    title: 'the egress gateway has a route for each provider prefix',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    run: (ctx) =>
      perProvider(
        ctx,
        async (p) => {
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
        'every provider prefix has an egress route',
      ),
  }),
  defineCheck({
    id: 'rewrite-egress-strips-prefix',
    category: 'rewrites',
    title: 'the egress gateway strips /<provider> so the provider gets /v1/… (no double slash)',
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    run: (ctx) =>
      perProvider(
        ctx,
        async (p) => {
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
            evidence: [`prefix not stripped: the provider receives ${actual}`, ...evidence],
            fix: specFix('egress', `add URLRewrite ReplacePrefixMatch / to HTTPRoute ${r.name}`, diff(`HTTPRoute ${r.name}`, [[r.rewritePrefix === null ? '(no URLRewrite filter)' : `replacePrefixMatch: ${JSON.stringify(r.rewritePrefix)}`, 'filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]']]), (s) => {
              const x = egressRouteOf(s, p.name);
              if (x) x.rewritePrefix = '/';
            }, [{ kind: 'HTTPRoute', name: r.name }]),
          };
        },
        'providers receive clean /v1/… paths',
      ),
  }),
  defineCheck({
    id: 'rewrite-backend-reachable',
    category: 'rewrites',
    title: "each provider's backend answers behind the egress gateway",
    severity: 'error',
    hint: 'README.md#doctor-rewrites',
    run: (ctx) =>
      perProvider(
        ctx,
        async (p) => {
          const ex = await ctx.probe(p.name);
          if (!ex) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: no probe (no MaaS token)`] };
          const eg = ex.records.find((r) => r.hop === 'egress-gateway');
          const kind = ex.answer.kind;
          const unreachable = kind === 'upstream-connect-failure' || kind === 'no-healthy-upstream' || kind === 'upstream-timeout' || kind === 'direct-response-500' || (eg && eg.answeredBy === 'self' && eg.status >= 500);
          if (unreachable) {
            const backend = ctx.spec.egress?.backends.find((b) => b.name === p.backend);
            return {
              provider: p.name,
              ok: false,
              hop: `provider:${p.name}`,
              evidence: [`${ex.answer.summary}`, ...(eg?.detail.backend ? [`backend ${eg.detail.backend}`] : []), ...(backend ? [`XBackendDestination ${backend.name}: ${backend.hostname}:${backend.ports.join(',')}`] : [])],
              fix: backendFix(ctx, p, kind, backend),
            };
          }
          // A probe that never got past the MaaS gateway says nothing about the backend.
          if (ex.error || ex.answer.hop === 'maas-gateway') return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the probe did not get past the MaaS gateway (${ex.answer.summary})`] };
          return { provider: p.name, ok: true, evidence: [`${p.name} answered ${ex.status}`] };
        },
        'every backend answers',
      ),
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
