/**
 * `demo --help` must stay light: it loads no ink, react, undici or Kubernetes client. The process runs
 * the real bin/demo.js under bench/load-trace.js, which records every ES module resolved (a
 * module.register resolve hook) and every CommonJS module in require.cache at exit. A control run
 * that does import undici and ink proves the trace sees such modules when they are loaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, ensureBuilt } from '../helpers/run-cli.js';

const HEAVY = [/\/node_modules\/ink\//, /\/node_modules\/react\//, /\/node_modules\/undici\//, /\/node_modules\/@kubernetes\/client-node\//];
const tmp = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-help-path-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function traced(label: string, args: string[]): { modules: string[]; status: number | null; stdout: string } {
  ensureBuilt();
  const file = join(tmp, `${label}.txt`);
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'dist', 'bench', 'load-trace.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOAD_TRACE_FILE: file, CI: '1', NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  // No trace file means the trace did not run: an error, never an empty (and so clean) module list.
  if (!existsSync(file)) throw new Error(`the load trace wrote nothing (exit ${r.status}): ${r.stderr.slice(-1000)}`);
  const modules = [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
  return { modules, status: r.status, stdout: r.stdout };
}

const heavy = (modules: string[]) => modules.filter((m) => HEAVY.some((re) => re.test(m)));

describe('demo --help', () => {
  it('loads no ink, react, undici or Kubernetes client', () => {
    const help = traced('help', [BIN, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: demo <command>');
    expect(help.modules.some((m) => m.endsWith('/dist/src/cli/main.js'))).toBe(true);
    expect(heavy(help.modules)).toEqual([]);
  });

  it('loads none of them for a command help either (demo up --help)', () => {
    const help = traced('up-help', [BIN, 'up', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: demo up');
    expect(help.modules.some((m) => m.endsWith('/dist/src/cli/main.js'))).toBe(true);
    expect(heavy(help.modules)).toEqual([]);
  });

  it('the trace sees those modules when they are loaded (control)', () => {
    const control = traced('control', ['--input-type=module', '-e', "await import('undici'); await import('ink'); await import('@kubernetes/client-node');"]);
    expect(control.status).toBe(0);
    const found = heavy(control.modules);
    expect(found.some((m) => m.includes('/undici/'))).toBe(true);
    expect(found.some((m) => m.includes('/ink/'))).toBe(true);
    expect(found.some((m) => m.includes('/react/'))).toBe(true);
    expect(found.some((m) => m.includes('/@kubernetes/client-node/'))).toBe(true);
  });
});
