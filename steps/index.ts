/** The ordered catalog of deployment steps; 3a (a vLLM provider) runs only when asked. */
import type { StepDef } from '../src/core/step.js';
import gateway from './01-gateway.js';
import onpremModel from './02-onprem-model.js';
import providerSims from './03-provider-sims.js';
import remoteVllm from './03a-remote-vllm.js';
import maasBridge from './04-maas-bridge.js';
import modelDiscovery from './05-model-discovery.js';

export const steps: readonly StepDef[] = [gateway, onpremModel, providerSims, remoteVllm, maasBridge, modelDiscovery];

export { gateway, onpremModel, providerSims, remoteVllm, maasBridge, modelDiscovery };

/** The steps of one run, in order: every mandatory step, plus the opt-in ones that were asked for. */
export function selectSteps(opts: { vllm: boolean }): StepDef[] {
  return steps.filter((s) => !s.optional || (s.id === '3a' && opts.vllm));
}

export function stepById(id: string): StepDef | undefined {
  return steps.find((s) => s.id === id || s.slug === id);
}
