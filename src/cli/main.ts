/**
 * Entry point: parses flags, picks the renderers, runs one command and maps every outcome to the exit
 * code contract (0 ok, 1 a step or check failed, 2 bad usage or configuration, 130 interrupted).
 * Imports here stay light so `demo --help` loads no ink, react, undici or Kubernetes client.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { commands, findCommand, globalFlags, type CommandDef, type FlagDef } from './commands.js';
import { EXIT, UserError, exitCodeOf, hintOf } from '../core/errors.js';
import { redact } from '../core/secret.js';
import type { CommandName, EventInput, TargetKind } from '../core/events.js';
import type { DemoConfig } from '../core/config.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /** Ask a yes/no question (doctor --fix). Resolves false when there is no terminal. */
  confirm?: (question: string) => Promise<boolean>;
  columns?: number;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  command: CommandName;
  flags: FlagValues;
  positionals: string[];
  target: TargetKind;
  cfg: DemoConfig;
  signal: AbortSignal;
  io: Io;
  version: string;
}

/** A command module either streams events (rendered by the chosen sinks) or writes its own output. */
export type CommandModule =
  | { kind: 'stream'; plan?: (ctx: CommandContext) => Promise<{ id: string; title: string }[]> | { id: string; title: string }[]; run: (ctx: CommandContext) => AsyncIterable<EventInput>; failOnWarning?: (ctx: CommandContext) => boolean }
  | { kind: 'direct'; run: (ctx: CommandContext) => Promise<number> };

const loaders: Record<string, () => Promise<CommandModule>> = {
  up: () => import('./commands/up.js').then((m) => m.default),
  down: () => import('./commands/down.js').then((m) => m.default),
  validate: () => import('./commands/validate.js').then((m) => m.default),
  doctor: () => import('./commands/doctor.js').then((m) => m.default),
  env: () => import('./commands/env.js').then((m) => m.default),
  manifests: () => import('./commands/manifests.js').then((m) => m.default),
  replay: () => import('./commands/replay.js').then((m) => m.default),
  tour: () => import('./commands/tour.js').then((m) => m.default),
};

export function version(): string {
  // Compiled: dist/src/cli/main.js; from sources (vitest, in-process tests): src/cli/main.ts.
  const rel = import.meta.url.endsWith('.ts') ? '../../package.json' : '../../../package.json';
  const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultIo(): Io {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY),
    columns: process.stdout.columns,
    confirm: async (question) => {
      if (!process.stdin.isTTY) return false;
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
  };
}

function flagLine(f: FlagDef): string {
  const name = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
  return `  ${name.padEnd(30)} ${f.describe}${f.env ? ` [${f.env}]` : ''}`;
}

export function helpText(cmd?: CommandDef): string {
  if (cmd) {
    return [
      `${cmd.summary}`,
      '',
      `Usage: ${cmd.usage}`,
      '',
      ...(cmd.flags.length ? ['Flags:', ...cmd.flags.map(flagLine), ''] : []),
      'Global flags:',
      ...globalFlags.map(flagLine),
      '',
      'Examples:',
      ...cmd.examples.map((e) => `  ${e}`),
      '',
    ].join('\n');
  }
  return [
    'maas-egress-demo — deploy, validate and diagnose an egress AI gateway (MaaS → egress gateway → providers)',
    '',
    'Usage: demo <command> [flags]        (also: npx maas-egress-demo <command>)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Global flags:',
    ...globalFlags.map(flagLine),
    '',
    'Exit codes: 0 success, 1 a step or check failed, 2 bad usage or configuration, 130 interrupted.',
    'Run `demo <command> --help` for the flags of one command.',
    '',
  ].join('\n');
}

function parse(cmd: CommandDef | undefined, argv: string[]) {
  const defs = [...globalFlags, ...(cmd?.flags ?? [])];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of defs) options[f.name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    throw new UserError(msg.replace(/^TypeError \[[A-Z_]+\]: /, ''), `run \`demo ${cmd?.name ?? ''} --help\` for the flags`.replace('  ', ' '));
  }
}

function resolveFlags(cmd: CommandDef, values: FlagValues, env: NodeJS.ProcessEnv): FlagValues {
  const out: FlagValues = { ...values };
  for (const f of [...globalFlags, ...cmd.flags]) {
    if (out[f.name] === undefined && f.env && env[f.env] !== undefined && env[f.env] !== '') {
      out[f.name] = f.type === 'boolean' ? env[f.env] !== '0' && env[f.env] !== 'false' : env[f.env];
    }
    const v = out[f.name];
    if (f.choices && typeof v === 'string' && !f.choices.includes(v)) {
      throw new UserError(`--${f.name} must be one of ${f.choices.join(', ')}; got "${v}"`, `e.g. --${f.name} ${f.choices[0]}`);
    }
  }
  return out;
}

async function loadConfig(file: string | undefined): Promise<DemoConfig> {
  const { defaultConfig, mergeConfig } = await import('../core/config.js');
  if (!file) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`cannot read config file ${file}`, 'check the path given to --config');
  }
  let data: unknown;
  try {
    const { parse: parseYaml } = await import('yaml');
    data = parseYaml(text);
  } catch (err) {
    throw new UserError(`config file ${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`, 'fix the syntax, or start from `demo manifests` defaults in README.md#configuration');
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`config file ${file} must hold an object`, 'see README.md#configuration for the shape');
  }
  try {
    return mergeConfig(defaultConfig(), data as Record<string, unknown>);
  } catch (err) {
    // A shape the merge cannot follow (e.g. `providers: [null]`) is bad configuration (exit 2), not a bug.
    throw new UserError(`config file ${file} does not fit the configuration's shape: ${(err as Error).message}`, 'see README.md#configuration for the shape');
  }
}

