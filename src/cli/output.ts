/**
 * Where a run's events go: the renderer (--output tui|plain|json|ndjson; auto: TUI on a terminal
 * outside CI, the rule ink 7 uses), plus --junit and --record. ink is imported only when the TUI is
 * chosen. The driver, replay and the tour all take their sinks from here.
 */
import type { CommandContext, Io } from './define.js';
import type { EventSink } from '../core/run.js';
import type { TuiSink } from '../render/tui/index.js';
import { installedSink, invocation } from './invocation.js';

export type OutputMode = 'tui' | 'plain' | 'json' | 'ndjson';

/** CI as ink and most tools read it: set, and neither '0' nor 'false'. */
export function inCi(env: NodeJS.ProcessEnv): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => env[k] !== undefined && env[k] !== '0' && env[k] !== 'false');
}

export function chooseOutput(flag: string | undefined, io: Pick<Io, 'isTTY' | 'env'>): OutputMode {
  if (flag && flag !== 'auto') return flag as OutputMode;
  return io.isTTY && !inCi(io.env) ? 'tui' : 'plain';
}

export function colorEnabled(flags: { 'no-color'?: boolean }, io: Pick<Io, 'isTTY' | 'env'>): boolean {
  if (flags['no-color']) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== '0') return true;
  return io.isTTY;
}

export interface OutputSinks {
  mode: OutputMode;
  /** The renderer (TUI, plain, json or ndjson). */
  view: EventSink;
  /** Set when the renderer is the TUI. */
  tui?: TuiSink;
  /** JUnit and the recorder, when asked for. */
  extra: EventSink[];
  all: EventSink[];
}

export async function createOutputSinks(ctx: CommandContext, opts: { record?: boolean; canRerun?: boolean } = {}): Promise<OutputSinks> {
  const { flags, io } = ctx;
  const mode = chooseOutput(flags.output, io);
  // Hints print commands as the user runs the tool; NDJSON stays the raw stream (what a recording holds).
  const inv = invocation(io.env, process.argv[1]);
  const color = colorEnabled(flags, io);
  let view: EventSink;
  let tui: TuiSink | undefined;
  if (mode === 'plain') {
    const { createPlainSink } = await import('../render/plain.js');
    view = createPlainSink({ write: io.stdout, writeErr: io.stderr, color, width: io.columns ?? 100 });
  } else if (mode === 'json') {
    const { createJsonSink } = await import('../render/json.js');
    view = createJsonSink({ write: io.stdout });
  } else if (mode === 'ndjson') {
    const { createNdjsonSink } = await import('../render/ndjson.js');
    view = createNdjsonSink({ write: io.stdout });
  } else {
    const { createTuiSink } = await import('../render/tui/index.js');
    tui = await createTuiSink({ color, interactive: flags.interactive, command: ctx.command, canRerun: Boolean(opts.canRerun) });
    view = tui;
  }
  const shown = mode === 'ndjson' ? view : installedSink(view, inv);
  const extra: EventSink[] = [];
  if (flags.junit !== undefined) {
    const { createJunitSink } = await import('../render/junit.js');
    extra.push(installedSink(createJunitSink({ file: flags.junit }), inv));
  }
  if (opts.record !== false && flags.record !== undefined) {
    const { createRecorder } = await import('../record/recorder.js');
    extra.push(createRecorder({ file: flags.record, command: ctx.command, target: flags.target ?? 'local', version: ctx.version, argv: process.argv.slice(2) }));
  }
  return { mode, view: shown, ...(tui ? { tui } : {}), extra, all: [shown, ...extra] };
}
