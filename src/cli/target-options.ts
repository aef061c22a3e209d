/**
 * From a command's flags to the target it runs on. Commands call `openTarget` and never ask which
 * kind they got; the factory in src/targets is the only code that knows both.
 */
import { createTarget } from '../targets/index.js';
import type { Target, TargetOptions } from '../targets/target.js';
import type { CommandContext } from './define.js';
import type { accessFlags, FlagValues, generationFlags, GlobalFlags } from './flags.js';

/** What building a target reads of a command: its config, io and the flags that say where and how to connect. */
export type TargetContext = Pick<CommandContext, 'cfg' | 'io'> & { flags: GlobalFlags & Partial<FlagValues<typeof accessFlags>> & Partial<FlagValues<typeof generationFlags>> };

/** The options every target takes, from the global flags (and, where a command has them, the access flags). */
export function targetOptions(ctx: TargetContext): TargetOptions {
  const f = ctx.flags;
  return {
    kind: f.target ?? 'local',
    cfg: ctx.cfg,
    env: ctx.io.env,
    warn: (line) => ctx.io.stderr(`${line}\n`),
    ...(f.kubeconfig !== undefined ? { kubeconfig: f.kubeconfig } : {}),
    ...(f.context !== undefined ? { context: f.context } : {}),
    ...(f.token !== undefined ? { token: f.token } : {}),
    ...(f['ca-file'] !== undefined ? { caFile: f['ca-file'] } : {}),
    ...(f.insecure ? { insecure: true } : {}),
    ...(f.maas ? { maas: f.maas } : {}),
  };
}

export function openTarget(ctx: TargetContext): Promise<Target> {
  return createTarget(targetOptions(ctx));
}
