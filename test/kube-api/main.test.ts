// `npm run kube-api`: the rehearsal cluster started as a user starts it, driven by client-node, stopped with
// Ctrl-C or SIGTERM; and its answers to bad input.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, '.build', 'kube-api', 'test', 'kube-api', 'main.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-api-main-'));
  // what `npm run kube-api` compiles first; the later tests start the compiled script directly
  const built = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.kube-api.json'], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`tsc -b tsconfig.kube-api.json failed:\n${built.stdout}${built.stderr}`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Output so far and a promise of the exit code. */
function started(child: ChildProcess): { out: () => string; exit: Promise<number | NodeJS.Signals | null> } {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { out: () => out, exit };
}

async function until(cond: () => boolean, what: () => string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting; output so far:\n${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function deployments(kubeconfig: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const list = await kc.makeApiClient(AppsV1Api).listDeploymentForAllNamespaces();
  return list.items.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`);
}

describe('npm run kube-api', () => {
  it('starts the tier preset in the foreground, writes the kubeconfig once ready, and stops on Ctrl-C', async () => {
    // Given
    const kubeconfig = join(dir, 'tier.kubeconfig');
    const child = spawn('npm', ['run', '--silent', 'kube-api', '--', '--preset', 'tier', '--kubeconfig', kubeconfig], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = started(child);
    try {
      // When
      await until(() => run.out().includes('stop with Ctrl-C'), run.out);
      // Then
      expect(existsSync(kubeconfig)).toBe(true);
      expect(run.out()).toMatch(/rehearsal cluster \(preset tier\) serving at https:\/\/127\.0\.0\.1:\d+ — a stand-in/);
      expect(await deployments(kubeconfig)).toContain('opendatahub/maas-api');
      process.kill(-child.pid!, 'SIGINT'); // what Ctrl-C sends to the terminal's foreground group
      // npm passes the interrupt on by ending itself with it once the server has stopped
      expect(await run.exit).toBe('SIGINT');
      expect(run.out()).toContain('stopping the rehearsal cluster');
      expect(run.out()).not.toMatch(/at .*\.js:\d+/); // no stack trace
      expect(() => process.kill(-child.pid!, 0)).toThrow(/ESRCH/); // nothing of the group left running
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
  }, 120_000);

  it('serves the subscription preset, logs each request as a JSON line, and exits 0 on SIGTERM', async () => {
    const kubeconfig = join(dir, 'sub.kubeconfig');
    const log = join(dir, 'requests.ndjson');
    const child = spawn(process.execPath, [main, '--preset', 'subscription', '--kubeconfig', kubeconfig, '--request-log', log], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = started(child);
    try {
      await until(() => run.out().includes('stop with Ctrl-C'), run.out);
      expect(await deployments(kubeconfig)).toEqual(expect.arrayContaining(['opendatahub/maas-controller', 'openshift-ingress/payload-processing']));
      child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verb?: string; resource?: string; status: number });
      expect(lines).toContainEqual(expect.objectContaining({ verb: 'list', resource: 'apps/deployments', status: 200 }));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('answers bad input with one line, a hint and exit 2', () => {
    const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    const unknown = run(['--preset', 'openshift', '--kubeconfig', join(dir, 'x')]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('error: unknown preset "openshift"\nhint: pick one of: tier, subscription, bare\n');
    const noFile = run(['--preset', 'tier']);
    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toMatch(/^error: --kubeconfig FILE is required.*\nhint: /);
    const flag = run(['--preset', 'tier', '--kubeconfig', join(dir, 'x'), '--frobnicate']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/^error: Unknown option '--frobnicate'.*\nhint: run `npm run kube-api -- --help`/);
    const noCrds = run(['--preset', 'tier', '--kubeconfig', join(dir, 'x')], { MAAS_EGRESS_DEMO_CRDS_DIR: join(dir, 'no-such-dir') });
    expect(noCrds.status).toBe(2);
    expect(noCrds.stderr).toMatch(/^error: the upstream CRDs are missing: no directory at MAAS_EGRESS_DEMO_CRDS_DIR=.*no-such-dir.*\nhint: set MAAS_EGRESS_DEMO_CRDS_DIR to a directory holding the upstream CRD YAMLs/);
    const mine = join(dir, 'my-own-kubeconfig');
    writeFileSync(mine, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    const foreign = run(['--preset', 'bare', '--kubeconfig', mine]);
    expect(foreign.status).toBe(2);
    expect(foreign.stderr).toMatch(/exists and is not a kubeconfig this server wrote; refusing to overwrite it/);
    expect(readFileSync(mine, 'utf8')).toBe('apiVersion: v1\nkind: Config\nclusters: []\n');
  }, 60_000);
});
