/**
 * The checks of each MaaS generation, looked up by the generation the install runs: the validation
 * calls (with their `--only`/`--skip` selection) and how they run. Commands hold a catalog without
 * asking which generation it is; this is the one place that lists them for validate.
 */
import type { DemoConfig } from '../core/config.js';
import type { EventInput } from '../core/events.js';
import type { GenerationId } from '../generations/index.js';
import type { TargetSession } from '../targets/target.js';

export interface ValidationCatalog {
  /** The calls a run with this selection makes, for a UI to draw up front (bad ids throw, flagged `usage`). */
  plan(only?: string, skip?: string): Promise<{ id: string; title: string }[]>;
  run(session: TargetSession, only: string | undefined, skip: string | undefined, signal: AbortSignal): AsyncGenerator<EventInput>;
}

/** `MAAS_SUBSCRIPTION` (what `demo env` exports), else the demo's own subscription. */
export function subscriptionOf(env: NodeJS.ProcessEnv): string {
  return env.MAAS_SUBSCRIPTION || 'demo-subscription';
}

export function validationCatalog(generation: GenerationId, cfg: DemoConfig, providers: DemoConfig['providers'], env: NodeJS.ProcessEnv): ValidationCatalog {
  if (generation === 'subscription') {
    return {
      plan: async (only, skip) => {
        const { selectEraCalls, subscriptionCalls } = await import('./subscription/validate.js');
        return selectEraCalls(subscriptionCalls(), only, skip).map((c) => ({ id: `call-${c.id}`, title: `${c.id} ${c.title}` }));
      },
      run: async function* (session, only, skip, signal) {
        const { runSubscriptionValidate, selectEraCalls, subscriptionCalls } = await import('./subscription/validate.js');
        yield* runSubscriptionValidate(session, selectEraCalls(subscriptionCalls(), only, skip), signal, subscriptionOf(env));
      },
    };
  }
  return {
    plan: async (only, skip) => {
      const { validationCalls } = await import('./validate.js');
      const { selectCalls } = await import('./run-validate.js');
      return selectCalls(validationCalls(cfg, providers), only, skip).map((c) => ({ id: `call-${c.id}`, title: `${c.id} ${c.title}` }));
    },
    run: async function* (session, only, skip, signal) {
      const { validationCalls } = await import('./validate.js');
      const { runValidate, selectCalls } = await import('./run-validate.js');
      yield* runValidate(session, selectCalls(validationCalls(session.cfg, session.providers()), only, skip), signal);
    },
  };
}
