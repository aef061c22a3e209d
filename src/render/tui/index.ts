/**
 * The TUI as an event sink. `write()` pushes events into the screen; `close()` resolves when the UI
 * is done. By default that is right after the final frame is drawn and ink has unmounted, so the
 * final screen stays on the terminal and the command exits with its own code (scripts keep working).
 * With `interactive`, `close()` waits until the user presses q after browsing the traces.
 *
 * Keys: ↑/↓ select a call, enter opens or closes its hop trace (↑/↓, PgUp/PgDn, Home/End scroll it),
 * esc closes it, r asks for the failed calls to run again (`reruns()` hands the request to the driver,
 * whose events come back through `write`, so recordings, JUnit and the exit code see them), q quits
 * (while the command runs, q and ctrl+c stop it the way SIGINT does). The terminal is restored (raw mode off, cursor shown) on q, on close, on SIGINT
 * and on process exit.
 */
import { createElement } from 'react';
import type { EventSink } from '../../core/run.js';
import { createEventStore, type PauseRequest } from './use-event-stream.js';

export interface TuiSinkOptions {
  color: boolean;
  interactive: boolean;
  command: string;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** The command can run checks again (enables `r`). */
  canRerun?: boolean;
  /** What q / ctrl+c do while the command runs. Default: raise SIGINT, which the CLI turns into an abort. */
  onInterrupt?: () => void;
  /** ink debug mode: every frame is written whole (tests compare final screens with it). */
  debug?: boolean;
  /** Route console.* above the live area (default: outside debug mode); tests with a TTY stdout turn it off. */
  patchConsole?: boolean;
}

export interface TuiSink extends EventSink {
  /** Shows an explanation and waits for enter (true) or q (false). Resolves true at once without a keyboard. */
  pause(request: PauseRequest): Promise<boolean>;
  /** Adds a finished note (the tour's explanations) above the live area. */
  note(title: string, text: string): void;
  /** True when input is read from a terminal (keys work). */
  readonly keyboard: boolean;
  /**
   * The check ids the user asked to run again (`r`), one list per request, until the UI is done (q, or
   * at once when it does not stay open). The caller runs each and writes the events back; the next
   * request is taken only once that stream has ended.
   */
  reruns(): AsyncIterable<string[]>;
}

const SHOW_CURSOR = '\u001B[?25h';

/** Erase the screen and the scrollback, cursor home: a resize redraws from a clean slate. */
const CLEAR_SCREEN = '\u001B[2J\u001B[3J\u001B[H';
/** Back to the start of the line and erase it (the placeholder first frame). */
const ERASE_LINE = '\r\u001B[2K';

export async function createTuiSink(opts: TuiSinkOptions): Promise<TuiSink> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  // Loading ink (yoga's WebAssembly) takes a while on a busy machine: say something at once, and
  // hand the line over to ink's first frame, which says the same until the run starts.
  const placeholder = stdout.isTTY && !opts.debug;
  if (placeholder) stdout.write(`maas-egress-demo ${opts.command} · starting…`);
  const [{ render }, { App }] = await Promise.all([import('ink'), import('./App.js')]);
  if (placeholder) stdout.write(ERASE_LINE);
  const keyboard = Boolean(stdin.isTTY);
  const store = createEventStore();

  let quitRequested = false;
  let resolveQuit!: () => void;
  const quit = new Promise<void>((resolve) => (resolveQuit = resolve));
  let answerPause: ((go: boolean) => void) | undefined;
  // Rerun requests wait here for the driver; a request while one runs is ignored.
  let pendingRerun: string[] | undefined;
  let wakeReruns: (() => void) | undefined;
  let rerunning = false;

  const interrupt = () => {
    quitRequested = true;
    (opts.onInterrupt ?? (() => process.kill(process.pid, 'SIGINT')))();
  };
  const rerun = (ids: string[]) => {
    if (!opts.canRerun || rerunning || pendingRerun) return;
    pendingRerun = ids;
    wakeReruns?.();
  };

  const resizeBefore = stdout.listeners('resize');
  const instance = render(
    createElement(App, {
      store,
      command: opts.command,
      color: opts.color,
      interactive: opts.interactive,
      canRerun: Boolean(opts.canRerun),
      onQuit: () => {
        quitRequested = true;
        resolveQuit();
        wakeReruns?.();
      },
      onInterrupt: interrupt,
      onRerun: rerun,
      onContinue: (go: boolean) => {
        const answer = answerPause;
        answerPause = undefined;
        if (!go) quitRequested = true;
        store.setPause(undefined);
        answer?.(go);
      },
    }),
    { stdout, stdin, exitOnCtrlC: false, patchConsole: opts.patchConsole ?? !opts.debug, debug: Boolean(opts.debug) },
  );
  const exited = instance.waitUntilExit().catch(() => undefined);

  // A resize: the terminal has re-wrapped what is on screen, so ink's count of the lines it drew no
  // longer matches and erasing them would leave fragments. Clear the screen instead and let the App
  // write everything again at the new size. ink's own resize handler would first draw the tree as it
  // was (at the old width) before React re-renders, so it runs afterwards, on the new drawing.
  const inkResize = stdout.listeners('resize').filter((l) => !resizeBefore.includes(l)) as (() => void)[];
  const onResize = () => {
    stdout.write(CLEAR_SCREEN);
    store.resized({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    setImmediate(() => {
      for (const l of inkResize) l();
    });
  };
  if (stdout.isTTY) {
    for (const l of inkResize) stdout.off('resize', l);
    stdout.on('resize', onResize);
  }

  const restoreTerminal = () => {
    try {
      if (stdin.isTTY && typeof stdin.setRawMode === 'function') stdin.setRawMode(false);
      if (stdout.isTTY) stdout.write(SHOW_CURSOR);
    } catch {
      // the terminal is gone already
    }
  };
  // A second SIGINT while the command is still stopping: leave now, with the terminal restored.
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (answerPause) {
      const answer = answerPause;
      answerPause = undefined;
      quitRequested = true;
      store.setPause(undefined);
      answer(false);
    }
    if (store.getSnapshot().view.end) resolveQuit();
    else if (sigints > 1) {
      instance.unmount();
      restoreTerminal();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.once('exit', restoreTerminal);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (opts.interactive && keyboard && !quitRequested) await quit;
      store.setClosing();
      // Let the final frame render before ink unmounts (unmount keeps the last frame on screen).
      await new Promise((resolve) => setTimeout(resolve, 20));
      instance.unmount();
      await exited;
      process.off('SIGINT', onSigint);
      process.off('exit', restoreTerminal);
      stdout.off('resize', onResize);
      restoreTerminal();
    })();
    return closing;
  };

  async function* reruns(): AsyncGenerator<string[]> {
    // Only an interactive UI stays open after the run; only it takes requests.
    if (!opts.interactive || !keyboard || !opts.canRerun) return;
    while (!quitRequested) {
      if (!pendingRerun) await new Promise<void>((resolve) => (wakeReruns = resolve));
      wakeReruns = undefined;
      const ids = pendingRerun;
      if (!ids || quitRequested) continue;
      rerunning = true;
      try {
        yield ids;
      } finally {
        rerunning = false;
        pendingRerun = undefined;
      }
    }
  }

  return {
    keyboard,
    reruns,
    write: (event) => store.push(event),
    close,
    note: (title, text) => store.note(title, text),
    pause: (request) => {
      if (!keyboard) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        answerPause = resolve;
        store.setPause(request);
      });
    },
  };
}
