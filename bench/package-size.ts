/**
 * The package as `npm publish` would make it, and what installing it costs: `npm run bench:package`
 * copies the working tree (the files git lists) into a scratch directory, runs `npm pack` there (its
 * `prepare` script empties dist/ and compiles the sources, so stale build output cannot slip in),
 * installs the tarball into an empty directory from the npm registry, and writes the sizes into the
 * package section of BENCHMARKS.md. test/package/package.test.ts uses the same two steps.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from './report.js';

export interface PackFile {
  path: string;
  size: number;
}

/** What `npm pack --json` reports for the tarball. */
export interface PackResult {
  name: string;
  version: string;
  filename: string;
  /** Bytes of the gzipped tarball. */
  size: number;
  /** Sum of the bytes of its files. */
  unpackedSize: number;
  entryCount: number;
  files: PackFile[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The repository root: the nearest ancestor of this module whose package.json names this package. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'maas-egress-demo') return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the maas-egress-demo package root');
    dir = dirname(dir);
  }
}

/** Runs a program to completion (never throws; the exit code says how it went). */
export function runCommand(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      done({ code, stdout, stderr: err && !stderr ? err.message : stderr });
    });
  });
}

/**
 * Copies the files git knows of (tracked, and untracked but not ignored) from `root` into `to`, and
 * links root's node_modules there for the build tools.
 */
export function copyWorkingTree(root: string, to: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  for (const rel of listed.split('\0').filter(Boolean)) {
    const from = join(root, rel);
    if (!existsSync(from) || !statSync(from).isFile()) continue; // deleted in the tree, or a submodule
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    copyFileSync(from, join(to, rel));
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

/** Copies the working tree into `work`/stage and packs it there; the tarball lands in `work`. */
export async function packWorkingTree(root: string, work: string, env?: NodeJS.ProcessEnv): Promise<PackResult> {
  const stage = join(work, 'stage');
  copyWorkingTree(root, stage);
  const r = await runCommand('npm', ['pack', '--json', '--pack-destination', work], { cwd: stage, timeoutMs: 240_000, ...(env ? { env } : {}) });
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return (JSON.parse(r.stdout) as PackResult[])[0]!;
}

/** `npm install <tarball>` into `dir` (created empty), the way npx installs a package. */
export function installTarball(tarball: string, dir: string, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  mkdirSync(dir, { recursive: true });
  return runCommand('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: dir, timeoutMs: 240_000, ...(env ? { env } : {}) });
}

/** Bytes of every file under `dir` (symbolic links not followed). */
function sizeOf(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    if (st.isDirectory()) bytes += sizeOf(join(dir, name));
    else if (st.isFile()) bytes += st.size;
  }
  return bytes;
}

/** The top-level packages of a node_modules directory (scoped ones as `@scope/name`) with their sizes. */
function packageSizes(nm: string): [string, number][] {
  return readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => `${n}/${s}`) : [n]))
    .map((n): [string, number] => [n, sizeOf(join(nm, n))]);
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const int = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-package-size-'));
  try {
    const pack = await packWorkingTree(root, work);
    const consumer = join(work, 'consumer');
    const install = await installTarball(join(work, pack.filename), consumer);
    if (install.code !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr.slice(-3000)}`);
    const added = /added (\d+) packages?/.exec(`${install.stdout}${install.stderr}`)?.[1];
    const nm = join(consumer, 'node_modules');
    const bytes = sizeOf(nm);
    const biggest = packageSizes(nm).sort((a, b) => b[1] - a[1]).slice(0, 3);
    const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
    const body = [
      '## Package size',
      '',
      'Command: `npm run build && npm run bench:package` (bench/package-size.ts): the working tree is copied and packed with',
      '`npm pack` (its `prepare` script empties dist/ and compiles the sources, so the figures are those of a clean build),',
      'then the tarball is installed with `npm install <tarball>` into an empty directory, dependencies from the npm registry.',
      `Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, npm ${npmVersion}.`,
      '',
      '| what | size |',
      '| --- | --- |',
      `| tarball (gzipped) | ${int(pack.size)} bytes (${kib(pack.size)}) |`,
      `| unpacked | ${int(pack.unpackedSize)} bytes (${kib(pack.unpackedSize)}) in ${pack.entryCount} files: bin/demo.js, dist/src and dist/steps (compiled JS), manifests/*.yaml, README.md, package.json |`,
      `| installed with its dependencies | ${added ?? '?'} packages added, ${mib(bytes)} of files in node_modules; largest: ${biggest.map(([n, s]) => `${n} ${mib(s)}`).join(', ')} |`,
      '',
      'Sizes are bytes of file content (not disk blocks). test/package/package.test.ts packs and installs the same way on',
      'every test run, asserts the file list (no TypeScript source, test, benchmark or recording) and runs',
      '`npx maas-egress-demo` --version, up, validate, doctor and down from the installed tarball.',
    ].join('\n');
    writeSection(join(root, 'BENCHMARKS.md'), 'package', body);
    process.stderr.write(`[package] tarball ${int(pack.size)} bytes, unpacked ${int(pack.unpackedSize)} bytes; wrote BENCHMARKS.md (package section)\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`[package] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
