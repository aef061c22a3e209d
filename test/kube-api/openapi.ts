// The smallest OpenAPI v3 documents kubectl needs: per group-version, one path per resource whose PATCH operation
// names its kind and lists `fieldValidation` among its own parameters, so kubectl leaves validation to the server (which prunes
// and, when Strict, refuses unknown fields of custom resources) instead of downloading full schemas.
import { createHash } from 'node:crypto';
import type { Registry, ResourceType } from './registry.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openApiV3Root(registry: Registry): object {
  const gvs = new Map<string, ResourceType[]>();
  for (const t of registry.all()) {
    for (const v of t.versions) {
      const key = gvPath(t.group, v);
      gvs.set(key, [...(gvs.get(key) ?? []), t]);
    }
  }
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, types] of gvs) {
    const hash = createHash('sha256')
      .update(JSON.stringify(types.map((t) => [t.plural, t.kind, t.namespaced, t.versions])))
      .digest('hex')
      .slice(0, 32)
      .toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

export function openApiV3Doc(registry: Registry, group: string, version: string): object | undefined {
  const types = registry.all().filter((t) => t.group === group && t.versions.includes(version));
  if (!types.length) return undefined;
  const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
    name,
    in: 'query',
    schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
  }));
  const paths: Record<string, object> = {};
  for (const t of types) {
    const gvk = { group, version, kind: t.kind };
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}/{name}`;
    paths[base] = {
      parameters: [
        { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
        ...(t.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
      ],
      patch: {
        operationId: `patch${t.kind}`,
        parameters: queryParams,
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
      get: {
        operationId: `read${t.kind}`,
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.4' },
    paths,
    components: { schemas: {} },
  };
}
