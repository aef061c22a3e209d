/** Readiness of the provider steps (3 and 3a): simulators rolled out and serving, egress routes resolved. */
import type { StepContext, StepId, WaitSpec } from '../src/core/step.js';
import { names, providersForStep, simulatedProviders, TIMEOUTS } from './scope.js';

export function providerWaits(id: StepId, ctx: StepContext): WaitSpec[] {
  const ns = ctx.cfg.providersNamespace;
  const { egress } = ctx.cfg;
  const sims = simulatedProviders(id, ctx).flatMap((p): WaitSpec[] => [
    { kind: 'rollout', namespace: ns, name: p.simulator, timeoutMs: TIMEOUTS.rollout },
    { kind: 'pods-ready', namespace: ns, selector: `app=${p.simulator}`, timeoutMs: TIMEOUTS.rollout },
    { kind: 'service-endpoints', namespace: ns, name: p.simulator, timeoutMs: TIMEOUTS.rollout },
  ]);
  // XBackendDestination has no status (the controller never writes one); the route's ResolvedRefs says
  // whether its backendRef resolved to one.
  const routes = providersForStep(id, ctx).map(
    (p): WaitSpec => ({
      kind: 'route-accepted',
      namespace: egress.namespace,
      name: names.egressRoute(p),
      parent: { namespace: egress.namespace, name: egress.gatewayName },
      conditions: ['Accepted', 'ResolvedRefs'],
      timeoutMs: TIMEOUTS.route,
    }),
  );
  return [...sims, ...routes];
}
