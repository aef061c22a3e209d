import { defineStep } from '../src/core/step.js';
import { providerWaits } from './provider-waits.js';

export default defineStep({
  id: '3',
  slug: 'provider-sims',
  title: 'Simulated OpenAI and Anthropic behind the egress gateway',
  explain:
    'Starts one key-checking simulator per external provider in the external-models namespace, each with its ' +
    'own API key in a Secret. An XBackendDestination names each simulator by its cluster DNS name, and an ' +
    'HTTPRoute on poc-gateway sends /<provider>/… to it with the prefix stripped, so the simulator sees the ' +
    'same /v1/… path a real provider would.',
  optional: false,
  manifests: ['provider-simulators.yaml', 'backends.yaml', 'egress-routes.yaml'],
  waits: (ctx) => providerWaits('3', ctx),
  hint: 'step-provider-sims',
});
