/**
 * Recording: a header line, then the event stream, one JSON object per line. Events are masked by
 * drive() already; the recorder redacts once more so nothing secret can reach the file.
 *
 * @example
 *   {"format":1,"tool":"maas-egress-demo","version":"0.1.0","command":"validate","target":"local",…}
 *   {"kind":"run-start","t":0,…}
 */
import { mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandName, TargetKind } from '../core/events.js';
import type { EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';

export interface RecordingHeader {
  format: 1;
  tool: 'maas-egress-demo';
  version: string;
  command: CommandName;
  target: TargetKind;
  recordedAt: string;
  argv: string[];
  /** Terminal size the run was made for (replay and asciicast use it). */
  columns: number;
  rows: number;
}

export function createRecorder(opts: { file: string; command: CommandName; target: TargetKind; version: string; argv: string[] }): EventSink {
  mkdirSync(dirname(opts.file), { recursive: true });
  const fd = openSync(opts.file, 'w', 0o644);
  const header: RecordingHeader = {
    format: 1,
    tool: 'maas-egress-demo',
    version: opts.version,
    command: opts.command,
    target: opts.target,
    recordedAt: new Date().toISOString(),
    argv: opts.argv.map((a) => redact(a)),
    columns: process.stdout.columns || 80,
    rows: process.stdout.rows || 24,
  };
  writeSync(fd, `${redact(JSON.stringify(header))}\n`);
  return {
    write: (e) => void writeSync(fd, `${redact(JSON.stringify(e))}\n`),
    close: () => closeSync(fd),
  };
}
