/**
 * Reading a recording back: the header line is checked first, every event line is parsed before
 * anything is shown (so a damaged file fails with one clear line, not half a screen), then the
 * events are yielded with their recorded spacing divided by `speed`.
 *
 * @example
 *   const rec = readRecording('recordings/validate.ndjson');
 *   for await (const e of replayEvents(rec.events, { speed: 4 })) sink.write(e);
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoEvent } from '../core/events.js';
import { parseEvent } from '../core/events.js';
import { UserError } from '../core/errors.js';
import type { RecordingHeader } from './recorder.js';

export interface Recording {
  header: RecordingHeader;
  events: DemoEvent[];
  /** Things worth telling the user that did not stop the replay (a cut-off last line). */
  warnings: string[];
}

const RECORD_HINT = 'record a run with `demo validate --record FILE` (any command takes --record)';

function parseHeader(line: string | undefined, file: string): RecordingHeader {
  let value: unknown;
  try {
    value = JSON.parse(line ?? '');
  } catch {
    throw new UserError(`${file} is not a maas-egress-demo recording: line 1 is not JSON`, RECORD_HINT);
  }
  const h = value as Partial<RecordingHeader> | null;
  if (!h || typeof h !== 'object' || !('format' in h)) {
    throw new UserError(`${file} is not a maas-egress-demo recording: line 1 has no "format" header`, RECORD_HINT);
  }
  if (h.format !== 1) {
    throw new UserError(
      `${file} is recording format ${JSON.stringify(h.format)}; this version reads format 1`,
      `replay it with the version that made it${h.version ? ` (maas-egress-demo ${h.version})` : ''}`,
    );
  }
  return {
    format: 1,
    tool: 'maas-egress-demo',
    version: String(h.version ?? ''),
    command: h.command ?? 'validate',
    target: h.target ?? 'local',
    recordedAt: String(h.recordedAt ?? ''),
    argv: Array.isArray(h.argv) ? h.argv.map(String) : [],
    columns: typeof h.columns === 'number' && h.columns > 0 ? h.columns : 80,
    rows: typeof h.rows === 'number' && h.rows > 0 ? h.rows : 24,
  };
}

/** Parses a recording held in memory; `file` only names it in messages. */
export function parseRecording(text: string, file = 'recording'): Recording {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new UserError(`${file} is empty`, RECORD_HINT);
  const header = parseHeader(lines[0], file);
  const events: DemoEvent[] = [];
  const warnings: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    try {
      events.push(parseEvent(line));
    } catch (err) {
      const why = err instanceof SyntaxError ? 'is not valid JSON' : (err as Error).message.replace(/:.*$/, '').replace(/^not/, 'is not');
      if (i === lines.length - 1) {
        // The writer was stopped mid-line (killed run, full disk): keep what is whole.
        warnings.push(`${file} line ${i + 1} ${why}; it looks cut off, so the replay stops before it`);
        continue;
      }
      throw new UserError(`${file} line ${i + 1} ${why}`, 'the file was edited or damaged; record the run again with --record');
    }
  }
  if (events.length === 0) throw new UserError(`${file} holds a header but no events`, RECORD_HINT);
  return { header, events, warnings };
}

export function readRecording(file: string): Recording {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read recording ${file}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`, 'recordings are written by --record FILE; see recordings/ for examples');
  }
  return parseRecording(text, file);
}

/**
 * Times on one line: every run in a recording starts at t = 0 (the tour records several runs),
 * so each run-start continues from where the previous run ended.
 */
export function timeline(events: DemoEvent[]): number[] {
  const out: number[] = [];
  let base = 0;
  let last = 0;
  for (const e of events) {
    if (e.kind === 'run-start' && out.length > 0) base = last;
    const abs = Math.max(last, base + e.t);
    out.push(abs);
    last = abs;
  }
  return out;
}

/** The exit code the recorded run ended with: the first failing run's, else 0; 1 when the recording was cut before run-end. */
export function recordedExitCode(events: DemoEvent[]): number {
  const ends = events.filter((e) => e.kind === 'run-end');
  if (ends.length === 0) return 1;
  return ends.find((e) => e.exitCode !== 0)?.exitCode ?? 0;
}

/** When a recording stops before its run ended, a run-end says so, so every renderer finishes cleanly. */
export function completeRecording(events: DemoEvent[]): DemoEvent[] {
  if (events.at(-1)?.kind === 'run-end') return events;
  const t = events.at(-1)?.t ?? 0;
  return [
    ...events,
    {
      kind: 'run-end',
      t,
      ok: false,
      exitCode: 1,
      error: { message: 'the recording ends before the run did', hint: 'it was probably cut short; record the run again with --record', name: 'TruncatedRecording' },
    },
  ];
}

export interface ReplayOptions {
  /** 1 = as recorded, 4 = four times faster, 0 = no delays. */
  speed: number;
  signal?: AbortSignal;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = async (ms: number, signal?: AbortSignal) => {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch {
    // aborted: the loop below notices and stops
  }
};

/** Yields the recorded events unchanged, spaced as they were recorded divided by `speed`. */
export async function* replayEvents(events: DemoEvent[], opts: ReplayOptions): AsyncGenerator<DemoEvent> {
  const times = timeline(events);
  const wait = opts.sleep ?? defaultSleep;
  let previous = times[0] ?? 0;
  for (let i = 0; i < events.length; i++) {
    if (opts.signal?.aborted) return;
    const gap = times[i]! - previous;
    previous = times[i]!;
    if (opts.speed > 0 && gap > 0) await wait(gap / opts.speed, opts.signal);
    if (opts.signal?.aborted) return;
    yield events[i]!;
  }
}

/** Parses `--speed`: a non-negative number, default 1. */
export function parseSpeed(value: string | boolean | string[] | undefined): number {
  if (value === undefined || value === false) return 1;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UserError(`--speed must be a number ≥ 0; got "${String(value)}"`, 'e.g. --speed 4 for four times faster, --speed 0 for no delays');
  }
  return n;
}
