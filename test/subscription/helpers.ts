/**
 * Shared pieces of the subscription-era tests: a PGlite server per test (unpacked from one initdb
 * template shared by all test files, so only the first test of a run pays for initdb), `pg` clients
 * that are always closed, and the upstream documents the faithfulness tests read.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pgliteVersion, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/targets/local/postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

/** One initdb template for every test file of this machine (atomic writes make sharing safe). */
export const SHARED_TEMPLATE = join(tmpdir(), 'maas-egress-demo-test-cache', `pglite-${pgliteVersion()}-initdb.tar.gz`);
/** The same cache for `demo up --maas subscription` in tests (MAAS_EGRESS_DEMO_CACHE_DIR). */
export const SHARED_CACHE = dirname(SHARED_TEMPLATE);

export interface TestDb {
  pg: EmbeddedPostgres;
  dir: string;
  client(): Promise<pg.Client>;
  close(): Promise<void>;
}

/** A fresh PGlite served on a loopback port; `close()` stops it, closes clients and removes its files. */
export async function startTestDb(label = 'db'): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), `maas-egress-demo-test-${label}-`));
  const server = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), template: SHARED_TEMPLATE });
  const clients: pg.Client[] = [];
  return {
    pg: server,
    dir,
    async client() {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A directory of upstream documents: the environment variable when set, else shared/upstream beside
 * the repository (as CI has it). Returns the reason when absent so a test can fail with it.
 */
export function upstreamDir(envName: string, rel: string): { dir: string } | { reason: string } {
  const env = process.env[envName];
  if (env) return existsSync(env) ? { dir: env } : { reason: `${envName}=${env} does not exist` };
  const beside = join(repoRoot, '..', 'shared', 'upstream', rel);
  return existsSync(beside) ? { dir: beside } : { reason: `${beside} does not exist; set ${envName} to the directory` };
}
