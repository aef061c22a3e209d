import { describe, expect, test } from 'vitest';
import { render } from 'ink-testing-library';
import { foldEvents } from '../../src/render/state.js';
import { HopTrace, hopTraceLines, traceWindow } from '../../src/render/tui/HopTrace.js';
import { CheckList, windowAround } from '../../src/render/tui/CheckList.js';
import { browserBudget } from '../../src/render/tui/App.js';
import { fixture, KEY, normalize, renderApp, tick } from './tui-helpers.js';

const validate = fixture('validate');

describe('calls as they run', () => {
  test('lists finished calls and the one running now', async () => {
    const app = renderApp(validate.slice(0, 12));
    await tick();
    expect(app.screen()).toContain('√ 1 list models through the MaaS gateway → 200, 4 models                [call-1]');
    expect(app.screen()).toMatch(/\* 4 OpenAI chat through both gateways {2}\d+ ms/);
  });

  test('a failed call shows expected, actual, the broken hop, evidence, hint and its hop trace', async () => {
    const app = renderApp(validate);
    await tick();
    const screen = app.screen();
    expect(screen).toContain('× 5 Anthropic messages through both gateways                            [call-5]');
    expect(screen).toContain('    expected: 200 message from claude');
    expect(screen).toContain('    actual:   404 from anthropic-sim');
    expect(screen).toContain('    broken hop: egress-gateway');
    expect(screen).toContain('    hint: docs/doctor.md#doctor-rewrite-egress');
    expect(screen).toContain('  ├ 2 egress-gateway  × broken here');
    for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    await expect(screen).toMatchFileSnapshot('__screens__/validate-final.txt');
  });
});

