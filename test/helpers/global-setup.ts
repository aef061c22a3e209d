/**
 * Vitest global setup: compiles the current sources into dist/ once per test run, before any worker
 * starts, so every test that runs the CLI as a process (bin/demo.js → dist/) or starts hop processes
 * tests what is in the tree now, never an older build. A type error fails the whole run here, with
 * tsc's own messages, instead of letting the tests run against JavaScript emitted from broken code.
 *
 * After compiling, outputs whose source file no longer exists (a renamed or deleted module) are
 * removed, so nothing can import a stale module that the sources no longer have.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { ROOT } from './run-cli.js';

/** Directories tsconfig.build.json compiles, each to dist/<dir>. */
const SOURCE_DIRS = ['src', 'steps', 'bench'];

/** Compiles `root` with its tsconfig.build.json into root/dist, then prunes stale outputs; throws on any tsc error. */
export function build(root = ROOT): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
  if (r.error) throw new Error(`could not run tsc: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout}${r.stderr}`.trim();
    throw new Error(`the sources do not compile (tsc -p tsconfig.build.json exited ${r.status}); no test ran against them:\n${out}`);
  }
  for (const dir of SOURCE_DIRS) pruneStale(join(root, 'dist', dir), join(root, dir));
}

/** Removes every .js under `outDir` whose .ts/.tsx source under `srcDir` is gone. */
function pruneStale(outDir: string, srcDir: string): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    const out = join(outDir, name);
    if (statSync(out).isDirectory()) {
      pruneStale(out, join(srcDir, name));
      if (readdirSync(out).length === 0) rmSync(out, { recursive: true });
      continue;
    }
    if (!name.endsWith('.js')) continue;
    const stem = join(srcDir, name.slice(0, -'.js'.length));
    if (!existsSync(`${stem}.ts`) && !existsSync(`${stem}.tsx`)) rmSync(out);
  }
}

export default function setup(): void {
  const began = Date.now();
  build();
  console.log(`global setup: compiled ${relative(process.cwd(), ROOT) || '.'} into dist/ in ${Date.now() - began} ms`);
}
