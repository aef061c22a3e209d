/**
 * The subscription era's lifecycle on the local target: `demo manifests --maas subscription` printed
 * and run with `up --from`, the generation recorded (validate, doctor, env and down find it without
 * the flag, `up --maas tier` refuses to switch in place), a fault planted on the running topology and
 * named by doctor with an object patch that `--fix` applies, keys that survive a restart of maas-api,
 * and an external PostgreSQL (`--database-url`) whose password never shows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { runCli, tempStateDir } from '../helpers/run-cli.js';
import { pidAlive, readStateFile } from '../helpers/topology.js';
import { SHARED_CACHE, startTestDb, type TestDb } from './helpers.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const cache = { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE };

async function teardown(dir: string): Promise<void> {
  const state = readStateFile(dir);
  await runCli(['down', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
  for (const c of Object.values(state?.components ?? {})) if (pidAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
}

async function envOf(dir: string): Promise<Record<string, string>> {
  const r = await runCli(['env'], { stateDir: dir });
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => /^export (\w+)='(.*)'$/.exec(l)!.slice(1, 3) as [string, string]));
}

describe('manifests --maas subscription, then up --from the file', () => {
  const dir = tempStateDir('sub-from');
  const file = join(dirname(dir), 'objects.yaml');
  afterAll(() => teardown(dir));

  test('prints the era\'s objects step by step, keys masked, without statuses', async () => {
    const r = await runCli(['manifests', '--maas', 'subscription']);
    expect(r.code, r.stderr).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; status?: unknown; metadata: { name: string; labels?: Record<string, string> }; stringData?: Record<string, string> }).filter(Boolean);
    expect([...new Set(objects.map((o) => o.kind))]).toEqual(['Secret', 'ExternalModel', 'ConfigMap', 'MaaSModelRef', 'MaaSAuthPolicy', 'MaaSSubscription']);
    expect(objects.every((o) => o.status === undefined)).toBe(true);
    expect(objects.filter((o) => o.kind === 'Secret').every((o) => /^.{4}….{4}$/.test(o.stringData!['api-key']!))).toBe(true);
    expect(r.stdout).not.toContain('sk-openai-key-for-demo');
    expect(r.stdout).toMatch(/^# step s1: /m);
    const step = await runCli(['manifests', '--maas', 'subscription', '--step', 's3']);
    expect(parseAllDocuments(step.stdout).map((d) => (d.toJS() as { kind: string }).kind)).toEqual(['MaaSModelRef', 'MaaSModelRef']);
    const bad = await runCli(['manifests', '--maas', 'subscription', '--step', '4']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--step must be one of s1, s2, s3, s4/);
    writeFileSync(file, r.stdout);
  });

  test('up --from runs them (the era found from the objects), and validate passes on it', async () => {
    const up = await runCli(['up', '--from', file, '--output', 'plain'], { stateDir: dir, timeoutMs: 170_000, env: cache });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stdout).toContain('MaaS: subscription era (current MaaS)');
    expect(up.stdout).toMatch(/step s4 +MaaSAuthPolicy and MaaSSubscription.*\(from .*objects\.yaml\)/);
    const validate = await runCli(['validate', '--output', 'plain', '--skip', '11'], { stateDir: dir, timeoutMs: 120_000 });
    expect(validate.code, validate.stdout).toBe(0);
    expect(validate.stdout).toMatch(/MaaS: subscription era/);
  });

  test('the generation is recorded: up --maas tier refuses to switch in place; up again changes nothing', async () => {
    const tier = await runCli(['up', '--maas', 'tier', '--output', 'plain'], { stateDir: dir });
    expect(tier.code).toBe(2);
    expect(tier.stderr).toMatch(/^error: the running topology is the subscription era .*; up does not change generations in place$/m);
    expect(tier.stderr).toMatch(/^hint: run `npx maas-egress-demo down` first, then `npx maas-egress-demo up --maas tier`$/m);
    const again = await runCli(['up', '--from', file, '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already up: .*subscription era.*nothing changed/);
  });
});

describe('a running subscription era: faults, fixes, restarts', () => {
  const dir = tempStateDir('sub-life');
  beforeAll(async () => {
    const up = await runCli(['up', '--maas', 'subscription', '--output', 'plain'], { stateDir: dir, timeoutMs: 170_000, env: cache });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
  });
  afterAll(() => teardown(dir));

  test('a fault planted on the running topology is named at its hop, with the object and field, and --fix repairs it', async () => {
    // Given a provider Secret that lost the label payload processing selects on
    const planted = await runCli(['up', '--fault', 'secret-unlabelled', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
    expect(planted.code, planted.stdout).toBe(0);
    expect(planted.stdout).toMatch(/planted fault secret-unlabelled/);
    // When doctor runs
    const doctor = await runCli(['doctor', '--output', 'json'], { stateDir: dir, timeoutMs: 90_000 });
    // Then it names payload processing, the Secret and its label; the fix is a patch of that Secret
    expect(doctor.code).toBe(1);
    const doc = JSON.parse(doctor.stdout) as { checks: { id: string; outcome: string; hop?: string; object?: string; field?: string; fix?: string }[] };
    const finding = doc.checks.find((c) => c.id === 'sub-secrets-readable')!;
    expect(finding).toMatchObject({ outcome: 'fail', hop: 'payload-processing', object: 'Secret/llm/gpt-4-api-key', field: 'metadata.labels["inference.llm-d.ai/ipp-managed"]' });
    expect(finding.fix).toMatch(/kubectl label secret gpt-4-api-key -n llm inference\.llm-d\.ai\/ipp-managed=true/);
    expect(doctor.stdout).not.toContain('sk-openai-key-for-demo');
    // And --fix applies it, the check passes again
    const fixed = await runCli(['doctor', '--fix', '--yes', '--output', 'json', '--category', 'key-injection'], { stateDir: dir, timeoutMs: 90_000 });
    const after = JSON.parse(fixed.stdout) as { ok: boolean; checks: { id: string; outcome: string }[] };
    expect(after.checks.filter((c) => c.id === 'sub-secrets-readable').at(-1)!.outcome).toBe('pass');
    // The fix left the objects as the demo renders them: up has nothing left to change.
    const healthy = await runCli(['up', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(healthy.stdout).toMatch(/nothing changed/);
  });

  test('keys survive a restart of maas-api (they are in PostgreSQL), and env says which era and database', async () => {
    const env = await envOf(dir);
    expect(env).toMatchObject({ MAAS_GENERATION: 'subscription', MAAS_SUBSCRIPTION: 'demo-subscription' });
    const agent = new Agent({ connect: { ca: readFileSync(env.CA_FILE!, 'utf8') } });
    try {
      const minted = await undiciFetch(`https://${env.HOST}/maas-api/v1/api-keys`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${env.CLUSTER_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'survives', subscription: 'demo-subscription' }) });
      const { key } = (await minted.json()) as { key: string };
      // When maas-api dies and up restarts it
      const api = readStateFile(dir)!.components['maas-api']!;
      process.kill(api.pid, 'SIGKILL');
      const repaired = await runCli(['up', '--output', 'plain'], { stateDir: dir, timeoutMs: 90_000 });
      expect(repaired.code, repaired.stdout).toBe(0);
      expect(repaired.stdout).toMatch(/Restart stopped hops: maas-api/);
      expect(readStateFile(dir)!.components['maas-api']!.pid).not.toBe(api.pid);
      // Then the key minted before still works
      const listed = await undiciFetch(`https://${env.HOST}/v1/models`, { dispatcher: agent, headers: { authorization: `Bearer ${key}` } });
      expect(listed.status).toBe(200);
    } finally {
      await agent.close();
    }
  });
});

describe('--database-url: an existing PostgreSQL', () => {
  const dir = tempStateDir('sub-db');
  let db: TestDb;
  beforeAll(async () => {
    db = await startTestDb('external');
  });
  afterAll(async () => {
    await teardown(dir);
    await db.close();
  });

  test('keeps the keys there; the password never shows; down leaves that database alone', async () => {
    // PGlite takes any password: this one stands for a real server's.
    const url = `postgres://maas:Pa55-w0rd-CANARY@127.0.0.1:${db.pg.port}/postgres`;
    const up = await runCli(['up', '--maas', 'subscription', '--output', 'plain'], { stateDir: dir, timeoutMs: 170_000, env: { DEMO_DATABASE_URL: url } });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(readStateFile(dir)!.components.postgres).toBeUndefined();
    const env = await runCli(['env'], { stateDir: dir });
    expect(env.stdout).toContain(`export DATABASE_URL='postgres://maas:***@127.0.0.1:${db.pg.port}/postgres'`);
    const validate = await runCli(['validate', '--output', 'json', '--only', '2,3'], { stateDir: dir, timeoutMs: 60_000 });
    expect(validate.code, validate.stdout).toBe(0);
    for (const out of [up.stdout, up.stderr, env.stdout, validate.stdout]) expect(out).not.toContain('Pa55-w0rd-CANARY');
    const client = await db.client();
    const before = (await client.query('SELECT count(*)::int AS n FROM api_keys')).rows[0] as { n: number };
    expect(before.n).toBeGreaterThan(0);
    await teardown(dir);
    const after = (await client.query('SELECT count(*)::int AS n FROM api_keys')).rows[0] as { n: number };
    expect(after.n).toBe(before.n);
  });

  test('a URL maas-api would refuse is one line and exit 2', async () => {
    const r = await runCli(['up', '--maas', 'subscription', '--database-url', 'mysql://x@y/z', '--output', 'plain'], { stateDir: tempStateDir('sub-db-bad') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: invalid database URL: must start with postgresql:\/\/ or postgres:\/\//m);
  });
});

