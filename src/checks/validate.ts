/**
 * The ten validation calls of the seed demo, as data: what to send, what to expect (a named
 * expectation), which hops the request should pass, and what it needs. One generic runner
 * (run-validate.ts) executes them and attributes a mismatch to the first hop that differs.
 */
import type { DemoConfig, ProviderConfig } from '../core/config.js';
import { onpremPrefix } from '../core/config.js';

export type CallId = '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '10';

export interface RequestSpec {
  /** Which base URL: the MaaS gateway, or the vLLM server directly (call 9). */
  base: 'gateway' | 'vllm-direct';
  method: 'GET' | 'POST';
  path: string;
  /** Which credential: the cluster user's token, the minted MaaS token, none, or a bogus key. */
  auth: 'cluster' | 'maas' | 'none' | 'bogus';
  body?: unknown;
  /** Provider the request is meant for (who should answer). */
  provider?: string;
  /** Route kind: through the egress hop, to the on-prem model, or to maas-api. */
  route: 'bridge' | 'onprem' | 'maas-api' | 'direct';
}

/** Named expectations (cilium's Results, as table rows). */
export type Expectation =
  | { name: 'GATEWAY_REACHABLE' }
  | { name: 'TOKEN_MINTED'; status: 201 }
  | { name: 'MODELS_LISTED'; ids: string[] }
  | { name: 'COMPLETION'; model: string; provider?: string }
  | { name: 'UNAUTHORIZED_EVERYWHERE'; count: number }
  | { name: 'PROVIDER_REJECTS_KEY' }
  | { name: 'RATE_LIMITED_AFTER'; max: number };

export interface CallDef {
  id: CallId;
  slug: string;
  title: string;
  /** What the seed's table says, in our words. */
  expected: string;
  expect: Expectation;
  requests: RequestSpec[];
  /** Why the call cannot run, when a prerequisite is absent. */
  needs?: 'vllm' | 'vllm-direct';
  hint: string;
}

const chat = (model: string, content: string, maxTokens: number) => ({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens });

function providerCall(id: CallId, p: ProviderConfig | undefined, name: string, content: string, maxTokens: number): CallDef {
  const model = p?.model ?? name;
  return {
    id,
    slug: `chat-${name}`,
    title: `${name} chat through both gateways`,
    expected: `200, completion from ${model}`,
    expect: { name: 'COMPLETION', model, provider: name },
    requests: [{ base: 'gateway', method: 'POST', path: `/external/${name}/v1/chat/completions`, auth: 'maas', body: chat(model, content, maxTokens), provider: name, route: 'bridge' }],
    ...(p?.optional ? { needs: 'vllm' as const } : {}),
    hint: 'README.md#validate-failures',
  };
}

export function validationCalls(cfg: DemoConfig, providers: ProviderConfig[]): CallDef[] {
  const by = (n: string) => cfg.providers.find((p) => p.name === n);
  const vllm = by('vllm');
  const openai = by('openai');
  return [
    {
      id: '1',
      slug: 'endpoint',
      title: 'gateway endpoint discovered and TLS verified',
      expected: 'the MaaS gateway answers over verified TLS',
      expect: { name: 'GATEWAY_REACHABLE' },
      requests: [{ base: 'gateway', method: 'GET', path: '/', auth: 'none', route: 'maas-api' }],
      hint: 'README.md#validate-failures',
    },
    {
      id: '2',
      slug: 'token',
      title: 'mint a 10-minute MaaS token',
      expected: '201 with a token for a tier service account',
      expect: { name: 'TOKEN_MINTED', status: 201 },
      requests: [{ base: 'gateway', method: 'POST', path: '/maas-api/v1/tokens', auth: 'cluster', body: { expiration: '10m' }, route: 'maas-api' }],
      hint: 'README.md#validate-failures',
    },
    {
      id: '3',
      slug: 'models',
      title: 'unified model list (on-prem and external)',
      expected: `${[cfg.onprem.model, ...providers.map((p) => p.model)].join(' + ')}`,
      expect: { name: 'MODELS_LISTED', ids: [cfg.onprem.model, ...providers.map((p) => p.model)] },
      requests: [{ base: 'gateway', method: 'GET', path: '/v1/models', auth: 'maas', route: 'maas-api' }],
      hint: 'README.md#validate-failures',
    },
    providerCall('4', openai, 'openai', 'Hello from OpenAI', 10),
    providerCall('5', by('anthropic'), 'anthropic', 'Hello from Claude', 10),
    providerCall('6', vllm, 'vllm', 'Say hi in one sentence.', 20),
    {
      id: '7',
      slug: 'chat-onprem',
      title: 'on-prem model chat (no egress hop)',
      expected: `200, completion from ${cfg.onprem.model}`,
      expect: { name: 'COMPLETION', model: cfg.onprem.model },
      requests: [{ base: 'gateway', method: 'POST', path: `${onpremPrefix(cfg)}/v1/chat/completions`, auth: 'maas', body: chat(cfg.onprem.model, 'Hello from on-prem', 10), route: 'onprem' }],
      hint: 'README.md#validate-failures',
    },
    {
      id: '8',
      slug: 'no-auth',
      title: 'no token → 401 on every provider',
      expected: providers.map(() => '401').join(', '),
      expect: { name: 'UNAUTHORIZED_EVERYWHERE', count: providers.length },
      requests: providers.map((p) => ({ base: 'gateway' as const, method: 'GET' as const, path: `/external/${p.name}/v1/models`, auth: 'none' as const, provider: p.name, route: 'bridge' as const })),
      hint: 'README.md#validate-failures',
    },
    {
      id: '9',
      slug: 'vllm-wrong-key',
      title: 'wrong key straight to vLLM → 401',
      expected: '401, {"error":"…"}',
      expect: { name: 'PROVIDER_REJECTS_KEY' },
      requests: [{ base: 'vllm-direct', method: 'POST', path: '/v1/chat/completions', auth: 'bogus', body: chat(vllm?.model ?? 'Qwen/Qwen3-0.6B', 'Hello', 10), provider: 'vllm', route: 'direct' }],
      needs: 'vllm-direct',
      hint: 'README.md#validate-failures',
    },
    {
      id: '10',
      slug: 'rate-limit',
      title: 'token rate limit: 200s then 429s',
      expected: '200s then 429s (at most 16 requests)',
      expect: { name: 'RATE_LIMITED_AFTER', max: 16 },
      requests: [{ base: 'gateway', method: 'POST', path: '/external/openai/v1/chat/completions', auth: 'maas', body: chat(openai?.model ?? 'gpt-4', 'Hello', 10), provider: 'openai', route: 'bridge' }],
      hint: 'README.md#validate-failures',
    },
  ];
}

export const CALL_IDS: readonly CallId[] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];
