// Patch semantics: server-side apply (field ownership per manager, conflicts, merge by list keys),
// JSON merge patch (RFC 7386, also used for strategic merge patch) and JSON patch (RFC 6902).
import { badRequest, ApiError } from './errors.js';
import type { Schema } from './registry.js';
import { schemaAt } from './schema-prune.js';
import { clone, deepEqual, isPlainObject } from './util.js';

/** One field path, e.g. ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image']. */
export type FieldPath = string[];

const META_SYSTEM = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
  'generateName',
]);

/** Which list keys an array uses; `undefined` = atomic list (owned and replaced as a whole). */
export function listKeys(field: string, items: unknown[], schema: Schema | undefined): string[] | undefined {
  if (schema) {
    const type = schema['x-kubernetes-list-type'];
    if (type === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys'])) {
      return schema['x-kubernetes-list-map-keys'] as string[];
    }
    if (type === 'atomic' || type === 'set') return undefined;
  }
  if (items.length === 0 || !items.every(isPlainObject)) return undefined;
  const objs = items as Record<string, unknown>[];
  const all = (k: string): boolean => objs.every((o) => o[k] !== undefined && typeof o[k] !== 'object');
  if (field === 'conditions' && all('type')) return ['type'];
  if (field === 'ownerReferences' && all('uid')) return ['uid'];
  if (all('name')) return ['name'];
  if (all('containerPort')) return ['containerPort'];
  if (all('port')) return ['port'];
  if (all('mountPath')) return ['mountPath'];
  return undefined;
}

function keySegment(item: Record<string, unknown>, keys: string[]): string {
  const o: Record<string, unknown> = {};
  for (const k of [...keys].sort()) o[k] = item[k];
  return `k:${JSON.stringify(o)}`;
}

export interface FieldSetOptions {
  schema?: Schema;
  /** `status` → only status fields; otherwise everything but status (when the type has a status subresource). */
  subresource?: string;
  hasStatus: boolean;
  /** Paths deeper than this are owned as a whole (keeps huge objects such as CRDs cheap). */
  maxDepth?: number;
}

/** Leaf paths of an object, minus the system-owned metadata and the part that belongs to the other endpoint. */
export function fieldSet(obj: Record<string, unknown>, opts: FieldSetOptions): Set<string> {
  const out = new Set<string>();
  const maxDepth = opts.maxDepth ?? Infinity;
  const walk = (v: unknown, path: FieldPath, schemaPath: string[], field: string): void => {
    if (path.length >= maxDepth) {
      out.add(JSON.stringify(path));
      return;
    }
    if (isPlainObject(v)) {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      if (entries.length === 0 && path.length) {
        out.add(JSON.stringify(path));
        return;
      }
      for (const [k, x] of entries) walk(x, [...path, `f:${k}`], [...schemaPath, k], k);
      return;
    }
    if (Array.isArray(v)) {
      const keys = listKeys(field, v, schemaAt(opts.schema, schemaPath));
      if (!keys) {
        out.add(JSON.stringify(path));
        return;
      }
      for (const item of v as Record<string, unknown>[]) {
        const p = [...path, keySegment(item, keys)];
        out.add(JSON.stringify(p));
        for (const [k, x] of Object.entries(item)) {
          if (x !== undefined) walk(x, [...p, `f:${k}`], [...schemaPath, '[]', k], k);
        }
      }
      return;
    }
    out.add(JSON.stringify(path));
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined) continue;
    const isStatus = k === 'status';
    if (opts.subresource === 'status' && !isStatus) continue;
    if (opts.subresource !== 'status' && isStatus && opts.hasStatus) continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (META_SYSTEM.has(mk) || mv === undefined) continue;
        walk(mv, ['f:metadata', `f:${mk}`], ['metadata', mk], mk);
      }
      continue;
    }
    walk(v, [`f:${k}`], [k], k);
  }
  return out;
}

function findItem(list: unknown[], seg: string): number {
  const want = JSON.parse(seg.slice(2)) as Record<string, unknown>;
  return list.findIndex(
    (it) => isPlainObject(it) && Object.entries(want).every(([k, v]) => deepEqual(it[k], v)),
  );
}

export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (seg.startsWith('f:')) {
      if (!isPlainObject(cur)) return undefined;
      cur = cur[seg.slice(2)];
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined;
      const i = findItem(cur, seg);
      cur = i < 0 ? undefined : cur[i];
    } else return undefined;
  }
  return cur;
}

export function deleteAt(obj: unknown, path: FieldPath): void {
  if (path.length === 0) return;
  const parent = valueAt(obj, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (last.startsWith('f:') && isPlainObject(parent)) delete parent[last.slice(2)];
  if (last.startsWith('k:') && Array.isArray(parent)) {
    const i = findItem(parent, last);
    if (i >= 0) parent.splice(i, 1);
  }
}

/** Merges an applied configuration into the live object: maps recurse, keyed lists merge by key, the rest replaces. */
export function mergeApply(base: unknown, cfg: unknown, schema: Schema | undefined, schemaPath: string[] = [], field = ''): unknown {
  if (isPlainObject(cfg) && isPlainObject(base)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(cfg)) {
      out[k] = mergeApply(base[k], v, schema, [...schemaPath, k], k);
    }
    return out;
  }
  if (Array.isArray(cfg) && Array.isArray(base)) {
    const keys = listKeys(field, cfg, schemaAt(schema, schemaPath));
    if (!keys) return clone(cfg);
    const out = base.slice();
    for (const item of cfg as Record<string, unknown>[]) {
      const i = findItem(out, keySegment(item, keys));
      if (i >= 0) out[i] = mergeApply(out[i], item, schema, [...schemaPath, '[]'], '');
      else out.push(clone(item));
    }
    return out;
  }
  return clone(cfg);
}

