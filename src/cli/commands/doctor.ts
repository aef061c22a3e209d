/** `demo doctor`: configuration and live probes, hop by hop, with a concrete fix for each failure. */
import type { CommandModule } from '../main.js';
import { UserError } from '../../core/errors.js';

const command: CommandModule = {
  kind: 'stream',
  failOnWarning: (ctx) => ctx.flags['fail-on'] === 'warning',
  async *run(ctx) {
    const { CATEGORIES } = await import('../../checks/doctor/types.js');
    const categories = ((ctx.flags.category as string[] | undefined) ?? []).flatMap((c) => c.split(','));
    const bad = categories.filter((c) => !(CATEGORIES as readonly string[]).includes(c));
    if (bad.length) throw new UserError(`unknown category ${bad.join(', ')}`, `categories: ${CATEGORIES.join(', ')}`);
    const { chooseOutput } = await import('../main.js');
    if (ctx.flags.fix && !ctx.flags.yes && chooseOutput(ctx.flags.output as string | undefined, ctx.io) === 'tui') {
      // The TUI owns the keyboard; confirmations would fight it for stdin.
      throw new UserError('--fix asks before each change, which the TUI cannot do while it runs', 'add --yes to apply every proposed fix, or use --output plain to be asked one by one');
    }
    if (ctx.flags['self-test']) {
      if (ctx.target !== 'local') throw new UserError('--self-test runs on the local target only', 'drop --target cluster');
      const { selfTest } = await import('../../checks/doctor/self-test.js');
      yield* selfTest(ctx.cfg, ctx.signal);
      return;
    }
    const { openTarget } = await import('./validate.js');
    const target = await openTarget(ctx, { allowBroken: true });
    if (!('topology' in target)) throw new UserError('doctor is not available for this target yet', 'see README.md#status');
    const { runDoctor } = await import('../../checks/doctor/run-doctor.js');
    const yes = Boolean(ctx.flags.yes);
    try {
      yield* runDoctor(target as import('../../checks/doctor/types.js').DoctorTarget, {
        categories: categories as import('../../checks/doctor/types.js').Category[],
        probeRateLimit: Boolean(ctx.flags['probe-rate-limit']),
        fix: Boolean(ctx.flags.fix),
        confirm: yes ? async () => true : ctx.io.confirm ?? (async () => false),
        signal: ctx.signal,
      });
    } finally {
      await target.close();
    }
  },
};
export default command;
