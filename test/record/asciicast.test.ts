import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { toAsciicast } from '../../src/record/asciicast.js';
import { readRecording } from '../../src/record/replay.js';
import { makeSink, normalize } from '../render/tui-helpers.js';

const rec = readRecording(fileURLToPath(new URL('../fixtures/streams/validate.ndjson', import.meta.url)));
const real = readRecording(fileURLToPath(new URL('../../recordings/validate.ndjson', import.meta.url)));

/**
 * A small terminal that plays the frames: text, CR, LF (scrolling at the bottom), cursor up (CSI n A)
 * and erase below (CSI J), the only controls the export writes; colour codes are dropped. Returns the
 * screen, and every line that was ever written (to check widths).
 */
function play(frames: string[], width: number, height: number): { screen: string[]; written: string[] } {
  const screen: string[] = Array.from({ length: height }, () => '');
  const written: string[] = [];
  let row = 0;
  let col = 0;
  const text = frames.join('').replace(/\u001b\[[0-9;]*m/g, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\u001b') {
      const m = /^\u001b\[(\d*)([AJ])/.exec(text.slice(i))!;
      expect(m, `unexpected control at ${JSON.stringify(text.slice(i, i + 8))}`).not.toBeNull();
      if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
      else for (let r = row; r < height; r++) screen[r] = r === row ? screen[r]!.slice(0, col) : '';
      i += m[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      written.push(screen[row]!);
      if (row === height - 1) {
        screen.shift();
        screen.push('');
      } else row++;
    } else {
      expect(col, `a line wider than ${width}: ${screen[row]}`).toBeLessThan(width);
      screen[row] = screen[row]!.padEnd(col).slice(0, col) + ch + screen[row]!.slice(col + 1);
      col++;
    }
  }
  return { screen: screen.map((l) => l.trimEnd()), written };
}

describe('asciicast v2 export', () => {
  const cast = toAsciicast(rec.events, { header: rec.header, color: false });
  const [head, ...frames] = cast.trim().split('\n').map((l) => JSON.parse(l) as unknown);
  const typed = frames as [number, string, string][];

  test('starts with a v2 header: size, start time, title and TERM', () => {
    expect(head).toEqual({
      version: 2,
      width: 80,
      height: 24,
      timestamp: Date.parse('2026-11-20T10:00:00.000Z') / 1000,
      title: 'maas-egress-demo validate (local)',
      env: { TERM: 'xterm-256color' },
    });
  });

  test('output frames in seconds from the events, never going back, with \\r\\n line ends', () => {
    expect(typed.every(([, type]) => type === 'o')).toBe(true);
    const times = typed.map(([t]) => t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times.at(-1)).toBe(0.165);
    expect(typed.some(([, , text]) => /[^\r]\n/.test(text))).toBe(false);
  });

  test('it is the TUI at the recorded width: played on an 80×24 terminal it ends on the TUI\'s final screen', async () => {
    // Given the cast played on a terminal of the recorded size
    const { screen, written } = play(typed.map(([, , text]) => text), 80, 24);
    // Then no line was wider than 80 columns, and the screen ends like the live TUI's final screen
    for (const line of written) expect(line.length).toBeLessThanOrEqual(80);
    const { stdout, sink } = makeSink();
    const tui = await sink;
    for (const e of rec.events) tui.write(e);
    await tui.close?.();
    const tuiScreen = normalize(stdout.last()).split('\n');
    expect(screen.filter((l) => l !== '').slice(-8)).toEqual(tuiScreen.filter((l) => l !== '').slice(-8));
    expect(screen.join('\n')).toContain('× validate failed · 3 passed · 1 failed · 1 skipped · exit 1');
  });

  test('a real run (recordings/validate.ndjson): every line fits 80 columns; TUI lines, not the plain renderer\'s', () => {
    const realCast = toAsciicast(real.events, { header: real.header, color: false });
    const texts = realCast.trim().split('\n').slice(1).map((l) => (JSON.parse(l) as [number, string, string])[2]);
    const { written } = play(texts, 80, 24);
    expect(Math.max(...written.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(written.some((l) => /^√ 4 .*\[call-4\]$/.test(l))).toBe(true);
    expect(written.some((l) => /^│ 10 /.test(l))).toBe(true);
    // the plain renderer's hop lines (one long line per hop) are not there
    expect(written.some((l) => /^\s+0\. client /.test(l))).toBe(false);
  });

  test('the width follows the recording (or the option), not the plain renderer', () => {
    const narrow = toAsciicast(rec.events, { header: rec.header, color: false, width: 60, height: 20 });
    const [h, ...rest] = narrow.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(h).toMatchObject({ width: 60, height: 20 });
    const { written } = play((rest as [number, string, string][]).map(([, , text]) => text), 60, 20);
    for (const line of written) expect(line.length).toBeLessThanOrEqual(60);
  });

  test('colour follows the option; NO_COLOR output has no colour codes', () => {
    expect(cast).not.toMatch(/\\u001b\[[0-9;]*m/);
    expect(toAsciicast(rec.events, { header: rec.header, color: true })).toMatch(/\\u001b\[[0-9;]*m/);
  });
});
