import { defineStep, type WaitSpec } from '../src/core/step.js';
import { DEFAULT_TRLP_NAME, names, providersForStep, readOptions, TIMEOUTS } from './scope.js';

export default defineStep({
  id: '4',
  slug: 'maas-bridge',
  title: 'Per-provider routes and key injection on the MaaS gateway',
  explain:
    'Adds /external/<provider>/… routes to the MaaS gateway that forward to the egress gateway, each guarded ' +
    'by its own AuthPolicy: the caller must present a MaaS token, and only then is the provider key added to ' +
    'the request. The MaaS token itself is dropped before the request leaves (vLLM gets its key in its place), ' +
    'and the gateway-wide token rate limit keeps counting per user across every provider.',
  optional: false,
  manifests: ['bridge.yaml', 'token-rate-limit.yaml'],
  waits: (ctx): WaitSpec[] => {
    const { egress, maas } = ctx.cfg;
    const opts = readOptions(ctx);
    const perProvider = providersForStep('4', ctx).flatMap((p): WaitSpec[] => [
      {
        kind: 'route-accepted',
        namespace: egress.namespace,
        name: names.bridgeRoute(p),
        parent: { namespace: maas.gatewayNamespace, name: maas.gatewayName },
        conditions: ['Accepted', 'ResolvedRefs'],
        timeoutMs: TIMEOUTS.route,
      },
      {
        kind: 'policy-enforced',
        apiVersion: 'kuadrant.io/v1',
        resource: 'AuthPolicy',
        namespace: egress.namespace,
        name: names.bridgeAuth(p),
        timeoutMs: TIMEOUTS.policy,
      },
    ]);
    // The token limit is MaaS's own gateway-level policy unless --token-rate-limit renders ours (same name).
    const trlp: WaitSpec = {
      kind: 'policy-enforced',
      apiVersion: 'kuadrant.io/v1alpha1',
      resource: 'TokenRateLimitPolicy',
      namespace: maas.gatewayNamespace,
      name: opts.tokenRateLimitName ?? DEFAULT_TRLP_NAME,
      timeoutMs: TIMEOUTS.policy,
    };
    return [...perProvider, trlp];
  },
  hint: 'step-maas-bridge',
});
