/**
 * The live commands in a real terminal (tmux 80×24): `up`, `validate --interactive`, `doctor` and
 * `down` on the local target, driven with send-keys and read with capture-pane, as a person sees them.
 * Needs tmux and a build; skipped (with the reason printed) when tmux is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('tmux-live: skipped, tmux is not installed');
const session = `demo-live-${process.pid}`;
const base = mkdtempSync(join(tmpdir(), 'demo-live-'));
const stateDir = join(base, 'state');

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-t', session, '-p');

async function waitFor(check: (s: string) => boolean, what: string, ms = 30_000): Promise<string> {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    last = screen();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${last}`);
}

let runs = 0;
/** Runs a command; its end is the line `EXIT=<code> #<n>`, unique per run (see `ended`). */
function run(command: string): void {
  runs += 1;
  tmux('send-keys', '-t', session, `clear; ${command}; echo "EXIT=$? #${runs}"`, 'Enter');
}
/** The latest run has ended: its own EXIT line is on screen (not the previous run's, not the typed command). */
const ended = (x: string) => new RegExp(`^EXIT=\\d+ #${runs}$`, 'm').test(x);

const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasTmux)('live commands in a real terminal (tmux 80×24)', () => {
  beforeAll(async () => {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', root, `env -u CI -u NO_COLOR TERM=xterm-256color MAAS_EGRESS_DEMO_STATE_DIR=${stateDir} PS1="READY$ " bash --norc --noprofile`);
    await waitFor((s) => s.includes('READY$'), 'the shell prompt');
  }, 120_000);

  afterAll(() => {
    spawnSync('node', ['bin/demo.js', 'down', '--output', 'plain'], { cwd: root, env: { ...process.env, MAAS_EGRESS_DEMO_STATE_DIR: stateDir } });
    spawnSync('tmux', ['kill-session', '-t', session]);
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  test('up shows every step ready and where the gateway is', async () => {
    run('tmux clear-history; node bin/demo.js up');
    await waitFor(ended, 'up to finish');
    // The whole output, scrollback included (steps wrap their titles at 80 columns)
    const s = tmux('capture-pane', '-t', session, '-p', '-S', '-');
    for (const step of ['platform', '1', '2', '3', '3a', '4', '5']) expect(s).toMatch(new RegExp(`√ step ${step} `));
    expect(s).toContain('MaaS gateway: https://127.0.0.1:');
    expect(s).toContain('EXIT=0');
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  }, 60_000);

  test('validate --interactive: every result, ↓ selects a call, enter opens its hop trace, q restores the prompt', async () => {
    run('node bin/demo.js validate --interactive');
    const done = await waitFor((x) => x.includes('validate done'), 'validate to finish');
    expect(done).toContain('√ validate done · 10 passed · exit 0');
    expect(done).toContain('↑/↓ select · enter trace · q quit');
    keys('Down');
    await pause(200);
    keys('Down');
    await pause(200);
    keys('Down');
    await pause(200);
    keys('Enter');
    const trace = await waitFor((x) => x.includes('trace of call-4'), 'the trace of call 4');
    expect(trace).toContain('maas-gateway');
    expect(trace).toContain('/external/openai/v1/chat/completions → /openai/v1/chat/completions');
    expect(trace).toContain('sk-o…demo');
    expect(trace).not.toContain('sk-openai-key-for-demo');
    keys('q');
    const after = await waitFor(ended, 'the TUI to quit');
    expect(after).toContain('EXIT=0');
    // The terminal is back in canonical mode: a typed command runs.
    run('echo typed-ok');
    await waitFor((x) => ended(x) && x.includes('typed-ok') && x.includes('EXIT=0'), 'the shell to answer');
  }, 60_000);

  test('doctor shows each category and ends with its summary', async () => {
    run('node bin/demo.js doctor');
    const s = await waitFor(ended, 'doctor to finish');
    expect(s).toContain('EXIT=0');
    expect(s).toMatch(/doctor done/);
  }, 60_000);

  test('down leaves nothing running', async () => {
    run('node bin/demo.js down');
    const s = await waitFor(ended, 'down to finish');
    expect(s).toContain('EXIT=0');
    expect(s).toMatch(/√ step down/);
  }, 60_000);
});
