/**
 * The plain, JSON, NDJSON and JUnit renderers over one hand-made stream: what each prints, that
 * colour is off with `color: false` (NO_COLOR) and changes nothing but colour, and that a secret that
 * slipped into an event never reaches any output.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { DemoEvent } from '../../src/core/events.js';
import { registerSecretValue } from '../../src/core/secret.js';
import { createPlainSink } from '../../src/render/plain.js';
import { createJsonSink, toJsonDocument } from '../../src/render/json.js';
import { createNdjsonSink } from '../../src/render/ndjson.js';
import { createJunitSink, toJunit } from '../../src/render/junit.js';
import { stripAnsi } from '../../src/render/style.js';
import { parseXml, type XmlElement } from '../helpers/xml.js';

const LEAKED_KEY = 'sk-leaked-into-a-message-42';
registerSecretValue(LEAKED_KEY);
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQxx.c2lnbmF0dXJlLWhlcmUtMTIz';

const events: DemoEvent[] = [
  { kind: 'run-start', t: 0, command: 'validate', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z', plan: [{ id: 'call-4', title: 'OpenAI chat' }] },
  { kind: 'step-start', t: 1, step: '1', title: 'Egress gateway' },
  { kind: 'apply', t: 2, step: '1', object: 'process/egress-gateway', action: 'started' },
  { kind: 'wait', t: 3, step: '1', condition: 'Gateway poc-gateway Programmed', state: 'pending', elapsedMs: 0 },
  { kind: 'wait', t: 44, step: '1', condition: 'Gateway poc-gateway Programmed', state: 'met', elapsedMs: 41 },
  { kind: 'step-end', t: 45, step: '1', ok: true, ms: 44 },
  { kind: 'step-start', t: 46, step: '3', title: 'Simulated providers' },
  { kind: 'wait', t: 2046, step: '3', condition: 'HTTPRoute openai-route Accepted', state: 'timeout', reason: 'HTTP 503', elapsedMs: 2000 },
  { kind: 'step-end', t: 2047, step: '3', ok: false, ms: 2001, message: 'route not accepted', hint: 'check the backend' },
  { kind: 'check-start', t: 2048, id: 'call-4', category: 'calls', title: '4 OpenAI chat' },
  { kind: 'hop', t: 2049, check: 'call-4', requestId: 'r1', index: 0, hop: 'client', source: 'observed', pathIn: '/external/openai/v1/chat/completions', status: 200, detail: {} },
  { kind: 'hop', t: 2050, check: 'call-4', requestId: 'r1', index: 1, hop: 'maas-gateway', source: 'observed', pathIn: '/external/openai/v1/chat/completions', pathOut: '/openai/v1/chat/completions', status: 200, ms: 12, detail: { keyInjected: 'sk-o…demo' } },
  { kind: 'hop', t: 2051, check: 'call-4', requestId: 'r1', index: 2, hop: 'provider:openai', source: 'inferred', pathIn: '/v1/chat/completions', detail: {} },
  { kind: 'check', t: 2052, id: 'call-4', category: 'calls', title: '4 OpenAI chat', outcome: 'pass', actual: '200 completion from gpt-4', ms: 30 },
  { kind: 'check', t: 2060, id: 'call-5', category: 'calls', title: '5 Anthropic <chat> & "quotes"', outcome: 'fail', expected: '200', actual: '404', hop: 'egress-gateway', fix: 'kubectl apply -f fixed.yaml\nkubectl rollout restart', hint: 'README.md#doctor-rewrites', evidence: ['x-sim-path: //v1/chat/completions'], ms: 9 },
  { kind: 'check', t: 2061, id: 'call-9', category: 'calls', title: '9 wrong vLLM key', outcome: 'skip', message: 'no vLLM', ms: 0 },
  { kind: 'check', t: 2062, id: 'call-10', category: 'calls', title: '10 rate limit', outcome: 'warn', message: `limit hit early ${LEAKED_KEY}`, ms: 5 },
  { kind: 'log', t: 2063, level: 'warn', message: `token was ${JWT}` },
  { kind: 'log', t: 2064, level: 'debug', message: 'debug only' },
  { kind: 'summary', t: 2065, title: 'Results', facts: { passed: 1, failed: 1, ok: false }, table: { head: ['call', 'result'], rows: [['4', 'pass'], ['5', 'fail']] } },
  { kind: 'run-end', t: 2070, ok: false, exitCode: 1 },
];

function plain(color: boolean, list: DemoEvent[] = events): string {
  let out = '';
  const sink = createPlainSink({ write: (t) => void (out += t), color, width: 100 });
  for (const e of list) sink.write(e);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'spine-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('plain', () => {
  const text = plain(false);

  test('one line (or a few indented ones) per event, in order', () => {
    const lines = text.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      'maas-egress-demo validate · target local · v0.1.0',
      'step 1  Egress gateway',
      '  + process/egress-gateway started',
      '  … waiting: Gateway poc-gateway Programmed',
      '  √ Gateway poc-gateway Programmed (41 ms)',
      '√ step 1 ready (44 ms)',
      'step 3  Simulated providers',
      '  × HTTPRoute openai-route Accepted: timeout (HTTP 503)',
      '× step 3 failed: route not accepted',
    ]);
    expect(text).toContain('    hint: check the backend\n');
  });

  test('checks: a pass on one line with its result; a failure with expected, actual, hop, evidence, fix and hint', () => {
    expect(text).toContain('√ 4 OpenAI chat [call-4] → 200 completion from gpt-4\n');
    expect(text).toContain(
      [
        '× 5 Anthropic <chat> & "quotes" [call-5]',
        '    expected: 200',
        '    actual:   404',
        '    broken hop: egress-gateway',
        '    evidence: x-sim-path: //v1/chat/completions',
        '    fix: kubectl apply -f fixed.yaml',
        '         kubectl rollout restart',
        '    hint: docs/doctor.md#doctor-rewrites',
      ].join('\n'),
    );
    expect(text).toContain('- 9 wrong vLLM key (skipped: no vLLM) [call-9]\n');
    expect(text).toContain('‼ 10 rate limit [call-10]\n');
  });

  test('hops show the path change, status, timing, details and whether they were inferred', () => {
    expect(text).toContain('    1. maas-gateway /external/openai/v1/chat/completions → /openai/v1/chat/completions 200 12 ms keyInjected=sk-o…demo\n');
    expect(text).toContain('    2. provider:openai /v1/chat/completions (inferred)\n');
  });

  test('summary table and facts; debug logs hidden; failed run-end', () => {
    expect(text).toMatch(/Results\n.*call.*result/s);
    expect(text).toContain('  passed: 1\n  failed: 1\n  ok: false\n');
    expect(text).not.toContain('debug only');
    expect(text.trimEnd().split('\n').at(-1)).toBe('× failed (exit 1)');
  });

  test('run-end with an error prints error: and hint: lines; a clean run prints done', () => {
    const failed = plain(false, [{ kind: 'run-end', t: 1, ok: false, exitCode: 2, error: { message: 'bad flag', hint: 'see --help' } }]);
    expect(failed).toBe('error: bad flag\nhint: see --help\n');
    expect(plain(false, [{ kind: 'run-end', t: 1, ok: true, exitCode: 0 }])).toBe('√ done\n');
  });

  test('color: false has no ANSI escape at all; color: true differs only by colour', () => {
    expect(text).not.toMatch(/\u001b\[/);
    const colored = plain(true);
    expect(colored).toMatch(/\u001b\[32m√/);
    expect(colored).toMatch(/\u001b\[31m×/);
    expect(stripAnsi(colored)).toBe(text);
  });
});

describe('json', () => {
  test('exactly one document, written at close, with ok agreeing with the exit code', async () => {
    let out = '';
    const sink = createJsonSink({ write: (t) => void (out += t) });
    for (const e of events) sink.write(e);
    expect(out).toBe('');
    await sink.close?.();
    const doc = JSON.parse(out) as ReturnType<typeof toJsonDocument>;
    expect(out.trimEnd().split('\n').length).toBeGreaterThan(1); // pretty-printed, yet one document
    expect(doc).toMatchObject({ ok: false, exitCode: 1, command: 'validate', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z', durationMs: 2070 });
    expect(doc.steps).toEqual([
      { id: '1', title: 'Egress gateway', ok: true, skipped: false, ms: 44, applied: [{ object: 'process/egress-gateway', action: 'started' }], waits: [{ condition: 'Gateway poc-gateway Programmed', state: 'met', elapsedMs: 41 }] },
      { id: '3', title: 'Simulated providers', ok: false, skipped: false, ms: 2001, message: 'route not accepted', hint: 'check the backend', applied: [], waits: [{ condition: 'HTTPRoute openai-route Accepted', state: 'timeout', reason: 'HTTP 503', elapsedMs: 2000 }] },
    ]);
    expect(doc.checks.map((c) => [c.id, c.outcome, c.hops.length])).toEqual([
      ['call-4', 'pass', 3],
      ['call-5', 'fail', 0],
      ['call-9', 'skip', 0],
      ['call-10', 'warn', 0],
    ]);
    expect(doc.checks[0]!.hops[1]).toEqual({ requestId: 'r1', index: 1, hop: 'maas-gateway', source: 'observed', pathIn: '/external/openai/v1/chat/completions', pathOut: '/openai/v1/chat/completions', status: 200, ms: 12, detail: { keyInjected: 'sk-o…demo' } });
    expect(doc.logs).toEqual([{ level: 'warn', message: expect.stringMatching(/^token was eyJh…/) }]);
    expect(doc.summaries).toHaveLength(1);
  });

  test('a stream cut before run-end is not ok', () => {
    expect(toJsonDocument(events.slice(0, 5))).toMatchObject({ ok: false, exitCode: 1 });
    expect(toJsonDocument([{ kind: 'run-end', t: 0, ok: true, exitCode: 0 }])).toMatchObject({ ok: true, exitCode: 0 });
  });
});

describe('ndjson', () => {
  test('the event stream itself: one parseable event per line, in order', () => {
    const lines: string[] = [];
    const sink = createNdjsonSink({ write: (t) => void lines.push(t) });
    for (const e of events) sink.write(e);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const parsed = lines.map((l) => JSON.parse(l) as DemoEvent);
    expect(parsed.map((e) => e.kind)).toEqual(events.map((e) => e.kind));
    expect(parsed[0]).toEqual(events[0]);
  });
});

describe('junit', () => {
  const xml = toJunit(events);
  const doc = parseXml(xml);
  const suite = doc.children[0]!.children.find((c) => c.name === 'testsuite')!;
  const cases = suite.children.filter((c) => c.name === 'testcase');
  const byName = (name: string) => cases.find((c) => c.attributes.name === name)!;
  const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);
  const property = (el: XmlElement, name: string) => child(el, 'properties')?.children.find((p) => p.attributes.name === name)?.attributes.value;

  test('well-formed XML 1.0 with one testcase per step and per check, failures and skips counted', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(doc.children[0]!.name).toBe('testsuites');
    expect(suite.attributes).toMatchObject({ name: 'maas-egress-demo validate', tests: '6', failures: '2', skipped: '1', errors: '0', time: '2.070' });
    expect(cases.map((c) => c.attributes.name)).toEqual(['step 1: Egress gateway', 'step 3: Simulated providers', '4 OpenAI chat', '5 Anthropic <chat> & "quotes"', '9 wrong vLLM key', '10 rate limit']);
  });

  test('testcases are named by their titles; the stable id is a property', () => {
    const call4 = byName('4 OpenAI chat');
    expect(call4.attributes).toMatchObject({ classname: 'validate.calls', time: '0.030' });
    expect(property(call4, 'id')).toBe('call-4');
    expect(property(byName('step 1: Egress gateway'), 'id')).toBe('step-1');
  });

  test('a failure carries what was expected, what happened, the broken hop, the fix and the hint (as a docs/ link)', () => {
    const failure = child(byName('5 Anthropic <chat> & "quotes"'), 'failure')!;
    expect(failure.attributes).toEqual({ message: 'expected 200, got 404', type: 'fail' });
    expect(failure.text).toBe(
      'expected: 200\nactual: 404\nbroken hop: egress-gateway\nevidence: x-sim-path: //v1/chat/completions\nfix: kubectl apply -f fixed.yaml\nkubectl rollout restart\nhint: docs/doctor.md#doctor-rewrites',
    );
    expect(child(byName('step 3: Simulated providers'), 'failure')!.attributes.message).toBe('route not accepted');
    expect(child(byName('9 wrong vLLM key'), 'skipped')!.attributes.message).toBe('no vLLM');
  });

  test('a passing call keeps its hop trace in system-out', () => {
    expect(child(byName('4 OpenAI chat'), 'system-out')!.text).toMatch(/^0\. client \/external\/openai\/v1\/chat\/completions 200\n1\. maas-gateway \/external\/openai\/v1\/chat\/completions -> \/openai\/v1\/chat\/completions 200 keyInjected=sk-o…demo/);
  });

  test('a warning is carried: a passing testcase marked outcome=warning with its text, and counted on the suite', () => {
    const call10 = byName('10 rate limit');
    expect(child(call10, 'failure')).toBeUndefined();
    expect(property(call10, 'outcome')).toBe('warning');
    expect(child(call10, 'system-out')!.text).toBe('warning: limit hit early sk-l…e-42');
    expect(property(suite, 'warnings')).toBe('1');
  });

  test('warnings that failed the run (doctor --fail-on warning) are failures of type warning; expected ones are not', () => {
    const stream: DemoEvent[] = [
      { kind: 'run-start', t: 0, command: 'doctor', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z' },
      { kind: 'check', t: 1, id: 'ratelimit-budget', category: 'rate-limits', title: 'the budget and counter', outcome: 'warn', message: '100 of 100 tokens spent', ms: 1 },
      { kind: 'check', t: 2, id: 'exposure-keys-in-policies', category: 'exposure', title: 'keys are not literals', outcome: 'warn', message: 'seed design', ms: 1, data: { expectedWarning: true } },
      { kind: 'run-end', t: 3, ok: false, exitCode: 1 },
    ];
    const parsed = parseXml(toJunit(stream));
    const tcs = parsed.children[0]!.children.find((c) => c.name === 'testsuite')!.children.filter((c) => c.name === 'testcase');
    expect(child(tcs[0]!, 'failure')!.attributes).toEqual({ message: '100 of 100 tokens spent', type: 'warning' });
    expect(child(tcs[1]!, 'failure')).toBeUndefined();
    expect(property(tcs[1]!, 'outcome')).toBe('expected warning');
  });

  test('what XML 1.0 cannot hold is replaced, and terminal colour codes are dropped: a failing run still parses', () => {
    // Given a failure message with colour codes, a bare ESC, NUL, a vertical tab and a lone surrogate
    const hostile: DemoEvent[] = [
      events[0]!,
      { kind: 'check', t: 1, id: 'call-4', category: 'calls', title: '4 \u001b[1mbold\u001b[22m <title>', outcome: 'fail', message: 'got \u001b[31m404\u001b[39m from \u0000envoy\u000b\ud800 & more \u001b', expected: '200', ms: 1 },
      { kind: 'run-end', t: 2, ok: false, exitCode: 1, error: { message: 'bad \u0007 bell', hint: 'README.md#validate-failures' } },
    ];
    const text = toJunit(hostile);
    // Then a strict XML 1.0 parser reads it, and the text says what was there
    const parsed = parseXml(text);
    const tc = parsed.children[0]!.children.find((c) => c.name === 'testsuite')!.children.find((c) => c.name === 'testcase')!;
    expect(tc.attributes.name).toBe('4 bold <title>');
    expect(child(tc, 'failure')!.attributes.message).toBe('got 404 from \\u0000envoy\\u000b\\ud800 & more \\u001b');
    expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    const run = parsed.children[0]!.children.find((c) => c.name === 'testsuite')!.children.find((c) => c.attributes.name === 'run')!;
    expect(child(run, 'error')!.attributes.message).toBe('bad \\u0007 bell');
    expect(child(run, 'error')!.text).toBe('hint: docs/validate.md#validate-failures');
  });

  test('a run error becomes an <error> testcase', () => {
    const parsed = parseXml(toJunit([events[0]!, { kind: 'run-end', t: 10, ok: false, exitCode: 2, error: { message: 'bad <flag>', hint: 'see --help', name: 'UserError' } }]));
    const s = parsed.children[0]!.children.find((c) => c.name === 'testsuite')!;
    expect(s.attributes).toMatchObject({ tests: '1', failures: '0', errors: '1' });
    const run = s.children.find((c) => c.name === 'testcase')!;
    expect(child(run, 'error')!.attributes).toEqual({ message: 'bad <flag>', type: 'UserError' });
    expect(child(run, 'error')!.text).toBe('hint: see --help');
  });
});

describe('no secret in any output', () => {
  test('a registered key and a JWT that slipped into events are masked by every renderer', async () => {
    const outputs: Record<string, string> = { plain: plain(false), colored: plain(true) };
    let json = '';
    const js = createJsonSink({ write: (t) => void (json += t) });
    let nd = '';
    const ns = createNdjsonSink({ write: (t) => void (nd += t) });
    const file = join(dir, 'junit.xml');
    const ju = createJunitSink({ file });
    for (const e of events) for (const s of [js, ns, ju]) s.write(e);
    await js.close?.();
    await ju.close?.();
    Object.assign(outputs, { json, ndjson: nd, junit: readFileSync(file, 'utf8') });
    for (const [name, out] of Object.entries(outputs)) {
      expect(out.includes(LEAKED_KEY), `key in ${name}`).toBe(false);
      expect(out.includes(JWT), `jwt in ${name}`).toBe(false);
      // Every output shows the masked form (JUnit carries the warning's text too)
      expect(out, name).toContain('sk-l…e-42');
    }
  });
});

describe('section headings', () => {
  const doctor: DemoEvent[] = [
    { kind: 'run-start', t: 0, command: 'doctor', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z' },
    { kind: 'section', t: 1, id: 'rewrites', title: 'rewrites' },
    { kind: 'check', t: 2, id: 'rewrite-bridge-prefix', category: 'rewrites', title: 'each bridge rewrites its prefix', outcome: 'pass', ms: 1 },
    { kind: 'run-end', t: 3, ok: true, exitCode: 0 },
  ];

  test('plain prints a heading with a rule under it, once', () => {
    expect(plain(false, doctor)).toContain('\n\nrewrites\n--------\n√ each bridge rewrites its prefix [rewrite-bridge-prefix]\n');
  });

  test('NDJSON carries the heading as a section event, not as a log line', () => {
    let out = '';
    const sink = createNdjsonSink({ write: (t) => void (out += t) });
    for (const e of doctor) sink.write(e);
    const kinds = out.trim().split('\n').map((l) => (JSON.parse(l) as DemoEvent).kind);
    expect(kinds).toEqual(['run-start', 'section', 'check', 'run-end']);
    expect(out).not.toMatch(/"kind":"log"/);
  });
});
