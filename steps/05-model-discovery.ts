import { defineStep, type WaitSpec } from '../src/core/step.js';
import { names, TIMEOUTS } from './scope.js';

export default defineStep({
  id: '5',
  slug: 'model-discovery',
  title: 'External models in the MaaS model listing',
  explain:
    'Publishes the external models in a ConfigMap next to maas-api and switches maas-api to a build that ' +
    'reads it, so GET /v1/models lists them beside the KServe models. The Deployment is marked unmanaged ' +
    'first, otherwise the OpenShift AI operator would put the stock image back.',
  optional: false,
  manifests: ['external-model-registry.yaml', 'maas-api-patch.yaml'],
  waits: (ctx): WaitSpec[] => [
    { kind: 'rollout', namespace: ctx.cfg.maas.apiNamespace, name: names.maasApi, timeoutMs: TIMEOUTS.rollout },
  ],
  hint: 'step-model-discovery',
});
