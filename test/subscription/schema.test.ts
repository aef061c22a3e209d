/**
 * Our api_keys migrations against upstream's: both are applied to real PostgreSQL (PGlite) and the
 * catalogs PostgreSQL reports are compared. The upstream SQL files are read from
 * $MAAS_EGRESS_DEMO_UPSTREAM_SQL_DIR or shared/upstream/maas-subscription-era/maas-api; without them
 * the suite fails and says where it looked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type pg from 'pg';
import { CONCURRENT_INDEXES, LATEST_VERSION, MIGRATIONS, DirtyDatabaseError, migrate, tableCatalog } from '../../src/targets/local/api-keys-schema.js';
import { startTestDb, upstreamDir, type TestDb } from './helpers.js';

// The first PGlite of a run may run initdb in WASM (seconds, more on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const upstream = upstreamDir('MAAS_EGRESS_DEMO_UPSTREAM_SQL_DIR', 'maas-subscription-era/maas-api');

/** Upstream's `*.up.sql` files in version order (golang-migrate reads `<version>_<name>.up.sql`). */
function upstreamMigrations(dir: string): { version: number; file: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.up\.sql$/.test(f))
    .map((f) => ({ version: Number(f.split('_')[0]), file: f, sql: readFileSync(join(dir, f), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * The one statement upstream runs outside the SQL files (maas-api internal/api_keys/db_driver.go,
 * concurrentMigrations): the GIN index on labels, built CONCURRENTLY after golang-migrate finishes.
 */
const UPSTREAM_CONCURRENT = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_api_keys_labels_gin ON api_keys USING GIN (labels jsonb_path_ops)';

describe('api_keys schema', () => {
  let theirs: TestDb;
  let ours: TestDb;
  let a: pg.Client;
  let b: pg.Client;

  beforeAll(async () => {
    [theirs, ours] = await Promise.all([startTestDb('schema-upstream'), startTestDb('schema-ours')]);
    [a, b] = await Promise.all([theirs.client(), ours.client()]);
  });
  afterAll(async () => {
    await Promise.all([theirs?.close(), ours?.close()]);
  });

  it('finds upstream\'s migration files', () => {
    // Given the shared upstream copy (or the directory named by the variable)
    // Then it is there, or the failure says where it was looked for
    expect('dir' in upstream ? '' : upstream.reason).toBe('');
  });

  it('produces the same columns, types, defaults, indexes and constraints as upstream\'s SQL files', async () => {
    if (!('dir' in upstream)) throw new Error(`upstream SQL files missing: ${upstream.reason}`);
    // Given upstream's migrations applied one by one to one database, and ours to another
    const files = upstreamMigrations(upstream.dir);
    expect(files.map((f) => f.version)).toEqual(MIGRATIONS.map((m) => m.version));
    for (const f of files) await a.query(f.sql);
    await a.query(UPSTREAM_CONCURRENT);
    const result = await migrate(b);
    expect(result).toEqual({ from: null, to: LATEST_VERSION, applied: [1, 2, 3, 4, 5, 6] });

    // When PostgreSQL describes both tables
    const [upstreamCatalog, ourCatalog] = await Promise.all([tableCatalog(a), tableCatalog(b)]);

    // Then they are identical, and they hold what the contract names
    expect(ourCatalog).toEqual(upstreamCatalog);
    expect(ourCatalog.columns.map((c) => c.name)).toEqual([
      'id', 'username', 'name', 'description', 'key_hash', 'status', 'user_groups', 'created_at', 'expires_at',
      'last_used_at', 'ephemeral', 'subscription', 'tenant', 'labels',
    ]);
    expect(ourCatalog.columns.find((c) => c.name === 'user_groups')?.type).toBe('text[]');
    expect(ourCatalog.columns.find((c) => c.name === 'tenant')?.default).toBe("'models-as-a-service'::text");
    expect(ourCatalog.indexes.map((i) => i.name)).toContain('idx_api_keys_key_hash_tenant');
    expect(ourCatalog.indexes.map((i) => i.name)).not.toContain('idx_api_keys_key_hash');
    expect(ourCatalog.indexes.find((i) => i.name === 'idx_api_keys_labels_gin')?.definition).toContain('jsonb_path_ops');
  });

  it('notices a difference: a catalog without the concurrent index is not upstream\'s', async () => {
    // Given our catalog with the concurrently built index left out
    const full = await tableCatalog(b);
    const without = { ...full, indexes: full.indexes.filter((i) => i.name !== CONCURRENT_INDEXES[0]!.name) };
    // Then the comparison would catch it
    expect(without).not.toEqual(await tableCatalog(a));
  });

  it('is idempotent and records progress the way golang-migrate does', async () => {
    // When migrate runs again on the migrated database
    const again = await migrate(b);
    // Then nothing is applied and schema_migrations holds one clean row at the latest version
    expect(again).toEqual({ from: LATEST_VERSION, to: LATEST_VERSION, applied: [] });
    const rows = (await b.query('SELECT version, dirty FROM schema_migrations')).rows;
    expect(rows).toEqual([{ version: String(LATEST_VERSION), dirty: false }]);
  });

  it('refuses a database left dirty by a failed migration', async () => {
    // Given a database whose last migration failed half-way
    const db = await startTestDb('schema-dirty');
    try {
      const c = await db.client();
      await c.query('CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)');
      await c.query('INSERT INTO schema_migrations VALUES (3, true)');
      // Then migrate stops and says at which version
      await expect(migrate(c)).rejects.toBeInstanceOf(DirtyDatabaseError);
      await expect(migrate(c)).rejects.toThrow(/dirty at version 3/);
    } finally {
      await db.close();
    }
  });

  it('rejects what upstream\'s constraints reject (bad status, labels that are not an object)', async () => {
    const insert = (status: string, labels: string | null) =>
      b.query(
        `INSERT INTO api_keys (id, username, name, key_hash, status, user_groups, subscription, labels)
         VALUES (gen_random_uuid()::text, 'alice', 'k', md5(random()::text), $1, ARRAY['g'], 'sub', $2::jsonb)`,
        [status, labels],
      );
    await expect(insert('active', '{"env":"prod"}')).resolves.toBeTruthy();
    await expect(insert('paused', null)).rejects.toThrow(/api_keys_status_check/);
    await expect(insert('active', '["not","an","object"]')).rejects.toThrow(/api_keys_labels_is_object/);
  });
});
