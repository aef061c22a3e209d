import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { main, type Io } from '../../src/cli/main.js';
import { UserError } from '../../src/core/errors.js';
import type { DemoEvent } from '../../src/core/events.js';
import { completeRecording, parseRecording, parseSpeed, readRecording, recordedExitCode, replayEvents, timeline } from '../../src/record/replay.js';

const fixtureFile = (name: string) => fileURLToPath(new URL(`../fixtures/streams/${name}.ndjson`, import.meta.url));
const HEADER = JSON.stringify({ format: 1, tool: 'maas-egress-demo', version: '0.1.0', command: 'up', target: 'local', recordedAt: '2026-11-20T10:00:00.000Z', argv: [], columns: 80, rows: 24 });
const ev = (e: Partial<DemoEvent> & { kind: DemoEvent['kind'] }) => JSON.stringify({ t: 0, ...e });

function io(env: NodeJS.ProcessEnv = {}): Io & { out: string; err: string } {
  const captured = {
    out: '',
    err: '',
    env: { ...env },
    isTTY: false,
    columns: 80,
    stdout: (t: string) => void (captured.out += t),
    stderr: (t: string) => void (captured.err += t),
  };
  return captured;
}

describe('reading a recording', () => {
  test('reads the header and every event of a fixture', () => {
    const rec = readRecording(fixtureFile('validate'));
    expect(rec.header).toMatchObject({ format: 1, command: 'validate', target: 'local', columns: 80, rows: 24 });
    expect(rec.events[0]?.kind).toBe('run-start');
    expect(rec.events.at(-1)).toMatchObject({ kind: 'run-end', exitCode: 1 });
    expect(rec.warnings).toEqual([]);
  });

  test('rejects a file without our header with one line and a hint', () => {
    expect(() => parseRecording('{"kind":"log"}\n', 'x.ndjson')).toThrowError(UserError);
    expect(() => parseRecording('{"kind":"log"}\n', 'x.ndjson')).toThrow('x.ndjson is not a maas-egress-demo recording: line 1 has no "format" header');
    expect(() => parseRecording('hello\n', 'x.ndjson')).toThrow('line 1 is not JSON');
  });

  test('rejects another format version and says which version wrote it', () => {
    try {
      parseRecording('{"format":2,"version":"9.0.0"}\n', 'new.ndjson');
      expect.unreachable();
    } catch (err) {
      expect((err as UserError).message).toBe('new.ndjson is recording format 2; this version reads format 1');
      expect((err as UserError).hint).toContain('maas-egress-demo 9.0.0');
    }
  });

  test('a damaged line in the middle names its line number', () => {
    const text = [HEADER, ev({ kind: 'log', level: 'info', message: 'a' }), '{not json', ev({ kind: 'run-end', ok: true, exitCode: 0 })].join('\n');
    expect(() => parseRecording(text, 'bad.ndjson')).toThrow('bad.ndjson line 3 is not valid JSON');
    const unknown = [HEADER, '{"kind":"party","t":1}', ev({ kind: 'run-end', ok: true, exitCode: 0 })].join('\n');
    expect(() => parseRecording(unknown, 'bad.ndjson')).toThrow('bad.ndjson line 2 is not a demo event');
  });

  test('a cut-off last line is skipped with a warning, and the run is closed as cut short', () => {
    const text = [HEADER, ev({ kind: 'run-start', command: 'up', target: 'local', version: '0.1.0', startedAt: '' }), '{"kind":"log","t":5,"lev'].join('\n');
    const rec = parseRecording(text, 'cut.ndjson');
    expect(rec.events).toHaveLength(1);
    expect(rec.warnings[0]).toContain('cut.ndjson line 3 is not valid JSON; it looks cut off');
    const complete = completeRecording(rec.events);
    expect(complete.at(-1)).toMatchObject({ kind: 'run-end', exitCode: 1, error: { message: 'the recording ends before the run did' } });
    expect(recordedExitCode(rec.events)).toBe(1);
  });
});

