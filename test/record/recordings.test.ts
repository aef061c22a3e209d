/**
 * The recordings in recordings/ were made by the tool itself on the local topology
 * (recordings/regenerate.sh). Each one must replay with its recorded exit code, show what the
 * command did, fit 80 columns in the TUI, and hold no provider key in clear.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { main, type Io } from '../../src/cli/main.js';
import { defaultConfig } from '../../src/core/config.js';
import { readRecording, recordedExitCode, replayEvents } from '../../src/record/replay.js';
import { foldEvents } from '../../src/render/state.js';
import { makeSink, normalize } from '../render/tui-helpers.js';

const dir = fileURLToPath(new URL('../../recordings/', import.meta.url));
/** What recordings/regenerate.sh writes; the README and `demo replay --help` point at these files. */
const REQUIRED = ['up', 'validate', 'doctor', 'down'];
const present = existsSync(dir) ? readdirSync(dir) : [];
// Every committed recording is checked, and the required ones are checked even when they are missing
// (their test then fails on the missing file instead of the suite shrinking to nothing).
const files = [...new Set([...REQUIRED.map((n) => `${n}.ndjson`), ...present.filter((f) => f.endsWith('.ndjson'))])].sort();

function capture(): Io & { out: string } {
  const io = { out: '', env: {}, isTTY: false, columns: 80, stdout: (t: string) => void (io.out += t), stderr: () => undefined };
  return io;
}

describe('recordings/', () => {
  test('holds the recording and the asciicast of up, validate, doctor and down', () => {
    const wanted = REQUIRED.flatMap((n) => [`${n}.ndjson`, `${n}.cast`]);
    expect(wanted.filter((f) => !present.includes(f)), `missing from ${dir} (recordings/regenerate.sh writes them)`).toEqual([]);
  });

  test.each(files)('%s replays with its recorded exit code, in plain and in the TUI', async (name) => {
    const file = `${dir}${name}`;
    const rec = readRecording(file);
    expect(rec.warnings).toEqual([]);
    const expected = recordedExitCode(rec.events);

    // Plain replay through the CLI
    const io = capture();
    expect(await main(['replay', file, '--speed', '0', '--output', 'plain'], io)).toBe(expected);
    expect(io.out.split('\n')[0]).toContain(`maas-egress-demo ${rec.header.command} · target local`);

    // TUI replay: the final screen says how the run ended and fits 80 columns
    const { stdout, sink } = makeSink();
    const tui = await sink;
    for await (const e of replayEvents(rec.events, { speed: 0 })) tui.write(e);
    await tui.close?.();
    const screen = normalize(stdout.last());
    expect(screen).toContain(expected === 0 ? `√ ${rec.header.command} done` : `× ${rec.header.command} failed`);
    for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    // No key in clear, in the recording or its cast
    const keys = defaultConfig().providers.map((p) => p.key.reveal());
    const cast = file.replace(/\.ndjson$/, '.cast');
    for (const text of [readFileSync(file, 'utf8'), readFileSync(cast, 'utf8')]) {
      for (const key of keys) expect(text).not.toContain(key);
    }
  });

  test('up.ndjson shows every step ready', () => {
    const state = foldEvents(readRecording(`${dir}up.ndjson`).events);
    expect(state.steps.length).toBeGreaterThanOrEqual(5);
    expect(state.steps.every((s) => s.status === 'ok')).toBe(true);
  });

  test('validate.ndjson shows the ten calls, each with its hop trace', () => {
    const state = foldEvents(readRecording(`${dir}validate.ndjson`).events);
    expect(state.checks.map((c) => c.id)).toEqual(Array.from({ length: 10 }, (_, i) => `call-${i + 1}`));
    for (const id of ['call-4', 'call-5', 'call-6']) {
      const hops = state.checks.find((c) => c.id === id)!.hops.map((h) => h.hop);
      expect(hops, id).toContain('egress-gateway');
    }
    expect(state.summaries.some((s) => s.table)).toBe(true);
  });

  test('doctor.ndjson runs the six categories and ends healthy', () => {
    const state = foldEvents(readRecording(`${dir}doctor.ndjson`).events);
    expect([...new Set(state.checks.map((c) => c.category))]).toEqual(['install', 'rewrites', 'key-injection', 'rate-limits', 'model-listing', 'exposure']);
    expect(state.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([]);
    expect(state.end?.exitCode).toBe(0);
  });

  test('down.ndjson ends with nothing left running', () => {
    const state = foldEvents(readRecording(`${dir}down.ndjson`).events);
    expect(state.end?.exitCode).toBe(0);
    expect(state.steps.at(-1)?.waitsMet).toBeGreaterThan(0);
  });
});
