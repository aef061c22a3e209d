/**
 * A command is one declaration: its name and help text, its flags, and its handler, typed together so
 * the handler reads exactly the flags it declares (wrangler's `createCommand`). Declarations import
 * nothing heavy: handlers load their modules when they run, so `demo --help` stays fast.
 */
import type { DemoConfig } from '../core/config.js';
import type { CommandName, EventInput } from '../core/events.js';
import { globalFlags, type FlagTable, type FlagValues } from './flags.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /** Ask a yes/no question (doctor --fix). Resolves false when there is no terminal. */
  confirm?: (question: string) => Promise<boolean>;
  columns?: number;
}

export interface CommandContext<F extends FlagTable = FlagTable> {
  command: CommandName;
  flags: FlagValues<typeof globalFlags> & FlagValues<F>;
  positionals: string[];
  cfg: DemoConfig;
  signal: AbortSignal;
  io: Io;
  version: string;
}

export interface PlanEntry {
  id: string;
  title: string;
}

interface Meta<F extends FlagTable> {
  name: CommandName;
  summary: string;
  usage: string;
  examples: string[];
  flags: F;
  /** Positional arguments allowed (replay takes FILE). */
  positionals?: { name: string; required: boolean };
}

/** A command that yields events for the renderers the CLI chose. */
export interface StreamCommand<F extends FlagTable = FlagTable> extends Meta<F> {
  kind: 'stream';
  /** What the run is about to do, so a UI can draw it up front. */
  plan?: (ctx: CommandContext<F>) => Promise<PlanEntry[]> | PlanEntry[];
  run: (ctx: CommandContext<F>) => AsyncIterable<EventInput>;
  /** Runs the given checks again (the TUI's `r`); the driver records and counts them like the first run. */
  rerun?: (ctx: CommandContext<F>, ids: string[]) => AsyncIterable<EventInput>;
  failOnWarning?: (ctx: CommandContext<F>) => boolean;
}

/** A command that writes its own output and returns its exit code. */
export interface DirectCommand<F extends FlagTable = FlagTable> extends Meta<F> {
  kind: 'direct';
  run: (ctx: CommandContext<F>) => Promise<number>;
}

export type Command<F extends FlagTable = FlagTable> = StreamCommand<F> | DirectCommand<F>;

/** Identity function: keeps the flag table's literal types for the handler. */
export function defineCommand<F extends FlagTable>(c: StreamCommand<F>): StreamCommand<F>;
export function defineCommand<F extends FlagTable>(c: DirectCommand<F>): DirectCommand<F>;
export function defineCommand<F extends FlagTable>(c: Command<F>): Command<F> {
  return c;
}

/** A command of any flag table, as the registry and the driver hold it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = Command<any>;