describe('replay timing', () => {
  test('waits the recorded gaps divided by the speed', async () => {
    const events = readRecording(fixtureFile('up')).events;
    const waits: number[] = [];
    const out: DemoEvent[] = [];
    for await (const e of replayEvents(events, { speed: 4, sleep: async (ms) => void waits.push(ms) })) out.push(e);
    expect(out).toEqual(events);
    expect(waits.reduce((a, b) => a + b, 0)).toBeCloseTo(1612 / 4);
    expect(Math.max(...waits)).toBeCloseTo((900 - 80) / 4);
  });

  test('speed 0 does not wait at all', async () => {
    const waits: number[] = [];
    for await (const _ of replayEvents(readRecording(fixtureFile('up')).events, { speed: 0, sleep: async (ms) => void waits.push(ms) })) void _;
    expect(waits).toEqual([]);
  });

  test('several runs in one recording (the tour) continue one timeline', () => {
    const events = [...readRecording(fixtureFile('down')).events, ...readRecording(fixtureFile('doctor')).events];
    const times = timeline(events);
    expect(times.at(-1)).toBe(45 + 62);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  test('--speed accepts numbers ≥ 0 only', () => {
    expect(parseSpeed(undefined)).toBe(1);
    expect(parseSpeed('0')).toBe(0);
    expect(parseSpeed('2.5')).toBe(2.5);
    expect(() => parseSpeed('fast')).toThrow('--speed must be a number ≥ 0; got "fast"');
    expect(() => parseSpeed('-1')).toThrowError(UserError);
  });
});

describe('demo replay', () => {
  test('re-renders a recording as plain lines and exits with the recorded exit code', async () => {
    const captured = io();
    const code = await main(['replay', fixtureFile('validate'), '--speed', '0', '--output', 'plain'], captured);
    expect(code).toBe(1);
    expect(captured.out).toContain('× 5 Anthropic messages through both gateways [call-5]');
    expect(captured.out).toContain('× failed (exit 1)');
    expect(captured.out).not.toMatch(/\u001b\[/);
  });

  test('a successful recording replays with exit 0; --output json gives the summary document', async () => {
    const captured = io();
    expect(await main(['replay', fixtureFile('down'), '--speed', '0', '--output', 'json'], captured)).toBe(0);
    expect(JSON.parse(captured.out)).toMatchObject({ ok: true, exitCode: 0, command: 'down' });
  });

  test('--output ndjson gives back the events unchanged', async () => {
    const captured = io();
    await main(['replay', fixtureFile('doctor'), '--speed', '0', '--output', 'ndjson'], captured);
    const lines = captured.out.trim().split('\n');
    expect(lines).toEqual(readFileSync(fixtureFile('doctor'), 'utf8').trim().split('\n').slice(1));
  });

  test('a missing file is one line and a hint, exit 2', async () => {
    const captured = io();
    expect(await main(['replay', '/nonexistent/run.ndjson', '--output', 'plain'], captured)).toBe(2);
    expect(captured.err).toBe('error: cannot read recording /nonexistent/run.ndjson: no such file\nhint: recordings are written by --record FILE; see recordings/ for examples\n');
  });

  test('--to-asciicast writes a cast and exits 0 even for a failed run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'demo-cast-')), 'validate.cast');
    const captured = io();
    expect(await main(['replay', fixtureFile('validate'), '--to-asciicast', out], captured)).toBe(0);
    expect(captured.out).toContain(`wrote ${out} (asciicast v2, 80×24`);
    const [head] = readFileSync(out, 'utf8').split('\n');
    expect(JSON.parse(head!)).toMatchObject({ version: 2, width: 80, height: 24 });
  });

  test('a recording cut short still renders and exits 1', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'demo-cut-')), 'cut.ndjson');
    writeFileSync(file, readFileSync(fixtureFile('up'), 'utf8').split('\n').slice(0, 8).join('\n'));
    const captured = io();
    expect(await main(['replay', file, '--speed', '0', '--output', 'plain'], captured)).toBe(1);
    expect(captured.err).toContain('error: the recording ends before the run did');
  });
});
