/**
 * Readiness of objects that come without a step (`up --from FILE`): each object waits for what its
 * kind reports when it is ready, as the demo's own steps wait for theirs.
 */
import type { DemoConfig } from '../src/core/config.js';
import type { WaitSpec } from '../src/core/step.js';
import type { K8sObject } from '../src/model/k8s-object.js';
import { TIMEOUTS, names } from './scope.js';

export function waitsForObjects(objects: readonly K8sObject[], cfg: DemoConfig): WaitSpec[] {
  const out: WaitSpec[] = [];
  for (const o of objects) {
    const namespace = o.metadata.namespace ?? '';
    const name = o.metadata.name;
    switch (o.kind) {
      case 'Deployment':
        if (namespace === cfg.egress.controllerNamespace && name === names.controller) break;
        out.push({ kind: 'rollout', namespace, name, timeoutMs: TIMEOUTS.rollout });
        break;
      case 'LLMInferenceService':
        out.push({ kind: 'condition', apiVersion: o.apiVersion, resource: o.kind, namespace, name, type: 'Ready', timeoutMs: TIMEOUTS.model });
        out.push({ kind: 'route-accepted', namespace, name: `${name}-kserve-route`, parent: { namespace: cfg.maas.gatewayNamespace, name: cfg.maas.gatewayName }, timeoutMs: TIMEOUTS.route });
        break;
      case 'Gateway':
        out.push({ kind: 'condition', apiVersion: o.apiVersion, resource: o.kind, namespace, name, type: 'Programmed', timeoutMs: TIMEOUTS.condition });
        break;
      case 'HTTPRoute': {
        const parent = ((o.spec as { parentRefs?: { name?: string; namespace?: string }[] } | undefined)?.parentRefs ?? [])[0];
        out.push({ kind: 'route-accepted', namespace, name, ...(parent?.name ? { parent: { namespace: parent.namespace ?? namespace, name: parent.name } } : {}), timeoutMs: TIMEOUTS.route });
        break;
      }
      case 'AuthPolicy':
      case 'TokenRateLimitPolicy':
        out.push({ kind: 'policy-enforced', apiVersion: o.apiVersion, resource: o.kind, namespace, name, timeoutMs: TIMEOUTS.policy });
        break;
      case 'ConfigMap':
        // The registry is read by maas-api: ready when maas-api rolled out with it.
        if (name === cfg.maas.registryName) out.push({ kind: 'rollout', namespace: cfg.maas.apiNamespace, name: names.maasApi, timeoutMs: TIMEOUTS.rollout });
        break;
    }
  }
  return out;
}
