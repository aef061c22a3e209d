/**
 * The local target's state directory: where the running topology is recorded (ports, pids, CA,
 * the cluster-user token) so that `env`, `validate`, `doctor` and `down` can find it.
 * XDG state dir by default; MAAS_EGRESS_DEMO_STATE_DIR overrides it. Files holding secrets are 0600.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { GenerationId } from '../../generations/index.js';
import type { EraProvider } from '../../generations/subscription/providers.js';

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MAAS_EGRESS_DEMO_STATE_DIR) return env.MAAS_EGRESS_DEMO_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'maas-egress-demo');
}

export type ComponentName =
  | 'maas-api'
  | 'maas-gateway'
  | 'egress-gateway'
  | 'onprem-sim'
  | `provider-${string}`;

export interface ComponentState {
  pid: number;
  port: number;
  adminPort?: number;
}

export interface LocalState {
  format: 1;
  startedAt: string;
  /** host:port of the MaaS gateway (HTTPS). */
  host: string;
  caFile: string;
  /** Stand-in for `oc whoami -t`: an opaque token for the configured user. */
  clusterToken: string;
  /** Bearer token of the hops' admin listeners. */
  adminToken: string;
  components: Record<string, ComponentState>;
  /** Steps that completed. */
  steps: string[];
  faults: string[];
  vllm: { enabled: boolean; remote: boolean; url?: string };
  strictBudget: boolean;
  /** How each workload was started, so a stopped one starts again the same way (holds keys: 0600). */
  launches?: Record<string, { name: string; script: string; args: string[]; env: Record<string, string> }>;
  /** Started with `--hardened` (the topology's own fields say what that changed). */
  hardened?: boolean;
  /** The MaaS generation this topology runs (absent: the tier era, as before generations existed). */
  generation?: GenerationId;
  /** The subscription era's own facts: where its database is, which providers it stands in for. */
  era?: {
    /** `--database-url` (may hold a password: this file is 0600); absent: the embedded PGlite. */
    databaseUrl?: string;
    providers: EraProvider[];
  };
}

export const paths = (dir: string) => ({
  dir,
  state: join(dir, 'state.json'),
  lock: join(dir, 'up.lock'),
  run: join(dir, 'run'),
  spec: join(dir, 'spec'),
  logs: join(dir, 'logs'),
  tls: join(dir, 'tls'),
  caCert: join(dir, 'tls', 'ca.pem'),
  serverCert: join(dir, 'tls', 'server.pem'),
  serverKey: join(dir, 'tls', 'server-key.pem'),
  signingKey: join(dir, 'tls', 'token-signing-key.json'),
  /** The install's key for key fingerprints (HMAC): hops, simulators, validate and doctor share it. */
  fingerprintKey: join(dir, 'tls', 'fingerprint.key'),
  config: join(dir, 'config.json'),
  /** The applied objects (keys in clear: 0600). */
  objects: join(dir, 'objects.json'),
  /** The subscription era's PostgreSQL data directory (the API keys): `down` removes it. */
  pgdata: join(dir, 'pgdata'),
  /** The provider simulators' certificates (subscription era). */
  providerTls: join(dir, 'tls', 'providers'),
  runFile: (name: string) => join(dir, 'run', `${name}.json`),
  specFile: (name: string) => join(dir, 'spec', `${name}.json`),
  logFile: (name: string) => join(dir, 'logs', `${name}.log`),
});

/** File system errors that mean "this directory is not usable by you", not a defect of ours. */
const UNUSABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'ELOOP', 'ENAMETOOLONG']);

/**
 * Runs a file operation on the state directory; a directory that cannot be used (not writable, read
 * only, a file in the way, disk full) becomes a one-line UserError (exit 2) naming the directory and
 * how to pick another, instead of a raw EACCES.
 */
export function inStateDir<T>(dir: string, what: string, op: () => T, also: readonly string[] = []): T {
  try {
    return op();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && (UNUSABLE.has(code) || also.includes(code))) {
      throw new UserError(
        `cannot ${what} in the state directory ${dir} (${code})`,
        'make it writable, or point MAAS_EGRESS_DEMO_STATE_DIR (or XDG_STATE_HOME) at a directory you can write',
      );
    }
    throw err;
  }
}

export function ensureDirs(dir: string): void {
  const p = paths(dir);
  // EEXIST here: a file where a directory should be.
  inStateDir(dir, 'create directories', () => {
    for (const d of [p.dir, p.run, p.spec, p.logs, p.tls]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }, ['EEXIST']);
}

/** Writes JSON atomically with the given mode (0600 for anything holding a secret). */
export function writeJson(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readState(dir: string): LocalState | undefined {
  return readJson<LocalState>(paths(dir).state);
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A detached hop whose parent has exited is reaped by init; until then it is a zombie, not alive.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Takes the `up` lock: exactly one `up` (or `down`) works on a state dir at a time. A lock left by a
 * dead process is taken over. Returns the release function.
 */
export function acquireLock(dir: string, what: string): () => void {
  ensureDirs(dir);
  const file = paths(dir).lock;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = inStateDir(dir, 'take the lock', () => openSync(file, 'wx', 0o600));
      writeSync(fd, String(process.pid));
      closeSync(fd);
      // Release only our own lock: a cleanup must never remove another process's.
      return () => {
        try {
          if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (pidAlive(holder) && holder !== process.pid) {
        throw new UserError(
          `another demo command is already working on ${dir} (pid ${holder}); ${what} not started`,
          'wait for it to finish, or stop it with Ctrl-C; a lock left by a dead process is taken over automatically',
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new UserError(`could not take the lock ${file}`, 'remove the file if no demo command is running');
}
