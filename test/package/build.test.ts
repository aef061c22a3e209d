/**
 * The build the tests run against (test/helpers/global-setup.ts): every vitest run compiles the current
 * sources, a type error stops the run with tsc's message, and no output outlives its source.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { build } from '../helpers/global-setup.js';
import { ROOT } from '../helpers/run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
}

/** A tiny project laid out like ours, with the repository's TypeScript. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(work, 'p-'));
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, rootDir: '.', outDir: 'dist', types: [] }, include: ['src'] }));
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'] }));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe('the build under test', () => {
  test('every source module of src/, steps/ and bench/ is compiled, no older than its source, and dist/ has nothing else', () => {
    for (const dir of ['src', 'steps', 'bench']) {
      const srcs = sources(dir);
      expect(srcs.length, dir).toBeGreaterThan(0);
      for (const src of srcs) {
        const out = join(ROOT, 'dist', src.replace(/\.tsx?$/, '.js'));
        expect(existsSync(out), out).toBe(true);
        expect(statSync(out).mtimeMs, `${out} is older than ${src}`).toBeGreaterThanOrEqual(statSync(join(ROOT, src)).mtimeMs);
      }
      const outs = readdirSync(join(ROOT, 'dist', dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
      const expected = new Set(srcs.map((s) => s.slice(dir.length + 1).replace(/\.tsx?$/, '.js')));
      expect(outs.filter((f) => !expected.has(f)).map((f) => `dist${sep}${dir}${sep}${f}`), 'outputs without a source').toEqual([]);
    }
  });

  test('a type error stops the run with tsc’s message instead of testing emitted JavaScript', () => {
    const root = project({ 'src/a.ts': "export const n: number = 'not a number';\n" });
    expect(() => build(root)).toThrow(/the sources do not compile[\s\S]*src\/a\.ts\(1,14\): error TS2322/);
  });

  test('an output whose source was deleted or renamed is removed', () => {
    const root = project({ 'src/kept.ts': 'export const k = 1;\n', 'src/sub/also.ts': 'export const a = 2;\n' });
    mkdirSync(join(root, 'dist', 'src', 'gone'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'old-name.js'), 'export {};\n');
    writeFileSync(join(root, 'dist', 'src', 'gone', 'x.js'), 'export {};\n');
    build(root);
    expect(readdirSync(join(root, 'dist', 'src'), { recursive: true, encoding: 'utf8' }).sort()).toEqual(['kept.js', 'sub', join('sub', 'also.js')]);
  });
});
