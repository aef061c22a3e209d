/**
 * maas-api's subscription selection (what `/internal/v1/subscriptions/select`, API-key minting,
 * `/v1/subscriptions` and `/v1/models` decide), as pure functions of the programmed spec. The rules
 * are upstream's (maas-api internal/subscription/selector.go, internal/authpolicy/checker.go):
 * owner match by user or group; priority desc, then the largest token limit desc, then name;
 * an explicit subscription as `ns/name` or a bare name; the requested model as `ns/name`, the
 * MaaSModelRef name or its resolved alias; phase rules that differ for minting and for inference.
 */
import type { AuthPolicySpec, MaasApiKeysSpec, ModelRefSpec, SubscriptionSpec } from '../../model/subscription.js';

/** A model reference of a selection response; `namespace` is kept for matching but never serialised. */
export interface ModelRefInfo {
  name: string;
  namespace: string;
  model_name?: string;
  display_name?: string;
  description?: string;
  source?: 'internal' | 'external';
  token_rate_limits?: { limit: number; window: string }[];
  billing_rate?: { per_token: string };
}

/** The selection result (types.go SelectResponse); errors travel as {@link SelectionError}s. */
export interface Selected {
  name: string;
  namespace: string;
  displayName: string;
  description: string;
  priority: number;
  modelRefs: ModelRefInfo[];
  organizationId: string;
  costCenter: string;
  labels?: Record<string, string>;
  resolvedModel: string;
  accessAllowed: boolean;
  phase: string;
  ready: boolean;
  deletionTimestamp: string;
}

export type SelectionErrorKind =
  | 'no_subscription'
  | 'not_found'
  | 'access_denied'
  | 'multiple_subscriptions'
  | 'model_not_in_subscription'
  | 'model_unhealthy'
  | 'bad_request';

/** A selection failure with upstream's message; `phase` is set for `model_unhealthy`. */
export class SelectionError extends Error {
  constructor(
    readonly kind: SelectionErrorKind,
    message: string,
    readonly phase = '',
    readonly subscriptions: string[] = [],
  ) {
    super(message);
    this.name = 'SelectionError';
  }
}

const NO_SUBSCRIPTION = 'no matching subscription found for user';

function userHasAccess(sub: SubscriptionSpec, username: string, groups: string[]): boolean {
  if (sub.owner.users.includes(username)) return true;
  const trimmed = groups.map((g) => g.trim());
  return sub.owner.groups.some((g) => trimmed.includes(g));
}

function maxLimit(sub: SubscriptionSpec): number {
  return Math.max(0, ...sub.modelRefs.flatMap((r) => r.tokenRateLimits.map((l) => l.limit)));
}

