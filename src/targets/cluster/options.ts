/**
 * From a run's options to the renderer's StepContext: the same options for `demo manifests`,
 * `up --dry-run` and `up`, so what is printed is what is applied.
 */
import type { DemoConfig } from '../../core/config.js';
import type { StepContext } from '../../core/step.js';

/** What changes the rendered objects of a run. */
export interface RenderOptions {
  /** Step 3a (a vLLM provider); opt-in on a cluster. */
  vllm: boolean;
  vllmHost?: string;
  simulatorImage?: string;
  /** wg-ai-gateway checkout (`--wg-dir`, else `WG_DIR`) holding the XBackendDestination CRD. */
  wgDir?: string;
  /** The XBackendDestination CRD is installed already: render none. */
  skipCrds: boolean;
}

/** `--wg-dir`, else `WG_DIR` (the seed README's variable). */
export function wgDirOf(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return flag || env.WG_DIR || undefined;
}

export function stepContext(opts: RenderOptions, cfg: DemoConfig): StepContext {
  const options: StepContext['options'] = {
    // MaaS usually ships the gateway token limit; ours is rendered too and applied only when absent.
    tokenRateLimit: true,
    skipCrds: opts.skipCrds,
  };
  if (opts.wgDir) options.wgDir = opts.wgDir;
  if (opts.vllmHost) options.vllmHost = opts.vllmHost;
  if (opts.simulatorImage) options.simulatorImage = opts.simulatorImage;
  return { cfg, providers: opts.vllm ? cfg.providers : cfg.providers.filter((p) => !p.optional), options };
}
