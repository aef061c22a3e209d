/**
 * `demo manifests`: every step's objects as multi-document YAML, rendered exactly as `up --target
 * cluster` applies them, with no cluster at all. Keys are masked unless --reveal-keys. Without
 * --wg-dir (or WG_DIR) the XBackendDestination CRD is left out and a comment says where it comes from.
 */
import type { DemoConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { stepById } from '../../../steps/index.js';
import { renderAll, renderForDisplay } from '../../manifests/render.js';
import { isPlatformOwned, objectRef, planToYaml, printable } from './manifest-yaml.js';
import { stepContext, wgDirOf } from './options.js';

export interface ManifestOptions {
  cfg: DemoConfig;
  env: NodeJS.ProcessEnv;
  vllm: boolean;
  vllmHost?: string;
  simulatorImage?: string;
  wgDir?: string;
  /** Only this step (1, 2, 3, 3a, 4, 5). */
  step?: string;
  revealKeys: boolean;
  /** One JSON document, a `kind: List` of the objects (as `kubectl get -o json` prints several). */
  json?: boolean;
  /** Print the objects the platform owns too (marked); left out by default so `kubectl apply` cannot overwrite them. */
  includePlatform?: boolean;
}

export async function printManifests(o: ManifestOptions): Promise<string> {
  const wgDir = wgDirOf(o.wgDir, o.env);
  const sctx = stepContext({ vllm: o.vllm || Boolean(o.vllmHost), skipCrds: !wgDir, ...(wgDir ? { wgDir } : {}), ...(o.vllmHost ? { vllmHost: o.vllmHost } : {}), ...(o.simulatorImage ? { simulatorImage: o.simulatorImage } : {}) }, o.cfg);
  const only = o.step;
  if (only && !stepById(only)) throw new UserError(`--step must be one of 1, 2, 3, 3a, 4, 5; got "${only}"`, 'e.g. --step 4');
  if (only && stepById(only)?.id === '3a' && !sctx.providers.some((p) => p.optional)) {
    sctx.providers = o.cfg.providers;
  }
  let plan = o.revealKeys ? renderAll(sctx) : renderForDisplay(sctx);
  if (only) plan = plan.filter((r) => r.step.id === stepById(only)?.id);
  if (o.json) {
    // no comments in JSON: the platform's objects are left out unless asked for, never with our apply-mode annotation
    const items = plan.flatMap((r) => [...r.objects.filter((obj) => o.includePlatform || !isPlatformOwned(obj)).map(printable), ...r.patches.map((p) => p.applyObject)]);
    return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n`;
  }
  const platform = plan.flatMap((r) => r.objects.filter(isPlatformOwned).map((obj) => ({ step: r.step.id, obj })));
  const head = [
    '# maas-egress-demo: the objects `demo up --target cluster` applies (server-side apply, field manager maas-egress-demo)',
    o.revealKeys ? '# WARNING: provider keys are shown in clear (--reveal-keys)' : '# provider keys are masked; --reveal-keys prints them for piping to kubectl',
    ...(wgDir ? [] : ['# the XBackendDestination CRD is not included: pass --wg-dir (or set WG_DIR) to a wg-ai-gateway checkout, or install it yourself']),
    '# the maas-api namespace is detected on the cluster (opendatahub on ODH, redhat-ods-applications on RHOAI); shown here as configured',
    ...(platform.length && !o.includePlatform
      ? [
          `# left out, owned by the platform (MaaS ships it; \`demo up\` creates it only where it is absent, and \`kubectl apply\` would overwrite and relabel it): ${platform.map((p) => objectRef(p.obj)).join(', ')}; --include-platform prints it`,
        ]
      : []),
    '',
  ].join('\n');
  return `${head}${planToYaml(plan, { platform: o.includePlatform ? 'mark' : 'omit' })}`;
}
