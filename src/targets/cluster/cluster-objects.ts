/**
 * The cluster's objects as doctor and the session read them: an ObjectSource over the API server, each
 * list or get asked once per session; a kind the cluster does not serve reads as empty.
 */
import type { K8sObject } from '../../model/k8s-object.js';
import type { ObjectSource } from '../../model/object-source.js';
import type { ObjectRead } from '../../model/read-objects.js';
import type { Kube } from './client.js';

/** The objects doctor reads, fetched once per call; a kind the cluster does not serve reads as empty. */
export class ClusterObjects implements ObjectSource {
  readonly #kube: Kube;
  readonly #cache = new Map<string, Promise<unknown>>();

  constructor(kube: Kube) {
    this.#kube = kube;
  }

  list(apiVersion: string, kind: string, namespace?: string): Promise<K8sObject[]> {
    const key = `list ${apiVersion} ${kind} ${namespace ?? '*'}`;
    if (!this.#cache.has(key)) this.#cache.set(key, this.#kube.list(apiVersion, kind, namespace).then((r) => r.items, () => []));
    return this.#cache.get(key) as Promise<K8sObject[]>;
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<K8sObject | undefined> {
    const key = `get ${apiVersion} ${kind} ${namespace ?? ''} ${name}`;
    if (!this.#cache.has(key)) this.#cache.set(key, this.#kube.get({ apiVersion, kind, ...(namespace ? { namespace } : {}), name }).catch(() => undefined));
    return this.#cache.get(key) as Promise<K8sObject | undefined>;
  }

  get kube(): Kube {
    return this.#kube;
  }

  /** The objects of a list of reads (whole kinds, or single objects), for the pure readings of src/model. */
  async read(reads: readonly ObjectRead[]): Promise<K8sObject[]> {
    const parts = await Promise.all(reads.map(async (r) => (r.name ? [await this.get(r.apiVersion, r.kind, r.namespace, r.name)].filter((o): o is K8sObject => !!o) : await this.list(r.apiVersion, r.kind, r.namespace))));
    const seen = new Set<string>();
    return parts.flat().filter((o) => {
      const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      return !seen.has(key) && Boolean(seen.add(key));
    });
  }
}
