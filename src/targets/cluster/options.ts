/**
 * From command flags to the renderer's StepContext: the same options for `demo manifests`,
 * `up --dry-run` and `up`, so what is printed is what is applied.
 */
import type { CommandContext } from '../../cli/main.js';
import type { DemoConfig } from '../../core/config.js';
import type { StepContext } from '../../core/step.js';

/** vLLM (step 3a) is opt-in on a cluster: --vllm or --vllm-host, unless --no-vllm. */
export function clusterWantsVllm(ctx: Pick<CommandContext, 'flags'>): boolean {
  if (ctx.flags['no-vllm']) return false;
  return Boolean(ctx.flags.vllm || ctx.flags['vllm-host']);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `--wg-dir`, else `WG_DIR` (the seed README's variable). */
export function wgDirOf(ctx: Pick<CommandContext, 'flags' | 'io'>): string | undefined {
  return str(ctx.flags['wg-dir']) ?? str(ctx.io.env.WG_DIR);
}

export function stepContext(
  ctx: Pick<CommandContext, 'flags' | 'io'>,
  cfg: DemoConfig,
  overrides: { skipCrds?: boolean; wgDir?: string } = {},
): StepContext {
  const vllm = clusterWantsVllm(ctx);
  const wgDir = overrides.wgDir ?? wgDirOf(ctx);
  const options: StepContext['options'] = {
    // MaaS usually ships the gateway token limit; ours is rendered too and applied only when absent.
    tokenRateLimit: true,
    skipCrds: overrides.skipCrds ?? Boolean(ctx.flags['skip-crds']),
  };
  if (wgDir) options.wgDir = wgDir;
  const vllmHost = str(ctx.flags['vllm-host']);
  if (vllmHost) options.vllmHost = vllmHost;
  const simImage = str(ctx.flags['simulator-image']);
  if (simImage) options.simulatorImage = simImage;
  return { cfg, providers: vllm ? cfg.providers : cfg.providers.filter((p) => !p.optional), options };
}
