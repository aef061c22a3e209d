/**
 * A simulator as a program: strict flag parsing whose errors never repeat a value, the port file a
 * launcher polls, the main-module test that works through ConfigMap symlinks, and the start/stop life
 * of the process. Only `node:` built-ins and the other simulator modules (see http-server.ts).
 */
import { readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { closeServer, safeText, type Server } from './http-server.js';

/** A bad command line or missing configuration; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What a running simulator hands back to in-process callers. */
export interface RunningSim {
  /** The bound TCP port (the real one when 0 was asked for). */
  port: number;
  /** Stops listening, ends idle keep-alive connections and, after a short grace, all others. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Command lines

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * `util.parseArgs` in strict mode, with errors turned into {@link UsageError}s whose messages never
 * repeat an argument value (a key pasted on the command line must not end up in a log).
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Record<string, string | boolean | string[] | undefined> {
  try {
    const { values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false });
    return values as Record<string, string | boolean | string[] | undefined>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError('unexpected positional argument');
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'(--?[A-Za-z0-9-]+)/.exec((error as Error).message)?.[1] ?? 'option';
      throw new UsageError(`unknown option ${name}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--?[A-Za-z0-9-]+)/.exec((error as Error).message)?.[1] ?? 'an option';
      throw new UsageError(`option ${name} needs a value`);
    }
    throw new UsageError('cannot parse the command line');
  }
}

/** The text of a file a flag names (a PEM, a key file); one that cannot be read is a usage error naming the flag. */
export function readFlagFile(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${flag} (${(error as { code?: string }).code ?? 'error'})`);
  }
}

/** Parses an integer flag value within bounds; `undefined` gives the default. */
export function intFlag(value: unknown, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}`);
  }
  return n;
}

export function stringFlag(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Rejects a flag that must never be used (e.g. `--api-key VALUE`), before parsing, without echoing it. */
export function rejectFlag(argv: readonly string[], flag: string, message: string): void {
  if (argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) throw new UsageError(message);
}

// ---------------------------------------------------------------------------------------------------
// Lifecycle

/** Timeouts every simulator server gets: slow or stuck clients cannot hold a socket forever. */
export const SIM_SERVER_LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 } as const;

/** Wraps a started server as a {@link RunningSim} whose `close()` may be called more than once. */
export function runningSim(server: Server, port: number): RunningSim {
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => (closing ??= closeServer(server)),
  };
}

/** Writes the port followed by a newline, atomically (a launcher polling the file never sees half of it). */
export function writePortFile(file: string, port: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${port}\n`);
  renameSync(tmp, file);
}

/**
 * True when the module with this `import.meta.url` is the program node was started with. Resolves
 * symlinks, as node does for the main module (ConfigMap volumes mount files through symlinks).
 */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === importMetaUrl;
  } catch {
    return pathToFileURL(entry).href === importMetaUrl;
  }
}

/**
 * Runs a simulator as a program: starts it, writes the port file, logs one line, and on SIGTERM/SIGINT
 * closes it and exits 0. Usage errors exit 2, any other start failure exits 1; messages are one line.
 */
export async function runCli(
  program: string,
  start: () => Promise<{ sim: RunningSim; portFile?: string; banner: (port: number) => string }>,
): Promise<void> {
  let started: Awaited<ReturnType<typeof start>> | undefined;
  try {
    started = await start();
    if (started.portFile) writePortFile(started.portFile, started.sim.port);
  } catch (error) {
    await started?.sim.close();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program}: ${safeText(message.split('\n')[0] ?? '', 300)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
    return;
  }
  process.stdout.write(`${started.banner(started.sim.port)}\n`);
  const { sim } = started;
  const stop = (): void => {
    setTimeout(() => process.exit(0), 3_000).unref();
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

