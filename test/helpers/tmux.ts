/**
 * A real terminal for the e2e suites: a tmux session of 80×24 running a bare bash, driven with
 * send-keys and read with capture-pane, as a person sees it. Needs tmux (the suites call
 * `requireTool('tmux')` first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from './run-cli.js';

export const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });

export class Terminal {
  #runs = 0;
  private constructor(readonly session: string) {}

  /**
   * A fresh 80×24 bash in `cwd` with the prompt `READY$ `, outside CI (ink draws differently under
   * CI) and with colour allowed; `env` adds variables to its environment.
   */
  static async open(session: string, cwd: string, env: Record<string, string> = {}): Promise<Terminal> {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', cwd, `env -u CI -u NO_COLOR TERM=xterm-256color ${vars} PS1="READY$ " bash --norc --noprofile`);
    const term = new Terminal(session);
    await term.waitFor((s) => s.includes('READY$'), 'the shell prompt');
    return term;
  }

  /** The visible screen. */
  screen(): string {
    return tmux('capture-pane', '-t', this.session, '-p');
  }

  /** The visible screen plus everything scrolled off the top: what the user can scroll back to. */
  history(): string {
    return tmux('capture-pane', '-t', this.session, '-p', '-S', '-');
  }

  keys(...k: string[]): void {
    tmux('send-keys', '-t', this.session, ...k);
  }

  /** Polls the screen until `check` holds; the error shows the last screen. */
  async waitFor(check: (s: string) => boolean, what: string, ms = 30_000): Promise<string> {
    const until = Date.now() + ms;
    let last = '';
    while (Date.now() < until) {
      last = this.screen();
      if (check(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; screen was:\n${last}`);
  }

  /**
   * Types `command` on a cleared screen (with `clearHistory`, an empty scrollback too) and returns the
   * test for its end: the line `EXIT=<code> #<n>` of this run only. (Looking for "EXIT=" anywhere
   * matched the typed command line itself, or the previous command's last line, before `clear` had
   * even run on a busy machine.)
   */
  run(command: string, opts: { clearHistory?: boolean } = {}): (screen: string) => boolean {
    const n = ++this.#runs;
    this.keys(`clear; ${opts.clearHistory ? 'tmux clear-history; ' : ''}${command}; echo "EXIT=$? #${n}"`, 'Enter');
    return (x) => new RegExp(`^EXIT=\\d+ #${n}$`, 'm').test(x);
  }

  close(): void {
    spawnSync('tmux', ['kill-session', '-t', this.session]);
  }
}

/**
 * One terminal per test file at the repository root, its demo runs using a state dir of their own
 * (`MAAS_EGRESS_DEMO_STATE_DIR`). After the file, `demo down` runs there, the session is closed and
 * the temp dir (`base`, holding the state dir) removed.
 */
export function useDemoTerminal(label: string): { term: () => Terminal; base: string; stateDir: string } {
  const base = mkdtempSync(join(tmpdir(), `demo-${label}-`));
  const stateDir = join(base, 'state');
  let term: Terminal | undefined;
  beforeAll(async () => {
    term = await Terminal.open(`demo-${label}-${process.pid}`, ROOT, { MAAS_EGRESS_DEMO_STATE_DIR: stateDir });
  }, 120_000);
  afterAll(() => {
    spawnSync('node', ['bin/demo.js', 'down', '--output', 'plain'], { cwd: ROOT, env: { ...process.env, MAAS_EGRESS_DEMO_STATE_DIR: stateDir } });
    term?.close();
    rmSync(base, { recursive: true, force: true });
  }, 60_000);
  return {
    term: () => {
      if (!term) throw new Error('the terminal did not open');
      return term;
    },
    base,
    stateDir,
  };
}
