/**
 * The package as users get it. The working tree is copied (tracked and untracked files, as git
 * lists them) into a scratch directory and packed there with `npm pack`, which runs the `prepare`
 * script on a clean tree exactly as a publish would; the tarball is installed with `npm install`
 * into an empty directory outside the repository (dependencies from the npm registry), and from
 * there `npx maas-egress-demo` runs --version, up, validate, doctor and down on the local target
 * with its own state directory. Nothing of the repository is reachable from that directory: no
 * node_modules/.bin on PATH, no npm_* variables, no parent node_modules. (bench/package-size.ts
 * packs and installs the same way to measure the sizes in BENCHMARKS.md.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installTarball, packWorkingTree, runCommand, type CommandResult, type PackResult } from '../../bench/package-size.js';
import { pidAlive } from '../../src/targets/local/state.js';
import { cliEnv, ROOT } from '../helpers/run-cli.js';
import { DEFAULT_KEYS, readStateFile } from '../helpers/topology.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string } };
const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-package-'));
const consumer = join(work, 'consumer');
const stateDir = join(work, 'state');

/**
 * The environment of a user's shell: our helpers' scrubbed CLI environment, minus everything npm
 * sets for a script run by `npm test` (npm_* config, the repository's node_modules/.bin on PATH).
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cliEnv(stateDir, extra);
  for (const k of Object.keys(env)) if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE_OPTIONS' || k === 'NODE_PATH') delete env[k];
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '' && !d.split(sep).includes('node_modules'))
    .join(delimiter);
  return env;
}

const npx = (args: string[], timeoutMs = 60_000) => runCommand('npx', ['--no-install', 'maas-egress-demo', ...args], { cwd: consumer, env: userEnv(), timeoutMs });
const shown = (r: CommandResult) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

/** npm's own semver: whatever runs this test runs npm, and npm ships semver. */
function npmSemver(): { minVersion(range: string): { version: string } | null } {
  let dir = dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'npm') break;
    if (dirname(dir) === dir) throw new Error('cannot find the npm installation (for its semver)');
    dir = dirname(dir);
  }
  return createRequire(join(dir, 'package.json'))('semver') as never;
}

/** The lowest Node 20+ version a package.json `engines.node` range accepts. */
function lowestNode20(semver: ReturnType<typeof npmSemver>, range: string): string | undefined {
  return semver.minVersion(range.split('||').map((alt) => `${alt.trim()} >=20.0.0`).join(' || '))?.version;
}

/** Every package.json of the packages installed under `dir`/node_modules (scoped and nested included). */
function installedPackages(dir: string): { name: string; version: string; engines?: { node?: string } }[] {
  const out: { name: string; version: string; engines?: { node?: string } }[] = [];
  const walk = (nm: string) => {
    if (!existsSync(nm)) return;
    for (const entry of readdirSync(nm)) {
      if (entry.startsWith('.')) continue;
      const at = join(nm, entry);
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(at)) visit(join(at, scoped));
      } else visit(at);
    }
  };
  const visit = (at: string) => {
    const file = join(at, 'package.json');
    if (!existsSync(file)) return;
    out.push(JSON.parse(readFileSync(file, 'utf8')) as never);
    walk(join(at, 'node_modules'));
  };
  walk(join(dir, 'node_modules'));
  return out;
}

let pack: PackResult;
let install: CommandResult;
let pids: number[] = [];

beforeAll(async () => {
  // Given the working tree, packed the way `npm publish` packs it
  pack = await packWorkingTree(ROOT, work, userEnv());
  // and installed into an empty directory, as npx installs a package
  install = await installTarball(join(work, pack.filename), consumer, userEnv());
}, 480_000);

