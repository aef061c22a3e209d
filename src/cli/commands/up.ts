/** `demo up`: steps 1–5 (and 3a) with readiness waits, on whichever target the run asked for. */
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { Secret } from '../../core/secret.js';
import type { DemoConfig } from '../../core/config.js';
import type { UpOptions } from '../../targets/target.js';
import { defineCommand, type CommandContext } from '../define.js';
import { flag, generationFlags } from '../flags.js';
import { openTarget } from '../target-options.js';

const flags = {
  vllm: flag.boolean('include step 3a, the vLLM provider (default: on locally, off on a cluster)'),
  'no-vllm': flag.boolean('leave step 3a out'),
  'vllm-url': flag.string('URL', 'point the vllm provider at a real vLLM (local target)'),
  'vllm-host': flag.string('HOST', 'remote vLLM host for the XBackendDestination (cluster target)'),
  'vllm-key-file': flag.string('FILE', 'file holding the vLLM API key (or env VLLM_API_KEY)'),
  fault: flag.strings('NAME', 'plant a known fault in the local topology (see `demo doctor --self-test`)'),
  from: flag.string('FILE', 'run the Kubernetes objects in FILE (YAML documents or a List; - for stdin) on the local target'),
  'strict-budget': flag.boolean('reserve max_tokens at admission (local; not what Limitador does)'),
  hardened: flag.boolean("close the tier era's exposures: user-only token minting, streams counted, budgets reserved, token lifetime capped, tier-less tokens refused, requests per user capped (local)"),
  'dry-run': flag.boolean('print what would be applied, change nothing (cluster target)'),
  'wg-dir': flag.string('DIR', 'wg-ai-gateway clone (prototypes/backend-control-plane) for the XBackendDestination CRD', { env: 'WG_DIR' }),
  'skip-crds': flag.boolean('do not install the XBackendDestination CRD (it is installed already; cluster target)'),
  'simulator-image': flag.string('IMAGE', 'prebuilt provider simulator image instead of node + ConfigMap'),
  timeout: flag.seconds('readiness timeout per wait (default 120 on a cluster, 10 locally)'),
  'force-conflicts': flag.boolean('take the fields another field manager owns on our objects (cluster target; kubectl\'s name)'),
  ...generationFlags,
};

type UpContext = CommandContext<typeof flags>;

const fromFiles = new WeakMap<object, Promise<UpOptions['from']>>();

/** `--from FILE` (or `-`), read once per run: the plan and the run see the same objects. */
function readFrom(ctx: UpContext): Promise<UpOptions['from']> {
  const file = ctx.flags.from;
  if (file === undefined) return Promise.resolve(undefined);
  if (!fromFiles.has(ctx.flags)) {
    fromFiles.set(
      ctx.flags,
      (async () => {
        let text: string;
        try {
          text = file === '-' ? await readStdin() : readFileSync(file, 'utf8');
        } catch {
          throw new UserError(`cannot read --from ${file}`, 'give a YAML file of Kubernetes objects, e.g. from `demo manifests --reveal-keys > objects.yaml`');
        }
        const { parseObjects } = await import('../../model/object-file.js');
        return { source: file === '-' ? '(stdin)' : file, objects: parseObjects(text, file === '-' ? '(stdin)' : file, ctx.cfg) };
      })(),
    );
  }
  return fromFiles.get(ctx.flags)!;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** What `up` was asked for, as the target reads it. */
export async function upOptions(ctx: UpContext): Promise<UpOptions> {
  const f = ctx.flags;
  const { FAULTS, findFault } = await import('../../model/faults.js');
  for (const name of f.fault) {
    const base = name.split(':')[0] ?? '';
    if (!findFault(base)) throw new UserError(`unknown fault "${name}"${didYouMean(base, FAULTS.map((x) => x.name))}`, `faults: ${FAULTS.map((x) => x.name).join(', ')} (README.md#faults)`);
  }
  const from = await readFrom(ctx);
  const vllm = f['no-vllm'] ? false : f.vllm || f['vllm-host'] !== undefined || f['vllm-url'] !== undefined ? true : undefined;
  return {
    ...(vllm !== undefined ? { vllm } : {}),
    ...(f['vllm-url'] !== undefined ? { vllmUrl: f['vllm-url'] } : {}),
    ...(f['vllm-host'] !== undefined ? { vllmHost: f['vllm-host'] } : {}),
    faults: f.fault,
    ...(from ? { from } : {}),
    strictBudget: f['strict-budget'],
    hardened: f.hardened,
    dryRun: f['dry-run'],
    ...(f.timeout !== undefined ? { timeoutMs: f.timeout } : {}),
    ...(f['wg-dir'] !== undefined ? { wgDir: f['wg-dir'] } : {}),
    skipCrds: f['skip-crds'],
    ...(f['simulator-image'] !== undefined ? { simulatorImage: f['simulator-image'] } : {}),
    ...(f['force-conflicts'] ? { forceConflicts: true } : {}),
  };
}

/** The vLLM key: --vllm-key-file, else VLLM_API_KEY, else the configured default. Never a plain flag. */
function withVllmKey(cfg: DemoConfig, file: string | undefined, env: NodeJS.ProcessEnv): DemoConfig {
  const vllm = cfg.providers.find((p) => p.name === 'vllm');
  if (!vllm) return cfg;
  let key: Secret | undefined;
  if (file !== undefined) {
    try {
      key = new Secret(readFileSync(file, 'utf8').trim());
    } catch {
      throw new UserError(`cannot read --vllm-key-file ${file}`, 'give a file holding only the key');
    }
  } else if (env.VLLM_API_KEY) {
    key = new Secret(env.VLLM_API_KEY);
  }
  return key ? { ...cfg, providers: cfg.providers.map((p) => (p === vllm ? { ...p, key } : p)) } : cfg;
}

export default defineCommand({
  kind: 'stream',
  name: 'up',
  summary: 'deploy steps 1–5 (and 3a) and wait until each is ready',
  usage: 'demo up [flags]',
  examples: ['demo up', 'demo up --hardened', 'demo up --no-vllm', 'demo up --target cluster --vllm-host vllm.example.com', 'demo up --fault wrong-key'],
  flags,
  plan: async (ctx) => (await openTarget(ctx)).plan(await upOptions(ctx)),
  async *run(ctx) {
    const cfg = withVllmKey(ctx.cfg, ctx.flags['vllm-key-file'], ctx.io.env);
    const target = await openTarget({ ...ctx, cfg });
    yield* target.up(await upOptions(ctx), ctx.signal);
  },
});
