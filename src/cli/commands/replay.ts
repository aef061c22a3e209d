/**
 * `demo replay FILE [--speed N] [--to-asciicast OUT.cast]`: feeds a recording back through the same
 * renderers as a live run (TUI, plain, json, ndjson, JUnit), with no cluster and no local topology.
 * The events go through unchanged, with their recorded `t`, so the final screen is the live run's;
 * the exit code is the recorded run's. `--to-asciicast` writes asciicast v2 instead of replaying.
 */
import { EXIT, UserError } from '../../core/errors.js';
import type { DemoEvent } from '../../core/events.js';
import { defineCommand } from '../define.js';
import { flag } from '../flags.js';
import { createOutputSinks } from '../output.js';

export default defineCommand({
  kind: 'direct',
  name: 'replay',
  summary: 'replay a recording in the same renderers, with no cluster and no local topology',
  usage: 'demo replay FILE [--speed N] [--to-asciicast OUT.cast]',
  examples: ['demo replay recordings/validate.ndjson', 'demo replay recordings/up.ndjson --speed 4', 'demo replay run.ndjson --to-asciicast run.cast'],
  flags: {
    speed: flag.string('N', 'replay N times faster (0 = no delays)'),
    'to-asciicast': flag.string('FILE', 'export asciicast v2 instead of replaying'),
  },
  positionals: { name: 'FILE', required: true },
  run: async (ctx) => {
    const { readRecording, completeRecording, parseSpeed, recordedExitCode, replayEvents } = await import('../../record/replay.js');
    const file = ctx.positionals[0];
    if (!file) throw new UserError('replay needs a recording FILE', 'usage: demo replay FILE [--speed N] [--to-asciicast OUT.cast]');
    if (ctx.positionals.length > 1) throw new UserError(`replay takes one FILE; got ${ctx.positionals.length}`, 'usage: demo replay FILE [--speed N]');
    const speed = parseSpeed(ctx.flags.speed);
    const recording = readRecording(file);
    for (const w of recording.warnings) ctx.io.stderr(`warning: ${w}\n`);
    const events = completeRecording(recording.events);

    const cast = ctx.flags['to-asciicast'];
    if (cast !== undefined) {
      const { writeAsciicast } = await import('../../record/asciicast.js');
      // A cast is played on a terminal later, so colour stays on unless NO_COLOR or --no-color says otherwise.
      const color = !ctx.flags['no-color'] && !ctx.io.env.NO_COLOR;
      try {
        writeAsciicast(cast, events, { header: recording.header, color });
      } catch (err) {
        throw new UserError(`cannot write ${cast}: ${(err as Error).message}`, 'check that the directory exists and is writable');
      }
      const seconds = ((events.at(-1)?.t ?? 0) / 1000).toFixed(1);
      ctx.io.stdout(`wrote ${cast} (asciicast v2, ${recording.header.columns}×${recording.header.rows}, ${seconds} s); play it with \`asciinema play ${cast}\`\n`);
      return EXIT.ok;
    }

    const out = await createOutputSinks(ctx, { record: false });
    let last: DemoEvent | undefined;
    for await (const e of replayEvents(events, { speed, signal: ctx.signal })) {
      last = e;
      for (const sink of out.all) sink.write(e);
    }
    if (ctx.signal.aborted && last?.kind !== 'run-end') {
      const stop: DemoEvent = { kind: 'run-end', t: last?.t ?? 0, ok: false, exitCode: EXIT.interrupted, error: { message: 'replay interrupted', name: 'InterruptedError' } };
      for (const sink of out.all) sink.write(stop);
    }
    for (const sink of out.all) await sink.close?.();
    return ctx.signal.aborted ? EXIT.interrupted : recordedExitCode(events);
  },
});
