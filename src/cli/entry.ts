/**
 * The process around a command run: what bin/demo.js starts. Besides loading the CLI it owns one duty:
 * when the reader of our output goes away (`| head -1`, `less` quit early, a closed pipe) the command
 * stops as Ctrl-C would stop it, the rest of its output (which has no reader) is dropped, and the
 * process exits 141, as a shell shows for SIGPIPE: no stack trace. Any other write failure (a full
 * disk) is one line on stderr and exit 1. The CLI itself loads lazily, after the handlers are in place.
 */
import { writeSync } from 'node:fs';
import { setImmediate } from 'node:timers';

export async function run(argv: string[]): Promise<void> {
  let readerGone = false;
  const onWriteError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      if (readerGone) return;
      readerGone = true;
      // What follows only says that the command was stopped, which the departed reader asked for.
      process.stderr.write = ((_chunk: unknown, encoding?: unknown, done?: unknown) => {
        const cb = typeof encoding === 'function' ? encoding : done;
        if (typeof cb === 'function') (cb as () => void)();
        return true;
      }) as typeof process.stderr.write;
      process.emit('SIGINT');
      return;
    }
    try {
      writeSync(2, `error: cannot write output (${err.code ?? err.message})\n`);
    } finally {
      process.exit(1);
    }
  };
  process.stdout.on('error', onWriteError);
  process.stderr.on('error', onWriteError);

  const { main } = await import('./main.js');
  const code = await main(argv);
  // The run is over (its last event is written): a Ctrl-C while stdout drains stops nothing, so the
  // exit code stays the run's instead of a death by SIGINT (after `up` said ready: the topology is up).
  process.on('SIGINT', () => undefined);
  // setImmediate: a write error still queued is handled before the exit code is chosen. Then exit only
  // once stdout has flushed: a pipe is written asynchronously, and exiting at once cut long output short.
  setImmediate(() => {
    if (readerGone) process.exit(141);
    process.stdout.write('', () => process.exit(readerGone ? 141 : code));
  });
}
