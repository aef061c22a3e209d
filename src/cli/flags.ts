/**
 * Flags as typed data. Each flag says how it is parsed (node:util parseArgs), how it is shown in
 * `--help`, its environment twin, and how its raw text becomes the typed value the command reads, so a
 * bad value is one usage error here and never a cast in a command.
 */
import { UserError } from '../core/errors.js';

type Raw = string | boolean | string[] | undefined;

export interface FlagSpec<T> {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. FILE. */
  arg?: string;
  describe: string;
  /** Environment twin, e.g. DEMO_TARGET. */
  env?: string;
  choices?: readonly string[];
  /** The raw value (flag, else environment twin, else undefined) as the command reads it. */
  parse: (raw: Raw, name: string) => T;
}

export type FlagTable = Record<string, FlagSpec<unknown>>;
export type FlagValues<F extends FlagTable> = { [K in keyof F]: F[K] extends FlagSpec<infer T> ? T : never };

interface Common {
  short?: string;
  env?: string;
}

const text = (raw: Raw): string | undefined => (typeof raw === 'string' && raw !== '' ? raw : undefined);

export const flag = {
  boolean: (describe: string, o: Common = {}): FlagSpec<boolean> => ({ type: 'boolean', describe, ...o, parse: (raw) => raw === true || raw === 'true' }),
  string: (arg: string, describe: string, o: Common = {}): FlagSpec<string | undefined> => ({ type: 'string', arg, describe, ...o, parse: text }),
  strings: (arg: string, describe: string, o: Common = {}): FlagSpec<string[]> => ({
    type: 'string',
    multiple: true,
    arg,
    describe,
    ...o,
    parse: (raw) => (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []),
  }),
  choice: <C extends string>(choices: readonly C[], arg: string, describe: string, o: Common = {}): FlagSpec<C | undefined> => ({
    type: 'string',
    arg,
    describe,
    choices,
    ...o,
    parse: (raw, name) => {
      const v = text(raw);
      if (v === undefined) return undefined;
      if (!(choices as readonly string[]).includes(v)) throw new UserError(`--${name} must be one of ${choices.join(', ')}; got "${v}"`, `e.g. --${name} ${choices[0]}`);
      return v as C;
    },
  }),
  /** A positive number of seconds, read as milliseconds. */
  seconds: (describe: string, o: Common = {}): FlagSpec<number | undefined> => ({
    type: 'string',
    arg: 'SECONDS',
    describe,
    ...o,
    parse: (raw, name) => {
      if (raw === undefined) return undefined;
      const n = Number(raw);
      if (typeof raw !== 'string' || !Number.isFinite(n) || n <= 0) throw new UserError(`--${name} must be a positive number of seconds; got "${String(raw)}"`, `e.g. --${name} 120`);
      return n * 1000;
    },
  }),
};

export const OUTPUT_MODES = ['auto', 'tui', 'plain', 'json', 'ndjson'] as const;

/** Flags every command takes. */
export const globalFlags = {
  target: flag.choice(['local', 'cluster'] as const, 'local|cluster', 'where the demo runs (default local)', { env: 'DEMO_TARGET' }),
  output: flag.choice(OUTPUT_MODES, 'MODE', 'auto|tui|plain|json|ndjson (auto: TUI on a terminal outside CI, plain otherwise)', { short: 'o', env: 'DEMO_OUTPUT' }),
  record: flag.string('FILE', 'write the event stream (masked) to FILE for replay', { env: 'DEMO_RECORD' }),
  junit: flag.string('FILE', 'also write JUnit XML results to FILE'),
  config: flag.string('FILE', 'JSON or YAML file overriding names, keys, models, tiers and limits', { env: 'DEMO_CONFIG' }),
  context: flag.string('NAME', 'kubeconfig context (cluster target)', { env: 'DEMO_CONTEXT' }),
  kubeconfig: flag.string('FILE', 'kubeconfig file (cluster target; KUBECONFIG is honoured)'),
  interactive: flag.boolean('keep the TUI open after the run to browse traces (q quits)'),
  'no-color': flag.boolean('no colour (NO_COLOR is honoured too)'),
  debug: flag.boolean('show stack traces of unexpected errors'),
  help: flag.boolean('show help', { short: 'h' }),
  version: flag.boolean('print the version', { short: 'v' }),
} satisfies FlagTable;

export type GlobalFlags = FlagValues<typeof globalFlags>;

/** Flags of the commands that talk to a running gateway (validate, doctor). */
export const accessFlags = {
  token: flag.string('TOKEN', 'cluster user token (else kubeconfig user, else `oc whoami -t`)', { env: 'DEMO_TOKEN' }),
  'ca-file': flag.string('FILE', 'CA bundle to verify the MaaS gateway (cluster target)'),
  insecure: flag.boolean('skip TLS verification of the MaaS gateway (cluster target; said loudly)'),
} satisfies FlagTable;

/** The MaaS generation when a cluster's own evidence does not decide it (commands that read the install). */
export const generationFlags = {
  maas: flag.choice(['tier', 'subscription'] as const, 'tier|subscription', 'the MaaS generation of the cluster, when its CRDs and maas-api do not tell (cluster target)', { env: 'DEMO_MAAS' }),
} satisfies FlagTable;

/** Every flag of a command, global ones first: the order `--help` lists and the parser reads them. */
export function allFlags(own: FlagTable): FlagTable {
  return { ...globalFlags, ...own };
}

/**
 * Resolves raw parser output into typed values: environment twins fill what the command line left
 * unset, then each flag parses its own value (a bad one is a usage error naming the flag).
 */
export function resolveFlags<F extends FlagTable>(table: F, raw: Record<string, Raw>, env: NodeJS.ProcessEnv): FlagValues<F> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    let v = raw[name];
    if (v === undefined && spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      const e = env[spec.env]!;
      v = spec.type === 'boolean' ? e !== '0' && e !== 'false' : e;
    }
    out[name] = spec.parse(v, name);
  }
  return out as FlagValues<F>;
}
