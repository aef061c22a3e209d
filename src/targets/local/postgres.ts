/**
 * The PostgreSQL that maas-api keeps its `api_keys` table in. Upstream runs a real PostgreSQL and hands
 * maas-api its address in `DB_CONNECTION_URL`; the local target runs PGlite (PostgreSQL 18 compiled to
 * WASM) in a process of its own and serves it on loopback over the PostgreSQL wire protocol
 * (@electric-sql/pglite-socket), so maas-api connects with an ordinary client (`pg`) exactly as it
 * would to an external server, and a user can point it at one instead (`databaseUrl`).
 *
 * Start-up: PGlite's initdb costs 1.5–3 s of WASM on this machine. It runs once: the initialised,
 * empty cluster is dumped to a gzipped tar (4.5 MB) cached under the state dir, and every new data
 * directory is unpacked from it (~0.5 s). A data directory that exists is simply opened (~0.2–0.5 s),
 * which is how keys survive a restart of maas-api or of this process.
 *
 * Program: `node postgres.js --data-dir DIR [--template FILE] [--port N] [--port-file FILE]`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { UserError } from '../../core/errors.js';
import { intFlag, isMain, parseFlags, runCli, type RunningSim, stringFlag, UsageError } from '../../sim/sim-program.js';

/** The PGlite release in node_modules; a template made by another release is not reused. */
export function pgliteVersion(): string {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Where the embedded database lives in a state dir. `down` removes `data`; `cache` may stay. */
export function postgresPaths(stateDir: string) {
  return {
    data: join(stateDir, 'pgdata'),
    cache: join(stateDir, 'cache'),
    template: join(stateDir, 'cache', `pglite-${pgliteVersion()}-initdb.tar.gz`),
  };
}

/** The user, database and host PGlite serves (it has no authentication: any user name is accepted). */
export function embeddedDatabaseUrl(port: number, host = '127.0.0.1'): string {
  return `postgres://postgres@${host}:${port}/postgres`;
}

/**
 * Checks a connection URL the way maas-api does (`postgresql://` or `postgres://`, else it refuses to
 * start) and returns it trimmed. Errors never repeat the URL: it may hold a password.
 */
export function checkDatabaseUrl(raw: string): string {
  const url = raw.trim();
  if (!url.startsWith('postgresql://') && !url.startsWith('postgres://')) {
    throw new UserError(
      'invalid database URL: must start with postgresql:// or postgres://',
      'give a URL like postgresql://user:password@db.example.com:5432/maas (upstream: Secret maas-db-config, key DB_CONNECTION_URL)',
    );
  }
  try {
    const parsed = new URL(url);
    if (!parsed.hostname) throw new Error('no host');
  } catch {
    throw new UserError('invalid database URL: it does not parse as a URL with a host', 'check the URL for unescaped characters (percent-encode @, : and / in the password)');
  }
  return url;
}

/** The URL with any password replaced by `***`, for messages and `demo env`. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

export interface TemplateResult {
  file: string;
  /** True when this call ran initdb (the slow path) and wrote the template. */
  created: boolean;
  ms: number;
}

/**
 * Makes sure the initdb template exists: runs initdb in memory once and writes the dump atomically,
 * so two processes racing here both end with a complete file.
 */
export async function ensureTemplate(file: string): Promise<TemplateResult> {
  const started = performance.now();
  const ready = () => existsSync(file) && statSync(file).size > 0;
  if (ready()) return { file, created: false, ms: performance.now() - started };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // One initdb at a time per template: the others wait for its file instead of burning the CPU too.
  const lock = `${file}.lock`;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (ready()) return { file, created: false, ms: performance.now() - started };
      // A lock older than initdb could ever take was left by a process that died: take it over.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { force: true });
      } catch {
        /* gone meanwhile */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (ready()) return { file, created: false, ms: performance.now() - started };
    const db = await PGlite.create('memory://');
    try {
      const dump = await db.dumpDataDir('gzip');
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
      renameSync(tmp, file);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(lock, { force: true });
  }
  return { file, created: true, ms: performance.now() - started };
}

/** How the data directory came to be: opened as it was, unpacked from the template, or initdb'd. */
export type DataDirOrigin = 'existing' | 'template' | 'initdb';

export interface EmbeddedPostgres extends RunningSim {
  url: string;
  origin: DataDirOrigin;
  /** Milliseconds from the call to a database ready for queries (listening included). */
  startMs: number;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** The initdb template (see {@link ensureTemplate}); without one a new data dir runs initdb itself. */
  template?: string;
  port?: number;
  host?: string;
  /** Concurrent client connections; pglite-socket multiplexes them onto the one PGlite session. */
  maxConnections?: number;
}

/** A data directory PostgreSQL has initialised (PG_VERSION is written by initdb). */
export function isDataDir(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

/** Opens (or creates) the data directory and serves it over the wire protocol. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const started = performance.now();
  const host = options.host ?? '127.0.0.1';
  let origin: DataDirOrigin;
  let db: PGlite;
  if (isDataDir(options.dataDir)) {
    origin = 'existing';
    db = await PGlite.create({ dataDir: options.dataDir });
  } else {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    if (options.template) {
      await ensureTemplate(options.template);
      origin = 'template';
      db = await PGlite.create({
        dataDir: options.dataDir,
        loadDataDir: new Blob([readFileSync(options.template)], { type: 'application/x-gzip' }),
      });
    } else {
      origin = 'initdb';
      db = await PGlite.create({ dataDir: options.dataDir });
    }
  }
  const server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: options.maxConnections ?? 32 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
  let closing: Promise<void> | undefined;
  return {
    port,
    url: embeddedDatabaseUrl(port, host),
    origin,
    startMs: performance.now() - started,
    close: () =>
      (closing ??= (async () => {
        await server.stop();
        // close() checkpoints and flushes the data directory; without it the next open replays the WAL.
        await db.close();
      })()),
  };
}

// ---------------------------------------------------------------------------------------------------
// Program

const USAGE = `usage: postgres --data-dir DIR [--template FILE] [--port N] [--host ADDR] [--port-file FILE]
Serves PGlite (PostgreSQL in WASM) over the PostgreSQL wire protocol; no authentication, loopback by default.`;

const FLAGS = {
  'data-dir': { type: 'string' },
  template: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'port-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  await runCli('postgres', async () => {
    const values = parseFlags(argv, FLAGS);
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const dataDir = stringFlag(values['data-dir']);
    if (!dataDir) throw new UsageError('--data-dir is required');
    const template = stringFlag(values.template);
    const pg = await startEmbeddedPostgres({
      dataDir,
      ...(template ? { template } : {}),
      port: intFlag(values.port, 'port', 0, 0, 65535),
      host: stringFlag(values.host) ?? '127.0.0.1',
    });
    const portFile = stringFlag(values['port-file']);
    return {
      sim: pg,
      ...(portFile ? { portFile } : {}),
      banner: (port: number) =>
        `postgres (PGlite ${pgliteVersion()}) serving ${dataDir} on ${stringFlag(values.host) ?? '127.0.0.1'}:${port}; data directory ${
          pg.origin === 'existing' ? 'opened' : pg.origin === 'template' ? 'created from the initdb template' : 'created by initdb'} in ${Math.round(pg.startMs)} ms`,
    };
  });
}

if (isMain(import.meta.url)) void main();