/** Priority desc, then the largest token limit desc, then name asc (stable). */
export function byPriority(a: SubscriptionSpec, b: SubscriptionSpec): number {
  return b.priority - a.priority || maxLimit(b) - maxLimit(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The models MaaSAuthPolicies grant this caller, as `ns/name` keys. */
export function authorizedModels(policies: AuthPolicySpec[], groups: string[], username: string): Set<string> {
  const out = new Set<string>();
  const groupSet = new Set(groups.map((g) => g.trim()));
  for (const p of policies) {
    const byUser = username !== '' && p.subjects.users.some((u) => u.trim() === username.trim());
    const byGroup = p.subjects.groups.some((g) => groupSet.has(g.trim()));
    if (!byUser && !byGroup) continue;
    for (const ref of p.modelRefs) if (ref.name) out.add(`${ref.namespace}/${ref.name}`);
  }
  return out;
}

function enrich(sub: SubscriptionSpec, modelRefs: ModelRefSpec[]): ModelRefInfo[] {
  return sub.modelRefs.map((ref) => {
    const info: ModelRefInfo = { name: ref.name, namespace: ref.namespace };
    const mr = modelRefs.find((m) => m.namespace === ref.namespace && m.name === ref.name);
    if (mr) {
      if (mr.resolvedModelAlias) info.model_name = mr.resolvedModelAlias;
      if (mr.annotations['openshift.io/display-name']) info.display_name = mr.annotations['openshift.io/display-name'];
      if (mr.annotations['openshift.io/description']) info.description = mr.annotations['openshift.io/description'];
      info.source = mr.kind === 'ExternalModel' ? 'external' : 'internal';
    }
    if (ref.tokenRateLimits.length > 0) info.token_rate_limits = ref.tokenRateLimits.map((l) => ({ limit: l.limit, window: l.window }));
    if (ref.billingRate) info.billing_rate = { per_token: ref.billingRate.perToken };
    return info;
  });
}

function toSelected(sub: SubscriptionSpec, modelRefs: ModelRefSpec[], resolvedModel = ''): Selected {
  return {
    name: sub.name,
    namespace: sub.namespace,
    displayName: sub.displayName ?? '',
    description: sub.description ?? '',
    priority: sub.priority,
    modelRefs: enrich(sub, modelRefs),
    organizationId: sub.tokenMetadata?.organizationId ?? '',
    costCenter: sub.tokenMetadata?.costCenter ?? '',
    ...(sub.tokenMetadata?.labels ? { labels: sub.tokenMetadata.labels } : {}),
    resolvedModel,
    accessAllowed: false,
    phase: sub.phase,
    ready: sub.ready,
    deletionTimestamp: sub.deletionTimestamp ?? '',
  };
}

/** `ns/name`, the MaaSModelRef name, or its resolved alias → the subscription's model reference. */
function findModelRef(refs: ModelRefInfo[], requested: string): ModelRefInfo | undefined {
  const slash = requested.indexOf('/');
  if (slash > 0) {
    const ns = requested.slice(0, slash);
    const name = requested.slice(slash + 1);
    const exact = refs.find((r) => r.namespace === ns && r.name === name);
    if (exact) return exact;
  }
  return refs.find((r) => (r.model_name !== undefined && r.model_name === requested) || r.name === requested);
}

/** A body-routed model identity (an alias) mapped back to the MaaSModelRef's `ns/name`. */
function resolveAlias(modelRefs: ModelRefSpec[], requested: string): string {
  if (!requested) return requested;
  const m = modelRefs.find((r) => r.resolvedModelAlias !== undefined && r.resolvedModelAlias === requested);
  return m ? `${m.namespace}/${m.name}` : requested;
}

/**
 * Phase rules: minting (no model) accepts Active, Degraded and Pending but not Failed or an
 * unreconciled subscription; inference accepts Active and Degraded only, and a Degraded one only
 * when the model's TokenRateLimitPolicy is ready.
 */
function checkHealth(sub: SubscriptionSpec, refs: ModelRefInfo[], requestedModel: string): void {
  if (!requestedModel) {
    if (sub.phase === '') throw new SelectionError('model_unhealthy', 'subscription is unreconciled (no status.phase set)', sub.phase);
    if (sub.phase === 'Failed') throw new SelectionError('model_unhealthy', 'subscription is in Failed phase (cannot create API keys)', sub.phase);
    return;
  }
  if (sub.phase !== 'Active' && sub.phase !== 'Degraded') {
    throw new SelectionError('model_unhealthy', `subscription is in ${sub.phase || 'unreconciled'} phase (allowed: Active, Degraded)`, sub.phase);
  }
  if (sub.phase !== 'Degraded') return;
  const ref = findModelRef(refs, requestedModel);
  if (!ref) throw new SelectionError('model_unhealthy', 'requested model does not match any model in the subscription', sub.phase);
  const limits = sub.modelRefs.find((r) => r.name === ref.name && r.namespace === ref.namespace)?.tokenRateLimits ?? [];
  if (limits.length === 0) return;
  const trlp = sub.tokenRateLimitStatuses.find((s) => s.model === ref.name);
  if (!trlp || !trlp.ready) throw new SelectionError('model_unhealthy', 'subscription rate limiting policies are not ready', sub.phase);
}

function accessAllowed(spec: MaasApiKeysSpec, groups: string[], username: string, refs: ModelRefInfo[], requestedModel: string): boolean {
  if (!requestedModel) return true;
  const ref = findModelRef(refs, requestedModel);
  if (!ref) return false;
  return authorizedModels(spec.authPolicies, groups, username).has(`${ref.namespace}/${ref.name}`);
}

/**
 * The subscription for a request: the requested one (checked for access, model and health), or the
 * only accessible one that includes the model; several → `multiple_subscriptions`.
 */
export function select(spec: MaasApiKeysSpec, groups: string[], username: string, requestedSubscription: string, requestedModelIn: string): Selected {
  if (groups.length === 0 && username === '') throw new SelectionError('bad_request', 'either groups or username must be provided');
  const requestedModel = resolveAlias(spec.modelRefs, requestedModelIn);
  const subs = [...spec.subscriptions].sort(byPriority);
  if (subs.length === 0) throw new SelectionError('no_subscription', NO_SUBSCRIPTION);

  const pick = (sub: SubscriptionSpec): Selected => {
    if (!userHasAccess(sub, username, groups)) throw new SelectionError('access_denied', 'access denied to requested subscription');
    const selected = toSelected(sub, spec.modelRefs, requestedModel);
    if (requestedModel && !findModelRef(selected.modelRefs, requestedModel)) {
      throw new SelectionError('model_not_in_subscription', `subscription ${requestedSubscription} does not include model ${requestedModel}`);
    }
    checkHealth(sub, selected.modelRefs, requestedModel);
    selected.accessAllowed = accessAllowed(spec, groups, username, selected.modelRefs, requestedModel);
    return selected;
  };

  if (requestedSubscription) {
    const qualified = subs.find((s) => `${s.namespace}/${s.name}` === requestedSubscription);
    if (qualified) return pick(qualified);
    if (!requestedSubscription.includes('/')) {
      const bare = subs.find((s) => s.name === requestedSubscription);
      if (bare) return pick(bare);
    }
    throw new SelectionError('not_found', 'requested subscription not found');
  }

  const accessible = subs.filter((s) => userHasAccess(s, username, groups)).filter((s) => !requestedModel || findModelRef(enrich(s, spec.modelRefs), requestedModel));
  if (accessible.length === 0) throw new SelectionError('no_subscription', NO_SUBSCRIPTION);
  if (accessible.length > 1) {
    throw new SelectionError(
      'multiple_subscriptions',
      'user has access to multiple subscriptions, must specify subscription using X-MaaS-Subscription header',
      '',
      accessible.map((s) => s.name),
    );
  }
  const only = accessible[0]!;
  const selected = toSelected(only, spec.modelRefs, requestedModel);
  checkHealth(only, selected.modelRefs, requestedModel);
  selected.accessAllowed = accessAllowed(spec, groups, username, selected.modelRefs, requestedModel);
  return selected;
}

/** The subscription a new key is bound to when none is named: the caller's highest-priority one. */
export function selectHighestPriority(spec: MaasApiKeysSpec, groups: string[], username: string): Selected {
  if (groups.length === 0 && username === '') throw new SelectionError('bad_request', 'either groups or username must be provided');
  const accessible = spec.subscriptions.filter((s) => userHasAccess(s, username, groups)).sort(byPriority);
  if (accessible.length === 0) throw new SelectionError('no_subscription', NO_SUBSCRIPTION);
  return toSelected(accessible[0]!, spec.modelRefs);
}

/**
 * Every subscription the caller owns that is Active or Degraded and not being deleted, each cut down
 * to the models a MaaSAuthPolicy grants the caller (a subscription left with none is dropped); by name.
 */
export function allAccessible(spec: MaasApiKeysSpec, groups: string[], username: string): Selected[] {
  const granted = authorizedModels(spec.authPolicies, groups, username);
  return spec.subscriptions
    .filter((s) => userHasAccess(s, username, groups) && (s.phase === 'Active' || s.phase === 'Degraded') && !s.deletionTimestamp)
    .map((s) => {
      const sel = toSelected(s, spec.modelRefs);
      sel.modelRefs = sel.modelRefs.filter((r) => granted.has(`${r.namespace}/${r.name}`));
      return sel;
    })
    .filter((s) => s.modelRefs.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The caller's subscriptions that include a MaaSModelRef of this name which a MaaSAuthPolicy grants
 * them (`/v1/model/:model-id/subscriptions`), with all their model references, by name.
 */
export function accessibleForModel(spec: MaasApiKeysSpec, groups: string[], username: string, modelId: string): Selected[] {
  const granted = authorizedModels(spec.authPolicies, groups, username);
  return spec.subscriptions
    .filter((s) => userHasAccess(s, username, groups))
    .filter((s) => s.modelRefs.some((r) => r.name === modelId && granted.has(`${r.namespace}/${modelId}`)))
    .map((s) => toSelected(s, spec.modelRefs))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `SelectResponse` as maas-api serialises it (Go omitempty rules: zero values dropped, except the flags). */
export function selectResponseJson(sel: Partial<Selected> & { error?: string; message?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (v === undefined || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)) return;
    out[k] = v;
  };
  put('name', sel.name);
  put('namespace', sel.namespace);
  put('displayName', sel.displayName);
  put('description', sel.description);
  put('priority', sel.priority);
  put('modelRefs', sel.modelRefs?.map(modelRefJson));
  put('organizationId', sel.organizationId);
  put('costCenter', sel.costCenter);
  put('labels', sel.labels);
  put('resolvedModel', sel.resolvedModel);
  out.accessAllowed = sel.accessAllowed ?? false;
  out.phase = sel.phase ?? '';
  out.ready = sel.ready ?? false;
  put('deletionTimestamp', sel.deletionTimestamp);
  put('error', sel.error);
  put('message', sel.message);
  return out;
}

/** A ModelRefInfo without its namespace (`json:"-"` upstream). */
export function modelRefJson(r: ModelRefInfo): Record<string, unknown> {
  const { namespace: _ns, ...rest } = r;
  return rest;
}

/** `/v1/subscriptions` items (SubscriptionInfo): `subscription_description` and `model_refs` always present. */
export function subscriptionInfoJson(sel: Selected): Record<string, unknown> {
  return {
    subscription_id_header: sel.name,
    subscription_description: sel.description,
    ...(sel.displayName ? { display_name: sel.displayName } : {}),
    priority: sel.priority,
    model_refs: sel.modelRefs.map(modelRefJson),
    ...(sel.organizationId ? { organization_id: sel.organizationId } : {}),
    ...(sel.costCenter ? { cost_center: sel.costCenter } : {}),
    ...(sel.labels && Object.keys(sel.labels).length > 0 ? { labels: sel.labels } : {}),
  };
}

/** The `/v1/models` entry of a MaaSModelRef (models/maasmodelref.go), or undefined for an unknown kind. */
export function modelEntry(m: ModelRefSpec): Record<string, unknown> {
  const id = m.kind === 'ExternalModel' ? m.target || m.name : m.resolvedModelAlias || m.name;
  const details: Record<string, unknown> = {};
  const a = m.annotations;
  if (a['openshift.io/display-name']) details.displayName = a['openshift.io/display-name'];
  if (a['openshift.io/description']) details.description = a['openshift.io/description'];
  if (a['opendatahub.io/genai-use-case']) details.genaiUseCase = a['opendatahub.io/genai-use-case'];
  if (a['opendatahub.io/context-window']) details.contextWindow = a['opendatahub.io/context-window'];
  try {
    const caps = JSON.parse(a['opendatahub.io/model-capabilities'] ?? 'null') as unknown;
    if (Array.isArray(caps) && caps.length > 0) details.modelCapabilities = caps;
  } catch {
    /* ignored, as upstream does */
  }
  const url = m.httpRouteHostnames && m.httpRouteHostnames.length > 0 ? `https://${m.httpRouteHostnames[0]}` : m.endpoint || undefined;
  return {
    id,
    created: m.created,
    object: 'model',
    owned_by: `${m.namespace}/${m.name}`,
    kind: m.kind,
    ...(url ? { url } : {}),
    ready: m.phase === 'Ready',
    ...(Object.keys(details).length > 0 ? { modelDetails: details } : {}),
  };
}
