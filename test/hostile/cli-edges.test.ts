/**
 * Two cases of issue 14 at the edge of the CLI: a state directory that cannot be written is bad
 * configuration (exit 2, one line, a hint — never a raw EACCES and exit 70), and Ctrl-C once `up` has
 * said "ready" leaves the topology up, says so, and exits 0.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BIN, ROOT, cliEnv, ensureBuilt, runCli, spawnCli } from '../helpers/run-cli.js';
import { pidAlive, readStateFile, stopTopology } from '../helpers/topology.js';

const base = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-cli-edges-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Runs the CLI as an unprivileged user when the tests run as root (root writes anywhere). */
function runAsUser(args: string[], stateDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  ensureBuilt();
  const root = process.getuid?.() === 0;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(stateDir), stdio: ['ignore', 'pipe', 'pipe'], ...(root ? { uid: 65534, gid: 65534 } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a state directory that cannot be used', () => {
  test.each(['up', 'down'])('not writable (EACCES): `demo %s` exits 2 with one line and a hint, no stack', async (command) => {
    const parent = join(base, `readonly-${command}`);
    mkdirSync(parent);
    chmodSync(parent, 0o555);
    const r = await runAsUser([command, '--output', 'plain'], join(parent, 'state'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot create directories in the state directory .*readonly-\w+\/state \(EACCES\)\nhint: .*MAAS_EGRESS_DEMO_STATE_DIR/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
  });

  test('a file where the directory should be (ENOTDIR): exit 2, and --output json is one document', async () => {
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = await runCli(['up', '--output', 'json'], { stateDir: join(file, 'state') });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { message: string; hint: string } };
    expect(doc).toMatchObject({ ok: false, exitCode: 2 });
    expect(doc.error.message).toMatch(/ENOTDIR/);
    expect(doc.error.hint).toMatch(/MAAS_EGRESS_DEMO_STATE_DIR/);
  });
});

describe('Ctrl-C after ready', () => {
  test('leaves the topology up and recorded, says so, and exits 0', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-sigint-')), 'state');
    const { child, result } = spawnCli(['up', '--output', 'plain', '--no-vllm'], { stateDir: dir, timeoutMs: 60_000 });
    let sent = false;
    child.stdout!.on('data', (d: string) => {
      if (!sent && String(d).includes('local topology ready')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const r = await result;
    try {
      expect(sent).toBe(true);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/error: interrupted|every process this run started was stopped/);
      // a signal that landed before the process ended is acknowledged; one that came as it exited found nothing to do
      if (/Ctrl-C/.test(r.stdout)) expect(r.stdout).toMatch(/Ctrl-C after (the topology was ready: it stays up|up had finished its work)/);
      const state = readStateFile(dir);
      expect(state).toBeDefined();
      for (const [name, c] of Object.entries(state!.components)) expect(pidAlive(c.pid), `${name} still running`).toBe(true);
      const env = await runCli(['env'], { stateDir: dir });
      expect(env.code).toBe(0);
    } finally {
      const state = readStateFile(dir);
      await stopTopology(dir, Object.values(state?.components ?? {}).map((c) => c.pid));
    }
  }, 60_000);
});
