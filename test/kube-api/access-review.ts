// Self-reviews of the caller's permissions: SelfSubjectAccessReview (one verb on one resource) and
// SelfSubjectRulesReview (everything the caller may do in one namespace). The test server's user is a cluster
// admin minus the fault switch's forbid rules. RBAC only grants, so a denial limited to some object names cannot
// be listed as rules: such a verb is left out and the review says `incomplete`, as reviews do on clusters whose
// authorizer cannot enumerate its decisions (webhooks); a client then asks a SelfSubjectAccessReview.
import type { Faults } from './faults.js';
import type { Registry, ResourceType } from './registry.js';
import type { KObj } from './util.js';

interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
}

function subresourceVerbs(sub: string): string[] {
  if (sub === 'log') return ['get'];
  if (sub === 'proxy') return ['create', 'delete', 'get', 'patch', 'update'];
  return ['get', 'patch', 'update'];
}

export function accessReview(faults: Faults, body: KObj | undefined): object {
  const ra = ((body?.['spec'] as Record<string, unknown> | undefined)?.['resourceAttributes'] ?? undefined) as Record<string, string> | undefined;
  const denied = ra
    ? faults.isForbidden(ra['verb'] ?? '', ra['group'] ?? '', ra['resource'] ?? '', ra['namespace'] || undefined, ra['name'] || undefined, ra['subresource'] || undefined)
    : false;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: body?.['spec'] ?? {},
    status: denied ? { allowed: false, reason: 'denied by the test server fault switch' } : { allowed: true, reason: 'test server allows everything not forbidden' },
  };
}

export function rulesReview(registry: Registry, faults: Faults, body: KObj | undefined): object {
  const spec = (body?.['spec'] ?? {}) as Record<string, unknown>;
  const namespace = typeof spec['namespace'] === 'string' && spec['namespace'] ? spec['namespace'] : undefined;
  const nonResourceRules = [{ verbs: ['*'], nonResourceURLs: ['*'] }];
  const status = (resourceRules: ResourceRule[], incomplete: boolean) => ({
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { ...(namespace ? { namespace } : {}) },
    status: {
      resourceRules,
      nonResourceRules,
      incomplete,
      ...(incomplete ? { evaluationError: 'denials limited to object names cannot be listed as rules; ask a SelfSubjectAccessReview for those' } : {}),
    },
  });
  if (!faults.hasForbids()) {
    return status([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], false);
  }
  let incomplete = false;
  const rules: ResourceRule[] = [];
  const consider = (t: ResourceType, resource: string, sub: string | undefined, verbs: string[]): void => {
    const ns = t.namespaced ? namespace : undefined;
    const allowed = verbs.filter((verb) => {
      const reach = faults.forbidCoverage(verb, t.group, t.plural, ns, sub, !t.namespaced);
      if (reach === 'some') incomplete = true;
      return reach === 'none';
    });
    if (allowed.length) rules.push({ verbs: allowed, apiGroups: [t.group], resources: [resource] });
  };
  for (const t of registry.all()) {
    consider(t, t.plural, undefined, t.verbs);
    for (const sub of t.subresources) consider(t, `${t.plural}/${sub}`, sub, subresourceVerbs(sub));
  }
  return status(rules, incomplete);
}
