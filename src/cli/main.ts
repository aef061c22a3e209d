/**
 * Entry point: parses flags, picks the renderers, runs one command and maps every outcome to the exit
 * code contract (0 ok, 1 a step or check failed, 2 bad usage or configuration, 130 interrupted).
 * Imports here stay light so `demo --help` loads no ink, react, undici or Kubernetes client.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { commands, findCommand } from './commands.js';
import type { AnyCommand, CommandContext, Io, StreamCommand } from './define.js';
import { allFlags, globalFlags, resolveFlags, type FlagSpec, type FlagTable } from './flags.js';
import { EXIT, UserError, exitCodeOf, hintOf } from '../core/errors.js';
import { redact } from '../core/secret.js';
import { didYouMean } from '../core/suggest.js';
import type { EventInput } from '../core/events.js';
import type { DemoConfig } from '../core/config.js';

export type { Io };

export function version(): string {
  // Compiled: dist/src/cli/main.js; from sources (vitest, in-process tests): src/cli/main.ts.
  const rel = import.meta.url.endsWith('.ts') ? '../../package.json' : '../../../package.json';
  const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultIo(): Io {
  return {
    // Once the reader is gone (bin/demo.js saw EPIPE) the rest of the output has nowhere to go.
    stdout: (t) => void (process.stdout.writable && process.stdout.write(t)),
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

function flagLines(table: FlagTable): string[] {
  return Object.entries(table).map(([n, f]: [string, FlagSpec<unknown>]) => {
    const name = `${f.short ? `-${f.short}, ` : '    '}--${n}${f.arg ? ` ${f.arg}` : ''}`;
    return `  ${name.padEnd(30)} ${f.describe}${f.env ? ` [${f.env}]` : ''}`;
  });
}

export function helpText(cmd?: AnyCommand): string {
  if (cmd) {
    return [
      `${cmd.summary}`,
      '',
      `Usage: ${cmd.usage}`,
      '',
      ...(Object.keys(cmd.flags).length ? ['Flags:', ...flagLines(cmd.flags), ''] : []),
      'Global flags:',
      ...flagLines(globalFlags),
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
    ...flagLines(globalFlags),
    '',
    'Exit codes: 0 success, 1 a step or check failed, 2 bad usage or configuration, 130 interrupted.',
    'Run `demo <command> --help` for the flags of one command.',
    '',
  ].join('\n');
}

function parse(cmd: AnyCommand | undefined, argv: string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(allFlags(cmd?.flags ?? {}))) options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  const help = `run \`demo ${cmd?.name ?? ''} --help\` for the flags`.replace('  ', ' ');
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // node:util's messages, in our words: which flag, what was wrong, the likely one meant.
    const e = err as { code?: string; message?: string };
    const msg = e.message ?? String(err);
    const flag = /'(-{1,2}[^' <]+)/.exec(msg)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const known = Object.entries(options).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : [])]);
      const where = cmd ? `demo ${cmd.name}` : 'demo';
      throw new UserError(`unknown flag ${flag} for ${where}${didYouMean(flag.replace(/=.*$/, ''), known)}`, help);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(msg)) throw new UserError(`${flag} needs a value`, help);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /does not take an argument/.test(msg)) throw new UserError(`${flag} is a switch and takes no value`, `write ${flag} alone, or leave it out`);
    throw new UserError((msg.split('\n')[0] ?? msg).replace(/^TypeError \[[A-Z_]+\]: /, ''), help);
  }
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
  const { checkConfigShape } = await import('../core/config-schema.js');
  checkConfigShape(data, file);
  try {
    return mergeConfig(defaultConfig(), data as Record<string, unknown>);
  } catch (err) {
    // A shape the merge cannot follow (e.g. `providers: [null]`) is bad configuration (exit 2), not a bug.
    throw new UserError(`config file ${file} does not fit the configuration's shape: ${(err as Error).message}`, 'see README.md#configuration for the shape');
  }
}

/**
 * Further runs the TUI asks for (`r`): each goes through the same driver as the first run, so the
 * recording, JUnit and the exit code see it.
 */
async function* reruns(cmd: StreamCommand, ctx: CommandContext, requests: AsyncIterable<string[]>): AsyncGenerator<AsyncIterable<EventInput>> {
  for await (const ids of requests) yield cmd.rerun!(ctx, ids);
}

/** The command: the first word that is neither a flag nor the value of a global string flag (`demo -o json down`). */
function commandWord(argv: string[]): string | undefined {
  const takesValue = new Set(Object.entries(globalFlags).filter(([, f]) => f.type === 'string').flatMap(([n, f]) => [`--${n}`, ...(f.short ? [`-${f.short}`] : [])]));
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
      throw new UserError(`unknown command "${first}"${didYouMean(first, commands.map((c) => c.name))}`, `commands: ${commands.map((c) => c.name).join(', ')}; see \`demo --help\``);
    }
    const at = first === undefined ? -1 : argv.indexOf(first, 0);
    const rest = cmd ? argv.filter((_, i) => i !== at) : argv;
    const parsed = parse(cmd, rest);
    const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
    wantJson = raw.output === 'json';
    if (raw.version) {
      io.stdout(`${version()}\n`);
      return EXIT.ok;
    }
    if (raw.help || !cmd) {
      io.stdout(helpText(cmd));
      return raw.help ? EXIT.ok : EXIT.usage;
    }
    const flags = resolveFlags(allFlags(cmd.flags), raw, io.env);
    wantJson = flags.output === 'json';
    if (cmd.positionals?.required && parsed.positionals.length === 0) {
      throw new UserError(`${cmd.name} needs ${cmd.positionals.name}`, `usage: ${cmd.usage}`);
    }
    if (!cmd.positionals && parsed.positionals.length > 0) {
      throw new UserError(`unexpected argument "${parsed.positionals[0]}"`, `usage: ${cmd.usage}`);
    }
    const ctx: CommandContext = {
      command: cmd.name,
      flags: flags as CommandContext['flags'],
      positionals: parsed.positionals,
      cfg: await loadConfig(flags.config as string | undefined),
      signal: controller.signal,
      io,
      version: version(),
    };
    if (cmd.kind === 'direct') return await cmd.run(ctx);

    const { drive } = await import('../core/run.js');
    const plan = cmd.plan ? await cmd.plan(ctx) : undefined;
    const { createOutputSinks } = await import('./output.js');
    const start = performance.now();
    const out = await createOutputSinks(ctx, { canRerun: Boolean(cmd.rerun) });
    const result = await drive(cmd.run(ctx), {
      command: ctx.command,
      target: ctx.flags.target ?? 'local',
      version: ctx.version,
      sinks: out.all,
      signal: controller.signal,
      ...(plan ? { plan } : {}),
      failOnWarning: cmd.failOnWarning?.(ctx) ?? false,
      now: () => performance.now() - start,
      ...(out.tui && cmd.rerun ? { more: reruns(cmd, ctx, out.tui.reruns()) } : {}),
    });
    return result.exitCode;
  } catch (err) {
    const code = exitCodeOf(err);
    const { asInstalled, invocation } = await import('./invocation.js');
    const inv = invocation(io.env, process.argv[1]);
    const message = asInstalled(redact(err instanceof Error ? err.message : String(err)), inv);
    const raw = hintOf(err);
    const { docLink } = await import('../render/doc-links.js');
    const hint = raw === undefined ? undefined : asInstalled(docLink(raw), inv);
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
