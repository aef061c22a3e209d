// Structural-schema pruning and defaulting, the way an API server treats writes of custom resources:
// unknown fields are dropped (and reported, so Strict validation can refuse them) and `default`s are filled in.
import type { Schema } from './registry.js';
import { clone, isPlainObject } from './util.js';

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

export interface PruneResult {
  value: unknown;
  /** Paths of dropped fields, e.g. `spec.rules.headers` or `spec.listeners[0].foo`. */
  unknown: string[];
}

/** Prunes a whole custom resource; apiVersion, kind and metadata are always kept (metadata limited to ObjectMeta). */
export function pruneObject(obj: Record<string, unknown>, schema: Schema | undefined): PruneResult {
  const unknown: string[] = [];
  if (!schema) return { value: obj, unknown };
  const out = pruneValue(obj, schema, '', unknown, true) as Record<string, unknown>;
  return { value: out, unknown };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function pruneMeta(meta: unknown, path: string, unknown: string[]): unknown {
  if (!isPlainObject(meta)) return meta;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (OBJECT_META_FIELDS.has(k)) out[k] = v;
    else unknown.push(join(path, k));
  }
  return out;
}

function pruneValue(value: unknown, schema: Schema, path: string, unknown: string[], root = false): unknown {
  if (schema['x-kubernetes-int-or-string'] === true) return value;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (!isPlainObject(items)) return value;
    return value.map((v, i) => pruneValue(v, items, `${path}[${i}]`, unknown));
  }
  if (!isPlainObject(value)) return value;

  const props = isPlainObject(schema['properties']) ? (schema['properties'] as Record<string, Schema>) : undefined;
  const addl = schema['additionalProperties'];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = join(path, k);
    if ((root || embedded) && (k === 'apiVersion' || k === 'kind')) {
      out[k] = v;
    } else if ((root || embedded) && k === 'metadata') {
      out[k] = pruneMeta(v, p, unknown);
    } else if (props && k in props) {
      out[k] = pruneValue(v, props[k]!, p, unknown);
    } else if (isPlainObject(addl)) {
      out[k] = pruneValue(v, addl, p, unknown);
    } else if (addl === true || preserve) {
      out[k] = v;
    } else {
      unknown.push(p);
    }
  }
  if (props) {
    for (const [k, s] of Object.entries(props)) {
      if (out[k] === undefined && s['default'] !== undefined) {
        out[k] = pruneValue(clone(s['default']), s, join(path, k), []);
      }
    }
  }
  return out;
}

/**
 * Finds the sub-schema for a JSON path of segments (`spec`, `rules`, …; array items are traversed with `[]`).
 * Used to tell associative lists (x-kubernetes-list-type: map) from atomic ones.
 */
export function schemaAt(schema: Schema | undefined, segments: string[]): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const seg of segments) {
    if (!cur) return undefined;
    if (seg === '[]') {
      cur = isPlainObject(cur['items']) ? (cur['items'] as Schema) : undefined;
      continue;
    }
    const props = isPlainObject(cur['properties']) ? (cur['properties'] as Record<string, Schema>) : undefined;
    if (props && seg in props) cur = props[seg];
    else if (isPlainObject(cur['additionalProperties'])) cur = cur['additionalProperties'] as Schema;
    else return undefined;
  }
  return cur;
}
