/**
 * The only place that knows both target kinds: it loads the one asked for (lazily, so `--help` and the
 * commands that need no target stay light) and hands back the common lifecycle.
 */
import type { Target, TargetOptions } from './target.js';

export async function createTarget(opts: TargetOptions): Promise<Target> {
  switch (opts.kind) {
    case 'local': {
      const { LocalTarget } = await import('./local/index.js');
      return new LocalTarget(opts);
    }
    case 'cluster': {
      const { ClusterTarget } = await import('./cluster/index.js');
      return new ClusterTarget(opts);
    }
  }
}

export type ManifestOptions = import('./cluster/print-manifests.js').ManifestOptions & {
  /** The MaaS generation whose objects to print (default: the tier era). */
  maas?: import('../generations/index.js').GenerationId;
};

/** Every step's objects as YAML, rendered as a cluster applies them (no cluster needed). */
export async function renderManifests(o: ManifestOptions): Promise<string> {
  if (o.maas === 'subscription') {
    const { printSubscriptionManifests } = await import('../generations/subscription/manifests.js');
    return printSubscriptionManifests({ cfg: o.cfg, vllm: o.vllm, revealKeys: o.revealKeys, ...(o.step ? { step: o.step } : {}) });
  }
  const { printManifests } = await import('./cluster/print-manifests.js');
  return printManifests(o);
}
