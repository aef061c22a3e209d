/** `demo doctor`: configuration and live probes, hop by hop, with a concrete fix for each failure. */
import { UserError } from '../../core/errors.js';
import { defineCommand } from '../define.js';
import { accessFlags, flag, generationFlags } from '../flags.js';
import { chooseOutput } from '../output.js';
import { openTarget } from '../target-options.js';

export default defineCommand({
  kind: 'stream',
  name: 'doctor',
  summary: 'diagnose URL rewrites, key injection, rate limits and the install under them',
  usage: 'demo doctor [flags]',
  examples: ['demo doctor', 'demo doctor --category rewrites', 'demo doctor --probe-rate-limit', 'demo doctor --self-test', 'demo doctor --self-test --maas subscription', 'demo doctor --fix'],
  flags: {
    category: flag.strings('NAME', 'install|rewrites|routing|key-injection|access|rate-limits|model-listing|exposure (routing and access: subscription era)'),
    'probe-rate-limit': flag.boolean('spend the token budget on purpose to confirm 429s arrive'),
    fix: flag.boolean('apply the proposed fixes after confirmation, then re-run the failed checks'),
    yes: flag.boolean('answer yes to --fix confirmations', { short: 'y' }),
    timeout: flag.seconds('--fix: how long to wait for a restored object to be ready (default 60)'),
    'fail-on': flag.choice(['error', 'warning'] as const, 'LEVEL', 'error (default) or warning'),
    'self-test': flag.boolean('plant each known fault on a private local topology, run doctor, print the score'),
    mutations: flag.string('N', 'with --self-test: N random single-field mutations of the objects instead of the named faults'),
    seed: flag.string('S', 'with --mutations: the random seed (default 1)'),
    ...accessFlags,
    ...generationFlags,
    maas: flag.choice(['tier', 'subscription'] as const, 'GEN', 'with --self-test: the MaaS generation to test (default tier); on a cluster: its generation when its CRDs and maas-api do not tell', { env: 'DEMO_MAAS' }),
  },
  failOnWarning: (ctx) => ctx.flags['fail-on'] === 'warning',
  async *run(ctx) {
    const { CATEGORIES } = await import('../../checks/doctor/types.js');
    const categories = ctx.flags.category.flatMap((c) => c.split(','));
    const bad = categories.filter((c) => !(CATEGORIES as readonly string[]).includes(c));
    if (bad.length) throw new UserError(`unknown category ${bad.join(', ')}`, `categories: ${CATEGORIES.join(', ')}`);
    if (ctx.flags.fix && !ctx.flags.yes && chooseOutput(ctx.flags.output, ctx.io) === 'tui') {
      // The TUI owns the keyboard; confirmations would fight it for stdin.
      throw new UserError('--fix asks before each change, which the TUI cannot do while it runs', 'add --yes to apply every proposed fix, or use --output plain to be asked one by one');
    }
    if ((ctx.flags.mutations !== undefined || ctx.flags.seed !== undefined) && !ctx.flags['self-test']) throw new UserError('--mutations and --seed belong to --self-test', 'e.g. demo doctor --self-test --mutations 40 --seed 7');
    if (ctx.flags['self-test']) {
      const { selfTest } = await import('../../checks/doctor/self-test.js');
      const count = (v: string | undefined, name: string) => {
        if (v === undefined) return undefined;
        const x = Number(v);
        if (!Number.isInteger(x) || x < (name === 'seed' ? 0 : 1)) throw new UserError(`--${name} must be a whole number${name === 'seed' ? '' : ' of at least 1'}; got "${v}"`, `e.g. --${name} ${name === 'seed' ? 7 : 40}`);
        return x;
      };
      const mutations = count(ctx.flags.mutations, 'mutations');
      const seed = count(ctx.flags.seed, 'seed');
      yield* selfTest(ctx.cfg, ctx.signal, { ...(mutations !== undefined ? { mutations } : {}), ...(seed !== undefined ? { seed } : {}), ...(ctx.flags.maas ? { maas: ctx.flags.maas } : {}), env: ctx.io.env });
      return;
    }
    const session = await (await openTarget(ctx)).open({ allowBroken: true, ...(ctx.flags.timeout !== undefined ? { fixTimeoutMs: ctx.flags.timeout } : {}) });
    const { runDoctor } = await import('../../checks/doctor/run-doctor.js');
    try {
      yield* runDoctor(session, {
        categories: categories as import('../../checks/doctor/types.js').Category[],
        probeRateLimit: ctx.flags['probe-rate-limit'],
        fix: ctx.flags.fix,
        confirm: ctx.flags.yes ? async () => true : (ctx.io.confirm ?? (async () => false)),
        signal: ctx.signal,
        env: ctx.io.env,
      });
    } finally {
      await session.close();
    }
  },
});