export function toFieldsV1(set: Set<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const members: Record<string, unknown>[] = [];
  for (const s of set) {
    let cur = root;
    for (const seg of JSON.parse(s) as FieldPath) {
      if (!isPlainObject(cur[seg])) cur[seg] = {};
      cur = cur[seg] as Record<string, unknown>;
    }
    members.push(cur);
  }
  // a path that is itself owned and also has owned children is marked with "." (as real managedFields do)
  for (const node of members) if (Object.keys(node).some((k) => k !== '.')) node['.'] = {};
  return root;
}

export function fromFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: FieldPath): void => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node).filter((k) => k !== '.');
    if (keys.length === 0 || '.' in node) {
      if (path.length) out.add(JSON.stringify(path));
    }
    for (const k of keys) walk(node[k], [...path, k]);
  };
  walk(fields, []);
  return out;
}

/** `.spec.replicas`, `.spec.template.spec.containers[name="app"].image`: how conflicts name a field. */
export function describePath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const o = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(o)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    }
  }
  return out;
}

// ---- JSON merge patch and JSON patch -----------------------------------------------------------

/** The merge keys strategic merge patch uses for the lists of built-in kinds (containers by name, …). */
const STRATEGIC_KEYS = ['name', 'containerPort', 'mountPath', 'ip', 'type'];

/**
 * A strategic merge patch as kube-apiserver applies it to built-in kinds, for what clients send: maps merge
 * like a JSON merge patch, and lists of objects merge item by item on their merge key (containers, env,
 * ports and volumes by `name`, container ports by `containerPort`, …) instead of being replaced.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    if (Array.isArray(v) && Array.isArray(cur) && v.every(isPlainObject) && cur.every(isPlainObject)) {
      const key = STRATEGIC_KEYS.find((c) => v.every((item) => (item as Record<string, unknown>)[c] !== undefined));
      if (key) {
        const merged = cur.map((x) => clone(x));
        for (const item of v as Record<string, unknown>[]) {
          const i = merged.findIndex((x) => deepEqual((x as Record<string, unknown>)[key], item[key]));
          if (i >= 0) merged[i] = strategicMergePatch(merged[i], item) as Record<string, unknown>;
          else merged.push(clone(item));
        }
        out[k] = merged;
        continue;
      }
    }
    out[k] = isPlainObject(v) ? strategicMergePatch(cur, v) : clone(v);
  }
  return out;
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw badRequest(`invalid JSON pointer "${p}"`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  let root = clone(doc);
  const parentOf = (segs: string[]): { parent: unknown; key: string } => {
    let cur: unknown = root;
    for (const s of segs.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(s)] : isPlainObject(cur) ? cur[s] : undefined;
      if (cur === undefined) throw new ApiError(422, 'Invalid', `doc is missing path: "/${segs.join('/')}"`);
    }
    return { parent: cur, key: segs[segs.length - 1] ?? '' };
  };
  const get = (segs: string[]): unknown => {
    let cur: unknown = root;
    for (const s of segs) cur = Array.isArray(cur) ? cur[Number(s)] : isPlainObject(cur) ? cur[s] : undefined;
    return cur;
  };
  const remove = (segs: string[]): unknown => {
    const { parent, key } = parentOf(segs);
    if (Array.isArray(parent)) return parent.splice(Number(key), 1)[0];
    if (isPlainObject(parent)) {
      if (!(key in parent)) throw new ApiError(422, 'Invalid', `doc is missing key: ${key}`);
      const v = parent[key];
      delete parent[key];
      return v;
    }
    return undefined;
  };
  const add = (segs: string[], value: unknown): void => {
    if (segs.length === 0) {
      root = value;
      return;
    }
    const { parent, key } = parentOf(segs);
    if (Array.isArray(parent)) {
      if (key === '-') parent.push(value);
      else parent.splice(Number(key), 0, value);
    } else if (isPlainObject(parent)) parent[key] = value;
  };
  for (const raw of ops as JsonPatchOp[]) {
    const segs = pointer(raw.path);
    switch (raw.op) {
      case 'add':
        add(segs, clone(raw.value));
        break;
      case 'remove':
        remove(segs);
        break;
      case 'replace':
        remove(segs);
        add(segs, clone(raw.value));
        break;
      case 'move':
        add(segs, remove(pointer(raw.from ?? '')));
        break;
      case 'copy':
        add(segs, clone(get(pointer(raw.from ?? ''))));
        break;
      case 'test':
        if (!deepEqual(get(segs), raw.value)) throw new ApiError(422, 'Invalid', `testing value ${raw.path} failed`);
        break;
      default:
        throw badRequest(`unknown json patch operation "${raw.op}"`);
    }
  }
  return root;
}
