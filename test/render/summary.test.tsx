import { describe, expect, test } from 'vitest';
import { render } from 'ink-testing-library';
import { foldEvents } from '../../src/render/state.js';
import { ErrorBanner } from '../../src/render/tui/ErrorBanner.js';
import { SummaryBlock } from '../../src/render/tui/Summary.js';
import { fixture, normalize, renderApp, tick } from './tui-helpers.js';

describe('expected-results table', () => {
  test('draws expected against actual for each call within 80 columns', () => {
    const summary = foldEvents(fixture('validate')).summaries[0]!;
    const { lastFrame } = render(<SummaryBlock summary={summary} width={80} color={false} />);
    const screen = normalize(lastFrame());
    expect(screen.split('\n')[0]).toBe('Expected results');
    expect(screen).toContain('│ call │ expected                  │ actual                    │   │');
    expect(screen).toContain('│ 5    │ 200 message from claude   │ 404 from anthropic-sim    │ × │');
    expect(screen).toContain('  failed: 1');
    for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});

describe('doctor report', () => {
  test('groups checks by category with √, × and ‼, and shows the fix and the hint of each finding', async () => {
    const app = renderApp(fixture('doctor'));
    await tick();
    const screen = app.screen();
    expect(screen).toContain('√ both gateways answer');
    expect(screen).toContain('× egress gateway strips /anthropic before the provider    [egress-strips-prefix]');
    expect(screen).toContain('    fix: set the URLRewrite filter on route anthropic:\n           replacePrefixMatch: /');
    expect(screen).toContain('    hint: README.md#doctor-rewrite-egress');
    expect(screen).toContain('‼ a token budget exists for every tier');
    expect(screen).toContain('    tier premium has no token budget');
    expect(screen).toContain('× doctor failed · 3 passed · 1 failed · 1 warning · exit 1');
    expect(screen.indexOf('\nrewrites\n')).toBeGreaterThan(screen.indexOf('\ninstall\n'));
    await expect(screen).toMatchFileSnapshot('__screens__/doctor-final.txt');
  });
});

describe('ErrorBanner', () => {
  test('frames the error with what to try next', () => {
    const end = foldEvents(fixture('up-failed')).end!;
    const { lastFrame } = render(<ErrorBanner end={end} width={80} />);
    expect(normalize(lastFrame())).toBe(
      [
        '╭──────────────────────────────────────────────────────────────────────────────╮',
        '│ error: step 1 did not become ready                                           │',
        '│ try:   check the image pull secret, then resume with `demo up`               │',
        '╰──────────────────────────────────────────────────────────────────────────────╯',
      ].join('\n'),
    );
  });
  test('without a hint it names the next step by exit code', () => {
    const { lastFrame } = render(<ErrorBanner end={{ ok: false, exitCode: 130, t: 0, error: { message: 'interrupted' } }} width={80} />);
    expect(normalize(lastFrame())).toContain('next:  interrupted: run the command again when ready; `demo down` cleans up');
  });
  test('nothing is drawn when the run ended without an error', () => {
    const { lastFrame } = render(<ErrorBanner end={{ ok: true, exitCode: 0, t: 0 }} width={80} />);
    expect(normalize(lastFrame())).toBe('');
  });
});
