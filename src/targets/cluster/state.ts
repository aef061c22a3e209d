/**
 * What `up` must remember for `down`, kept in the cluster (so `down` works from another machine):
 * a labelled ConfigMap `maas-egress-demo-state` in maas-api's namespace holding
 * - the maas-api image and `opendatahub.io/managed` annotation before step 5 changed them;
 * - the objects of our plan that existed before the first `up` without our labels (a namespace like
 *   `llm` created by hand, a CRD installed by someone else): `down` never deletes those.
 * Written before anything else is touched and never overwritten with later values.
 */
import type { K8sObject } from '../../model/k8s-object.js';
import { DEMO_NAME, LABEL_MANAGED_BY, LABEL_PART_OF, LABEL_STEP } from '../../model/k8s-object.js';
import type { Kube, ObjRef } from './client.js';

export const STATE_NAME = 'maas-egress-demo-state';
export const MANAGED_ANNOTATION = 'opendatahub.io/managed';

export interface MaasApiOriginal {
  namespace: string;
  name: string;
  container: string;
  /** Image before step 5 (null: unknown, e.g. the state was lost after a patch). */
  image: string | null;
  /** Value of `opendatahub.io/managed` before step 5 (null: the annotation was absent). */
  managed: string | null;
  /** The image step 5 set (down restores only while maas-api still runs it). */
  setImage?: string;
  /** The field managers that owned the image and the annotation before step 5 (they get them back). */
  imageManager?: string;
  managedManager?: string;
}

/** The data of a platform object the demo configures (payload processing's plugins ConfigMap) before `up`. */
export interface OriginalData {
  ref: ObjRef;
  data: Record<string, string>;
}

export interface DemoState {
  maasApi?: MaasApiOriginal;
  preexisting: ObjRef[];
  /** Data `down` puts back into platform objects `up` configured. */
  originals?: OriginalData[];
  /** When the first `up` recorded this. */
  recordedAt: string;
}

export function sameRef(a: ObjRef, b: ObjRef): boolean {
  return a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '') && a.apiVersion.split('/')[0] === b.apiVersion.split('/')[0];
}

export function stateObject(namespace: string, state: DemoState): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: STATE_NAME,
      namespace,
      labels: { [LABEL_MANAGED_BY]: DEMO_NAME, [LABEL_PART_OF]: DEMO_NAME, [LABEL_STEP]: 'state' },
      annotations: { 'maas-egress-demo/purpose': 'originals restored by `demo down --target cluster`; delete only with it' },
    },
    data: {
      'maas-api.json': JSON.stringify(state.maasApi ?? null),
      'preexisting.json': JSON.stringify(state.preexisting),
      ...(state.originals?.length ? { 'originals.json': JSON.stringify(state.originals) } : {}),
      'recorded-at': state.recordedAt,
    },
  };
}

export function parseState(obj: K8sObject | undefined): DemoState | undefined {
  if (!obj) return undefined;
  const data = (obj.data ?? {}) as Record<string, string>;
  const parse = <T>(text: string | undefined, fallback: T): T => {
    try {
      return text ? (JSON.parse(text) as T) : fallback;
    } catch {
      return fallback;
    }
  };
  const maasApi = parse<MaasApiOriginal | null>(data['maas-api.json'], null);
  const originals = parse<OriginalData[]>(data['originals.json'], []);
  return { ...(maasApi ? { maasApi } : {}), preexisting: parse<ObjRef[]>(data['preexisting.json'], []), ...(originals.length ? { originals } : {}), recordedAt: data['recorded-at'] ?? '' };
}

/** Reads the state from maas-api's namespace (undefined when `up` never ran there). */
export async function readState(kube: Kube, namespace: string): Promise<DemoState | undefined> {
  return parseState(await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: STATE_NAME }));
}

export function isOurs(obj: K8sObject | undefined): boolean {
  return obj?.metadata.labels?.[LABEL_MANAGED_BY] === DEMO_NAME;
}
