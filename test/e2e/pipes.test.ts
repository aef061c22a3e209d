/**
 * Output into a reader that leaves early: `| head -1`, `less` quit after one screen, a pipe closed
 * under us. The built CLI (bin/demo.js) must end quietly, exit 0 or 141 (SIGPIPE's code in a shell),
 * never an unhandled EPIPE with a stack trace. doctor runs against a private local topology.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireTool } from '../helpers/prereq.js';

requireTool('tmux');
requireTool('less');

const root = fileURLToPath(new URL('../../', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'demo-pipes-'));
const env: NodeJS.ProcessEnv = { ...process.env, MAAS_EGRESS_DEMO_STATE_DIR: join(base, 'state') };
delete env.NO_COLOR;

/** No trace of Node's error report: no EPIPE, no "Error:", no stack frame. */
function expectQuiet(stderr: string): void {
  expect(stderr).not.toMatch(/EPIPE|Unhandled|Error:|^\s+at /m);
}

/** Runs a pipeline in bash and returns the demo's own exit code (PIPESTATUS[0]), its stderr and what the reader got. */
function pipeline(command: string): { code: number; stderr: string; stdout: string } {
  const errFile = join(base, `stderr-${Math.random().toString(36).slice(2)}`);
  const script = `node bin/demo.js ${command} 2>${errFile} | head -1; echo "DEMO_EXIT=\${PIPESTATUS[0]}"; cat ${errFile}`;
  const out = execFileSync('bash', ['-c', script], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  const [stdout = '', rest = ''] = out.split(/DEMO_EXIT=/);
  const [code = '', ...stderr] = rest.split('\n');
  return { code: Number(code), stderr: stderr.join('\n'), stdout };
}


describe('a reader that leaves early', () => {
  beforeAll(() => {
    const up = spawnSync('node', ['bin/demo.js', 'up', '--output', 'plain'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    if (up.status !== 0) throw new Error(`up failed: ${up.stderr}${up.stdout}`);
  }, 120_000);

  afterAll(() => {
    spawnSync('node', ['bin/demo.js', 'down', '--output', 'plain'], { cwd: root, env, timeout: 60_000 });
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  test('doctor --output ndjson | head -1: the first event, then a quiet end with 141', () => {
    const r = pipeline('doctor --output ndjson');
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ kind: 'run-start', command: 'doctor' });
    expectQuiet(r.stderr);
    expect(r.stderr).toBe('');
    expect([0, 141]).toContain(r.code);
  }, 60_000);

  test('doctor --output plain | head -1: the first line, then a quiet end', () => {
    const r = pipeline('doctor --output plain');
    expect(r.stdout.trim()).toBe('maas-egress-demo doctor · target local · v0.1.0');
    expect(r.stderr).toBe('');
    expect([0, 141]).toContain(r.code);
  }, 60_000);

  test('a replay paced as recorded, its pipe closed after the first line: stops at once with 141', async () => {
    // Given a replay that would take seconds, read by a reader that closes after one line
    const child = spawn('node', ['bin/demo.js', 'replay', 'recordings/validate.ndjson', '--speed', '1', '--output', 'plain'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy();
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // Then it noticed, stopped the replay instead of playing it to the end, and said nothing
    expect(first).toContain('maas-egress-demo validate');
    expect(code).toBe(141);
    expect(Date.now() - started).toBeLessThan(15_000);
    expectQuiet(stderr);
    expect(stderr).toBe('');
  }, 60_000);

  test('a closed stdout (>&-) or a full one (/dev/full): no stack trace', () => {
    const closed = spawnSync('bash', ['-c', 'node bin/demo.js env >&-'], { cwd: root, env, encoding: 'utf8' });
    expect(closed.status).toBe(0);
    expectQuiet(closed.stderr);
    const full = spawnSync('bash', ['-c', 'node bin/demo.js env >/dev/full'], { cwd: root, env, encoding: 'utf8' });
    expect(full.status).toBe(1);
    expect(full.stderr).toBe('error: cannot write output (ENOSPC)\n');
  }, 30_000);

  test('doctor | less, quit after the first screen: the prompt comes back without a stack trace', async () => {
    const session = `demo-pipes-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', root, `env -u CI MAAS_EGRESS_DEMO_STATE_DIR=${env.MAAS_EGRESS_DEMO_STATE_DIR} LESS= PS1="READY$ " bash --norc --noprofile`);
    try {
      const screen = () => tmux('capture-pane', '-t', session, '-p');
      const waitFor = async (check: (s: string) => boolean, what: string) => {
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          if (check(screen())) return screen();
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`timed out waiting for ${what}; screen was:\n${screen()}`);
      };
      await waitFor((s) => s.includes('READY$'), 'the prompt');
      tmux('send-keys', '-t', session, 'clear; node bin/demo.js doctor --output plain | less; echo DEMO_EXIT=${PIPESTATUS[0]}', 'Enter');
      await waitFor((s) => s.includes('maas-egress-demo doctor'), 'less showing the first line');
      tmux('send-keys', '-t', session, 'q');
      const after = await waitFor((s) => /DEMO_EXIT=\d+/.test(s), 'the command to end');
      expect(after).toMatch(/DEMO_EXIT=(0|141)\b/);
      expect(after).not.toMatch(/EPIPE|Error:|^\s+at /m);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 60_000);
});
