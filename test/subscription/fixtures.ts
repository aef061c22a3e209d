/** A small subscription-era world for the maas-api and payload-processing tests. */
import type { MaasApiKeysSpec, ModelRefSpec, SubscriptionSpec } from '../../src/model/subscription.js';
import { defaultMaasApiKeysSpec } from '../../src/model/subscription.js';

export const NS = 'models-as-a-service';

function modelRef(name: string, kind: ModelRefSpec['kind'], phase = 'Ready', extra: Partial<ModelRefSpec> = {}): ModelRefSpec {
  return {
    name,
    namespace: 'llm',
    kind,
    target: name,
    annotations: {},
    created: 1_767_225_600,
    phase,
    endpoint: phase === 'Ready' ? `https://maas.example.test/llm/${name}` : '',
    httpRouteName: `maas-${name}`,
    httpRouteNamespace: 'llm',
    ...extra,
  };
}

function sub(name: string, extra: Partial<SubscriptionSpec>): SubscriptionSpec {
  return {
    name,
    namespace: NS,
    owner: { groups: [], users: [] },
    priority: 0,
    modelRefs: [],
    phase: 'Active',
    ready: true,
    tokenRateLimitStatuses: [],
    ...extra,
  };
}

const limits = (limit: number) => [{ limit, window: '1m' }];

/**
 * demo-subscription: everyone authenticated, gpt-4o + claude-sonnet, priority 10.
 * premium: user bob only, gpt-4o, priority 20 (bob's default).
 * team-b: group team-b, onprem-granite only (a key bound here sees one model).
 * broken: group failers, phase Failed.
 */
export function worldSpec(): MaasApiKeysSpec {
  return {
    ...defaultMaasApiKeysSpec(),
    lastUsedDebounceSeconds: 0,
    admins: { users: ['admin'], groups: ['maas-admins'] },
    modelRefs: [
      modelRef('gpt-4o', 'ExternalModel', 'Ready', { annotations: { 'openshift.io/display-name': 'GPT-4o' } }),
      modelRef('claude-sonnet', 'ExternalModel'),
      modelRef('onprem-granite', 'LLMInferenceService', 'Ready', { resolvedModelAlias: 'publishers/llm/models/granite' }),
      modelRef('not-ready', 'ExternalModel', 'Pending'),
    ],
    subscriptions: [
      sub('demo-subscription', {
        displayName: 'Demo',
        description: 'The demo subscription',
        owner: { groups: ['system:authenticated'], users: [] },
        priority: 10,
        modelRefs: [
          { name: 'gpt-4o', namespace: 'llm', tokenRateLimits: limits(1000) },
          { name: 'claude-sonnet', namespace: 'llm', tokenRateLimits: limits(1000) },
          { name: 'not-ready', namespace: 'llm', tokenRateLimits: limits(1000) },
        ],
        tokenMetadata: { organizationId: 'demo-org', costCenter: 'cc-1' },
      }),
      sub('premium', { owner: { groups: [], users: ['bob'] }, priority: 20, modelRefs: [{ name: 'gpt-4o', namespace: 'llm', tokenRateLimits: limits(5000) }] }),
      sub('team-b', { owner: { groups: ['team-b'], users: [] }, priority: 5, modelRefs: [{ name: 'onprem-granite', namespace: 'llm', tokenRateLimits: limits(100) }] }),
      sub('broken', { owner: { groups: ['failers'], users: [] }, phase: 'Failed', ready: false, modelRefs: [{ name: 'gpt-4o', namespace: 'llm', tokenRateLimits: limits(1) }] }),
    ],
    authPolicies: [
      { name: 'demo-access', namespace: NS, modelRefs: [{ name: 'gpt-4o', namespace: 'llm' }, { name: 'claude-sonnet', namespace: 'llm' }, { name: 'not-ready', namespace: 'llm' }], subjects: { groups: ['system:authenticated'], users: [] }, phase: 'Active' },
      { name: 'team-b-access', namespace: NS, modelRefs: [{ name: 'onprem-granite', namespace: 'llm' }], subjects: { groups: ['team-b'], users: [] }, phase: 'Active' },
    ],
  };
}

/** The identity headers the gateway injects for a user. */
export function as(username: string, groups: string[] = ['system:authenticated']): Record<string, string> {
  return { 'x-maas-username': username, 'x-maas-group': JSON.stringify(groups) };
}
