/**
 * asciicast v2 export: the TUI as it drew the run, at the recorded terminal size and timed by the
 * events' `t`, so a recording can be shared with standard players (asciinema, asciinema-player,
 * svg-term) without our tool. Each event becomes one output frame that does what ink does on a
 * terminal: erase the live area, write the items that just finished (once, above), draw the live
 * area again. The frames come from ink's renderToString with the App's own components, so the cast
 * is the screen a person saw, never wider than the recording's terminal.
 *
 * @example
 *   {"version":2,"width":80,"height":24,"timestamp":1795168800,"title":"maas-egress-demo validate (local)","env":{"TERM":"xterm-256color"}}
 *   [0.012, "o", "\r\u001b[1A\u001b[J√ 1 list models through the MaaS gateway → 200, 4 models   [call-1]\r\n⠙ 4 OpenAI chat…\r\n"]
 */
import { writeFileSync } from 'node:fs';
import chalk from 'chalk';
import { Box, renderToString } from 'ink';
import type { DemoEvent } from '../core/events.js';
import { redact } from '../core/secret.js';
import { initialState, reduce, type FeedItem, type ViewState } from '../render/state.js';
import { App, FeedEntry } from '../render/tui/App.js';
import { ColorContext } from '../render/tui/theme.js';
import type { EventStore, StreamSnapshot } from '../render/tui/use-event-stream.js';
import type { RecordingHeader } from './recorder.js';
import { timeline } from './replay.js';

export interface AsciicastOptions {
  header: Pick<RecordingHeader, 'command' | 'target' | 'recordedAt' | 'columns' | 'rows'>;
  color: boolean;
  /** Overrides the recording's terminal size. */
  width?: number;
  height?: number;
}

const noop = () => undefined;

/** A store that always answers with one snapshot: the App draws exactly that state. */
function fixedStore(snapshot: StreamSnapshot): EventStore {
  return { push: noop, note: noop, setPause: noop, setClosing: noop, resized: noop, getSnapshot: () => snapshot, subscribe: () => noop };
}

function drawItem(item: FeedItem, width: number, color: boolean): string {
  return renderToString(
    <ColorContext.Provider value={color}>
      <Box width={width}>
        <FeedEntry item={item} width={width} color={color} />
      </Box>
    </ColorContext.Provider>,
    { columns: width },
  );
}

/** The live area below the finished items, as the TUI draws it for this state (the feed left out). */
function drawLive(view: ViewState, closing: boolean, width: number, height: number, color: boolean, command: string): string {
  const snapshot: StreamSnapshot = { view: { ...view, feed: [] }, receivedAt: 0, closing, generation: 0 };
  return renderToString(
    <App store={fixedStore(snapshot)} color={color} interactive={false} canRerun={false} onQuit={noop} onInterrupt={noop} onRerun={noop} onContinue={noop} columns={width} rows={height} clock={() => 0} command={command} />,
    { columns: width },
  );
}

export function toAsciicast(events: DemoEvent[], opts: AsciicastOptions): string {
  const width = opts.width ?? opts.header.columns ?? 80;
  const height = opts.height ?? opts.header.rows ?? 24;
  const started = Date.parse(opts.header.recordedAt);
  const head = {
    version: 2,
    width,
    height,
    timestamp: Number.isFinite(started) ? Math.floor(started / 1000) : 0,
    title: `maas-egress-demo ${opts.header.command} (${opts.header.target})`,
    env: { TERM: 'xterm-256color' },
  };
  // A cast is played on a terminal later: with colour asked for, colour codes are written even when
  // this process's own output is not a terminal (ink colours through chalk's shared level).
  const level = chalk.level;
  if (opts.color && chalk.level === 0) chalk.level = 1;
  try {
    const times = timeline(events);
    const lines = [JSON.stringify(head)];
    let view = initialState();
    let written = 0;
    let liveRows = 0;
    let live = '';
    let previous = 0;
    events.forEach((e, i) => {
      view = reduce(view, e);
      const last = i === events.length - 1;
      const finished = view.feed.slice(written).map((item) => drawItem(item, width, opts.color));
      written = view.feed.length;
      const next = drawLive(view, last, width, height, opts.color, opts.header.command);
      if (finished.length === 0 && next === live) return;
      // Up to the first line of the live area and erase from there down, then draw.
      let out = liveRows > 0 ? `\r\u001b[${liveRows}A\u001b[J` : '';
      for (const text of finished) out += `${text}\n`;
      if (next !== '') out += `${next}\n`;
      live = next;
      liveRows = next === '' ? 0 : next.split('\n').length;
      // Frames must not go back in time, and players expect seconds with a fractional part.
      const at = Math.max(previous, times[i]! / 1000);
      previous = at;
      lines.push(JSON.stringify([Number(at.toFixed(3)), 'o', redact(out).replace(/\r?\n/g, '\r\n')]));
    });
    return `${lines.join('\n')}\n`;
  } finally {
    chalk.level = level;
  }
}

export function writeAsciicast(file: string, events: DemoEvent[], opts: AsciicastOptions): void {
  writeFileSync(file, toAsciicast(events, opts), { mode: 0o644 });
}
