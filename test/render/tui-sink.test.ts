import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { DemoEvent, EventInput } from '../../src/core/events.js';
import { drive } from '../../src/core/run.js';
import { createRecorder } from '../../src/record/recorder.js';
import { createJunitSink } from '../../src/render/junit.js';
import { readRecording, replayEvents } from '../../src/record/replay.js';
import { createTuiSink } from '../../src/render/tui/index.js';
import { FakeStdin, FakeStdout, fixture, makeSink, normalize, tick } from './tui-helpers.js';

/** The fixture without drive()'s own events and stamps: what a command module would yield. */
function asCommandStream(events: DemoEvent[]): AsyncIterable<EventInput> {
  return (async function* () {
    for (const e of events) {
      if (e.kind === 'run-start' || e.kind === 'run-end') continue;
      const { t: _t, ...input } = e;
      yield input as EventInput;
    }
  })();
}

describe('createTuiSink', () => {
  test('close() draws the final frame without key help, unmounts and leaves the screen', async () => {
    // Given a sink fed a whole validate run
    const { stdout, stdin, sink } = makeSink();
    const tui = await sink;
    for (const e of fixture('validate')) tui.write(e);
    await tick();
    expect(normalize(stdout.last())).toContain('↑/↓ select · enter trace · q quit');
    // When it closes
    await tui.close?.();
    // Then the last frame is the final screen, and raw mode is off again
    const final = normalize(stdout.last());
    expect(final).toContain('× validate failed · 3 passed · 1 failed · 1 skipped · exit 1');
    expect(final).not.toContain('q quit');
    expect(stdin.rawMode).toBe(false);
  });

  test('--interactive: close() waits until q is pressed', async () => {
    const { stdin, sink } = makeSink({ interactive: true });
    const tui = await sink;
    for (const e of fixture('validate')) tui.write(e);
    let closed = false;
    const closing = Promise.resolve(tui.close?.()).then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    stdin.send('q');
    await closing;
    expect(closed).toBe(true);
    expect(stdin.rawMode).toBe(false);
  });

  test('--interactive without a keyboard does not wait for a key that cannot come', async () => {
    const { sink } = makeSink({ interactive: true, stdinTTY: false });
    const tui = await sink;
    for (const e of fixture('down')) tui.write(e);
    await tui.close?.();
  });

  test('q while the command runs asks it to stop (like SIGINT)', async () => {
    let interrupted = 0;
    const { stdin, sink } = makeSink({ onInterrupt: () => interrupted++ });
    const tui = await sink;
    for (const e of fixture('validate').slice(0, 5)) tui.write(e);
    await tick();
    stdin.send('q');
    await tick();
    expect(interrupted).toBe(1);
    await tui.close?.();
  });

  test('with colour off no colour codes are written', async () => {
    const { stdout, sink } = makeSink({ color: false });
    const tui = await sink;
    for (const e of fixture('validate')) tui.write(e);
    await tui.close?.();
    expect(stdout.frames.join('')).not.toMatch(/\u001b\[(3\d|2|1|22|39)m/);
    // (and the same run with colour on does carry them)
    const coloured = makeSink({ color: true });
    const tuiOn = await coloured.sink;
    for (const e of fixture('validate')) tuiOn.write(e);
    await tuiOn.close?.();
    expect(coloured.stdout.frames.join('')).toMatch(/\u001b\[1m/);
  });

  test('pause() shows the explanation and resolves on enter; note() keeps it on screen', async () => {
    const { stdout, stdin, sink } = makeSink();
    const tui = await sink;
    const answer = tui.pause({ title: 'Step 1 of 4 · demo up', text: 'Deploys the pieces.', next: 'run demo up' });
    await tick();
    expect(normalize(stdout.last())).toContain('enter run demo up · q stop the tour');
    stdin.send('\r');
    await expect(answer).resolves.toBe(true);
    tui.note('Step 1 of 4 · demo up', 'Deploys the pieces.');
    await tui.close?.();
    expect(normalize(stdout.last())).toContain('Step 1 of 4 · demo up\nDeploys the pieces.');
  });
});

describe('on a real terminal', () => {
  /** A TTY stdout (not ink's debug mode), so ink draws as it would on a terminal. */
  function ttySink() {
    const stdout = new FakeStdout();
    stdout.isTTY = true;
    const stdin = new FakeStdin(false);
    const sink = createTuiSink({ color: false, interactive: false, command: 'validate', stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, onInterrupt: () => undefined, patchConsole: false });
    return { stdout, sink };
  }

  test('something is on screen at once: a "starting…" line before ink has loaded, handed over to its first frame', async () => {
    const { stdout, sink } = ttySink();
    // The placeholder is written synchronously, before the sink (and ink) are ready
    expect(stdout.frames).toEqual(['maas-egress-demo validate · starting…']);
    const tui = await sink;
    expect(stdout.frames[1]).toBe('\r\u001b[2K');
    expect(normalize(stdout.frames.slice(2).join(''))).toContain('maas-egress-demo validate · starting…');
    for (const e of fixture('validate')) tui.write(e);
    await tui.close?.();
  });

  test('a resize clears the screen and writes every finished line again at the new width', async () => {
    // Given a finished run drawn at 80 columns
    const { stdout, sink } = ttySink();
    const tui = await sink;
    for (const e of fixture('validate')) tui.write(e);
    await tick();
    const before = stdout.frames.length;
    // When the terminal becomes 50 columns wide
    stdout.columns = 50;
    stdout.emit('resize');
    await tick();
    // Then the screen (and its scrollback) is cleared first, then everything is drawn again within 50 columns
    const after = stdout.frames.slice(before).join('');
    expect(after.startsWith('\u001b[2J\u001b[3J\u001b[H')).toBe(true);
    const redrawn = normalize(after.slice('\u001b[2J\u001b[3J\u001b[H'.length));
    expect(redrawn).toContain('maas-egress-demo validate · target local · v0.1.0');
    expect(redrawn).toContain('× validate failed · 3 passed · 1 failed · 1');
    for (const line of redrawn.split('\n')) expect(line.length, line).toBeLessThanOrEqual(50);
    await tui.close?.();
    // And once closed, a resize is no longer ours to handle
    expect(stdout.listenerCount('resize')).toBe(0);
  });
});

describe('replay', () => {
  test('produces the same final screen as the live run it recorded', async () => {
    // Given a live run driven into the TUI and the recorder
    const file = join(mkdtempSync(join(tmpdir(), 'demo-replay-')), 'validate.ndjson');
    let clock = 0;
    const live = makeSink();
    const liveTui = await live.sink;
    await drive(asCommandStream(fixture('validate')), {
      command: 'validate',
      target: 'local',
      version: '0.1.0',
      sinks: [liveTui, createRecorder({ file, command: 'validate', target: 'local', version: '0.1.0', argv: ['validate'] })],
      now: () => (clock += 7),
    });
    // When the recording is replayed into a fresh TUI
    const replayed = makeSink();
    const replayTui = await replayed.sink;
    for await (const e of replayEvents(readRecording(file).events, { speed: 0 })) replayTui.write(e);
    await replayTui.close?.();
    // Then both final screens are the same, and the recording holds no raw secrets
    const liveScreen = normalize(live.stdout.last());
    expect(liveScreen).toContain('× validate failed');
    expect(normalize(replayed.stdout.last())).toBe(liveScreen);
    expect(readFileSync(file, 'utf8')).not.toMatch(/sk-[a-z]+-[A-Za-z0-9]{8,}/);
  });
});

describe('rerun from the TUI', () => {
  test('r runs the failed calls again through the driver: the footer, the recording, JUnit and the exit code see the rerun', async () => {
    // Given an interactive TUI whose command failed call-5, and a rerun in which call-5 passes
    const dir = mkdtempSync(join(tmpdir(), 'tui-rerun-'));
    const { stdout, stdin, sink } = makeSink({ interactive: true, canRerun: true });
    const tui = await sink;
    const recorder = createRecorder({ file: join(dir, 'run.ndjson'), command: 'validate', target: 'local', version: '0.0.0', argv: [] });
    const junit = createJunitSink({ file: join(dir, 'junit.xml') });
    const asked: string[][] = [];
    async function* more(): AsyncGenerator<AsyncIterable<EventInput>> {
      for await (const ids of tui.reruns()) {
        asked.push(ids);
        yield (async function* (): AsyncGenerator<EventInput> {
          for (const id of ids) {
            yield { kind: 'check-start', id, category: 'calls', title: '5 Anthropic messages through both gateways' };
            yield { kind: 'check', id, category: 'calls', title: '5 Anthropic messages through both gateways', outcome: 'pass', ms: 2 };
          }
        })();
      }
    }
    const driving = drive(asCommandStream(fixture('validate')), { command: 'validate', target: 'local', version: '0.0.0', sinks: [tui, recorder, junit], more: more() });
    await tick();
    await tick();
    expect(normalize(stdout.last())).toContain('exit 1');
    // When the user presses r, waits for the rerun, then q
    stdin.send('r');
    await tick();
    await tick();
    stdin.send('q');
    const result = await driving;
    // Then the failed call ran again and the session passes everywhere
    expect(asked).toEqual([['call-5']]);
    expect(result.exitCode).toBe(0);
    const final = normalize(stdout.last());
    expect(final).toMatch(/√ validate done · 1 passed · exit 0/);
    expect(final).toContain('5 Anthropic messages through both gateways (rerun)');
    expect(final).not.toContain('exit 1');
    const rec = readRecording(join(dir, 'run.ndjson'));
    expect(rec.events.filter((e) => e.kind === 'run-start')).toHaveLength(2);
    expect(rec.events.filter((e) => e.kind === 'run-end').at(-1)).toMatchObject({ exitCode: 0, ok: true });
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/failures="0"/);
  });
});

