/**
 * Start-up of the embedded PostgreSQL (src/targets/local/postgres.ts), each path in a fresh process
 * so the WASM compile is paid every time as under `up`: the postgres program started by the launcher
 * until its port is recorded, for (a) a new data dir without a template (initdb), (b) a new data dir
 * unpacked from the cached template, (c) an existing data dir reopened. Rounds interleave the three.
 * `node dist/bench/postgres-start.js [rounds]` prints one JSON object with the medians; run.ts may
 * fold it into BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, scriptPath, stopAndWait } from '../src/targets/local/launcher.js';
import { ensureDirs } from '../src/targets/local/state.js';
import { ensureTemplate, postgresPaths } from '../src/targets/local/postgres.js';

export interface PostgresStartFigures {
  rounds: number;
  initdbMs: number;
  templateMs: number;
  reopenMs: number;
  templateCreateMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timedStart(dir: string, template: string | undefined): Promise<number> {
  const args = ['--data-dir', postgresPaths(dir).data, '--port-file', '{portFile}', ...(template ? ['--template', template] : [])];
  const t0 = performance.now();
  const state = await launch(dir, { name: 'postgres', script: scriptPath('targets/local/postgres.js'), args, env: {} }, { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  await stopAndWait(state.pid);
  return ms;
}

export async function measurePostgresStart(rounds = 3): Promise<PostgresStartFigures> {
  const root = mkdtempSync(join(tmpdir(), 'maas-egress-demo-bench-pg-'));
  try {
    const template = join(root, 'cache', 'initdb.tar.gz');
    const made = await ensureTemplate(template);
    const initdb: number[] = [];
    const fromTemplate: number[] = [];
    const reopen: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const a = join(root, `initdb-${r}`);
      const b = join(root, `template-${r}`);
      ensureDirs(a);
      ensureDirs(b);
      initdb.push(await timedStart(a, undefined));
      fromTemplate.push(await timedStart(b, template));
      reopen.push(await timedStart(b, template));
    }
    return { rounds, initdbMs: median(initdb), templateMs: median(fromTemplate), reopenMs: median(reopen), templateCreateMs: made.ms };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('postgres-start.js')) {
  const rounds = Number(process.argv[2] ?? 3);
  measurePostgresStart(Number.isInteger(rounds) && rounds > 0 ? rounds : 3).then(
    (f) => process.stdout.write(`${JSON.stringify(f)}\n`),
    (err: unknown) => {
      process.stderr.write(`postgres-start: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
