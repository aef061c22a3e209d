import { describe, expect, test } from 'vitest';
import { render } from 'ink-testing-library';
import { foldEvents } from '../../src/render/state.js';
import { HopTrace, hopTraceLines } from '../../src/render/tui/HopTrace.js';
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
  test('shows at most maxLines and says how many are hidden', () => {
    const { lastFrame } = render(<HopTrace check={check} width={80} maxLines={3} />);
    expect(normalize(lastFrame()).split('\n')).toHaveLength(3);
    expect(normalize(lastFrame())).toContain('… 7 more lines');
  });
});

describe('browser budget', () => {
  test('list and trace share what the live area leaves free, below the terminal height', () => {
    const { listRows, traceRows } = browserBudget(24, 9, 10);
    expect(listRows + traceRows + 9).toBeLessThanOrEqual(22);
    expect(listRows).toBeGreaterThanOrEqual(3);
    expect(browserBudget(40, 9, 3).listRows).toBe(3);
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
