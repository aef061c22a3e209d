/**
 * The local target runs Kubernetes objects: `demo manifests --reveal-keys > o.yaml; demo up --from
 * o.yaml` runs what the file describes, through the cluster target's own reading of it, and
 * `validate` and `doctor` find a healthy install; an object no local process can be is named before
 * anything starts; `up` on a running topology with other faults or objects reprograms it and says
 * what changed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { parseObjects } from '../../src/model/object-file.js';
import { BIN, ROOT, cliEnv, runCli, tempStateDir } from '../helpers/run-cli.js';
import { readStateFile, startTopology, stopTopology, type Topology } from '../helpers/topology.js';

const dir = mkdtempSync(join(tmpdir(), 'objects-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function manifests(...args: string[]): Promise<string> {
  const r = await runCli(['manifests', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

type Doc = { ok: boolean; exitCode: number; checks: { id: string; outcome: string; hop?: string; message?: string }[]; steps: { id: string; applied: { object: string; action: string }[] }[] };
const json = (text: string) => JSON.parse(text) as Doc;

describe('demo manifests into a pipe', () => {
  test('the whole output arrives: the process exits only after stdout has flushed', () => {
    const file = join(dir, 'whole.yaml');
    const direct = spawnSync('bash', ['-c', `node ${BIN} manifests --reveal-keys --vllm > ${file} && wc -c < ${file}`], { cwd: ROOT, env: cliEnv(undefined), encoding: 'utf8' });
    const piped = spawnSync('bash', ['-c', `node ${BIN} manifests --reveal-keys --vllm | (sleep 0.3; wc -c)`], { cwd: ROOT, env: cliEnv(undefined), encoding: 'utf8' });
    expect(Number(direct.stdout.trim())).toBeGreaterThan(100_000);
    expect(Number(piped.stdout.trim())).toBe(Number(direct.stdout.trim()));
  });
});

describe('reading objects from a file', () => {
  const cfg = defaultConfig();
  test('a masked key stands for the configured key; a List is flattened', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: Secret',
      '    metadata: { name: openai-simulator-api-key, namespace: external-models }',
      `    stringData: { api-key: "${cfg.providers[0]!.key.masked}" }`,
      '  - apiVersion: kuadrant.io/v1',
      '    kind: AuthPolicy',
      '    metadata: { name: openai-bridge-auth, namespace: default }',
      `    spec: { rules: { response: { success: { headers: { X-Provider-Api-Key: { plain: { expression: "'${cfg.providers[0]!.key.masked}'" } } } } } } }`,
    ].join('\n');
    const objects = parseObjects(yaml, 'list.yaml', cfg);
    expect(objects.map((o) => o.kind)).toEqual(['Secret', 'AuthPolicy']);
    expect(JSON.stringify(objects)).toContain(cfg.providers[0]!.key.reveal());
    expect(JSON.stringify(objects)).not.toContain(cfg.providers[0]!.key.masked);
  });

  test.each<[string, string, RegExp]>([
    ['not YAML', 'kind: [unclosed', /document 1 is not valid YAML/],
    ['not an object', '- just\n- a list\n', /document 1 is not a Kubernetes object/],
    ['no name', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', /metadata.name are required/],
    ['nothing at all', '---\n', /holds no objects/],
  ])('%s is a usage error naming the document', (_what, text, message) => {
    expect(() => parseObjects(text, 'f.yaml', cfg)).toThrow(message);
  });
});

describe('demo up --from FILE', () => {
  let topo: Topology | undefined;
  afterAll(async () => {
    if (topo) await stopTopology(topo.dir, topo.pids);
  }, 60_000);

  test('the objects `demo manifests --reveal-keys --include-platform` prints run locally: validate passes and doctor is clean', async () => {
    // Given the demo's own objects in a file, with the gateway TokenRateLimitPolicy MaaS ships on a cluster
    // (without it, as without MaaS's on a cluster, nothing limits tokens and call 10 fails)
    const file = join(dir, 'o.yaml');
    writeFileSync(file, await manifests('--reveal-keys', '--vllm', '--include-platform'));
    // When they are brought up from the file
    topo = await startTopology({ label: 'from', args: ['--from', file] });
    const up = json(topo.up.stdout);
    // Then every object was applied in the step its label names, and the processes they ask for run
    expect(up.steps.map((s) => s.id)).toEqual(['platform', 'objects', '1', '2', '3', '3a', '4', '5']);
    const applied = up.steps.flatMap((s) => s.applied.map((a) => a.object));
    expect(applied).toContain('AuthPolicy/default/openai-bridge-auth');
    expect(applied.some((o) => o.startsWith('process/provider-vllm for Deployment/external-models/vllm-simulator'))).toBe(true);
    const validate = await runCli(['validate', '--output', 'json'], { stateDir: topo.dir });
    expect(json(validate.stdout).checks.filter((c) => c.outcome !== 'pass').map((c) => `${c.id} ${c.message ?? ''}`)).toEqual([]);
    expect(validate.code).toBe(0);
    const doctor = await runCli(['doctor', '--output', 'json'], { stateDir: topo.dir });
    expect(json(doctor.stdout).checks.filter((c) => c.outcome === 'fail').map((c) => c.id)).toEqual([]);
    expect(doctor.code).toBe(0);
  }, 120_000);

  test('objects from standard input, keys masked as `demo manifests` prints them, run the same', async () => {
    const state = tempStateDir('from-stdin');
    try {
      const text = await manifests();
      const r = spawnSync(process.execPath, [BIN, 'up', '--from', '-', '--output', 'json'], { cwd: ROOT, env: cliEnv(state), input: text, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const v = await runCli(['validate', '--output', 'json', '--only', '4,5'], { stateDir: state });
      expect(json(v.stdout).checks.map((c) => c.outcome)).toEqual(['pass', 'pass']);
    } finally {
      await stopTopology(state, []);
    }
  }, 120_000);

  test('an object no local process can be is named with the reason, and nothing starts', async () => {
    const file = join(dir, 'image.yaml');
    writeFileSync(file, await manifests('--simulator-image', 'quay.io/example/provider-sim:1'));
    const state = tempStateDir('from-image');
    const r = await runCli(['up', '--from', file, '--output', 'plain'], { stateDir: state });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: the local target cannot run Deployment\/external-models\/openai-simulator: runs image quay\.io\/example\/provider-sim:1/m);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(existsSync(join(state, 'state.json'))).toBe(false);
  });

  test('--from on a cluster is a usage error that says how a cluster takes a file', async () => {
    const file = join(dir, 'o2.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: default }\n');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    const r = await runCli(['up', '--target', 'cluster', '--kubeconfig', kubeconfig, '--from', file, '--output', 'plain']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from runs');
    expect(r.stderr).toContain(`kubectl apply --server-side -f ${file}`);
  });
});

describe('up on a running topology', () => {
  let topo: Topology | undefined;
  afterAll(async () => {
    if (topo) await stopTopology(topo.dir, topo.pids);
  }, 60_000);

  test('another --fault is planted and said; the next plain up puts it right; an up that asks for nothing new changes nothing', async () => {
    topo = await startTopology({ label: 'reprogram' });
    const faulty = await runCli(['up', '--fault', 'wrong-key', '--output', 'plain'], { stateDir: topo.dir });
    expect(faulty.code, faulty.stderr).toBe(0);
    expect(faulty.stdout).toContain('Reprogram the running topology: faults none → wrong-key');
    expect(faulty.stdout).toContain('planted fault wrong-key');
    expect(readStateFile(topo.dir)?.faults).toEqual(['wrong-key']);
    const broken = json((await runCli(['validate', '--output', 'json', '--only', '4'], { stateDir: topo.dir })).stdout);
    expect(broken.checks[0]).toMatchObject({ id: 'call-4', outcome: 'fail', hop: 'maas-gateway' });

    const healed = await runCli(['up', '--output', 'plain'], { stateDir: topo.dir });
    expect(healed.stdout).toContain('faults wrong-key → none');
    const ok = json((await runCli(['validate', '--output', 'json', '--only', '4'], { stateDir: topo.dir })).stdout);
    expect(ok.checks[0]?.outcome).toBe('pass');

    const same = await runCli(['up', '--output', 'plain'], { stateDir: topo.dir });
    expect(same.stdout).toContain('nothing changed');
    expect(same.stdout).not.toContain('Reprogram');
  }, 120_000);

  test('env --output json is one JSON document with the variables the shell lines export', async () => {
    const r = await runCli(['env', '--output', 'json'], { stateDir: topo!.dir });
    expect(r.code).toBe(0);
    const vars = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(vars).sort()).toEqual(['CA_FILE', 'CLUSTER_TOKEN', 'HOST', 'MAAS_GENERATION', 'VLLM_URL']);
    expect(vars.HOST).toBe(readStateFile(topo!.dir)?.host);
    expect(vars.MAAS_GENERATION).toBe('tier');
    const lines = (await runCli(['env'], { stateDir: topo!.dir })).stdout;
    for (const [k, v] of Object.entries(vars)) expect(lines).toContain(`export ${k}='${v}'`);
  });

  test('--no-vllm on a topology with vLLM removes its objects and stops its simulator', async () => {
    const before = readStateFile(topo!.dir)!;
    const vllmPid = before.components['provider-vllm']?.pid;
    expect(vllmPid).toBeGreaterThan(0);
    const r = await runCli(['up', '--no-vllm', '--output', 'json'], { stateDir: topo!.dir });
    expect(r.code, r.stderr).toBe(0);
    const doc = json(r.stdout);
    const applied = doc.steps.flatMap((s) => s.applied);
    expect(applied).toContainEqual({ object: 'Deployment/external-models/vllm-simulator', action: 'deleted' });
    expect(applied).toContainEqual({ object: `process/provider-vllm (pid ${vllmPid})`, action: 'stopped' });
    expect(readStateFile(topo!.dir)?.components['provider-vllm']).toBeUndefined();
    const v = json((await runCli(['validate', '--output', 'json', '--skip', '10'], { stateDir: topo!.dir })).stdout);
    expect(v.checks.find((c) => c.id === 'call-6')?.outcome).toBe('skip');
    expect(v.checks.filter((c) => c.outcome === 'fail')).toEqual([]);
  }, 120_000);
});
