/** `demo validate`: mints a token and runs validation calls 1–10 with a per-hop trace of each. */
import type { CommandContext, CommandModule } from '../main.js';
import { UserError } from '../../core/errors.js';
import type { ValidateTarget } from '../../targets/target.js';

export async function openTarget(ctx: CommandContext, opts: { allowBroken?: boolean } = {}): Promise<ValidateTarget> {
  if (ctx.target === 'cluster') {
    const { openClusterTarget } = await import('../../targets/cluster/index.js');
    return openClusterTarget(ctx);
  }
  const { LocalTarget } = await import('../../targets/local/validate-target.js');
  return LocalTarget.open(ctx.io.env, opts);
}

async function selected(ctx: CommandContext, target?: ValidateTarget) {
  const { validationCalls } = await import('../../checks/validate.js');
  const { selectCalls } = await import('../../checks/run-validate.js');
  const { defaultConfig } = await import('../../core/config.js');
  const cfg = target?.cfg ?? ctx.cfg ?? defaultConfig();
  const providers = target?.providers() ?? cfg.providers;
  try {
    return selectCalls(validationCalls(cfg, providers), ctx.flags.only as string | undefined, ctx.flags.skip as string | undefined);
  } catch (err) {
    throw new UserError((err as Error).message, 'e.g. --only 4,5 or --skip 10');
  }
}

const command: CommandModule = {
  kind: 'stream',
  plan: async (ctx) => (await selected(ctx)).map((c) => ({ id: `call-${c.id}`, title: `${c.id} ${c.title}` })),
  async *run(ctx) {
    await selected(ctx);
    const target = await openTarget(ctx);
    try {
      const { runValidate } = await import('../../checks/run-validate.js');
      yield* runValidate(target, await selected(ctx, target), ctx.signal);
    } finally {
      await target.close();
    }
  },
};
export default command;