afterAll(async () => {
  // whatever happened, no hop of this test keeps running
  if (existsSync(stateDir)) await npx(['down', '--output', 'plain'], 30_000);
  for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('the packed tarball', () => {
  test('holds the program, its compiled steps, the manifests, the README and the LICENSE, and nothing else', () => {
    const paths = pack.files.map((f) => f.path).sort();
    // Then every file is one the program needs at run time
    const allowed = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^bin\/demo\.js$/, /^dist\/(src|steps)\/.+\.js$/, /^manifests\/[a-z0-9-]+\.yaml$/];
    expect(paths.filter((p) => !allowed.some((re) => re.test(p)))).toEqual([]);
    // no TypeScript source, test, benchmark or recording
    expect(paths.filter((p) => /\.tsx?$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => /^(dist\/)?(test|bench|recordings|steps|src)\//.test(p) && !/^dist\/(src|steps)\//.test(p))).toEqual([]);
    // and what it needs is there: the bin shim's target, every command, the hops, the simulators, every template
    const needed = ['bin/demo.js', 'LICENSE', 'dist/src/cli/entry.js', 'dist/src/cli/main.js', 'dist/steps/index.js', 'dist/src/targets/local/component.js', 'dist/src/sim/provider-sim.js', 'dist/src/sim/inference-sim.js'];
    expect(needed.filter((p) => !paths.includes(p))).toEqual([]);
    for (const cmd of ['up', 'validate', 'doctor', 'down', 'env', 'manifests', 'replay', 'tour']) expect(paths).toContain(`dist/src/cli/commands/${cmd}.js`);
    const templates = readdirSync(join(ROOT, 'manifests')).filter((f) => f.endsWith('.yaml')).map((f) => `manifests/${f}`);
    expect(templates.length).toBeGreaterThan(0);
    expect(templates.filter((t) => !paths.includes(t))).toEqual([]);
    // every compiled source module is shipped: a clean build of src/ and steps/ and the tarball agree
    const compiled = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
        .map((f) => `dist/${dir}/${f.split(sep).join('/').replace(/\.tsx?$/, '.js')}`);
    expect([...compiled('src'), ...compiled('steps')].filter((p) => !paths.includes(p))).toEqual([]);
    expect(pack.name).toBe(pkg.name);
    expect(pack.version).toBe(pkg.version);
    expect(pack.entryCount).toBe(pack.files.length);
  });

  test('installs from the npm registry with no install script run and no TypeScript', () => {
    expect(install.code, shown(install)).toBe(0);
    const installed = join(consumer, 'node_modules', 'maas-egress-demo');
    expect(existsSync(join(installed, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
    const files = readdirSync(installed, { recursive: true, encoding: 'utf8' }).filter((f) => !f.split(sep).includes('node_modules'));
    expect(files.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    // the bin is linked for npx
    expect(existsSync(join(consumer, 'node_modules', '.bin', 'maas-egress-demo'))).toBe(true);
    expect(existsSync(join(consumer, 'node_modules', '.bin', 'demo'))).toBe(true);
  });

  test('engines.node is the lowest Node 20 every runtime dependency accepts', () => {
    // Given every package the install brought in (the runtime dependencies, nested ones included)
    expect(install.code, shown(install)).toBe(0);
    const semver = npmSemver();
    const deps = installedPackages(consumer).filter((p) => p.name !== pkg.name);
    expect(deps.length).toBeGreaterThan(20);
    // When each one's engines.node is narrowed to Node 20
    const floors = deps.flatMap((p) => (p.engines?.node ? [{ who: `${p.name}@${p.version} (${p.engines.node})`, floor: lowestNode20(semver, p.engines.node) }] : []));
    expect(floors.filter((f) => f.floor === undefined).map((f) => f.who), 'dependencies that accept no Node 20').toEqual([]);
    const highest = [...floors].sort((a, b) => compare(b.floor!, a.floor!))[0]!;
    // Then ours says exactly that version: not lower (a dependency would break), not higher (for nothing)
    expect(lowestNode20(semver, pkg.engines.node), `the highest floor is ${highest.who}`).toBe(highest.floor);
    expect(pkg.engines.node).toBe(`>=${highest.floor}`);
  });
});

/** Orders two x.y.z versions. */
function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

describe('npx maas-egress-demo from the installed tarball', () => {
  test('--version, up, validate, doctor and down on the local target, each with its exit code and key output', async () => {
    expect(install.code, shown(install)).toBe(0);

    const version = await npx(['--version']);
    expect(version.code, shown(version)).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);

    const up = await npx(['up', '--output', 'plain']);
    expect(up.code, shown(up)).toBe(0);
    expect(up.stdout).toContain('Local topology ready');
    expect(up.stdout).toMatch(/MaaS gateway: https:\/\/127\.0\.0\.1:\d+/);
    expect(up.stdout).toContain(`state dir: ${stateDir}`);
    const state = readStateFile(stateDir)!;
    expect(state, 'up wrote its state where MAAS_EGRESS_DEMO_STATE_DIR says').toBeDefined();
    pids = Object.values(state.components).map((c) => c.pid);
    expect(pids.length).toBeGreaterThanOrEqual(7);
    // every hop runs from the installed package, none from the repository
    const installedSrc = join(realpathSync(consumer), 'node_modules', 'maas-egress-demo', 'dist', 'src');
    for (const pid of pids) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline[1], `hop pid ${pid}`).toMatch(new RegExp(`^${installedSrc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`));
    }

    const validate = await npx(['validate', '--output', 'json']);
    expect(validate.code, shown(validate)).toBe(0);
    const doc = JSON.parse(validate.stdout) as { ok: boolean; checks: { id: string; outcome: string }[] };
    expect(doc.ok).toBe(true);
    expect(doc.checks.map((c) => `${c.id} ${c.outcome}`)).toEqual(Array.from({ length: 10 }, (_, i) => `call-${i + 1} pass`));

    const doctor = await npx(['doctor', '--output', 'plain']);
    expect(doctor.code, shown(doctor)).toBe(0);
    for (const category of ['install', 'rewrites', 'key-injection', 'rate-limits', 'model-listing', 'exposure']) expect(doctor.stdout).toMatch(new RegExp(`^${category}$`, 'm'));
    expect(doctor.stdout).toContain('failed: 0');
    expect(doctor.stdout).not.toMatch(/^× /m);
    expect(doctor.stdout).toMatch(/√ done\s*$/);

    const down = await npx(['down', '--output', 'plain']);
    expect(down.code, shown(down)).toBe(0);
    expect(down.stdout).toContain('no process and no listening port left');
    expect(pids.filter((pid) => pidAlive(pid)), 'hops still running after down').toEqual([]);
    expect(existsSync(stateDir)).toBe(false);

    // no provider key or token in clear anywhere the user looked
    for (const r of [version, up, validate, doctor, down]) for (const key of [...Object.values(DEFAULT_KEYS), state.clusterToken, state.adminToken]) expect(`${r.stdout}${r.stderr}`).not.toContain(key);
  }, 240_000);

  test('bad input is one line with a hint and exit 2, no stack trace', async () => {
    expect(install.code, shown(install)).toBe(0);
    const r = await npx(['up', '--timeout', 'soon']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toMatch(/^error: --timeout must be a positive number of seconds; got "soon"\nhint: \S/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
  });
});
