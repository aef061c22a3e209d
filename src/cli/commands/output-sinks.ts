/**
 * Sinks for the commands that drive renderers themselves (replay, tour). Same choices as
 * `cli/main.ts`: --output tui|plain|json|ndjson (auto: TUI on a terminal outside CI), --junit and
 * --record, with ink imported only when the TUI is chosen.
 */
import type { CommandContext } from '../main.js';
import { chooseOutput, colorEnabled, type OutputMode } from '../main.js';
import type { DemoEvent } from '../../core/events.js';
import type { EventSink } from '../../core/run.js';
import type { TuiSink } from '../../render/tui/index.js';

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

export async function createOutputSinks(
  ctx: CommandContext,
  opts: { record?: boolean; rerun?: (ids: string[]) => AsyncIterable<DemoEvent> } = {},
): Promise<OutputSinks> {
  const { flags, io } = ctx;
  const mode = chooseOutput(flags.output as string | undefined, io);
  const color = colorEnabled(flags, io);
  let view: EventSink;
  let tui: TuiSink | undefined;
  if (mode === 'plain') {
    const { createPlainSink } = await import('../../render/plain.js');
    view = createPlainSink({ write: io.stdout, writeErr: io.stderr, color, width: io.columns ?? 100 });
  } else if (mode === 'json') {
    const { createJsonSink } = await import('../../render/json.js');
    view = createJsonSink({ write: io.stdout });
  } else if (mode === 'ndjson') {
    const { createNdjsonSink } = await import('../../render/ndjson.js');
    view = createNdjsonSink({ write: io.stdout });
  } else {
    const { createTuiSink } = await import('../../render/tui/index.js');
    tui = await createTuiSink({ color, interactive: Boolean(flags.interactive), command: ctx.command, ...(opts.rerun ? { rerun: opts.rerun } : {}) });
    view = tui;
  }
  const extra: EventSink[] = [];
  if (typeof flags.junit === 'string') {
    const { createJunitSink } = await import('../../render/junit.js');
    extra.push(createJunitSink({ file: flags.junit }));
  }
  if (opts.record !== false && typeof flags.record === 'string') {
    const { createRecorder } = await import('../../record/recorder.js');
    extra.push(createRecorder({ file: flags.record, command: ctx.command, target: ctx.target, version: ctx.version, argv: process.argv.slice(2) }));
  }
  return { mode, view, ...(tui ? { tui } : {}), extra, all: [view, ...extra] };
}
