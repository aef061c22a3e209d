/**
 * Deployment steps as data. A step names the manifests it applies on a cluster and the readiness
 * conditions it waits for; the local target maps the same step ids to the loopback components it
 * starts and probes. Step files live in steps/ and are declared with `defineStep`.
 */
import type { DemoConfig } from './config.js';

export type StepId = '1' | '2' | '3' | '3a' | '4' | '5';

/** A readiness condition on a cluster, waited for through a watch with a timeout. */
export type WaitSpec =
  | { kind: 'crd-established'; name: string; timeoutMs: number }
  | { kind: 'deployment-available'; namespace: string; name: string; timeoutMs: number }
  | { kind: 'pods-ready'; namespace: string; selector: string; timeoutMs: number }
  | { kind: 'service-endpoints'; namespace: string; name: string; timeoutMs: number }
  | {
      kind: 'condition';
      apiVersion: string;
      resource: string; // object kind, e.g. Gateway
      namespace?: string;
      name: string;
      type: string;
      timeoutMs: number;
    }
  | {
      kind: 'route-accepted';
      namespace: string;
      name: string;
      timeoutMs: number;
      /** Only the `status.parents` entry for this parentRef counts (default: every parent). */
      parent?: { namespace: string; name: string };
      /** Conditions that must be True on that parent (default: Accepted and ResolvedRefs). */
      conditions?: ('Accepted' | 'ResolvedRefs')[];
    }
  | { kind: 'policy-enforced'; apiVersion: string; resource: string; namespace: string; name: string; timeoutMs: number }
  | { kind: 'rollout'; namespace: string; name: string; timeoutMs: number };

export interface StepContext {
  cfg: DemoConfig;
  /** Providers enabled for this run (3a adds vLLM when asked). */
  providers: DemoConfig['providers'];
  /** Render-time options: vLLM remote host, wg-ai-gateway CRD dir, simulator image, … */
  options: Record<string, string | boolean | undefined>;
}

export interface StepDef {
  id: StepId;
  slug: string;
  title: string;
  /** What the step does and why, in our words; shown by `demo tour` and the TUI. */
  explain: string;
  /** Opt-in steps run only when asked (3a: a remote vLLM). */
  optional: boolean;
  /** Template files under manifests/ applied by this step, in order. */
  manifests: string[];
  /** Readiness conditions, in order, computed from the configuration. */
  waits: (ctx: StepContext) => WaitSpec[];
  /** README anchor with the fix when the step fails. */
  hint: string;
}

/** Identity function: keeps the literal types of a step declaration. */
export function defineStep<const S extends StepDef>(step: S): S {
  return step;
}
