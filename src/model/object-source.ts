/**
 * Where the demo's Kubernetes objects are read from: a cluster's API server, or a set held in memory
 * (the local target, `up --from FILE`). The reading of objects into the topology model takes either,
 * so both targets and doctor read an HTTPRoute or an AuthPolicy one way.
 */
import type { K8sObject } from './k8s-object.js';

export interface ObjectSource {
  /** Every object of a kind (in a namespace, or in all of them); a kind that is not served reads as empty. */
  list(apiVersion: string, kind: string, namespace?: string): Promise<K8sObject[]>;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<K8sObject | undefined>;
}

/** `gateway.networking.k8s.io/v1` → `gateway.networking.k8s.io`; core `v1` → ''. */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** `Kind/namespace/name` (or `Kind/name` for a cluster-scoped object): how the demo names an object. */
export function objectKey(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

/**
 * Objects held in memory, as an API server would serve them: found by group and kind whatever the
 * version asked for (the server converts), applying an object replaces the one of the same key.
 */
export class ObjectSet implements ObjectSource {
  readonly #objects = new Map<string, K8sObject>();

  constructor(objects: Iterable<K8sObject> = []) {
    for (const o of objects) this.apply(o);
  }

  static #key(o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string {
    return `${groupOf(o.apiVersion)}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
  }

  /** Adds or replaces; returns what the object was before, if anything. */
  apply(o: K8sObject): K8sObject | undefined {
    const key = ObjectSet.#key(o);
    const before = this.#objects.get(key);
    this.#objects.set(key, structuredClone(o));
    return before;
  }

  delete(o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): boolean {
    return this.#objects.delete(ObjectSet.#key(o));
  }

  all(): K8sObject[] {
    return [...this.#objects.values()].map((o) => structuredClone(o));
  }

  get size(): number {
    return this.#objects.size;
  }

  async list(apiVersion: string, kind: string, namespace?: string): Promise<K8sObject[]> {
    const group = groupOf(apiVersion);
    return this.all().filter((o) => groupOf(o.apiVersion) === group && o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }

  async get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<K8sObject | undefined> {
    const o = this.#objects.get(`${groupOf(apiVersion)}|${kind}|${namespace ?? ''}|${name}`);
    return o ? structuredClone(o) : undefined;
  }
}
