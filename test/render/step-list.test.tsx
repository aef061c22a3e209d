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

  test('a finished step is one line with counts and its time', () => {
    const state = foldEvents(fixture('up'));
    const { lastFrame } = render(<StepLine step={state.steps[1]!} width={80} />);
    expect(normalize(lastFrame())).toBe('√ step 2  On-prem model behind the MaaS gateway       1 started, 1 ready · 1.4 s');
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
    expect(app.screen()).toContain('√ step teardown  Stop the local topology              3 stopped, 1 ready · 37 ms');
    expect(app.screen()).toContain('√ down done · exit 0');
  });
});
