/**
 * Kubernetes objects as the demo renders, applies and reads them, and the labels that mark what the
 * demo created (teardown selects on them). Shared by the targets, `up --from` and doctor.
 */
import type { StepId } from '../core/step.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/**
 * Fields to apply onto an object that exists already and is not ours (step 5: maas-api). `applyObject`
 * is the partial object for a server-side apply with `force` (the operator owns the image field); the
 * other members say the same thing for an applier that prefers JSON patches or needs to report it.
 */
export interface ObjectPatch {
  target: { apiVersion: string; kind: string; namespace: string; name: string };
  annotations: Record<string, string>;
  container?: { name: string; image: string };
  applyObject: K8sObject;
  force: true;
}

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_STEP = 'maas-egress-demo/step';
export const DEMO_NAME = 'maas-egress-demo';
/** On a rendered object: `if-absent` = create it only where it is missing (the platform usually ships it). */
export const APPLY_MODE_ANNOTATION = 'maas-egress-demo/apply';

/** The labels on everything the demo creates; teardown selects on the first two. */
export function demoLabels(stepId: StepId): Record<string, string> {
  return { [LABEL_MANAGED_BY]: DEMO_NAME, [LABEL_PART_OF]: DEMO_NAME, [LABEL_STEP]: stepId };
}

/** Label selector for everything the demo created (all steps). */
export const DEMO_SELECTOR = `${LABEL_MANAGED_BY}=${DEMO_NAME},${LABEL_PART_OF}=${DEMO_NAME}`;
