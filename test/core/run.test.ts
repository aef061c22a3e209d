/**
 * drive(): the exit-code contract of every command (0 ok, 1 a step or check failed, 2 bad usage, 70 a
 * bug, 130 interrupted), run-start/run-end framing, time stamps, secret masking before the sinks, and
 * the JSON document whose `ok` agrees with the exit code in every case.
 */
import { describe, expect, test } from 'vitest';
import type { DemoEvent, EventInput } from '../../src/core/events.js';
import { BugError, EXIT, InterruptedError, PartialApplyError, StepFailedError, UserError } from '../../src/core/errors.js';
import { drive, memorySink, streamFailed, type EventSink } from '../../src/core/run.js';
import { Secret } from '../../src/core/secret.js';
import { toJsonDocument } from '../../src/render/json.js';

async function* stream(events: EventInput[], fail?: unknown): AsyncIterable<EventInput> {
  for (const e of events) yield e;
  if (fail !== undefined) throw fail;
}

const ticking = () => {
  let t = 0;
  return () => (t += 5);
};

async function run(events: EventInput[], opts: { fail?: unknown; failOnWarning?: boolean; signal?: AbortSignal } = {}) {
  const sink = memorySink();
  const result = await drive(stream(events, opts.fail), {
    command: 'up',
    target: 'local',
    version: '0.1.0',
    sinks: [sink],
    now: ticking(),
    failOnWarning: opts.failOnWarning ?? false,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { result, events: sink.events, doc: toJsonDocument(sink.events) };
}

const stepOk: EventInput[] = [
  { kind: 'step-start', step: '1', title: 'one' },
  { kind: 'step-end', step: '1', ok: true, ms: 3 },
];
const check = (outcome: 'pass' | 'fail' | 'warn' | 'skip'): EventInput => ({ kind: 'check', id: `c-${outcome}`, category: 'calls', title: outcome, outcome, ms: 1 });

describe('drive: exit codes', () => {
  test.each<[string, EventInput[], { fail?: unknown; failOnWarning?: boolean }, number]>([
    ['a clean run', stepOk, {}, EXIT.ok],
    ['a failing step', [{ kind: 'step-start', step: '1', title: 'one' }, { kind: 'step-end', step: '1', ok: false, ms: 3, message: 'broken' }], {}, EXIT.failed],
    ['a failing check', [check('pass'), check('fail')], {}, EXIT.failed],
    ['a warning', [check('warn')], {}, EXIT.ok],
    ['a warning with failOnWarning', [check('warn')], { failOnWarning: true }, EXIT.failed],
    ['a skipped check', [check('skip')], {}, EXIT.ok],
    ['a thrown UserError', stepOk, { fail: new UserError('bad flag', 'try --help') }, EXIT.usage],
    ['a thrown StepFailedError', stepOk, { fail: new StepFailedError('step 3 timed out', 'see logs') }, EXIT.failed],
    ['a thrown PartialApplyError', stepOk, { fail: new PartialApplyError('half applied', ['a'], 'demo up') }, EXIT.failed],
    ['a thrown InterruptedError', stepOk, { fail: new InterruptedError() }, EXIT.interrupted],
    ['a thrown AbortError', stepOk, { fail: Object.assign(new Error('aborted'), { name: 'AbortError' }) }, EXIT.interrupted],
    ['a thrown BugError', stepOk, { fail: new BugError('oops') }, EXIT.bug],
    ['a thrown TypeError', stepOk, { fail: new TypeError('x is undefined') }, EXIT.bug],
    ['a thrown string', stepOk, { fail: 'just a string' }, EXIT.bug],
  ])('%s → exit %i, and the JSON document agrees', async (_name, events, opts, code) => {
    const { result, events: seen, doc } = await run(events, opts);
    expect(result.exitCode).toBe(code);
    expect(result.ok).toBe(code === 0);
    const end = seen.at(-1)!;
    expect(end).toMatchObject({ kind: 'run-end', exitCode: code, ok: code === 0 });
    expect(doc.ok).toBe(code === 0);
    expect(doc.exitCode).toBe(code);
  });

  test('a thrown error becomes run-end.error with its message, hint and name', async () => {
    const { events } = await run(stepOk, { fail: new UserError('unknown fault "x"', 'see README.md#faults') });
    expect(events.at(-1)).toMatchObject({ kind: 'run-end', error: { message: 'unknown fault "x"', hint: 'see README.md#faults', name: 'UserError' } });
    const bug = await run([], { fail: new TypeError('boom') });
    expect(bug.events.at(-1)).toMatchObject({ error: { message: 'boom', hint: 're-run with --debug for the stack trace', name: 'TypeError' } });
    const partial = await run([], { fail: new PartialApplyError('half', ['x'], 'demo up --resume') });
    expect(partial.events.at(-1)).toMatchObject({ error: { hint: 'resume with: demo up --resume' } });
  });

  test('after an abort a command still reports how it stopped, then exits 130', async () => {
    const controller = new AbortController();
    async function* polite(): AsyncIterable<EventInput> {
      yield { kind: 'log', level: 'info', message: 'working' };
      controller.abort();
      yield { kind: 'log', level: 'warn', message: 'interrupted; every process this run started was stopped' };
    }
    const sink = memorySink();
    const result = await drive(polite(), { command: 'up', target: 'local', version: '0', sinks: [sink], signal: controller.signal, now: ticking() });
    expect(result.exitCode).toBe(EXIT.interrupted);
    expect(sink.events.some((e) => e.kind === 'log' && e.message.startsWith('interrupted;'))).toBe(true);
  });

  test('a stream that ignores the abort is cut off after a bounded grace and exits 130', async () => {
    const controller = new AbortController();
    async function* endless(): AsyncIterable<EventInput> {
      for (let i = 0; ; i++) {
        if (i === 3) controller.abort();
        yield { kind: 'log', level: 'info', message: `tick ${i}` };
      }
    }
    const sink = memorySink();
    const result = await drive(endless(), { command: 'up', target: 'local', version: '0', sinks: [sink], signal: controller.signal, now: ticking() });
    expect(result.exitCode).toBe(EXIT.interrupted);
    const logs = sink.events.filter((e) => e.kind === 'log').length;
    expect(logs).toBeGreaterThanOrEqual(4);
    expect(logs).toBeLessThanOrEqual(4 + 200);
    expect(sink.events.at(-1)).toMatchObject({ kind: 'run-end', ok: false, exitCode: 130, error: { name: 'InterruptedError' } });
    expect(toJsonDocument(sink.events).ok).toBe(false);
  });

  test('Ctrl-C after the command summed up (up: ready) undoes nothing and fails nothing: exit 0, and it says so', async () => {
    const controller = new AbortController();
    async function* ready(): AsyncIterable<EventInput> {
      yield { kind: 'log', level: 'info', message: 'local topology ready' };
      yield { kind: 'summary', title: 'Local topology ready', facts: {} };
      controller.abort();
      await new Promise((r) => setTimeout(r, 5));
    }
    const sink = memorySink();
    const result = await drive(ready(), { command: 'up', target: 'local', version: '0', sinks: [sink], signal: controller.signal, now: ticking() });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(sink.events.at(-1)).toMatchObject({ kind: 'run-end', ok: true, exitCode: 0 });
    expect(sink.events.at(-2)).toMatchObject({ kind: 'log', level: 'warn', message: expect.stringMatching(/^Ctrl-C after up had finished its work: nothing was stopped or undone/) });
  });

  test('a command that says what a late Ctrl-C left behind is not repeated; a failure before it still counts', async () => {
    const controller = new AbortController();
    async function* said(): AsyncIterable<EventInput> {
      yield { kind: 'check', id: 'c', category: 'x', title: 't', outcome: 'fail', ms: 1 };
      yield { kind: 'summary', title: 'done', facts: {} };
      controller.abort();
      yield { kind: 'log', level: 'warn', message: 'Ctrl-C after the topology was ready: it stays up' };
    }
    const sink = memorySink();
    const result = await drive(said(), { command: 'up', target: 'local', version: '0', sinks: [sink], signal: controller.signal, now: ticking() });
    expect(result.exitCode).toBe(EXIT.failed);
    expect(sink.events.filter((e) => e.kind === 'log' && e.message.startsWith('Ctrl-C'))).toHaveLength(1);
  });

  test('an error thrown after an abort counts as the interruption (130), not as its own kind', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result } = await run([], { fail: new StepFailedError('cancelled mid-step'), signal: controller.signal });
    expect(result.exitCode).toBe(EXIT.interrupted);
  });
});

