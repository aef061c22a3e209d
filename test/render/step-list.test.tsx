import { describe, expect, test } from 'vitest';
import { render } from 'ink-testing-library';
import { foldEvents } from '../../src/render/state.js';
import { StepLine, StepList } from '../../src/render/tui/StepList.js';
import { fixture, normalize, renderApp, tick } from './tui-helpers.js';

describe('StepList', () => {
  test('shows the running step with a spinner, the condition waited for, its latest reason and elapsed times', () => {
    // Given `up` in the middle of step 2, 100 ms after the last event
    const state = foldEvents(fixture('up').slice(0, 10));
    // When the live step list is drawn
    const { lastFrame } = render(<StepList steps={state.steps} plan={state.plan} now={1000} width={80} />);
    // Then
    expect(normalize(lastFrame())).toBe(
      [
        '* step 2  On-prem model behind the MaaS gateway                           930 ms',
        '    waiting for Deployment llm/onprem-model Available',
        '    Pulling image · 925 ms',
        '· step 4  MaaS bridge',
      ].join('\n'),
    );
  });

  test('a finished step: its title, what it did and its time in a column of its own', () => {
    const state = foldEvents(fixture('up'));
    const { lastFrame } = render(<StepLine step={state.steps[1]!} width={80} />);
    expect(normalize(lastFrame())).toBe('√ step 2  On-prem model behind the MaaS gateway · 1 started, 1 ready       1.4 s');
  });

  test('a long title wraps at word boundaries beside the time; no word and no count is cut', () => {
    // Given step 1's real title and counts at 60 columns
    const state = foldEvents(fixture('up'));
    const { lastFrame } = render(<StepLine step={{ ...state.steps[0]!, title: 'Egress gateway: backend CRD, wg-ai-gateway controller, GatewayClass and Gateway' }} width={60} />);
    const lines = normalize(lastFrame()).split('\n');
    // Then the time stays whole on the first line and every word of the title is there, whole
    expect(lines[0]).toMatch(/^√ step 1 {2}Egress gateway: backend CRD, .* 57 ms$/);
    const text = [lines[0]!.replace(/\s+57 ms$/, ''), ...lines.slice(1)].map((l) => l.slice(10).trim()).join(' ');
    expect(text).toBe('Egress gateway: backend CRD, wg-ai-gateway controller, GatewayClass and Gateway · 1 started, 1 ready');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60);
    expect(lines.some((l) => /1 started, 1 ready/.test(l))).toBe(true);
  });

  test('a wrapped title continues exactly under itself at any width (no line starts with the space it broke at)', () => {
    const state = foldEvents(fixture('up'));
    const step = { ...state.steps[0]!, id: '2', title: 'On-prem model: a simulated LLMInferenceService behind the MaaS gateway' };
    for (let width = 50; width <= 90; width++) {
      const lines = normalize(render(<StepLine step={step} width={width} />).lastFrame()).split('\n');
      expect(lines.length, `width ${width}`).toBeGreaterThan(0);
      for (const line of lines.slice(1)) expect(line, `width ${width}`).toMatch(/^ {10}\S/);
      for (const line of lines) expect(line.length, `width ${width}`).toBeLessThanOrEqual(width);
    }
  });

  test('what a step said while it ran is shown under it, indented and wrapped', () => {
    // Given a step during which the command logged a line
    const state = foldEvents([
      { kind: 'run-start', t: 0, command: 'up', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z' },
      { kind: 'step-start', t: 1, step: '4', title: 'Per-provider routes and key injection on the MaaS gateway' },
      { kind: 'log', t: 2, level: 'info', message: 'TokenRateLimitPolicy gateway-token-rate-limits: free 100, premium 50000, enterprise 100000 tokens per 60 s' },
      { kind: 'step-end', t: 3, step: '4', ok: true, ms: 189 },
    ]);
    // Then it is part of the step, not a bare line of the feed
    expect(state.feed.map((f) => f.kind)).toEqual(['run', 'step']);
    const { lastFrame } = render(<StepLine step={state.steps[0]!} width={80} />);
    expect(normalize(lastFrame()).split('\n')).toEqual([
      '√ step 4  Per-provider routes and key injection on the MaaS gateway       189 ms',
      '    · TokenRateLimitPolicy gateway-token-rate-limits: free 100, premium 50000,',
      '      enterprise 100000 tokens per 60 s',
    ]);
  });

  test('a failed step says what it waited for, why it failed and the hint', () => {
    const state = foldEvents(fixture('up-failed'));
    const { lastFrame } = render(<StepLine step={state.steps[0]!} width={80} />);
    const screen = normalize(lastFrame());
    expect(screen).toContain('× step 1  Egress gateway');
    expect(screen).toContain('    waited for Deployment ai-gateway-system/ai-gateway-controller Available');
    expect(screen).toContain('    timeout after 120.0 s: ImagePullBackOff');
    expect(screen).toContain('    hint: docs/commands.md#step-gateway');
  });

  test('every line of the up screen fits 80 columns', async () => {
    const app = renderApp(fixture('up'));
    await tick();
    for (const line of app.screen().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    await expect(app.screen()).toMatchFileSnapshot('__screens__/up-final.txt');
  });
});

describe('down progress', () => {
  test('shows what was stopped and what it still waits for, then the result', async () => {
    // Given `down` half-way: three components stopped, one port still open
    const app = renderApp(fixture('down').slice(0, 6));
    await tick();
    expect(app.screen()).toContain('* step teardown  Stop the local topology');
    expect(app.screen()).toContain('    waiting for no demo ports left listening');
    expect(app.screen()).toContain('    1 left');
    // When the rest arrives
    for (const e of fixture('down').slice(6)) app.store.push(e);
    await tick();
    // Then
    expect(app.screen()).toContain('√ step teardown  Stop the local topology · 3 stopped, 1 ready              37 ms');
    expect(app.screen()).toContain('√ down done · exit 0');
  });
});
