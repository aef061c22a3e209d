import { defineStep, type WaitSpec } from '../src/core/step.js';
import { names, TIMEOUTS } from './scope.js';

export default defineStep({
  id: '2',
  slug: 'onprem-model',
  title: 'On-prem model: a simulated LLMInferenceService behind the MaaS gateway',
  explain:
    'Creates the llm namespace and an LLMInferenceService that runs the llm-d inference simulator as ' +
    'facebook/opt-125m, open to every tier. KServe generates its Deployment, Service and an HTTPRoute on the ' +
    'MaaS gateway, so this model is reached directly by MaaS and never passes through the egress gateway.',
  optional: false,
  manifests: ['onprem-model.yaml'],
  waits: (ctx): WaitSpec[] => {
    const { onprem, maas } = ctx.cfg;
    return [
      {
        kind: 'condition',
        apiVersion: 'serving.kserve.io/v1alpha1',
        resource: 'LLMInferenceService',
        namespace: onprem.namespace,
        name: onprem.name,
        type: 'Ready',
        timeoutMs: TIMEOUTS.model,
      },
      {
        kind: 'route-accepted',
        namespace: onprem.namespace,
        name: names.onpremRoute(ctx.cfg),
        parent: { namespace: maas.gatewayNamespace, name: maas.gatewayName },
        conditions: ['Accepted', 'ResolvedRefs'],
        timeoutMs: TIMEOUTS.route,
      },
    ];
  },
  hint: 'step-onprem-model',
});
