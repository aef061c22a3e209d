// Which resource types the fake server knows: the built-ins a demo touches plus every Established CRD.
// Discovery documents (/api, /apis, group-version resource lists) are rendered from this table.
import type { KObj } from './util.js';
import { isPlainObject } from './util.js';

export type Schema = Record<string, unknown>;

export interface ResourceType {
  group: string;
  /** Versions served, first = preferred. */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Subresources beyond the main resource: `status`, `log`, `scale`. */
  subresources: string[];
  /** Set for CRD-backed types: the CRD's name and one structural schema per served version. */
  crd?: string;
  schemas?: Record<string, Schema | undefined>;
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    versions: [version],
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    verbs: RW,
    subresources: [],
    ...extra,
  };
}

export function builtinTypes(): ResourceType[] {
  return [
    builtin('', 'v1', 'namespaces', 'Namespace', false, {
      shortNames: ['ns'],
      subresources: ['status'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    }),
    builtin('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], subresources: ['status', 'log'], categories: ['all'] }),
    builtin('', 'v1', 'services', 'Service', true, {
      shortNames: ['svc'],
      subresources: ['status', 'proxy'],
      categories: ['all'],
    }),
    builtin('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
    builtin('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
    builtin('', 'v1', 'secrets', 'Secret', true),
    builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
    builtin('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
    builtin('apps', 'v1', 'deployments', 'Deployment', true, {
      shortNames: ['deploy'],
      subresources: ['status', 'scale'],
      categories: ['all'],
    }),
    builtin('apps', 'v1', 'replicasets', 'ReplicaSet', true, {
      shortNames: ['rs'],
      subresources: ['status', 'scale'],
      categories: ['all'],
    }),
    builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
      shortNames: ['crd', 'crds'],
      subresources: ['status'],
    }),
    builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
    builtin('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
    builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
    builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
    builtin('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, {
      verbs: ['create'],
    }),
    builtin('authorization.k8s.io', 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', false, {
      verbs: ['create'],
    }),
    builtin('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview', false, {
      verbs: ['create'],
    }),
    builtin('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  ];
}

/** Reads group, names, scope and served versions (with schemas) from a CustomResourceDefinition. */
export function typeFromCrd(crd: KObj): ResourceType {
  const spec = (crd['spec'] ?? {}) as Record<string, unknown>;
  const names = (spec['names'] ?? {}) as Record<string, unknown>;
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Record<string, unknown>[]) : [];
  const served = versions.filter((v) => v['served'] !== false);
  const storage = served.find((v) => v['storage'] === true);
  const ordered = storage ? [storage, ...served.filter((v) => v !== storage)] : served;
  const schemas: Record<string, Schema | undefined> = {};
  let hasStatus = false;
  let hasScale = false;
  for (const v of ordered) {
    const schema = isPlainObject(v['schema']) ? (v['schema'] as Record<string, unknown>)['openAPIV3Schema'] : undefined;
    schemas[String(v['name'])] = isPlainObject(schema) ? schema : undefined;
    const sub = isPlainObject(v['subresources']) ? v['subresources'] : {};
    if ('status' in sub) hasStatus = true;
    if ('scale' in sub) hasScale = true;
  }
  const kind = String(names['kind'] ?? '');
  return {
    group: String(spec['group'] ?? ''),
    versions: ordered.map((v) => String(v['name'])),
    plural: String(names['plural'] ?? ''),
    singular: String(names['singular'] ?? kind.toLowerCase()),
    kind,
    namespaced: spec['scope'] !== 'Cluster',
    verbs: RW,
    shortNames: Array.isArray(names['shortNames']) ? (names['shortNames'] as string[]) : undefined,
    categories: Array.isArray(names['categories']) ? (names['categories'] as string[]) : undefined,
    subresources: [...(hasStatus ? ['status'] : []), ...(hasScale ? ['scale'] : [])],
    crd: crd.metadata.name,
    schemas,
  };
}

export function typeKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

export class Registry {
  private readonly types = new Map<string, ResourceType>();

  constructor() {
    for (const t of builtinTypes()) this.add(t);
  }

  add(t: ResourceType): void {
    this.types.set(typeKey(t.group, t.plural), t);
  }

  remove(group: string, plural: string): void {
    this.types.delete(typeKey(group, plural));
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(typeKey(group, plural));
    return t && t.versions.includes(version) ? t : undefined;
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }

  groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.all()) {
      if (!t.group) continue;
      const vs = out.get(t.group) ?? [];
      for (const v of t.versions) if (!vs.includes(v)) vs.push(v);
      out.set(t.group, vs);
    }
    return out;
  }

  // ---- discovery documents ------------------------------------------------------------------

  apiVersions(): object {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
    };
  }

  apiGroupList(): object {
    const groups = [...this.groupVersions()].map(([name, versions]) => {
      const vs = sortVersions(versions).map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      return { name, versions: vs, preferredVersion: vs[0] };
    });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }

  apiGroup(group: string): object | undefined {
    const versions = this.groupVersions().get(group);
    if (!versions) return undefined;
    const vs = sortVersions(versions).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: vs, preferredVersion: vs[0] };
  }

  resourceList(group: string, version: string): object | undefined {
    const types = this.all().filter((t) => t.group === group && t.versions.includes(version));
    if (types.length === 0) return undefined;
    const resources: object[] = [];
    for (const t of types) {
      resources.push({
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: t.verbs,
        ...(t.shortNames ? { shortNames: t.shortNames } : {}),
        ...(t.categories ? { categories: t.categories } : {}),
      });
      for (const sub of t.subresources) {
        const verbs = sub === 'log' ? ['get'] : sub === 'proxy' ? ['create', 'delete', 'get', 'patch', 'update'] : ['get', 'patch', 'update'];
        const kind = sub === 'scale' ? 'Scale' : sub === 'proxy' ? `${t.kind}ProxyOptions` : t.kind;
        resources.push({ name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced, kind, verbs });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }
}

/** Orders versions the way Kubernetes prefers them: GA before beta before alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stage = m[2] === 'alpha' ? 2 : m[2] === 'beta' ? 1 : 0;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return versions.slice().sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.localeCompare(b);
  });
}
