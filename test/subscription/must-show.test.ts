/**
 * Issue 16's "Must show", as a user would do it: `demo up --maas subscription; eval "$(demo env)"`,
 * then curl — a key minted for $MAAS_SUBSCRIPTION, /v1/models, a body-routed chat per listed model,
 * a bogus key, no credentials, streams without include_usage until 429, the key revoked — then
 * `demo validate` and `demo doctor`, and the key's hash (never the key) in the Postgres table.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { BIN, cliEnv, runCli, tempStateDir } from '../helpers/run-cli.js';
import { pidAlive, readStateFile } from '../helpers/topology.js';
import { SHARED_CACHE } from './helpers.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });

const here = dirname(fileURLToPath(import.meta.url));
let dir = '';

/** A short window keeps the test short: the stream budget resets before validate runs. */
const WINDOW_SECONDS = 20;

beforeAll(async () => {
  dir = tempStateDir('must-show');
  const cfgFile = join(dirname(dir), 'config.json');
  writeFileSync(cfgFile, JSON.stringify({ rateLimit: { windowSeconds: WINDOW_SECONDS } }));
  const up = await runCli(['up', '--maas', 'subscription', '--output', 'plain', '--config', cfgFile], { stateDir: dir, timeoutMs: 170_000, env: { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE } });
  expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
});

afterAll(async () => {
  const state = readStateFile(dir);
  await runCli(['down', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
  for (const c of Object.values(state?.components ?? {})) if (pidAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
});

/** The user's shell running must-show.sh: `demo` is the built CLI, DEMO_CONFIG the config `up` had. */
function bash(extra: Record<string, string>): { code: number | null; out: string; err: string } {
  const r = spawnSync('bash', [join(here, 'must-show.sh')], { env: cliEnv(dir, { DEMO_BIN: BIN, DEMO_CONFIG: join(dirname(dir), 'config.json'), ...extra }), encoding: 'utf8', timeout: 200_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('demo up --maas subscription; eval "$(demo env)"; then curl, as a user would', () => {
  test('keys, models, routing, auth, stream budget, revocation, validate and doctor all hold', async () => {
    // Given the running era and a shell that evaluated `demo env`
    const keyFile = join(dirname(dir), 'key.txt');
    const r = bash({ WAIT_SECONDS: String(WINDOW_SECONDS), KEY_OUT: keyFile });
    const lines = r.out.split('\n');
    const line = (tag: string) => lines.find((l) => l.startsWith(`${tag} `)) ?? '';
    const all = (tag: string) => lines.filter((l) => l.startsWith(`${tag} `));
    const key = readFileSync(keyFile, 'utf8');
    // Then
    expect(r.code, r.err).toBe(0);
    expect(line('ENV')).toMatch(/^ENV subscription demo-subscription postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(line('MINT')).toBe('MINT 201 sk-oai- demo-subscription');
    const models = line('MODELS').split(' ').slice(1);
    expect(models.sort()).toEqual(['claude-3-sonnet', 'gpt-4', 'qwen-qwen3-0.6b']);
    expect(all('CHAT').map((l) => l.split(' ').slice(2).join(' '))).toEqual(models.map(() => '200 chat.completion/string/number'));
    expect(line('FAKE')).toBe('FAKE 403');
    expect(line('NOAUTH')).toBe('NOAUTH 401');
    // Streams: 200s whose usage (forced into the stream) is counted, then 429 once the budget is spent.
    const streams = all('STREAM').map((l) => l.split(' ').map(Number));
    const last = streams.at(-1)!;
    expect(last[2], r.out).toBe(429);
    const spent = streams.slice(0, -1).reduce((a, s) => a + s[3]!, 0);
    expect(streams.slice(0, -1).every((s) => s[2] === 200 && s[3]! > 0)).toBe(true);
    // Limitador admits while spent + 1 ≤ limit: the 429 comes once the budget (100) is used up, not before. The chat
    // on the same model (step 3) counts too when the streams started inside its window (it opened the window).
    const chatOnLast = Number(line(`USAGE ${line('MODELS').split(' ').at(-1)}`).split(' ')[2]);
    expect(chatOnLast).toBeGreaterThan(0);
    expect(spent + chatOnLast).toBeGreaterThanOrEqual(100);
    expect(spent - streams.at(-2)![3]!).toBeLessThan(100);
    expect(line('DELETE')).toBe('DELETE 200 revoked');
    expect(line('REVOKED')).toBe('REVOKED 403');
    expect(line('VALIDATE'), r.out).toBe('VALIDATE 0');
    expect(line('DOCTOR'), r.out).toBe('DOCTOR 0');
    // The key itself never appears in what the tools printed.
    expect(key).toMatch(/^sk-oai-/);
    expect(r.out + r.err).not.toContain(key);
    // And the Postgres table holds its hash, never the key.
    const state = readStateFile(dir)!;
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${state.components.postgres!.port}/postgres` });
    await client.connect();
    try {
      const id = line('ID').split(' ')[1]!;
      const row = (await client.query('SELECT * FROM api_keys WHERE id = $1', [id])).rows[0] as Record<string, unknown>;
      const [keyId, secret] = key.slice('sk-oai-'.length).split('_');
      expect(row.key_hash).toBe(createHash('sha256').update(`${keyId}\u0000${secret}`).digest('hex'));
      expect(row.status).toBe('revoked');
      const dump = JSON.stringify((await client.query('SELECT * FROM api_keys')).rows);
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(secret);
    } finally {
      await client.end();
    }
  });

  test('down removes the keys (the Postgres data directory) and keeps the initdb template cache', async () => {
    const state = readStateFile(dir)!;
    const down = await runCli(['down', '--output', 'plain'], { stateDir: dir, timeoutMs: 60_000 });
    expect(down.code, down.stdout).toBe(0);
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
    for (const c of Object.values(state.components)) expect(pidAlive(c.pid)).toBe(false);
    expect(existsSync(SHARED_CACHE)).toBe(true);
  });
});