describe('drive: the stream it writes', () => {
  test('run-start first (with the plan), run-end last, t stamped in order', async () => {
    const sink = memorySink();
    await drive(stream(stepOk), { command: 'validate', target: 'cluster', version: '9.9.9', sinks: [sink], now: ticking(), plan: [{ id: 'call-1', title: 'one' }] });
    const [first, ...rest] = sink.events;
    expect(first).toMatchObject({ kind: 'run-start', command: 'validate', target: 'cluster', version: '9.9.9', plan: [{ id: 'call-1', title: 'one' }] });
    expect(new Date((first as Extract<DemoEvent, { kind: 'run-start' }>).startedAt).toString()).not.toBe('Invalid Date');
    expect(rest.map((e) => e.kind)).toEqual(['step-start', 'step-end', 'run-end']);
    const ts = sink.events.map((e) => e.t);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(ts[0]).toBe(5);
  });

  test('every sink sees every event, and close() is called once, after run-end', async () => {
    const calls: string[] = [];
    const sink: EventSink = { write: (e) => void calls.push(e.kind), close: () => void calls.push('close') };
    const other = memorySink();
    await drive(stream(stepOk), { command: 'up', target: 'local', version: '0', sinks: [sink, other] });
    expect(calls).toEqual(['run-start', 'step-start', 'step-end', 'run-end', 'close']);
    expect(other.events).toHaveLength(4);
  });

  test('secrets are masked before any sink sees them', async () => {
    const key = new Secret('sk-drive-test-secret-0001');
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0x.c2lnbmF0dXJlLXBhcnQteHl6';
    const { events } = await run(
      [
        { kind: 'log', level: 'info', message: `key is ${key.reveal()}` },
        { kind: 'hop', check: 'c', requestId: 'r', index: 1, hop: 'maas-gateway', source: 'observed', detail: { keyInjected: key.reveal(), token: jwt } },
      ],
      { fail: new UserError(`bad key ${key.reveal()}`, `not ${jwt}`) },
    );
    const text = JSON.stringify(events);
    expect(text.includes(key.reveal()), 'key in events').toBe(false);
    expect(text.includes(jwt), 'jwt in events').toBe(false);
    expect(text).toContain('sk-d…0001');
  });
});

describe('streamFailed', () => {
  test.each<[string, DemoEvent[], boolean, boolean]>([
    ['nothing', [], false, false],
    ['a passing check', [{ kind: 'check', t: 0, id: 'a', category: 'c', title: 't', outcome: 'pass', ms: 0 }], false, false],
    ['a failed step', [{ kind: 'step-end', t: 0, step: '1', ok: false, ms: 0 }], false, true],
    ['a skipped step', [{ kind: 'step-end', t: 0, step: '1', ok: true, skipped: true, ms: 0 }], false, false],
    ['a warning', [{ kind: 'check', t: 0, id: 'a', category: 'c', title: 't', outcome: 'warn', ms: 0 }], false, false],
    ['a warning that counts', [{ kind: 'check', t: 0, id: 'a', category: 'c', title: 't', outcome: 'warn', ms: 0 }], true, true],
  ])('%s → %s', (_n, events, failOnWarning, failed) => {
    expect(streamFailed(events, failOnWarning)).toBe(failed);
  });
});
