/**
 * `demo manifests`: every step's objects as multi-document YAML, rendered exactly as `up --target
 * cluster` applies them, with no cluster at all. Keys are masked unless --reveal-keys. Without
 * --wg-dir (or WG_DIR) the XBackendDestination CRD is left out and a comment says where it comes from.
 */
import type { CommandContext } from '../../cli/main.js';
import { UserError } from '../../core/errors.js';
import { stepById } from '../../../steps/index.js';
import { planToYaml, renderAll, renderForDisplay } from './render.js';
import { stepContext, wgDirOf } from './options.js';

export async function printManifests(ctx: CommandContext): Promise<string> {
  const wgDir = wgDirOf(ctx);
  const sctx = stepContext(ctx, ctx.cfg, { skipCrds: !wgDir });
  const only = typeof ctx.flags.step === 'string' ? ctx.flags.step : undefined;
  if (only && !stepById(only)) throw new UserError(`--step must be one of 1, 2, 3, 3a, 4, 5; got "${only}"`, 'e.g. --step 4');
  if (only && stepById(only)?.id === '3a' && !sctx.providers.some((p) => p.optional)) {
    sctx.providers = ctx.cfg.providers;
  }
  let plan = ctx.flags['reveal-keys'] ? renderAll(sctx) : renderForDisplay(sctx);
  if (only) plan = plan.filter((r) => r.step.id === stepById(only)?.id);
  const head = [
    '# maas-egress-demo: the objects `demo up --target cluster` applies (server-side apply, field manager maas-egress-demo)',
    ctx.flags['reveal-keys'] ? '# WARNING: provider keys are shown in clear (--reveal-keys)' : '# provider keys are masked; --reveal-keys prints them for piping to kubectl',
    ...(wgDir ? [] : ['# the XBackendDestination CRD is not included: pass --wg-dir (or set WG_DIR) to a wg-ai-gateway checkout, or install it yourself']),
    '# the maas-api namespace is detected on the cluster (opendatahub on ODH, redhat-ods-applications on RHOAI); shown here as configured',
    '',
  ].join('\n');
  return `${head}${planToYaml(plan)}`;
}
