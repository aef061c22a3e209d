/**
 * The subscription era as data: the providers it runs (public endpoints with TLS, the internal vLLM in
 * plain HTTP, `--provider` URLs), the steps as upstream's setup walks them with their waits, the
 * statuses its controllers would set (Ready, Pending for a missing ExternalModel, ModelIdentityUnique,
 * Active/Degraded/Failed), the gateway's reading (routes, maas-trlp limits), and the plugin ConfigMap.
 */
import { describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import { applyEraFaults } from '../../src/generations/subscription/faults.js';
import { demoBudget, subscriptionSteps } from '../../src/generations/subscription/plan.js';
import { eraProviders, k8sName, parseProviderUrl } from '../../src/generations/subscription/providers.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { readSubscriptionGateway, windowSeconds } from '../../src/model/subscription-gateway.js';
import { readSubscriptionTopology } from '../../src/model/subscription-read.js';
import { reconcileStatuses } from '../../src/model/subscription-status.js';

const cfg = defaultConfig();
const ctx = { gatewayHost: 'maas.example.test', gatewayName: 'maas-default-gateway', gatewayNamespace: 'openshift-ingress', now: new Date('2026-11-30T00:00:00Z') };
const demo = () => subscriptionSteps(cfg, eraProviders(cfg, { vllm: true }), { keys: 'reveal' }).flatMap((s) => s.objects);
const status = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!.status as { phase: string; endpoint?: string; conditions: { type: string; status: string; reason: string }[] };

describe('providers', () => {
  test('public providers get their endpoint with TLS; the vLLM an internal plain-HTTP endpoint; a --provider URL replaces the simulator', () => {
    const ps = eraProviders(cfg, { vllm: true });
    expect(ps.map((p) => [p.name, p.modelName, p.provider, `${p.tls ? 'https' : 'http'}://${p.endpoint}:${p.port}`, p.simulated])).toEqual([
      ['openai', 'gpt-4', 'openai', 'https://api.openai.com:443', true],
      ['anthropic', 'claude-3-sonnet', 'anthropic', 'https://api.anthropic.com:443', true],
      ['vllm', 'qwen-qwen3-0.6b', 'openai', 'http://vllm.internal.example.com:8000', true],
    ]);
    const real = eraProviders(cfg, { vllm: false, overrides: [{ name: 'openai', url: 'https://llm.corp.example:8443', caFile: '/ca.pem' }] });
    expect(real[0]).toMatchObject({ endpoint: 'llm.corp.example', port: 8443, tls: true, simulated: false, caFile: '/ca.pem' });
    expect(real.map((p) => p.name)).toEqual(['openai', 'anthropic']);
  });

  test('bad --provider values are usage errors', () => {
    expect(() => parseProviderUrl('openai', 'ftp://x')).toThrow(UserError);
    expect(() => parseProviderUrl('openai', 'https://api.openai.com/v1')).toThrow(/only the scheme, host and port/);
    expect(() => eraProviders(cfg, { vllm: false, overrides: [{ name: 'nope', url: 'https://x' }] })).toThrow(/no provider of that name/);
    expect(parseProviderUrl('vllm', 'http://10.0.0.5:8000')).toEqual({ endpoint: '10.0.0.5', port: 8000, tls: false });
    expect(k8sName('Qwen/Qwen3-0.6B')).toBe('qwen-qwen3-0.6b');
  });
});

describe('steps', () => {
  test("walk upstream's setup: credentials, external models (and the plugin ConfigMap), the catalog, access and limits, each with its waits", () => {
    const steps = subscriptionSteps(cfg, eraProviders(cfg, { vllm: true }), { keys: 'mask' });
    expect(steps.map((s) => [s.id, [...new Set(s.objects.map((o) => o.kind))]])).toEqual([
      ['s1', ['Secret']],
      ['s2', ['ExternalModel', 'ConfigMap']],
      ['s3', ['MaaSModelRef']],
      ['s4', ['MaaSAuthPolicy', 'MaaSSubscription']],
    ]);
    expect(steps.map((s) => s.waits.map((w) => `${w.kind}${'resource' in w ? ` ${w.resource}` : ''}${'name' in w ? ` ${w.name}` : ''}`))).toEqual([
      ['rollout payload-processing'],
      ['condition ExternalModel gpt-4', 'route-accepted maas-gpt-4', 'condition ExternalModel claude-3-sonnet', 'route-accepted maas-claude-3-sonnet', 'condition ExternalModel qwen-qwen3-0.6b', 'route-accepted maas-qwen-qwen3-0.6b'],
      ['condition MaaSModelRef gpt-4', 'condition MaaSModelRef claude-3-sonnet', 'condition MaaSModelRef qwen-qwen3-0.6b'],
      ['condition MaaSAuthPolicy demo-access', 'condition MaaSSubscription demo-subscription', 'condition MaaSSubscription demo-basic', 'policy-enforced AuthPolicy maas-gateway-auth', 'policy-enforced TokenRateLimitPolicy maas-trlp-gpt-4', 'policy-enforced TokenRateLimitPolicy maas-trlp-claude-3-sonnet', 'policy-enforced TokenRateLimitPolicy maas-trlp-qwen-qwen3-0.6b'],
    ]);
    // Keys masked for printing, as the Secret class masks them (so `up --from` knows the configured key).
    expect(JSON.stringify(steps)).not.toContain(cfg.providers[0]!.key.reveal());
    expect(steps[0]!.objects[0]!.stringData).toEqual({ 'api-key': cfg.providers[0]!.key.masked });
    const vllm = steps[1]!.objects.find((o) => o.metadata.name === 'qwen-qwen3-0.6b')!;
    expect(vllm.metadata.annotations).toEqual({ 'maas.opendatahub.io/tls': 'false', 'maas.opendatahub.io/port': '8000' });
  });

  test('the demo subscription takes the lowest tier\'s budget per model; the plugin ConfigMap turns response translation on', () => {
    expect(demoBudget(cfg)).toEqual({ limit: 100, window: '1m' });
    expect(demoBudget({ ...cfg, rateLimit: { ...cfg.rateLimit, windowSeconds: 7200 } })).toEqual({ limit: 100, window: '2h' });
    const t = readSubscriptionTopology(demo());
    expect(t.payloadProcessing.responseTranslation).toBe(true);
    expect(t.payloadProcessing.requestPlugins).toEqual(['maas-headers-guard', 'stream-usage-enforcer', 'model-provider-resolver', 'api-translation', 'apikey-injection']);
    const off = readSubscriptionTopology(applyEraFaults(demo(), ['response-translation-off', 'stream-usage-off'], cfg).objects);
    expect(off.payloadProcessing.responseTranslation).toBe(false);
    expect(off.payloadProcessing.requestPlugins).not.toContain('stream-usage-enforcer');
  });
});

describe('statuses, as the controllers set them', () => {
  test('healthy objects: ExternalModels and MaaSModelRefs Ready with an endpoint, subscriptions and the policy Active', () => {
    const o = reconcileStatuses(demo(), ctx);
    expect(status(o, 'MaaSModelRef', 'gpt-4')).toMatchObject({ phase: 'Ready', endpoint: 'https://maas.example.test/llm/gpt-4' });
    expect(status(o, 'MaaSSubscription', 'demo-subscription').phase).toBe('Active');
    expect(status(o, 'MaaSAuthPolicy', 'demo-access').phase).toBe('Active');
    expect(o.every((x) => x.metadata.creationTimestamp === '2026-11-30T00:00:00Z')).toBe(true);
  });

  test('a MaaSModelRef naming a missing ExternalModel stays Pending; its subscription turns Degraded', () => {
    const o = reconcileStatuses(applyEraFaults(demo(), ['modelref-broken'], cfg).objects, ctx);
    expect(status(o, 'MaaSModelRef', 'gpt-4')).toMatchObject({ phase: 'Pending' });
    expect(status(o, 'MaaSModelRef', 'gpt-4').conditions[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'BackendNotFound' });
    expect(status(o, 'MaaSSubscription', 'demo-subscription').phase).toBe('Degraded');
    expect(status(o, 'MaaSSubscription', 'demo-basic').phase).toBe('Failed');
  });

  test('two models claiming one name: the second fails ModelIdentityUnique', () => {
    const o = reconcileStatuses(applyEraFaults(demo(), ['model-name-collision'], cfg).objects, ctx);
    const s = status(o, 'MaaSModelRef', 'qwen-qwen3-0.6b');
    expect(s.phase).toBe('Failed');
    expect(s.conditions.find((c) => c.type === 'ModelIdentityUnique')).toMatchObject({ status: 'False' });
    expect(status(o, 'MaaSModelRef', 'gpt-4').phase).toBe('Ready');
  });

  test('an object that carries a status keeps it (a dump from a cluster)', () => {
    const objs = demo().map((x) => (x.kind === 'MaaSModelRef' && x.metadata.name === 'gpt-4' ? { ...x, status: { phase: 'Unhealthy' } } : x));
    expect(status(reconcileStatuses(objs, ctx), 'MaaSModelRef', 'gpt-4').phase).toBe('Unhealthy');
  });
});

describe("the gateway's reading", () => {
  test('one route per Ready ExternalModel (path and model names), one limit per subscription and model, keyed by selected_subscription_key', () => {
    const r = readSubscriptionGateway(reconcileStatuses(demo(), ctx));
    expect(r.routes.map((x) => [x.name, x.pathPrefix, x.modelNames, x.modelRefs, `${x.upstream.tls ? 'https' : 'http'}://${x.upstream.endpoint}:${x.upstream.port}`])).toEqual([
      ['maas-gpt-4', '/llm/gpt-4', ['gpt-4'], ['llm/gpt-4'], 'https://api.openai.com:443'],
      ['maas-claude-3-sonnet', '/llm/claude-3-sonnet', ['claude-3-sonnet'], ['llm/claude-3-sonnet'], 'https://api.anthropic.com:443'],
      ['maas-qwen-qwen3-0.6b', '/llm/qwen-qwen3-0.6b', ['Qwen/Qwen3-0.6B', 'qwen-qwen3-0.6b'], ['llm/qwen-qwen3-0.6b'], 'http://vllm.internal.example.com:8000'],
    ]);
    expect(r.limits.filter((l) => l.model === 'llm/gpt-4').map((l) => [l.policy, l.key, l.selectedKey, l.limit, l.windowSeconds])).toEqual([
      ['maas-trlp-gpt-4', 'models-as-a-service-demo-subscription-gpt-4-tokens', 'models-as-a-service/demo-subscription@llm/gpt-4', 100, 60],
      ['maas-trlp-gpt-4', 'models-as-a-service-demo-basic-gpt-4-tokens', 'models-as-a-service/demo-basic@llm/gpt-4', 100, 60],
    ]);
    expect([windowSeconds('1m'), windowSeconds('24h'), windowSeconds('0s'), windowSeconds('1d')]).toEqual([60, 86_400, undefined, undefined]);
  });
});
