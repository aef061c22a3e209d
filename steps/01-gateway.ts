import { defineStep, type WaitSpec } from '../src/core/step.js';
import { envoyName, names, readOptions, TIMEOUTS, XBACKEND_CRDS } from './scope.js';

const GATEWAY_API = 'gateway.networking.k8s.io/v1';

export default defineStep({
  id: '1',
  slug: 'gateway',
  title: 'Egress gateway: backend CRD, wg-ai-gateway controller and the poc-gateway',
  explain:
    'Installs the XBackendDestination CRD, which lets a route point at a host outside the cluster, and runs the ' +
    'wg-ai-gateway controller that turns Gateways and HTTPRoutes into Envoy configuration over xDS. ' +
    'Creating the poc-gateway Gateway makes that controller start its own Envoy Deployment and Service, ' +
    'the egress hop every external provider call goes through.',
  optional: false,
  // The CRDs come from the wg-ai-gateway checkout (--wg-dir), not from our templates.
  manifests: ['controller.yaml', 'gateway.yaml'],
  waits: (ctx): WaitSpec[] => {
    const { egress } = ctx.cfg;
    const envoy = envoyName(ctx.cfg);
    const crds: WaitSpec[] = readOptions(ctx).skipCrds
      ? []
      : XBACKEND_CRDS.map((name) => ({ kind: 'crd-established', name, timeoutMs: TIMEOUTS.crd }));
    return [
      ...crds,
      { kind: 'rollout', namespace: egress.controllerNamespace, name: names.controller, timeoutMs: TIMEOUTS.rollout },
      {
        kind: 'pods-ready',
        namespace: egress.controllerNamespace,
        selector: `app=${names.controller}`,
        timeoutMs: TIMEOUTS.rollout,
      },
      {
        kind: 'condition',
        apiVersion: GATEWAY_API,
        resource: 'GatewayClass',
        name: egress.className,
        type: 'Accepted',
        timeoutMs: TIMEOUTS.condition,
      },
      {
        kind: 'condition',
        apiVersion: GATEWAY_API,
        resource: 'Gateway',
        namespace: egress.namespace,
        name: egress.gatewayName,
        type: 'Accepted',
        timeoutMs: TIMEOUTS.condition,
      },
      {
        kind: 'condition',
        apiVersion: GATEWAY_API,
        resource: 'Gateway',
        namespace: egress.namespace,
        name: egress.gatewayName,
        type: 'Programmed',
        timeoutMs: TIMEOUTS.condition,
      },
      // Programmed only means xDS was pushed; the Envoy pod may still be pulling or Pending (contracts §9.11).
      { kind: 'rollout', namespace: egress.namespace, name: envoy, timeoutMs: TIMEOUTS.rollout },
      { kind: 'pods-ready', namespace: egress.namespace, selector: `app=${envoy}`, timeoutMs: TIMEOUTS.rollout },
      { kind: 'service-endpoints', namespace: egress.namespace, name: envoy, timeoutMs: TIMEOUTS.rollout },
    ];
  },
  hint: 'step-gateway',
});
