/**
 * Secret-leak scan of the subscription era: up, validate, doctor and down in every output format with
 * `--junit` and `--record`, env, and the topology's logs — no canary provider key, no cluster or admin
 * token, and no API key (`sk-oai-…` beyond its masked form) anywhere. The minted keys themselves are
 * caught by their shape: only the masked form (`sk-o…abcd`) may appear.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempStateDir, type CliResult } from '../helpers/run-cli.js';
import { pidAlive, readStateFile } from '../helpers/topology.js';
import { SHARED_CACHE } from '../subscription/helpers.js';
import { CANARY_CONFIG, addTopologySecrets, canarySecrets, expectNoLeaks, filesUnder, leaksInFiles } from './scan.js';

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-leaks-sub-'));
const configFile = join(work, 'config.json');
writeFileSync(configFile, JSON.stringify(CANARY_CONFIG));
const dir = tempStateDir('leaks-sub');
const secrets = canarySecrets();
const pids = new Set<number>();
/** An API key whole (or most of it): its masked form shows four characters after `sk-o`. */
const API_KEY = /sk-oai-[A-Za-z0-9]{8,}/;

afterAll(async () => {
  await runCli(['down', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
  for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function scanned(args: string[], format: 'plain' | 'json' | 'ndjson'): Promise<CliResult> {
  const base = join(work, `${args[0]}-${format}`);
  const files = [`${base}.xml`, `${base}.ndjson`];
  const r = await runCli([...args, '--config', configFile, '--output', format, '--junit', files[0]!, '--record', files[1]!], { stateDir: dir, timeoutMs: 170_000, env: { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE } });
  const state = readStateFile(dir);
  if (state) {
    addTopologySecrets(secrets, dir, ` (${state.startedAt})`);
    for (const c of Object.values(state.components)) pids.add(c.pid);
  }
  const where = `${args.join(' ')} --output ${format}`;
  expectNoLeaks(r.stdout, secrets, `${where}: stdout`);
  expectNoLeaks(r.stderr, secrets, `${where}: stderr`);
  expect(r.stdout + r.stderr, `${where}: an API key`).not.toMatch(API_KEY);
  const written = files.filter((f) => existsSync(f));
  expect(written, `${where}: --junit and --record written`).toEqual(files);
  expect(leaksInFiles(written, secrets), `${where}: files`).toEqual([]);
  for (const f of written) expect((await import('node:fs')).readFileSync(f, 'utf8'), `${f}: an API key`).not.toMatch(API_KEY);
  return r;
}

describe('the subscription era shows no key, token or API key', () => {
  test('up, validate and doctor in each format, with --junit and --record', async () => {
    const up = await scanned(['up', '--maas', 'subscription'], 'json');
    expect(up.code, up.stderr).toBe(0);
    for (const format of ['plain', 'json', 'ndjson'] as const) {
      // Three runs in a minute would spend a model's budget (the limit working): these skip the chats.
      const v = await scanned(['validate', '--skip', format === 'json' ? '11,12' : '4,5,7,11,12'], format);
      expect(v.code, v.stdout.slice(-600)).toBe(0);
      // The minted key shows only masked.
      expect(v.stdout).toMatch(/sk-o…[A-Za-z0-9]{4}/);
    }
    const d = await scanned(['doctor'], 'ndjson');
    expect(d.code, d.stdout.slice(-600)).toBe(0);
  });

  test('env prints only the cluster token it is for; the hop logs hold no secret and no API key', async () => {
    const env = await runCli(['env'], { stateDir: dir });
    expectNoLeaks(env.stdout, secrets, 'env', { allowClusterToken: true });
    expect(env.stdout).not.toMatch(API_KEY);
    const logs = [...filesUnder(join(dir, 'logs')), ...filesUnder(join(dir, 'run'))];
    expect(logs.filter((f) => f.endsWith('.log')).length).toBeGreaterThanOrEqual(5);
    expect(leaksInFiles(logs, secrets)).toEqual([]);
    for (const f of logs) expect((await import('node:fs')).readFileSync(f, 'utf8'), f).not.toMatch(API_KEY);
  });

  test('down in ndjson', async () => {
    const r = await scanned(['down'], 'ndjson');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  });
});
