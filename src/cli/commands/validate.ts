/** `demo validate`: mints a token and runs validation calls 1–10 with a per-hop trace of each. */
import { UserError } from '../../core/errors.js';
import type { TargetSession } from '../../targets/target.js';
import { defineCommand, type CommandContext } from '../define.js';
import { accessFlags, flag, generationFlags } from '../flags.js';
import { openTarget } from '../target-options.js';

const flags = {
  only: flag.string('IDS', 'run only these calls, e.g. 4,5'),
  skip: flag.string('IDS', 'skip these calls, e.g. 10'),
  ...accessFlags,
  ...generationFlags,
};

type Selection = { only?: string | undefined; skip?: string | undefined };

/** The validation calls of the install's MaaS generation (the running one's, read without opening it). */
async function catalog(ctx: CommandContext<typeof flags>, session?: TargetSession) {
  const { validationCatalog } = await import('../../checks/catalog.js');
  const generation = session?.generation ?? (await (await openTarget(ctx)).generation?.()) ?? 'tier';
  const cfg = session?.cfg ?? ctx.cfg;
  return validationCatalog(generation, cfg, session?.providers() ?? cfg.providers, ctx.io.env);
}

async function selected(ctx: CommandContext<typeof flags>, sel: Selection) {
  try {
    return await (await catalog(ctx)).plan(sel.only, sel.skip);
  } catch (err) {
    throw new UserError((err as Error).message, 'e.g. --only 4,5 or --skip 10');
  }
}

async function* validate(ctx: CommandContext<typeof flags>, sel: Selection) {
  await selected(ctx, sel);
  const session = await (await openTarget(ctx)).open();
  try {
    yield* (await catalog(ctx, session)).run(session, sel.only, sel.skip, ctx.signal);
  } finally {
    await session.close();
  }
}

export default defineCommand({
  kind: 'stream',
  name: 'validate',
  summary: 'mint a token (or, in the subscription era, an API key) and run the validation calls with a per-hop trace of each',
  usage: 'demo validate [flags]',
  examples: ['demo validate', 'demo validate --skip 10', 'demo validate --only 4,5 --output json', 'demo validate --junit results.xml'],
  flags,
  plan: (ctx) => selected(ctx, ctx.flags),
  run: (ctx) => validate(ctx, ctx.flags),
  // `r` in the TUI: the failed calls again, by their call numbers.
  rerun: (ctx, ids) => validate(ctx, { only: ids.map((id) => id.replace(/^call-/, '')).join(',') }),
});
