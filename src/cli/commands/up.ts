/** `demo up`: steps 1–5 (and 3a) with readiness waits, on whichever target the run asked for. */
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import type { DemoConfig } from '../../core/config.js';
import type { UpOptions } from '../../targets/target.js';
import { defineCommand, type CommandContext } from '../define.js';
import { flag } from '../flags.js';
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
  maas: flag.choice(['tier', 'subscription'] as const, 'GEN', 'MaaS generation: tier (the seed demo, default) or subscription (current MaaS: API keys, subscriptions, external models); on a cluster, only when its evidence does not tell', { env: 'DEMO_MAAS' }),
  'database-url': flag.string('URL', 'subscription era: keep API keys in this PostgreSQL (postgres://…) instead of the embedded one', { env: 'DEMO_DATABASE_URL' }),
  provider: flag.strings('NAME=URL', 'subscription era: point a provider at a real endpoint, e.g. openai=https://api.openai.com'),
  'provider-key-file': flag.strings('NAME=FILE', "subscription era: file holding that provider's API key (never a plain flag)"),
  'provider-ca-file': flag.strings('NAME=FILE', "subscription era: a private CA to trust for that provider's endpoint (besides the system's)"),
  'force-conflicts': flag.boolean('take the fields another field manager owns on our objects (cluster target; kubectl\'s name)'),
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

/** `NAME=VALUE` pairs of a repeated flag, by name; a pair without `=` is a usage error. */
function pairs(values: string[], flagName: string, example: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new UserError(`--${flagName} takes NAME=VALUE; got "${v}"`, `e.g. --${flagName} ${example}`);
    out.set(v.slice(0, i), v.slice(i + 1));
  }
  return out;
}

/** `--provider`, with the CA files given for it (keys are read by `withProviderKeys`). */
function providerOverrides(f: UpContext['flags']): NonNullable<UpOptions['providers']> {
  const urls = pairs(f.provider, 'provider', 'openai=https://api.openai.com');
  const cas = pairs(f['provider-ca-file'], 'provider-ca-file', 'openai=ca.pem');
  const keys = pairs(f['provider-key-file'], 'provider-key-file', 'openai=key.txt');
  for (const name of [...cas.keys(), ...keys.keys()]) {
    if (!urls.has(name)) throw new UserError(`--provider-ca-file and --provider-key-file go with --provider ${name}=URL`, `e.g. --provider ${name}=https://api.${name}.com --provider-key-file ${name}=key.txt`);
  }
  for (const name of urls.keys()) {
    if (!keys.has(name)) throw new UserError(`--provider ${name} needs the provider's key: --provider-key-file ${name}=FILE`, 'the file holds only the key; it goes into the provider Secret, never on a command line');
  }
  return [...urls.entries()].map(([name, url]) => ({ name, url, ...(cas.has(name) ? { caFile: cas.get(name)! } : {}) }));
}

/** The configuration with the keys of `--provider-key-file` in place of the configured ones. */
function withProviderKeys(cfg: DemoConfig, files: string[]): DemoConfig {
  const keys = pairs(files, 'provider-key-file', 'openai=key.txt');
  if (!keys.size) return cfg;
  return {
    ...cfg,
    providers: cfg.providers.map((p) => {
      const file = keys.get(p.name);
      if (file === undefined) return p;
      let key: string;
      try {
        key = readFileSync(file, 'utf8').trim();
      } catch {
        throw new UserError(`cannot read --provider-key-file ${p.name}=${file}`, 'give a file holding only the key');
      }
      if (!key) throw new UserError(`--provider-key-file ${p.name}=${file} is empty`, 'give a file holding only the key');
      return { ...p, key: new Secret(key) };
    }),
  };
}

/** What `up` was asked for, as the target reads it. */
export async function upOptions(ctx: UpContext): Promise<UpOptions> {
  const f = ctx.flags;
  // Fault names are checked by the target: which faults exist depends on the MaaS generation it runs.
  const from = await readFrom(ctx);
  const providers = providerOverrides(f);
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
    ...(f.maas !== undefined ? { maas: f.maas } : {}),
    ...(f['database-url'] !== undefined ? { databaseUrl: f['database-url'] } : {}),
    ...(providers.length ? { providers } : {}),
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
  examples: ['demo up', 'demo up --maas subscription', 'demo up --hardened', 'demo up --no-vllm', 'demo up --target cluster --vllm-host vllm.example.com', 'demo up --fault wrong-key', 'demo up --maas subscription --provider openai=https://api.openai.com --provider-key-file openai=key.txt'],
  flags,
  plan: async (ctx) => (await openTarget(ctx)).plan(await upOptions(ctx)),
  async *run(ctx) {
    const cfg = withProviderKeys(withVllmKey(ctx.cfg, ctx.flags['vllm-key-file'], ctx.io.env), ctx.flags['provider-key-file']);
    const target = await openTarget({ ...ctx, cfg });
    yield* target.up(await upOptions(ctx), ctx.signal);
  },
});
