// The fake API server's state: objects per resource type, a global resourceVersion counter, field ownership
// (managedFields), pruning/defaulting of custom resources, cascading deletes and the event history watches read.
import { randomUUID } from 'node:crypto';
import {
  fieldSet,
  fromFieldsV1,
  mergeApply,
  toFieldsV1,
  valueAt,
  deleteAt,
  describePath,
  mergePatch,
  jsonPatch,
  strategicMergePatch,
  type FieldPath,
} from './apply.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  expired,
  invalid,
  notFound,
  staleConflict,
  type StatusCause,
} from './errors.js';
import { Registry, typeFromCrd, type ResourceType } from './registry.js';
import { pruneObject } from './schema-prune.js';
import type { KObj, ManagedFieldsEntry } from './util.js';
import { clone, deepEqual, isPlainObject, joinApiVersion, nowIso, randomSuffix } from './util.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  /** Resource type the object belongs to. */
  resource: ResourceType;
  object: KObj;
  rv: number;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  /** Field manager; defaults to `unknown`. */
  manager?: string;
  dryRun?: boolean;
  /** `status` for writes through the status subresource. */
  subresource?: string;
  /** How unknown fields of custom resources are treated (default Warn: pruned and reported). */
  fieldValidation?: FieldValidation;
  /** Version the request used; decides the schema and apiVersion stamped on the result. */
  version?: string;
}

export interface WriteResult {
  object: KObj;
  warnings: string[];
  created: boolean;
  changed: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Optimistic lock from DeleteOptions.preconditions. */
  resourceVersion?: string;
}

export interface StoreOptions {
  /** How many events watches can replay before a resourceVersion counts as expired. */
  historySize?: number;
}

