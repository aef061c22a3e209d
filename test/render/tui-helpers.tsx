/** Shared by the TUI tests: fixture streams, a pinned-size App render, and frame normalisation. */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { render } from 'ink-testing-library';
import type { DemoEvent } from '../../src/core/events.js';
import { parseRecording } from '../../src/record/replay.js';
import { App, type AppProps } from '../../src/render/tui/App.js';
import { createEventStore, type EventStore } from '../../src/render/tui/use-event-stream.js';
import { createTuiSink } from '../../src/render/tui/index.js';

export function fixture(name: string): DemoEvent[] {
  const file = fileURLToPath(new URL(`../fixtures/streams/${name}.ndjson`, import.meta.url));
  return parseRecording(readFileSync(file, 'utf8'), file).events;
}

/** Strips ANSI and trailing spaces, and replaces spinner frames with `*`. */
export function normalize(frame: string | undefined): string {
  return (frame ?? '')
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, '*')
    .replace(/\u00a0/g, ' ')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trimEnd();
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

export function renderApp(events: DemoEvent[], props: Partial<AppProps> = {}) {
  const store: EventStore = createEventStore(() => 0);
  const calls = { quit: 0, interrupt: 0, rerun: [] as string[][], continued: [] as boolean[] };
  const app = render(
    <App
      store={store}
      color={false}
      interactive={false}
      canRerun={false}
      onQuit={() => calls.quit++}
      onInterrupt={() => calls.interrupt++}
      onRerun={(ids) => calls.rerun.push(ids)}
      onContinue={(go) => calls.continued.push(go)}
      columns={80}
      rows={24}
      clock={() => 0}
      {...props}
    />,
  );
  for (const e of events) store.push(e);
  return { ...app, store, calls, screen: () => normalize(app.lastFrame()) };
}

export const KEY = { up: '\u001B[A', down: '\u001B[B', enter: '\r', escape: '\u001B', pageUp: '\u001B[5~', pageDown: '\u001B[6~', home: '\u001B[H', end: '\u001B[F' } as const;

/** An 80×24 stdout that keeps every frame (with ink's debug mode the last one is the whole screen). */
export class FakeStdout extends EventEmitter {
  columns = 80;
  rows = 24;
  isTTY = false;
  frames: string[] = [];
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
  last = () => this.frames.at(-1) ?? '';
}

/** A stdin that can be a TTY, for keys. */
export class FakeStdin extends EventEmitter {
  isTTY: boolean;
  rawMode = false;
  private data: string | null = null;
  constructor(isTTY = true) {
    super();
    this.isTTY = isTTY;
  }
  send(text: string) {
    this.data = text;
    this.emit('readable');
  }
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setRawMode = (on: boolean) => {
    this.rawMode = on;
    return this;
  };
  setEncoding = () => this;
  ref = () => this;
  unref = () => this;
  resume = () => this;
  pause = () => this;
}

/** A real TUI sink on fake streams, in ink debug mode. */
export function makeSink(opts: { interactive?: boolean; stdinTTY?: boolean; color?: boolean; onInterrupt?: () => void; canRerun?: boolean } = {}) {
  const stdout = new FakeStdout();
  const stdin = new FakeStdin(opts.stdinTTY ?? true);
  const sink = createTuiSink({
    color: opts.color ?? false,
    interactive: opts.interactive ?? false,
    command: 'validate',
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    onInterrupt: opts.onInterrupt ?? (() => undefined),
    canRerun: opts.canRerun ?? false,
  });
  return { stdout, stdin, sink };
}

