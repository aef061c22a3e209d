import { defineStep } from '../src/core/step.js';
import { providerWaits } from './provider-waits.js';

export default defineStep({
  id: '3a',
  slug: 'remote-vllm',
  title: 'Optional vLLM provider: a remote server, or a simulator standing in for one',
  explain:
    'Adds vLLM as a further provider. With --vllm-host the egress gateway is pointed at that server (plain ' +
    'HTTP, port 8000 unless given); without it a vLLM-style simulator runs in the cluster instead. Unlike the ' +
    'other providers, vLLM reads its key from Authorization: Bearer, which step 4 sets in place of the MaaS token.',
  optional: true,
  manifests: ['provider-simulators.yaml', 'backends.yaml', 'egress-routes.yaml'],
  waits: (ctx) => providerWaits('3a', ctx),
  hint: 'step-remote-vllm',
});
