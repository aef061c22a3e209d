/**
 * The `api_keys` table of maas-api (subscription era), built migration by migration so that the
 * result matches upstream's schema column for column, index for index (test/subscription/schema
 * compares the catalogs). The migrations are ours; the facts are upstream's (maas-api/db/schema
 * 0001–0006 plus the one index maas-api creates CONCURRENTLY outside a transaction).
 *
 * Progress is kept the way golang-migrate keeps it (maas-api uses it): one row in
 * `schema_migrations(version, dirty)`. A database migrated by a real maas-api is therefore recognised
 * as up to date, and one we migrated can be handed to a real maas-api.
 */

/** What the migrator needs from a client: `pg`'s Client, PoolClient and Pool all fit. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

export interface Migration {
  version: number;
  name: string;
  /** Statements run in one transaction with the version bump. */
  up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create_api_keys',
    up: `
      CREATE TABLE IF NOT EXISTS api_keys (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL,
        name          TEXT NOT NULL,
        description   TEXT,
        key_hash      TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'active',
        user_groups   TEXT[] NOT NULL,
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at    TIMESTAMPTZ,
        last_used_at  TIMESTAMPTZ,
        CONSTRAINT api_keys_status_check CHECK (status IN ('active', 'revoked', 'expired'))
      );
      -- a user's keys, newest first (search)
      CREATE INDEX IF NOT EXISTS idx_api_keys_username_created ON api_keys (username, created_at DESC);
      -- the validation lookup (replaced by a per-tenant index in version 5)
      CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_key_hash ON api_keys (key_hash);
      CREATE INDEX IF NOT EXISTS idx_api_keys_last_used ON api_keys (last_used_at) WHERE last_used_at IS NOT NULL;
      CREATE INDEX IF NOT EXISTS idx_api_keys_user_groups ON api_keys USING gin (user_groups);`,
  },
  {
    version: 2,
    name: 'add_ephemeral_column',
    up: `
      ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS ephemeral BOOLEAN NOT NULL DEFAULT false;
      -- the cleanup job's scan of expired ephemeral keys
      CREATE INDEX IF NOT EXISTS idx_api_keys_ephemeral_expired ON api_keys (status, expires_at) WHERE ephemeral = true;`,
  },
  {
    version: 3,
    name: 'add_subscription_column',
    up: `ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS subscription TEXT NOT NULL;`,
  },
  {
    version: 4,
    name: 'add_tenant_column',
    up: `
      ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS tenant TEXT NOT NULL DEFAULT 'models-as-a-service';
      CREATE INDEX IF NOT EXISTS idx_api_keys_tenant_username_created ON api_keys (tenant, username, created_at DESC);`,
  },
  {
    version: 5,
    name: 'add_tenant_key_hash_index',
    up: `
      DROP INDEX IF EXISTS idx_api_keys_key_hash;
      CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_key_hash_tenant ON api_keys (key_hash, tenant);`,
  },
  {
    version: 6,
    name: 'add_labels_column',
    up: `
      ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS labels JSONB DEFAULT NULL;
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'api_keys_labels_is_object') THEN
          ALTER TABLE api_keys ADD CONSTRAINT api_keys_labels_is_object CHECK (labels IS NULL OR jsonb_typeof(labels) = 'object');
        END IF;
      END
      $$;`,
  },
];

/** Indexes maas-api builds after the migrations, CONCURRENTLY (which a transaction cannot hold). */
export const CONCURRENT_INDEXES: readonly { name: string; sql: string }[] = [
  { name: 'idx_api_keys_labels_gin', sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_api_keys_labels_gin ON api_keys USING gin (labels jsonb_path_ops)' },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** A database left half-migrated (golang-migrate's "dirty" flag); nothing is run until a person looks. */
export class DirtyDatabaseError extends Error {
  constructor(readonly version: number) {
    super(`the api_keys schema is dirty at version ${version} (a migration failed half-way)`);
    this.name = 'DirtyDatabaseError';
  }
}

export interface MigrateResult {
  from: number | null;
  to: number;
  applied: number[];
}

/** Arbitrary constant for pg_advisory_lock: two maas-api processes never migrate at once. */
const MIGRATION_LOCK = 7_354_129_001;

/** Brings the schema to {@link LATEST_VERSION}; a no-op on an up-to-date database. */
export async function migrate(db: Queryable): Promise<MigrateResult> {
  await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)');
    const current = await db.query('SELECT version, dirty FROM schema_migrations LIMIT 1');
    const row = current.rows[0];
    const from = row ? Number(row.version) : null;
    if (row?.dirty === true) throw new DirtyDatabaseError(Number(row.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (from !== null && m.version <= from) continue;
      await db.query('BEGIN');
      try {
        await db.query('DELETE FROM schema_migrations');
        await db.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, true)', [m.version]);
        await db.query(m.up);
        await db.query('UPDATE schema_migrations SET dirty = false');
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
      applied.push(m.version);
    }
    for (const c of CONCURRENT_INDEXES) await db.query(c.sql);
    return { from, to: LATEST_VERSION, applied };
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}

export interface TableCatalog {
  columns: { name: string; position: number; type: string; nullable: boolean; default: string | null }[];
  indexes: { name: string; definition: string }[];
  constraints: { name: string; type: string; definition: string }[];
}

/**
 * What PostgreSQL itself says about a table: columns (with the formatted type, so `text[]` and
 * `timestamp with time zone` are told apart), index definitions and constraint definitions as
 * pg_get_indexdef / pg_get_constraintdef print them. Two tables with equal catalogs are the same schema.
 */
export async function tableCatalog(db: Queryable, table = 'api_keys'): Promise<TableCatalog> {
  const cols = await db.query(
    `SELECT a.attname AS name, a.attnum AS position, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS "default"
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [table],
  );
  const idx = await db.query(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass ORDER BY c.relname`,
    [table],
  );
  const cons = await db.query(
    `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY conname`,
    [table],
  );
  return {
    columns: cols.rows.map((r) => ({
      name: String(r.name),
      position: Number(r.position),
      type: String(r.type),
      nullable: r.nullable === true,
      default: r.default === null || r.default === undefined ? null : String(r.default),
    })),
    indexes: idx.rows.map((r) => ({ name: String(r.name), definition: String(r.definition) })),
    constraints: cons.rows.map((r) => ({ name: String(r.name), type: String(r.type), definition: String(r.definition) })),
  };
}
