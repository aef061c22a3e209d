/**
 * asciicast v2 export: the plain renderer's lines, timed by the events' `t`, so a recording can be
 * shared with standard players (asciinema, asciinema-player, svg-term) without our tool.
 *
 * @example
 *   {"version":2,"width":80,"height":24,"timestamp":1795168800,"title":"maas-egress-demo validate (local)","env":{"TERM":"xterm-256color"}}
 *   [0.01, "o", "√ 1 list models through the MaaS gateway [call-1] → 200, 4 models\r\n"]
 */
import { writeFileSync } from 'node:fs';
import type { DemoEvent } from '../core/events.js';
import { redact } from '../core/secret.js';
import { formatEvent } from '../render/formatters.js';
import { palette } from '../render/style.js';
import type { RecordingHeader } from './recorder.js';
import { timeline } from './replay.js';

export interface AsciicastOptions {
  header: Pick<RecordingHeader, 'command' | 'target' | 'recordedAt' | 'columns' | 'rows'>;
  color: boolean;
  /** Overrides the recording's terminal size. */
  width?: number;
  height?: number;
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
  const p = palette(opts.color);
  const times = timeline(events);
  const lines = [JSON.stringify(head)];
  let previous = 0;
  events.forEach((e, i) => {
    const text = formatEvent(e, p, width);
    if (text === null) return;
    // Frames must not go back in time, and players expect seconds with a fractional part.
    const at = Math.max(previous, times[i]! / 1000);
    previous = at;
    const out = `${redact(text).split('\n').join('\r\n')}\r\n`;
    lines.push(JSON.stringify([Number(at.toFixed(3)), 'o', out]));
  });
  return `${lines.join('\n')}\n`;
}

export function writeAsciicast(file: string, events: DemoEvent[], opts: AsciicastOptions): void {
  writeFileSync(file, toAsciicast(events, opts), { mode: 0o644 });
}
