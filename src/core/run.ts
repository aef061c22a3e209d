/**
 * drive(): runs one command's event stream into the sinks it is given (renderers, recorder, JUnit).
 * It stamps `t`, masks secrets, emits run-start and run-end, turns errors into the exit-code contract
 * and never imports a renderer: the CLI chooses the sinks.
 */
import type { CommandName, DemoEvent, EventInput, TargetKind } from './events.js';
import { EXIT, exitCodeOf, hintOf } from './errors.js';
import { redact, redactValue } from './secret.js';

export interface EventSink {
  write(event: DemoEvent): void;
  /** Called once after run-end; may wait for the UI to settle or a file to flush. */
  close?(): Promise<void> | void;
}

export interface DriveOptions {
  command: CommandName;
  target: TargetKind;
  version: string;
  sinks: EventSink[];
  signal?: AbortSignal;
  plan?: { id: string; title: string }[];
  /** Warnings count as failures (doctor `--fail-on warning`). */
  failOnWarning?: boolean;
  /** Clock for tests. */
  now?: () => number;
  /**
   * Further streams of the same session, taken after the first run has ended (the TUI's reruns). Each
   * is driven like the first — stamped, masked, between its own run-start and run-end — and the exit
   * code is the session's: the last outcome of every check counts.
   */
  more?: AsyncIterable<AsyncIterable<EventInput>>;
}

export interface DriveResult {
  exitCode: number;
  ok: boolean;
  events: DemoEvent[];
}

/** Tracks whether a stream contains a failure, so the exit code follows the events. */
export function streamFailed(events: Iterable<DemoEvent>, failOnWarning = false): boolean {
  // A check re-run after a fix (doctor --fix) replaces its earlier result: the last outcome per id counts.
  const checks = new Map<string, string>();
  for (const e of events) {
    if (e.kind === 'step-end' && !e.ok) return true;
    // A warning the design always raises (marked expectedWarning) never fails a run.
    if (e.kind === 'check') checks.set(e.id, e.outcome === 'warn' && e.data?.expectedWarning ? 'pass' : e.outcome);
  }
  return [...checks.values()].some((o) => o === 'fail' || (failOnWarning && o === 'warn'));
}

export async function drive(stream: AsyncIterable<EventInput>, opts: DriveOptions): Promise<DriveResult> {
  const now = opts.now ?? (() => performance.now());
  const start = now();
  const events: DemoEvent[] = [];
  const emit = (input: EventInput | DemoEvent) => {
    const event = redactValue({ ...input, t: Math.round(now() - start) } as DemoEvent);
    events.push(event);
    for (const sink of opts.sinks) sink.write(event);
  };

  /** One run: run-start, the stream's events, run-end with the exit code of everything so far. */
  const run = async (source: AsyncIterable<EventInput>, plan = opts.plan): Promise<number> => {
    const first = events.length;
    emit({
      kind: 'run-start',
      command: opts.command,
      target: opts.target,
      version: opts.version,
      startedAt: new Date().toISOString(),
      ...(plan ? { plan } : {}),
    });
    // Ctrl-C after this run's summary (its work is done: `up` has a ready topology) undoes nothing
    // and fails nothing: the run ends as it would have, and says so.
    let doneAtAbort: { events: number } | undefined;
    const onAbort = () => {
      if (events.slice(first).some((e) => e.kind === 'summary')) doneAtAbort = { events: events.length };
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    let exitCode: number = EXIT.ok;
    let error: { message: string; hint?: string; name?: string } | undefined;
    try {
      // After Ctrl-C the command still gets a short grace to stop what it started and say so;
      // a command that ignores the signal is abandoned after it.
      const it = source[Symbol.asyncIterator]();
      let graceUntil: number | undefined;
      let graceEvents = 200;
      for (;;) {
        if (opts.signal?.aborted) {
          graceUntil ??= Date.now() + 10_000;
          if (graceEvents-- <= 0) break;
        }
        const deadline = graceUntil;
        const next =
          deadline === undefined
            ? it.next()
            : Promise.race([it.next(), new Promise<IteratorResult<EventInput>>((r) => setTimeout(() => r({ done: true, value: undefined }), Math.max(0, deadline - Date.now())).unref())]);
        const step = await next;
        if (step.done) break;
        emit(step.value);
      }
      if (opts.signal?.aborted && !doneAtAbort) void it.return?.(undefined);
      if (opts.signal?.aborted && !doneAtAbort) {
        exitCode = EXIT.interrupted;
        error = { message: 'interrupted', name: 'InterruptedError' };
      } else if (streamFailed(events, opts.failOnWarning)) {
        exitCode = EXIT.failed;
      }
      if (doneAtAbort && events.length === doneAtAbort.events) {
        emit({ kind: 'log', level: 'warn', message: `Ctrl-C after ${opts.command} had finished its work: nothing was stopped or undone` });
      }
    } catch (err) {
      exitCode = opts.signal?.aborted && !doneAtAbort ? EXIT.interrupted : exitCodeOf(err);
      const message = redact(err instanceof Error ? err.message : String(err));
      const hint = hintOf(err);
      error = { message, ...(hint ? { hint: redact(hint) } : {}), name: err instanceof Error ? err.name : 'Error' };
      if (process.env.MAAS_EGRESS_DEMO_DEBUG && err instanceof Error && err.stack) {
        emit({ kind: 'log', level: 'debug', message: redact(err.stack) });
      }
    }
    opts.signal?.removeEventListener('abort', onAbort);
    emit({ kind: 'run-end', ok: exitCode === EXIT.ok, exitCode, ...(error ? { error } : {}) });
    return exitCode;
  };

  let exitCode = await run(stream);
  if (opts.more && exitCode !== EXIT.interrupted) {
    for await (const again of opts.more) {
      exitCode = await run(again, undefined);
      if (exitCode === EXIT.interrupted) break;
    }
  }
  for (const sink of opts.sinks) await sink.close?.();
  return { exitCode, ok: exitCode === EXIT.ok, events };
}

/** A sink that only remembers events: the silent renderer of tests. */
export function memorySink(): EventSink & { events: DemoEvent[] } {
  const events: DemoEvent[] = [];
  return { events, write: (e) => void events.push(e) };
}
