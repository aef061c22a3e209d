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

export type { ManifestOptions } from './cluster/print-manifests.js';

/** Every step's objects as YAML, rendered as a cluster applies them (no cluster needed). */
export async function renderManifests(o: import('./cluster/print-manifests.js').ManifestOptions): Promise<string> {
  const { printManifests } = await import('./cluster/print-manifests.js');
  return printManifests(o);
}