/** CI as ink and most tools read it: set, and neither '0' nor 'false'. */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => env[k] !== undefined && env[k] !== '0' && env[k] !== 'false');
}

export type OutputMode = 'tui' | 'plain' | 'json' | 'ndjson';

export function chooseOutput(flag: string | undefined, io: Io): OutputMode {
  if (flag && flag !== 'auto') return flag as OutputMode;
  return io.isTTY && !inCi(io.env) ? 'tui' : 'plain';
}

export function colorEnabled(flags: FlagValues, io: Io): boolean {
  if (flags['no-color']) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== '0') return true;
  return io.isTTY;
}

/**
 * `r` in the TUI reruns failed validation calls: the same command module with `--only` those calls,
 * its events stamped on the running clock and masked like the rest.
 */
function rerunner(mod: Extract<CommandModule, { kind: 'stream' }>, ctx: CommandContext, start: number) {
  return async function* (ids: string[]): AsyncGenerator<import('../core/events.js').DemoEvent> {
    const { redactValue } = await import('../core/secret.js');
    const only = ids.map((id) => id.replace(/^call-/, '')).join(',');
    for await (const e of mod.run({ ...ctx, flags: { ...ctx.flags, only, skip: undefined } })) {
      yield redactValue({ ...e, t: Math.round(performance.now() - start) } as import('../core/events.js').DemoEvent);
    }
  };
}

/** The command: the first word that is neither a flag nor the value of a global string flag (`demo -o json down`). */
function commandWord(argv: string[]): string | undefined {
  const takesValue = new Set(globalFlags.filter((f) => f.type === 'string').flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (takesValue.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

function argvWantsJson(argv: string[]): boolean {
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i]!;
    if ((a === '--output' || a === '-o') && argv[i + 1] === 'json') return true;
    if (a === '--output=json' || a === '-ojson' || a === '-o=json') return true;
  }
  return false;
}

/** Runs the CLI with argv (without node and script) and returns the exit code. Never throws. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const debug = argv.includes('--debug') || Boolean(io.env.MAAS_EGRESS_DEMO_DEBUG);
  if (debug) io.env.MAAS_EGRESS_DEMO_DEBUG = '1';
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  // Known before parsing, so a usage error of a `--output json` run is still one JSON document.
  let wantJson = argvWantsJson(argv) || (io.env.DEMO_OUTPUT === 'json' && !argv.some((a) => a === '-o' || a === '--output' || a.startsWith('--output=') || /^-o./.test(a)));
  try {
    const first = commandWord(argv);
    const cmd = first ? findCommand(first) : undefined;
    if (first && !cmd) {
      throw new UserError(`unknown command "${first}"`, `commands: ${commands.map((c) => c.name).join(', ')}; see \`demo --help\``);
    }
    const at = first === undefined ? -1 : argv.indexOf(first, 0);
    const rest = cmd ? argv.filter((_, i) => i !== at) : argv;
    const parsed = parse(cmd, rest);
    const values = parsed.values as FlagValues;
    wantJson = values.output === 'json';
    if (values.version) {
      io.stdout(`${version()}\n`);
      return EXIT.ok;
    }
    if (values.help || !cmd) {
      io.stdout(helpText(cmd));
      return values.help ? EXIT.ok : EXIT.usage;
    }
    const flags = resolveFlags(cmd, values, io.env);
    wantJson = flags.output === 'json';
    if (cmd.positionals?.required && parsed.positionals.length === 0) {
      throw new UserError(`${cmd.name} needs ${cmd.positionals.name}`, `usage: ${cmd.usage}`);
    }
    if (!cmd.positionals && parsed.positionals.length > 0) {
      throw new UserError(`unexpected argument "${parsed.positionals[0]}"`, `usage: ${cmd.usage}`);
    }
    const target = (flags.target as TargetKind | undefined) ?? 'local';
    const cfg = await loadConfig(flags.config as string | undefined);
    const ctx: CommandContext = {
      command: cmd.name as CommandName,
      flags,
      positionals: parsed.positionals,
      target,
      cfg,
      signal: controller.signal,
      io,
      version: version(),
    };
    const mod = await loaders[cmd.name]!();
    if (mod.kind === 'direct') return await mod.run(ctx);

    const { drive } = await import('../core/run.js');
    const plan = mod.plan ? await mod.plan(ctx) : undefined;
    const { createOutputSinks } = await import('./commands/output-sinks.js');
    const start = performance.now();
    const { all: sinks } = await createOutputSinks(ctx, ctx.command === 'validate' ? { rerun: rerunner(mod, ctx, start) } : {});
    const result = await drive(mod.run(ctx), {
      command: ctx.command,
      target,
      version: ctx.version,
      sinks,
      signal: controller.signal,
      ...(plan ? { plan } : {}),
      failOnWarning: mod.failOnWarning?.(ctx) ?? false,
      now: () => performance.now() - start,
    });
    return result.exitCode;
  } catch (err) {
    const code = exitCodeOf(err);
    const message = redact(err instanceof Error ? err.message : String(err));
    const hint = hintOf(err);
    if (wantJson) {
      io.stdout(`${JSON.stringify({ ok: false, exitCode: code, error: { message, ...(hint ? { hint } : {}) } })}\n`);
    } else {
      io.stderr(`error: ${message}\n${hint ? `hint: ${hint}\n` : ''}`);
    }
    if (debug && err instanceof Error && err.stack) io.stderr(`${redact(err.stack)}\n`);
    return code;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
