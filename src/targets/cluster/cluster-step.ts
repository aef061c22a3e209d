/**
 * A rendered step as the cluster target runs it: its objects, and what it does once they are ready
 * (the subscription era mints the demo's API key so).
 */
import type { EventInput } from '../../core/events.js';
import type { RenderedStep } from '../../manifests/render.js';
import type { Kube } from './client.js';

/** What a step's finish may use. */
export interface StepFinishContext {
  kube: Kube;
  maasNamespace: string;
  /** The kubeconfig's user name (who the demo says it is where the cluster cannot tell, e.g. no SelfSubjectReview). */
  user: string;
  signal: AbortSignal;
  /** Facts the finish found, for the run's summary. */
  facts: Record<string, string | number>;
}

export interface ClusterStep extends RenderedStep {
  finish?: (ctx: StepFinishContext) => AsyncGenerator<EventInput>;
}
