/**
 * `demo manifests --maas subscription`: the era's objects as multi-document YAML, step by step, as a
 * user applies them by hand in upstream's external-model setup (no status: controllers set it). Keys
 * are masked unless `--reveal-keys`; printed masked, `demo up --from` reads them as the configured keys.
 */
import { stringify } from 'yaml';
import type { DemoConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { SUBSCRIPTION_STEPS } from '../../model/subscription-render.js';
import { subscriptionSteps } from './plan.js';
import { eraProviders, type ProviderOverride } from './providers.js';

export interface SubscriptionManifestOptions {
  cfg: DemoConfig;
  vllm: boolean;
  vllmUrl?: string;
  providers?: ProviderOverride[];
  /** Only this step (s1–s4, or its slug). */
  step?: string;
  revealKeys: boolean;
}

export function printSubscriptionManifests(o: SubscriptionManifestOptions): string {
  const only = o.step ? SUBSCRIPTION_STEPS.find((s) => s.id === o.step || s.slug === o.step) : undefined;
  if (o.step && !only) throw new UserError(`--step must be one of ${SUBSCRIPTION_STEPS.map((s) => s.id).join(', ')} with --maas subscription; got "${o.step}"`, 'e.g. --step s2');
  const steps = subscriptionSteps(o.cfg, eraProviders(o.cfg, { vllm: o.vllm, ...(o.vllmUrl ? { vllmUrl: o.vllmUrl } : {}), overrides: o.providers ?? [] }), { keys: o.revealKeys ? 'reveal' : 'mask' }).filter((s) => !only || s.id === only.id);
  const head = [
    '# maas-egress-demo, subscription era: the objects of upstream\'s external-model setup, step by step (kubectl apply them in order)',
    o.revealKeys ? '# WARNING: provider keys are shown in clear (--reveal-keys)' : '# provider keys are masked; --reveal-keys prints them for piping to kubectl',
    '# statuses are left to the controllers (maas-controller, the ExternalModel reconciler); `demo up --from FILE` reads these objects locally',
    '',
  ].join('\n');
  const body = steps
    .map((s) => [`# step ${s.id}: ${s.title}`, ...s.objects.map((obj) => `---\n${stringify(obj, { lineWidth: 0 })}`)].join('\n'))
    .join('\n');
  return `${head}${body}`;
}
