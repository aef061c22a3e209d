import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { toAsciicast } from '../../src/record/asciicast.js';
import { readRecording } from '../../src/record/replay.js';

const rec = readRecording(fileURLToPath(new URL('../fixtures/streams/validate.ndjson', import.meta.url)));

describe('asciicast v2 export', () => {
  const cast = toAsciicast(rec.events, { header: rec.header, color: false });
  const [head, ...frames] = cast.trim().split('\n').map((l) => JSON.parse(l) as unknown);

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

  test('has one output frame per printed event, in seconds from the events, with \\r\\n line ends', () => {
    const typed = frames as [number, string, string][];
    expect(typed.every(([, type]) => type === 'o')).toBe(true);
    expect(typed[0]).toEqual([0, 'o', 'maas-egress-demo validate · target local · v0.1.0\r\n']);
    expect(typed.at(-1)).toEqual([0.165, 'o', '× failed (exit 1)\r\n']);
    const times = typed.map(([t]) => t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const failure = typed.find(([, , text]) => text.startsWith('× 5 Anthropic'))!;
    expect(failure[2]).toContain('\r\n    expected: 200 message from claude\r\n');
    expect(typed.some(([, , text]) => /[^\r]\n/.test(text))).toBe(false);
  });

  test('colour follows the option; NO_COLOR output has no escape codes', () => {
    expect(cast).not.toContain('\\u001b[');
    expect(toAsciicast(rec.events, { header: rec.header, color: true })).toContain('\\u001b[');
  });
});
