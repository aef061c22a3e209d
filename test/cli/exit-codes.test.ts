/**
 * Exit codes 1 and 130 of a real `up` (through bin/demo.js): a step that fails prints one JSON
 * document with ok false and exit 1; Ctrl-C mid-way exits 130. Either way every process that run
 * started is stopped and no state is left.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ndjsonLines, runCli, spawnCli, tempStateDir } from '../helpers/run-cli.js';
import { useStateDirs, waitDead } from '../helpers/topology.js';

const { dirs, started } = useStateDirs();

const pidsIn = (text: string) => [...text.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));

describe('up that fails', () => {
  test('a step that never gets ready: exit 1, one JSON document with ok false naming the step, nothing left running', async () => {
    const dir = tempStateDir('fail');
    dirs.push(dir);
    // The vLLM route names a backend no XBackendDestination defines: its ResolvedRefs never turns True.
    const objects = await runCli(['manifests', '--reveal-keys', '--vllm']);
    const file = join(dirname(dir), 'objects.yaml');
    writeFileSync(file, objects.stdout.replace(/name: vllm-backend\n(\s+)port:/, 'name: vllm-backend-typo\n$1port:'));
    const r = await runCli(['up', '--output', 'json', '--from', file, '--timeout', '1'], { stateDir: dir });
    const pids = pidsIn(r.stdout);
    started.push(...pids);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { message: string; hint: string }; steps: { id: string; ok: boolean | null }[]; logs: { level: string; message: string }[] };
    expect(doc).toMatchObject({ ok: false, exitCode: 1 });
    expect(doc.error.message).toMatch(/^step 3a: HTTPRoute default\/vllm-route Accepted and ResolvedRefs by default\/poc-gateway not met within 1000 ms \(ResolvedRefs=False \(BackendNotFound\): no XBackendDestination vllm-backend-typo\)/);
    expect(doc.error.hint).toBeTruthy();
    expect(doc.steps.map((s) => [s.id, s.ok])).toEqual([
      ['platform', true],
      ['objects', true],
      ['1', true],
      ['2', true],
      ['3', true],
      ['3a', false],
    ]);
    expect(doc.logs.at(-1)?.message).toMatch(/every process this run started was stopped/);
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(await waitDead(pids)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('up interrupted', () => {
  test('Ctrl-C mid-way: exit 130, run-end says interrupted, every started process stopped, no state left', async () => {
    const dir = tempStateDir('sigint');
    dirs.push(dir);
    const { child, result } = spawnCli(['up', '--output', 'ndjson'], { stateDir: dir });
    let seen = '';
    await new Promise<void>((resolveStarted, reject) => {
      const timer = setTimeout(() => reject(new Error('up never started a process')), 20_000);
      child.stdout!.on('data', (d: Buffer | string) => {
        seen += String(d);
        if (/"action":"started"/.test(seen)) {
          clearTimeout(timer);
          resolveStarted();
        }
      });
    });
    child.kill('SIGINT');
    const r = await result;
    const pids = pidsIn(r.stdout);
    started.push(...pids);
    expect(r.code).toBe(130);
    const events = ndjsonLines(r.stdout);
    expect(events.at(-1)).toMatchObject({ kind: 'run-end', ok: false, exitCode: 130, error: { name: 'InterruptedError' } });
    expect(events.some((e) => e.kind === 'log' && /interrupted .*every process this run started was stopped/.test(String(e.message)))).toBe(true);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    expect(await waitDead(pids)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('a cluster that cannot be reached', () => {
  test('every command that needs its API server exits 3 with one line and a hint, nothing changed', async () => {
    // Given a kubeconfig whose API server does not answer (nothing listens on port 1)
    const dir = tempStateDir('unreachable');
    dirs.push(dir);
    const kubeconfig = join(dirname(dir), 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    for (const command of ['up', 'down', 'validate', 'doctor', 'env']) {
      // When the command runs against it
      const r = await runCli([command, '--target', 'cluster', '--kubeconfig', kubeconfig, '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
      // Then one rule: exit 3, the reason in one line, where to look in a hint, no stack trace
      expect(r.code, `${command}: ${r.stderr}`).toBe(3);
      expect(r.stderr, command).toMatch(/^error: cannot reach the API server\b.*ECONNREFUSED/m);
      expect(r.stderr, command).toMatch(/^hint: check the API server URL of the context/m);
      expect(r.stderr, command).not.toMatch(/\n\s+at /);
    }
    // And --output json agrees: ok false, exitCode 3
    const j = await runCli(['up', '--target', 'cluster', '--kubeconfig', kubeconfig, '--output', 'json'], { stateDir: dir, timeoutMs: 60_000 });
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, exitCode: 3 });
  }, 120_000);
});
