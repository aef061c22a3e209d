import { describe, expect, it } from 'vitest';

import type { WaitSpec } from '../../src/core/step.js';
import { gateway, maasBridge, modelDiscovery, onpremModel, providerSims, remoteVllm, selectSteps, stepById, steps } from '../../steps/index.js';
import { envoyName, parseRemote } from '../../steps/scope.js';
import { defaultConfig, mergeConfig } from '../../src/core/config.js';
import { makeCtx } from './helpers.js';

function describeWait(w: WaitSpec): string {
  switch (w.kind) {
    case 'condition':
      return `${w.resource} ${w.namespace ? `${w.namespace}/` : ''}${w.name} ${w.type}`;
    case 'pods-ready':
      return `pods ${w.namespace} ${w.selector}`;
    case 'crd-established':
      return `crd ${w.name}`;
    case 'route-accepted':
      return `route ${w.namespace}/${w.name} on ${w.parent?.namespace}/${w.parent?.name} ${(w.conditions ?? []).join('+')}`;
    case 'policy-enforced':
      return `policy ${w.resource} ${w.namespace}/${w.name}`;
    default:
      return `${w.kind} ${w.namespace}/${w.name}`;
  }
}

describe('step catalog', () => {
  it('is ordered 1, 2, 3, 3a, 4, 5 with unique slugs and only 3a optional', () => {
    expect(steps.map((s) => s.id)).toEqual(['1', '2', '3', '3a', '4', '5']);
    expect(new Set(steps.map((s) => s.slug)).size).toBe(steps.length);
    expect(steps.filter((s) => s.optional).map((s) => s.id)).toEqual(['3a']);
    expect(stepById('maas-bridge')).toBe(maasBridge);
  });

  it('includes 3a only when vLLM is asked for', () => {
    expect(selectSteps({ vllm: false }).map((s) => s.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(selectSteps({ vllm: true }).map((s) => s.id)).toEqual(['1', '2', '3', '3a', '4', '5']);
  });

  it('explains every step in two or three sentences', () => {
    for (const s of steps) {
      const sentences = s.explain.split(/(?<=[.!?])\s+/).filter(Boolean);
      expect(sentences.length, s.slug).toBeGreaterThanOrEqual(2);
      expect(sentences.length, s.slug).toBeLessThanOrEqual(3);
      expect(s.hint).toBe(`step-${s.slug}`);
    }
  });
});

describe('waits', () => {
  it('step 1 waits for the CRDs, the controller, the Gateway and the Envoy it starts', () => {
    expect(gateway.waits(makeCtx({ skipCrds: false })).map(describeWait)).toEqual([
      'crd xbackenddestinations.ainetworking.prototype.x-k8s.io',
      'crd backends.ainetworking.prototype.x-k8s.io',
      'rollout ai-gateway-system/ai-gateway-controller',
      'pods ai-gateway-system app=ai-gateway-controller',
      'GatewayClass wg-ai-gateway Accepted',
      'Gateway default/poc-gateway Accepted',
      'Gateway default/poc-gateway Programmed',
      'rollout default/envoy-poc-gateway',
      'pods default app=envoy-poc-gateway',
      'service-endpoints default/envoy-poc-gateway',
    ]);
    expect(gateway.waits(makeCtx()).some((w) => w.kind === 'crd-established')).toBe(false);
  });

  it('step 2 waits for the LLMInferenceService and its generated route on the MaaS gateway', () => {
    expect(onpremModel.waits(makeCtx()).map(describeWait)).toEqual([
      'LLMInferenceService llm/facebook-opt-125m-simulated Ready',
      'route llm/facebook-opt-125m-simulated-kserve-route on openshift-ingress/maas-default-gateway Accepted+ResolvedRefs',
    ]);
  });

  it('step 3 waits for each simulator and each egress route; 3a for vLLM, without a simulator when remote', () => {
    const w3 = providerSims.waits(makeCtx()).map(describeWait);
    expect(w3).toContain('rollout external-models/openai-simulator');
    expect(w3).toContain('pods external-models app=anthropic-simulator');
    expect(w3).toContain('service-endpoints external-models/openai-simulator');
    expect(w3).toContain('route default/anthropic-route on default/poc-gateway Accepted+ResolvedRefs');
    expect(w3.some((w) => w.includes('vllm'))).toBe(false);
    expect(remoteVllm.waits(makeCtx({ vllmHost: 'gpu:8000' })).map(describeWait)).toEqual([
      'route default/vllm-route on default/poc-gateway Accepted+ResolvedRefs',
    ]);
    expect(remoteVllm.waits(makeCtx()).map(describeWait)).toContain('rollout external-models/vllm-simulator');
  });

  it('step 4 waits for each bridge route and AuthPolicy, and for the gateway token limit', () => {
    const w = maasBridge.waits(makeCtx({}, { vllm: false })).map(describeWait);
    expect(w).toEqual([
      'route default/openai-bridge on openshift-ingress/maas-default-gateway Accepted+ResolvedRefs',
      'policy AuthPolicy default/openai-bridge-auth',
      'route default/anthropic-bridge on openshift-ingress/maas-default-gateway Accepted+ResolvedRefs',
      'policy AuthPolicy default/anthropic-bridge-auth',
      'policy TokenRateLimitPolicy openshift-ingress/gateway-token-rate-limits',
    ]);
  });

  it('step 5 waits for the maas-api rollout in the configured namespace', () => {
    const cfg = mergeConfig(defaultConfig(), { maas: { apiNamespace: 'redhat-ods-applications' } });
    expect(modelDiscovery.waits(makeCtx({}, { cfg })).map(describeWait)).toEqual(['rollout redhat-ods-applications/maas-api']);
  });

  it('gives every wait a positive timeout', () => {
    for (const s of steps) for (const w of s.waits(makeCtx())) expect(w.timeoutMs, `${s.id} ${describeWait(w)}`).toBeGreaterThan(0);
  });
});

describe('names', () => {
  it('names the Envoy the way the wg controller does', () => {
    expect(envoyName(defaultConfig())).toBe('envoy-poc-gateway');
    const cfg = mergeConfig(defaultConfig(), { egress: { namespace: 'egress', gatewayName: 'My_GW' } });
    expect(envoyName(cfg)).toBe('envoy-egress-my-gw');
  });

  it('parses --vllm-host forms', () => {
    expect(parseRemote('gpu.example.com')).toEqual({ host: 'gpu.example.com', port: 8000, scheme: 'http' });
    expect(parseRemote('http://10.0.0.5:9000/')).toEqual({ host: '10.0.0.5', port: 9000, scheme: 'http' });
    expect(parseRemote('https://vllm.example.com')).toEqual({ host: 'vllm.example.com', port: 8000, scheme: 'https' });
    expect(() => parseRemote('http://a/b/c')).toThrow();
  });
});
