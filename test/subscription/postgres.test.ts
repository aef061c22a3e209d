/**
 * The embedded PostgreSQL as the local target runs it: its own process (dist/, so `npm run build`
 * first), the wire protocol on loopback, a data directory under the state dir that outlives the
 * process, the initdb template that keeps start-up fast, and an external URL used the same way.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { launch, scriptPath, stopAndWait } from '../../src/targets/local/launcher.js';
import { ensureDirs, paths, pidAlive } from '../../src/targets/local/state.js';
import {
  checkDatabaseUrl,
  embeddedDatabaseUrl,
  ensureTemplate,
  isDataDir,
  postgresPaths,
  redactDatabaseUrl,
  startEmbeddedPostgres,
} from '../../src/targets/local/postgres.js';
import { migrate } from '../../src/targets/local/api-keys-schema.js';
import { UserError } from '../../src/core/errors.js';
import { SHARED_TEMPLATE, startTestDb } from './helpers.js';

// The first PGlite of a run may run initdb in WASM (seconds, more on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const started: number[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const pid of started) await stopAndWait(pid);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-pg-'));
  dirs.push(d);
  ensureDirs(d);
  return d;
}

async function launchPostgres(dir: string, template: string) {
  const pp = postgresPaths(dir);
  const state = await launch(
    dir,
    { name: 'postgres', script: scriptPath('targets/local/postgres.js'), args: ['--data-dir', pp.data, '--template', template, '--port-file', '{portFile}'], env: {} },
    { timeoutMs: 60_000 },
  );
  started.push(state.pid);
  return state;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('embedded PostgreSQL (PGlite over the wire protocol)', () => {
  it('runs as its own process, and rows written through it survive a restart of that process', async () => {
    // Given the postgres program started by the launcher with a data dir under the state dir
    const dir = stateDir();
    const first = await launchPostgres(dir, SHARED_TEMPLATE);
    const url = embeddedDatabaseUrl(first.port);
    await withClient(url, async (c) => {
      await migrate(c);
      await c.query(
        `INSERT INTO api_keys (id, username, name, key_hash, user_groups, subscription) VALUES ('k1', 'alice', 'demo', 'h1', ARRAY['g'], 'sub')`,
      );
    });
    expect(isDataDir(postgresPaths(dir).data)).toBe(true);

    // When the process is stopped (SIGTERM) and started again on the same data dir
    await stopAndWait(first.pid);
    expect(pidAlive(first.pid)).toBe(false);
    const second = await launchPostgres(dir, SHARED_TEMPLATE);

    // Then the row is still there, and the log says the data directory was opened, not created
    const rows = await withClient(embeddedDatabaseUrl(second.port), (c) => c.query('SELECT id, username, subscription FROM api_keys'));
    expect(rows.rows).toEqual([{ id: 'k1', username: 'alice', subscription: 'sub' }]);
    const log = readFileSync(paths(dir).logFile('postgres'), 'utf8');
    expect(log).toMatch(/data directory created from the initdb template/);
    expect(log).toMatch(/data directory opened/);
    await stopAndWait(second.pid);
  });

  it('makes the initdb template once and unpacks new data directories from it', async () => {
    // Given a cache dir with no template
    const dir = stateDir();
    const template = postgresPaths(dir).template;
    expect(existsSync(template)).toBe(false);

    // When the template is asked for twice
    const made = await ensureTemplate(template);
    const reused = await ensureTemplate(template);

    // Then initdb ran only the first time, the file is the small gzipped dump, and a new data dir comes from it
    expect(made.created).toBe(true);
    expect(reused.created).toBe(false);
    expect(statSync(template).size).toBeLessThan(20 * 1024 * 1024);
    expect(readFileSync(template).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const server = await startEmbeddedPostgres({ dataDir: postgresPaths(dir).data, template });
    try {
      expect(server.origin).toBe('template');
      const version = await withClient(server.url, (c) => c.query('SHOW server_version'));
      expect(String(version.rows[0]?.server_version)).toMatch(/^1[5-9]/);
    } finally {
      await server.close();
    }
  });

  it('runs initdb once when two processes ask for the same template at the same time', async () => {
    const template = join(stateDir(), 'cache', 'raced.tar.gz');
    const results = await Promise.all([ensureTemplate(template), ensureTemplate(template)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(existsSync(`${template}.lock`)).toBe(false);
  });

  it('serves several client connections at once, transactions kept apart', async () => {
    // Given two connections to one server
    const db = await startTestDb('pg-conc');
    try {
      const one = await db.client();
      const two = await db.client();
      await one.query('CREATE TABLE t (v int)');
      // When one holds an open transaction and the other writes meanwhile
      await one.query('BEGIN');
      await one.query('INSERT INTO t VALUES (1)');
      const other = two.query('INSERT INTO t VALUES (2)');
      await one.query('ROLLBACK');
      await other;
      // Then the rolled-back row is gone and the other connection's row is kept
      expect((await two.query('SELECT v FROM t ORDER BY v')).rows).toEqual([{ v: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('treats an external PostgreSQL URL like the embedded one (migrations, reads, writes)', async () => {
    // Given a PostgreSQL server somewhere, reached only through its URL (here: another PGlite server)
    const external = await startTestDb('pg-external');
    try {
      const url = checkDatabaseUrl(`  postgresql://maas:s3cret@127.0.0.1:${external.pg.port}/postgres  `);
      // When the schema is migrated through the URL and a key row is written
      const result = await withClient(url, (c) => migrate(c));
      await withClient(url, (c) =>
        c.query(`INSERT INTO api_keys (id, username, name, key_hash, user_groups, subscription) VALUES ('x', 'bob', 'n', 'h', ARRAY[]::text[], 's')`),
      );
      // Then it migrated from scratch and another connection sees the row
      expect(result.applied).toEqual([1, 2, 3, 4, 5, 6]);
      const n = await withClient(external.pg.url, (c) => c.query('SELECT count(*)::int AS n FROM api_keys'));
      expect(n.rows[0]?.n).toBe(1);
    } finally {
      await external.close();
    }
  });

  it('refuses a URL that is not postgres:// with one line and a hint, without echoing it', () => {
    // Given URLs maas-api would refuse
    for (const bad of ['mysql://root:hunter2@db/maas', 'hunter2', 'postgres://']) {
      // Then the error is a UserError with a hint, and the password never appears in it
      let err: unknown;
      try {
        checkDatabaseUrl(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).not.toContain('hunter2');
      expect((err as UserError).message.split('\n')).toHaveLength(1);
      expect((err as UserError).hint).toBeTruthy();
    }
    expect(redactDatabaseUrl('postgresql://maas:hunter2@db.example.com:5432/maas')).toBe('postgresql://maas:***@db.example.com:5432/maas');
    expect(redactDatabaseUrl(embeddedDatabaseUrl(5432))).toBe('postgres://postgres@127.0.0.1:5432/postgres');
  });

  it('exits 2 with one line when started without a data dir', async () => {
    const dir = stateDir();
    mkdirSync(join(dir, 'x'), { recursive: true });
    await expect(
      launch(dir, { name: 'postgres-bad', script: scriptPath('targets/local/postgres.js'), args: ['--port-file', '{portFile}'], env: {} }, { timeoutMs: 20_000 }),
    ).rejects.toThrow(/exited with code 2/);
    expect(readFileSync(paths(dir).logFile('postgres-bad'), 'utf8').trim()).toBe('postgres: --data-dir is required');
  });
});
