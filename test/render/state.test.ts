import { describe, expect, test } from 'vitest';
import type { DemoEvent } from '../../src/core/events.js';
import { browse, type BrowseState, currentStep, defaultSelection, failedCheckIds, foldEvents, initialState, reduce, tally } from '../../src/render/state.js';
import { fixture } from './tui-helpers.js';

const start: DemoEvent = { kind: 'run-start', t: 0, command: 'validate', target: 'local', version: '0.1.0', startedAt: '2026-11-20T10:00:00.000Z' };

describe('reduce', () => {
  test('tracks a running step with the condition it waits for and the latest reason', () => {
    // Given the first ten events of `up`
    const state = foldEvents(fixture('up').slice(0, 10));
    // Then step 2 runs and waits with the latest reason
    const step = currentStep(state)!;
    expect(step).toMatchObject({ id: '2', status: 'running', startT: 70 });
    expect(step.wait).toMatchObject({ condition: 'Deployment llm/onprem-model Available', state: 'pending', reason: 'Pulling image', elapsedMs: 825 });
    expect(state.steps[0]).toMatchObject({ id: '1', status: 'ok', ms: 57, waitsMet: 1, applied: [{ object: 'egress-gateway/poc-gateway', action: 'started' }] });
  });

  test('keys hop events by check and keeps them ordered by index', () => {
    const state = foldEvents(fixture('validate'));
    const call5 = state.checks.find((c) => c.id === 'call-5')!;
    expect(call5.hops.map((h) => h.hop)).toEqual(['client', 'maas-gateway', 'egress-gateway', 'provider:anthropic']);
    expect(call5).toMatchObject({ status: 'fail', hop: 'egress-gateway', expected: '200 message from claude', hint: 'README.md#doctor-rewrite-egress' });
    expect(tally(state)).toEqual({ pass: 3, fail: 1, warn: 0, skip: 1 });
    expect(failedCheckIds(state)).toEqual(['call-5']);
    expect(state.end).toEqual({ ok: false, exitCode: 1, t: 165 });
  });

  test('a hop that arrives after its check result still lands in the finished item', () => {
    // Given a result followed by one of its hops, then an unrelated event
    const events: DemoEvent[] = [
      start,
      { kind: 'check', t: 5, id: 'c1', category: 'calls', title: 'c1', outcome: 'fail', ms: 3 },
      { kind: 'hop', t: 6, check: 'c1', requestId: 'r', index: 0, hop: 'client', source: 'observed', status: 500, detail: {} },
      { kind: 'log', t: 7, level: 'info', message: 'next' },
    ];
    const state = foldEvents(events);
    // Then the feed's snapshot of c1 has the hop
    const item = state.feed.find((f) => f.kind === 'check');
    expect(item?.kind === 'check' && item.check.hops).toHaveLength(1);
    expect(state.unsealed).toEqual([]);
  });

  test('a rerun replaces the check and adds a second finished item marked as a rerun', () => {
    const base = foldEvents([
      start,
      { kind: 'check-start', t: 1, id: 'call-5', category: 'calls', title: '5' },
      { kind: 'check', t: 2, id: 'call-5', category: 'calls', title: '5', outcome: 'fail', ms: 1 },
      { kind: 'run-end', t: 3, ok: false, exitCode: 1 },
    ]);
    const after = foldEvents(
      [
        { kind: 'check-start', t: 4, id: 'call-5', category: 'calls', title: '5' },
        { kind: 'check', t: 5, id: 'call-5', category: 'calls', title: '5', outcome: 'pass', ms: 1 },
        { kind: 'log', t: 6, level: 'info', message: 'done' },
      ],
      base,
    );
    expect(after.checks).toHaveLength(1);
    expect(after.checks[0]).toMatchObject({ status: 'pass', runs: 2 });
    expect(after.feed.filter((f) => f.kind === 'check').map((f) => f.kind === 'check' && f.rerun)).toEqual([false, true]);
  });

  test('a step still running at run-end is shown as failed', () => {
    const state = foldEvents([
      { ...start, command: 'up' },
      { kind: 'step-start', t: 1, step: '1', title: 'gateway' },
      { kind: 'run-end', t: 2, ok: false, exitCode: 130, error: { message: 'interrupted' } },
    ]);
    expect(state.steps[0]).toMatchObject({ status: 'failed', message: 'did not finish' });
    expect(state.feed.at(-1)).toMatchObject({ kind: 'step' });
  });

  test('never mutates the state it is given', () => {
    const before = initialState();
    const frozen = JSON.stringify(before);
    reduce(before, start);
    expect(JSON.stringify(before)).toBe(frozen);
  });

  test('a second run-start (the tour) starts a new section and clears the end', () => {
    const state = foldEvents([...fixture('up'), ...fixture('validate').slice(0, 3)]);
    expect(state.runs).toBe(2);
    expect(state.end).toBeUndefined();
    expect(state.feed.filter((f) => f.kind === 'run')).toHaveLength(2);
  });

  test('doctor: one heading per category, from its section event, however many checks follow', () => {
    // Given doctor's stream: a section event before each category's checks
    const state = foldEvents(fixture('doctor'));
    // Then the feed holds each category's heading exactly once, right before its first check
    const headings = state.feed.filter((f) => f.kind === 'category').map((f) => (f.kind === 'category' ? f.name : ''));
    expect(headings).toEqual(['install', 'rewrites', 'key-injection', 'rate-limits']);
    const kinds = state.feed.map((f) => (f.kind === 'category' ? `# ${f.name}` : f.kind === 'check' ? f.check.id : f.kind));
    expect(kinds.slice(0, 5)).toEqual(['run', '# install', 'gateways-running', 'certificates-valid', '# rewrites']);
    // And nothing of it is a log line
    expect(state.logs).toEqual([]);
  });

  test('the counts of the status line cover only the latest run', () => {
    const state = foldEvents([...fixture('validate'), ...fixture('doctor')]);
    expect(tally(state)).toEqual({ pass: 3, fail: 1, warn: 1, skip: 0 });
  });
});

describe('browse', () => {
  const state = foldEvents(fixture('validate'));
  test('selects the first failed call by default and moves with up/down within bounds', () => {
    expect(defaultSelection(state)).toBe('call-5');
    let ui: BrowseState = { selected: 'call-5', expanded: false };
    ui = browse(ui, 'down', state);
    expect(ui.selected).toBe('call-8');
    ui = browse(browse(browse(ui, 'down', state), 'down', state), 'down', state);
    expect(ui.selected).toBe('call-10');
    ui = browse(ui, 'up', state);
    expect(ui.selected).toBe('call-8');
  });
  test('enter toggles the trace and escape closes it', () => {
    let ui: BrowseState = browse({ selected: 'call-4', expanded: false }, 'enter', state);
    expect(ui.expanded).toBe(true);
    ui = browse(ui, 'escape', state);
    expect(ui.expanded).toBe(false);
  });
});