function nsName(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

const typeId = (t: ResourceType): string => `${t.group}/${t.plural}`;

export class ApiStore {
  readonly registry: Registry;
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, KObj>>();
  private readonly history: StoreEvent[] = [];
  private compactedRv = 0;
  private readonly historySize: number;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(registry: Registry, opts: StoreOptions = {}) {
    this.registry = registry;
    this.historySize = opts.historySize ?? 5000;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events after `rv`; throws a 410 Expired error when `rv` is older than the retained history. */
  eventsSince(rv: number): StoreEvent[] {
    if (rv < this.compactedRv) throw expired(`too old resource version: ${rv} (${this.compactedRv + 1})`);
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets the whole event history, so any older resourceVersion makes a watch fail with 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  private bucket(t: ResourceType): Map<string, KObj> {
    let b = this.objects.get(typeId(t));
    if (!b) {
      b = new Map();
      this.objects.set(typeId(t), b);
    }
    return b;
  }

  private emit(type: WatchEventType, t: ResourceType, object: KObj, rv: number): void {
    const e: StoreEvent = { type, resource: t, object: clone(object), rv };
    this.history.push(e);
    while (this.history.length > this.historySize) {
      this.compactedRv = this.history.shift()!.rv;
    }
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // a failing listener must not break the write that triggered it
      }
    }
  }

  // ---- reads ---------------------------------------------------------------------------------

  get(t: ResourceType, ns: string | undefined, name: string): KObj | undefined {
    const o = this.bucket(t).get(nsName(t.namespaced ? ns : undefined, name));
    return o ? clone(o) : undefined;
  }

  mustGet(t: ResourceType, ns: string | undefined, name: string): KObj {
    const o = this.get(t, ns, name);
    if (!o) throw notFound(t.plural, t.group, name);
    return o;
  }

  /** Number of stored objects of a type (cheap; no cloning). */
  count(t: ResourceType): number {
    return this.bucket(t).size;
  }

  list(t: ResourceType, ns?: string): KObj[] {
    const out: KObj[] = [];
    for (const o of this.bucket(t).values()) {
      if (!t.namespaced || ns === undefined || o.metadata.namespace === ns) out.push(clone(o));
    }
    return out.sort((a, b) =>
      nsName(a.metadata.namespace, a.metadata.name ?? '').localeCompare(nsName(b.metadata.namespace, b.metadata.name ?? '')),
    );
  }

  /** Finds a type by apiVersion + kind (for seeds and controllers). */
  typeOf(apiVersion: string, kind: string): ResourceType {
    const i = apiVersion.indexOf('/');
    const group = i < 0 ? '' : apiVersion.slice(0, i);
    const t = this.registry.byKind(group, kind);
    if (!t) throw new ApiError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`, {});
    return t;
  }

  // ---- writes --------------------------------------------------------------------------------

  create(t: ResourceType, input: KObj, opts: WriteOptions = {}): WriteResult {
    const obj = clone(input);
    obj.metadata = obj.metadata ?? {};
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    }
    const name = obj.metadata.name;
    if (!name) {
      throw invalid(t.kind, t.group, '', [
        { type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
      ]);
    }
    if (t.namespaced) {
      obj.metadata.namespace = obj.metadata.namespace || 'default';
      this.requireNamespace(obj.metadata.namespace);
    } else delete obj.metadata.namespace;
    if (this.bucket(t).has(nsName(obj.metadata.namespace, name))) throw alreadyExists(t.plural, t.group, name);
    const { object: pruned, warnings } = this.prune(t, obj, opts);
    const managed = updateManagedFields(t, undefined, pruned, opts, apiVersionOf(t, opts));
    pruned.metadata.managedFields = managed;
    return this.commit(t, undefined, pruned, opts, warnings);
  }

  /** PUT: replaces the object; a stale metadata.resourceVersion is a 409 Conflict. */
  replace(t: ResourceType, ns: string | undefined, name: string, input: KObj, opts: WriteOptions = {}): WriteResult {
    const old = this.mustGet(t, ns, name);
    const obj = clone(input);
    obj.metadata = obj.metadata ?? {};
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw staleConflict(t.plural, t.group, name);
    }
    const { object: pruned, warnings } = this.prune(t, obj, opts);
    pruned.metadata.managedFields = updateManagedFields(t, old, pruned, opts, apiVersionOf(t, opts));
    return this.commit(t, old, pruned, opts, warnings);
  }

  /** Applies one of the four PATCH content types. */
  patch(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    opts: WriteOptions & { force?: boolean } = {},
  ): WriteResult {
    if (contentType.startsWith('application/apply-patch')) return this.apply(t, ns, name, body, opts);
    const old = this.mustGet(t, ns, name);
    let next: unknown;
    if (contentType.startsWith('application/json-patch+json')) next = jsonPatch(old, body);
    else if (contentType.startsWith('application/strategic-merge-patch+json')) {
      if (!isPlainObject(body)) throw badRequest('patch body must be a JSON object');
      // custom resources take no strategic merge patch (kube-apiserver answers 415 for them)
      if (t.crd) throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
      next = strategicMergePatch(old, body);
    } else if (contentType.startsWith('application/merge-patch+json')) {
      if (!isPlainObject(body)) throw badRequest('patch body must be a JSON object');
      next = mergePatch(old, body);
    } else {
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    if (!isPlainObject(next)) throw badRequest('patch produced a non-object');
    const obj = next as KObj;
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    obj.metadata.name = name;
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw staleConflict(t.plural, t.group, name);
    }
    const { object: pruned, warnings } = this.prune(t, obj, opts);
    pruned.metadata.managedFields = updateManagedFields(t, old, pruned, opts, apiVersionOf(t, opts));
    return this.commit(t, old, pruned, opts, warnings);
  }

  /** Server-side apply (application/apply-patch+yaml): ownership per manager, conflicts unless forced. */
  apply(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions & { force?: boolean } = {},
  ): WriteResult {
    if (!opts.manager) {
      throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    }
    if (!isPlainObject(body)) throw badRequest('apply patch body must be an object');
    const cfg = clone(body) as KObj;
    cfg.metadata = isPlainObject(cfg.metadata) ? cfg.metadata : {};
    if (cfg.metadata.name && cfg.metadata.name !== name) {
      throw badRequest(`the name of the object (${cfg.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (cfg.kind && cfg.kind !== t.kind) {
      throw badRequest(`the kind of the object (${cfg.kind}) does not match the kind on the URL (${t.kind})`);
    }
    cfg.metadata.name = name;
    if (t.namespaced) {
      if (cfg.metadata.namespace && ns && cfg.metadata.namespace !== ns) {
        throw badRequest(`the namespace of the provided object does not match the namespace sent on the request`);
      }
      cfg.metadata.namespace = ns ?? cfg.metadata.namespace ?? 'default';
    }
    delete cfg.metadata.managedFields;
    delete cfg.metadata.resourceVersion;
    delete cfg.metadata.uid;
    delete cfg.metadata.creationTimestamp;
    delete cfg.metadata.generation;
    const { object: prunedCfg, warnings } = this.prune(t, cfg, { ...opts, defaults: false });
    const old = this.get(t, ns, name);
    const apiVersion = apiVersionOf(t, opts);
    const scope = { subresource: opts.subresource, hasStatus: t.subresources.includes('status'), schema: schemaOf(t, opts), maxDepth: depthOf(t) };
    const cfgSet = fieldSet(prunedCfg, scope);
    const entries = (old?.metadata.managedFields ?? []).map((e) => ({ entry: e, set: fromFieldsV1(e.fieldsV1) }));
    const sameScope = (e: ManagedFieldsEntry): boolean => (e.subresource ?? '') === (opts.subresource ?? '');

    const conflicts: { manager: string; apiVersion: string; path: FieldPath }[] = [];
    for (const { entry, set } of entries) {
      if (entry.manager === opts.manager || !sameScope(entry)) continue;
      for (const p of set) {
        if (!cfgSet.has(p)) continue;
        const path = JSON.parse(p) as FieldPath;
        if (path[path.length - 1]!.startsWith('k:')) continue;
        if (!deepEqual(valueAt(old, path), valueAt(prunedCfg, path))) {
          conflicts.push({ manager: entry.manager, apiVersion: entry.apiVersion, path });
        }
      }
    }
    if (conflicts.length && !opts.force) {
      const causes: StatusCause[] = conflicts.map((c) => ({
        type: 'FieldManagerConflict',
        message: `conflict with "${c.manager}" using ${c.apiVersion}`,
        field: describePath(c.path),
      }));
      const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${describePath(c.path)}`);
      const msg =
        conflicts.length === 1
          ? `Apply failed with 1 conflict: ${lines[0]}`
          : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
      throw new ApiError(409, 'Conflict', msg, { causes });
    }
    if (conflicts.length) {
      for (const c of conflicts) {
        for (const e of entries) if (e.entry.manager === c.manager) e.set.delete(JSON.stringify(c.path));
      }
    }

    let result: KObj;
    if (!old) {
      result = prunedCfg;
    } else {
      result = clone(old);
      const mine = entries.find((e) => e.entry.manager === opts.manager && e.entry.operation === 'Apply' && sameScope(e.entry));
      if (mine) {
        for (const p of mine.set) {
          if (cfgSet.has(p)) continue;
          const ownedElsewhere = entries.some((e) => e !== mine && e.set.has(p));
          if (!ownedElsewhere) deleteAt(result, JSON.parse(p) as FieldPath);
        }
      }
      result = mergeApply(result, prunedCfg, scope.schema) as KObj;
    }
    const now = nowIso();
    const nextEntries: ManagedFieldsEntry[] = [];
    let placed = false;
    for (const { entry, set } of entries) {
      if (entry.manager === opts.manager && entry.operation === 'Apply' && sameScope(entry)) {
        placed = true;
        // a manager that applies no field any more has no entry (the API server drops empty ones)
        if (!cfgSet.size) continue;
        const fieldsV1 = toFieldsV1(cfgSet);
        const same = deepEqual(fieldsV1, entry.fieldsV1) && entry.apiVersion === apiVersion;
        nextEntries.push({ ...entry, apiVersion, fieldsV1, time: same ? entry.time : now });
      } else if (set.size) {
        const fieldsV1 = toFieldsV1(set);
        nextEntries.push(deepEqual(fieldsV1, entry.fieldsV1) ? entry : { ...entry, fieldsV1, time: now });
      }
    }
    if (!placed && cfgSet.size) {
      nextEntries.push({
        manager: opts.manager,
        operation: 'Apply',
        apiVersion,
        time: now,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(cfgSet),
        ...(opts.subresource ? { subresource: opts.subresource } : {}),
      });
    }
    result.metadata.managedFields = nextEntries;
    if (!old) {
      if (t.namespaced) this.requireNamespace(result.metadata.namespace!);
      const { object } = this.prune(t, result, { ...opts, fieldValidation: 'Ignore' });
      return this.commit(t, undefined, object, opts, warnings);
    }
    const { object } = this.prune(t, result, { ...opts, fieldValidation: 'Ignore' });
    return this.commit(t, old, object, opts, warnings);
  }

  delete(t: ResourceType, ns: string | undefined, name: string, opts: DeleteOptions = {}): KObj {
    const old = this.mustGet(t, ns, name);
    if (opts.resourceVersion && opts.resourceVersion !== old.metadata.resourceVersion) {
      throw staleConflict(t.plural, t.group, name);
    }
    if (opts.dryRun) return old;
    if (t.group === '' && t.plural === 'namespaces') {
      for (const rt of this.registry.all()) {
        if (!rt.namespaced) continue;
        for (const o of this.list(rt, name)) this.removeObject(rt, o, 'Background');
      }
    }
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions') {
      const spec = (old['spec'] ?? {}) as Record<string, unknown>;
      const names = (spec['names'] ?? {}) as Record<string, unknown>;
      const rt = this.registry.all().find((r) => r.crd === name);
      if (rt) {
        for (const o of this.list(rt)) this.removeObject(rt, o, 'Background');
        this.registry.remove(rt.group, rt.plural);
      } else if (typeof spec['group'] === 'string' && typeof names['plural'] === 'string') {
        this.objects.delete(`${spec['group']}/${names['plural']}`);
      }
    }
    return this.removeObject(t, old, opts.propagationPolicy ?? 'Background');
  }

  private removeObject(t: ResourceType, obj: KObj, propagation: string): KObj {
    const key = nsName(obj.metadata.namespace, obj.metadata.name!);
    if (!this.bucket(t).delete(key)) return obj;
    const rv = ++this.rv;
    const gone = clone(obj);
    gone.metadata.resourceVersion = String(rv);
    this.emit('DELETED', t, gone, rv);
    const uid = obj.metadata.uid;
    for (const rt of this.registry.all()) {
      const deps = [...this.bucket(rt).values()].filter((o) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
      for (const dep of deps.map((o) => clone(o))) {
        const refs = dep.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        if (propagation === 'Orphan') {
          dep.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
          this.commit(rt, this.get(rt, dep.metadata.namespace, dep.metadata.name!), dep, {}, []);
        } else {
          this.removeObject(rt, dep, 'Background');
        }
      }
    }
    return gone;
  }

  private requireNamespace(ns: string): void {
    const nsType = this.registry.byPlural('', 'v1', 'namespaces')!;
    if (!this.bucket(nsType).has(nsName(undefined, ns))) throw notFound('namespaces', '', ns);
  }

  /** Prunes and defaults custom resources by their schema; reports (or, when Strict, refuses) unknown fields. */
  private prune(
    t: ResourceType,
    obj: KObj,
    opts: WriteOptions & { defaults?: boolean },
  ): { object: KObj; warnings: string[] } {
    const schema = schemaOf(t, opts);
    if (!schema) return { object: obj, warnings: [] };
    const { value, unknown } = pruneObject(obj, opts.defaults === false ? stripDefaults(schema) : schema);
    const mode = opts.fieldValidation ?? 'Warn';
    if (unknown.length && mode === 'Strict') {
      throw invalid(
        t.kind,
        t.group,
        obj.metadata.name ?? '',
        unknown.map((p) => ({ type: 'FieldValueInvalid', field: `.${p}`, message: 'field not declared in schema' })),
      );
    }
    const warnings = mode === 'Warn' ? unknown.map((p) => `unknown field "${p}"`) : [];
    return { object: value as KObj, warnings };
  }

  /** Final step of every write: status handling, system metadata, no-op detection, persist, event. */
  private commit(t: ResourceType, old: KObj | undefined, next: KObj, opts: WriteOptions, warnings: string[]): WriteResult {
    let obj = next;
    // As kube-apiserver stores a Secret: stringData is write-only, merged into data (base64) and never served.
    if (t.group === '' && t.kind === 'Secret' && isPlainObject(obj['stringData'])) {
      const data = isPlainObject(obj['data']) ? { ...(obj['data'] as Record<string, string>) } : {};
      for (const [k, v] of Object.entries(obj['stringData'] as Record<string, unknown>)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
      obj = { ...obj, data };
      delete obj['stringData'];
    }
    const hasStatus = t.subresources.includes('status');
    if (old && opts.subresource === 'status') {
      const managedFields = obj.metadata.managedFields;
      obj = { ...clone(old), status: obj['status'] };
      obj.metadata.managedFields = managedFields;
    } else if (hasStatus && opts.subresource !== 'status') {
      if (old && old['status'] !== undefined) obj['status'] = clone(old['status']);
      else if (old) delete obj['status'];
    }
    obj.apiVersion = joinApiVersion(t.group, t.versions[0]!);
    obj.kind = t.kind;
    const meta = obj.metadata;
    if (t.namespaced) meta.namespace = meta.namespace ?? old?.metadata.namespace ?? 'default';
    else delete meta.namespace;
    if (old) {
      meta.uid = old.metadata.uid;
      meta.creationTimestamp = old.metadata.creationTimestamp;
      const specChanged = !deepEqual(withoutMetaStatus(old), withoutMetaStatus(obj));
      meta.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      meta.resourceVersion = old.metadata.resourceVersion;
      if (deepEqual(old, obj)) {
        return { object: old, warnings, created: false, changed: false };
      }
    } else {
      meta.uid = randomUUID();
      meta.creationTimestamp = nowIso();
      meta.generation = 1;
      if (t.group === '' && t.plural === 'namespaces') {
        obj['spec'] = obj['spec'] ?? { finalizers: ['kubernetes'] };
        obj['status'] = { phase: 'Active' };
      }
    }
    if (opts.dryRun) return { object: obj, warnings, created: !old, changed: true };
    const rv = ++this.rv;
    meta.resourceVersion = String(rv);
    this.bucket(t).set(nsName(meta.namespace, meta.name!), clone(obj));
    this.emit(old ? 'MODIFIED' : 'ADDED', t, obj, rv);
    return { object: clone(obj), warnings, created: !old, changed: true };
  }

  /** Registers the kind a CRD defines (the CRD controller calls this once it marks the CRD Established). */
  registerCrd(crd: KObj): ResourceType {
    const t = typeFromCrd(crd);
    this.registry.add(t);
    return t;
  }
}

function withoutMetaStatus(o: KObj): unknown {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** CRDs carry schemas of thousands of fields; their ownership is tracked per version entry only. */
function depthOf(t: ResourceType): number | undefined {
  return t.plural === 'customresourcedefinitions' ? 3 : undefined;
}

function apiVersionOf(t: ResourceType, opts: WriteOptions): string {
  return joinApiVersion(t.group, opts.version ?? t.versions[0]!);
}

function schemaOf(t: ResourceType, opts: WriteOptions) {
  if (!t.schemas) return undefined;
  return t.schemas[opts.version ?? t.versions[0]!] ?? t.schemas[t.versions[0]!];
}

const noDefaults = new WeakMap<object, Record<string, unknown>>();

/** The schema without `default`s: an applied configuration is pruned with it so defaults are not owned by anyone. */
function stripDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const hit = noDefaults.get(schema);
  if (hit) return hit;
  const walk = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(walk);
    if (!isPlainObject(s)) return s;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s)) if (k !== 'default') out[k] = walk(v);
    return out;
  };
  const out = walk(schema) as Record<string, unknown>;
  noDefaults.set(schema, out);
  return out;
}

/** Ownership bookkeeping for non-apply writes (POST, PUT, merge/JSON patch): changed fields move to the writer. */
function updateManagedFields(
  t: ResourceType,
  old: KObj | undefined,
  next: KObj,
  opts: WriteOptions,
  apiVersion: string,
): ManagedFieldsEntry[] {
  const manager = opts.manager ?? 'unknown';
  const scope = { subresource: opts.subresource, hasStatus: t.subresources.includes('status'), schema: schemaOf(t, opts), maxDepth: depthOf(t) };
  const sameScope = (e: ManagedFieldsEntry): boolean => (e.subresource ?? '') === (opts.subresource ?? '');
  const leaves = fieldSet(next, scope);
  const changed = new Set<string>();
  for (const p of leaves) {
    const path = JSON.parse(p) as FieldPath;
    if (!old || !deepEqual(valueAt(old, path), valueAt(next, path))) changed.add(p);
  }
  const now = nowIso();
  const out: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const e of old?.metadata.managedFields ?? []) {
    if (!sameScope(e)) {
      out.push(e);
      continue;
    }
    const set = fromFieldsV1(e.fieldsV1);
    const isMine = e.manager === manager && e.operation === 'Update';
    for (const p of [...set]) {
      if (valueAt(next, JSON.parse(p) as FieldPath) === undefined) set.delete(p);
      else if (!isMine && changed.has(p)) set.delete(p);
    }
    if (isMine) {
      for (const p of changed) set.add(p);
      mine = { ...e, apiVersion, fieldsV1: toFieldsV1(set), time: changed.size ? now : e.time };
      out.push(mine);
      continue;
    }
    if (!set.size) continue;
    const fieldsV1 = toFieldsV1(set);
    out.push(deepEqual(fieldsV1, e.fieldsV1) ? e : { ...e, fieldsV1, time: now });
  }
  if (!mine && changed.size) {
    out.push({
      manager,
      operation: 'Update',
      apiVersion,
      time: now,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(changed),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
    });
  }
  return out;
}