describe('selecting a call', () => {
  test('↓ shows the list with the first failure selected, ↑/↓ move, enter opens the hop trace', async () => {
    // Given a finished validate run
    const app = renderApp(validate);
    await tick();
    expect(app.screen()).not.toContain('› ');
    // When ↓ is pressed the browser appears on the first failed call
    app.stdin.write(KEY.down);
    await tick();
    expect(app.screen()).toContain('› × 5 Anthropic messages');
    // When ↑ moves to call 4 and enter opens it
    app.stdin.write(KEY.up);
    await tick();
    app.stdin.write(KEY.enter);
    await tick();
    const screen = app.screen();
    expect(screen).toContain('› √ 4 OpenAI chat through both gateways');
    expect(screen).toContain('trace of call-4 · request req-call-4');
    expect(screen).toContain('  ├ 2 egress-gateway                                                  200 · 6 ms');
    expect(screen).toContain('  │   key=sk-o…demo backend=openai');
    expect(screen).toContain('  └ 3 provider:openai  answered');
    // When enter again closes it
    app.stdin.write(KEY.enter);
    await tick();
    expect(app.screen()).not.toContain('trace of call-4');
  });

  test('q quits after the run and stops the command while it runs', async () => {
    const running = renderApp(validate.slice(0, 12));
    await tick();
    running.stdin.write('q');
    await tick();
    expect(running.calls).toMatchObject({ interrupt: 1, quit: 0 });
    const done = renderApp(validate);
    await tick();
    done.stdin.write('q');
    await tick();
    expect(done.calls).toMatchObject({ interrupt: 0, quit: 1 });
  });

  test('r reruns the failed calls when a rerun function exists', async () => {
    const app = renderApp(validate, { canRerun: true, interactive: true });
    await tick();
    expect(app.screen()).toContain('r rerun failed · q quit');
    app.stdin.write('r');
    await tick();
    expect(app.calls.rerun).toEqual([['call-5']]);
  });

  test('with a trace open, ↑/↓ PgUp/PgDn Home/End scroll it so every hop can be reached, esc closes it', async () => {
    // Given a finished run on a 12-row terminal, with call 4's trace (9 lines) open
    const app = renderApp(validate, { rows: 12 });
    await tick();
    for (const key of [KEY.down, KEY.up, KEY.enter]) {
      app.stdin.write(key);
      await tick();
    }
    expect(app.screen()).toContain('trace of call-4');
    expect(app.screen()).toMatch(/lines 1–\d of 9 · ↓ \d below/);
    expect(app.screen()).not.toContain('└ 3 provider:openai');
    expect(app.screen()).toContain('↑/↓ PgUp/PgDn Home/End scroll · esc close · q quit');
    // When End is pressed the last hop is on screen
    app.stdin.write(KEY.end);
    await tick();
    expect(app.screen()).toContain('  └ 3 provider:openai  answered');
    expect(app.screen()).toMatch(/lines \d–9 of 9 · ↑ \d above/);
    // When Home, then ↓ and PgDn move down again
    app.stdin.write(KEY.home);
    await tick();
    expect(app.screen()).toMatch(/lines 1–\d of 9/);
    app.stdin.write(KEY.down);
    await tick();
    expect(app.screen()).toMatch(/lines 2–\d of 9/);
    app.stdin.write(KEY.pageUp);
    await tick();
    expect(app.screen()).toMatch(/lines 1–\d of 9/);
    app.stdin.write(KEY.pageDown);
    await tick();
    expect(app.screen()).toMatch(/lines 4–7 of 9 · ↑ 3 above · ↓ 2 below/);
    // When esc closes the trace, ↑/↓ select again
    app.stdin.write(KEY.escape);
    await tick();
    expect(app.screen()).not.toContain('trace of call-4');
    app.stdin.write(KEY.down);
    await tick();
    expect(app.screen()).toContain('› × 5 Anthropic messages');
  });

  test('the first frame says what is starting, before the run has said anything', async () => {
    const app = renderApp([], { command: 'validate' });
    await tick();
    expect(app.screen().split('\n')[0]).toBe('maas-egress-demo validate · starting…');
    app.store.push(validate[0]!);
    await tick();
    expect(app.screen()).not.toContain('starting…');
    expect(app.screen()).toContain('maas-egress-demo validate · target local · v0.1.0');
  });

  test('after a resize the screen is drawn again at the new width', async () => {
    // Given a finished run at 80 columns
    const app = renderApp(validate, { columns: undefined });
    await tick();
    // When the terminal becomes 50 columns wide
    app.store.resized({ columns: 50, rows: 24 });
    await tick();
    // Then the finished lines are written again, and every line of the new drawing fits
    const frame = app.screen();
    const redrawn = frame.slice(frame.lastIndexOf('maas-egress-demo validate · target local'));
    for (const line of redrawn.split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    expect(redrawn).toContain('× 5 Anthropic messages through');
    expect(redrawn).toContain('× validate failed · 3 passed · 1 failed · 1');
  });

  test('--interactive shows the browser after the run without a key press', async () => {
    const app = renderApp(validate, { interactive: true });
    await tick();
    expect(app.screen()).toContain('› × 5 Anthropic messages');
  });
});

describe('HopTrace', () => {
  const check = foldEvents(validate).checks.find((c) => c.id === 'call-4')!;
  test('wraps vertically: name and status/time, then the path before → after and the masked key', () => {
    const { lastFrame } = render(<HopTrace check={check} width={80} />);
    expect(normalize(lastFrame())).toBe(
      [
        '  ┌ 0 client                                                         200 · 14 ms',
        '  │   /openai/v1/chat/completions',
        '  ├ 1 maas-gateway                                                   200 · 11 ms',
        '  │   /openai/v1/chat/completions (not rewritten)  auth=ok tier=free',
        '  ├ 2 egress-gateway                                                  200 · 6 ms',
        '  │   /openai/v1/chat/completions → /v1/chat/completions',
        '  │   key=sk-o…demo backend=openai',
        '  └ 3 provider:openai  answered                                       200 · 2 ms',
        '      /v1/chat/completions  key status=valid',
      ].join('\n'),
    );
  });
  test('cuts long paths in the middle so each line fits a narrow terminal', () => {
    const long = { ...check, hops: check.hops.map((h) => ({ ...h, pathIn: `/openai/v1/chat/completions/${'x'.repeat(80)}`, pathOut: '/v1/chat/completions' })) };
    for (const line of hopTraceLines(long, 50)) expect(line.reduce((n, s) => n + s.text.length, 0)).toBeLessThanOrEqual(50);
  });
  test('a trace longer than its rows scrolls: a window of lines and a last row saying where it is', () => {
    // Given call 4's trace (9 lines) in 4 rows
    const top = normalize(render(<HopTrace check={check} width={80} maxLines={4} />).lastFrame()).split('\n');
    expect(top).toEqual([
      '  ┌ 0 client                                                         200 · 14 ms',
      '  │   /openai/v1/chat/completions',
      '  ├ 1 maas-gateway                                                   200 · 11 ms',
      '  lines 1–3 of 9 · ↓ 6 below',
    ]);
    // When scrolled past the end it shows the last screenful, the provider hop included
    const end = normalize(render(<HopTrace check={check} width={80} maxLines={4} scroll={99} />).lastFrame()).split('\n');
    expect(end).toEqual([
      '  │   key=sk-o…demo backend=openai',
      '  └ 3 provider:openai  answered                                       200 · 2 ms',
      '      /v1/chat/completions  key status=valid',
      '  lines 7–9 of 9 · ↑ 6 above',
    ]);
  });
  test('traceWindow keeps the scroll inside the trace and needs no scroll line when all fits', () => {
    expect(traceWindow(9, 12, 5)).toEqual({ from: 0, to: 9, scrolls: false });
    expect(traceWindow(20, 6, 0)).toEqual({ from: 0, to: 5, scrolls: true });
    expect(traceWindow(20, 6, 7)).toEqual({ from: 7, to: 12, scrolls: true });
    expect(traceWindow(20, 6, 50)).toEqual({ from: 15, to: 20, scrolls: true });
  });
});

describe('browser budget', () => {
  test('the list and the open trace use what the live area leaves free, and stay below the terminal height', () => {
    // Given 24 rows of which 6 are taken by the rest of the live area (margin, status, key help)
    const list = browserBudget(24, 6, 10);
    // Then the whole list fits (10 rows), and an open trace gets all but the selected row and its title
    expect(list.listRows).toBe(10);
    const open = browserBudget(24, 6, 10, true);
    expect(open.traceRows + 2 + 6).toBe(23);
    // And a list too long for the screen leaves room for its "↑/↓ N more" rows
    expect(browserBudget(24, 6, 40).listRows + 2 + 6).toBe(23);
  });
});

describe('CheckList window', () => {
  test('keeps the selection visible in a short window', () => {
    expect(windowAround(10, 0, 4)).toEqual([0, 4]);
    expect(windowAround(10, 9, 4)).toEqual([6, 10]);
    expect(windowAround(10, 5, 4)).toEqual([3, 7]);
    const state = foldEvents(validate);
    const { lastFrame } = render(<CheckList checks={state.checks} selected="call-10" expanded={false} width={80} maxRows={2} traceRows={4} />);
    expect(normalize(lastFrame())).toContain('  ↑ 3 more');
    expect(normalize(lastFrame())).toContain('› - 10 rate limit');
  });
});
