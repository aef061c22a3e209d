import { describe, expect, test } from 'vitest';
import { render } from 'ink-testing-library';
import { foldEvents } from '../../src/render/state.js';
import { ErrorBanner } from '../../src/render/tui/ErrorBanner.js';
import { SummaryBlock } from '../../src/render/tui/Summary.js';
import { fitColumns } from '../../src/render/formatters.js';
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

describe('table fitting', () => {
  test('a table with two long columns wraps its cells and stays within 80 columns', () => {
    // Given the shape validate really emits: number, test, expected, actual
    const head = ['#', 'test', 'expected', 'actual'];
    const rows = [
      ['1', 'gateway endpoint discovered and TLS verified', 'the MaaS gateway answers on its host with a certificate our CA signed', 'HTTP 404 from istio-envoy, certificate valid'],
      ['10', 'token rate limit: 200s then 429s', 'RATE_LIMITED_AFTER(5)', '4×200 then 429 at request 5 (budget 100 tokens)'],
    ];
    const widths = fitColumns(head, rows, 80);
    expect(widths.reduce((a, b) => a + b, 0) + widths.length + 1).toBeLessThanOrEqual(80);
    expect(widths[0]).toBe(4);
    const { lastFrame } = render(<SummaryBlock summary={{ t: 0, title: 'Expected results', facts: {}, table: { head, rows } }} width={80} color={false} />);
    const lines = normalize(lastFrame()).split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines.some((l) => l.endsWith('…'))).toBe(false);
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
    expect(screen).toContain('    hint: docs/doctor.md#doctor-rewrite-egress');
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
