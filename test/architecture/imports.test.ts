/**
 * The layering of src/ as the architecture promises it, checked with dependency-cruiser on the real
 * import graph (type-only imports included): no cycles, nothing below the CLI imports it, only the
 * factory knows the target kinds, and every module is used by the program (no test-only code in src).
 * The rules live in .dependency-cruiser.cjs; a planted violation proves each one can fail.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/run-cli.js';

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

function cruise(extra: string[] = []): Violation[] {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', 'steps', ...extra, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  expect(r.stdout, r.stderr).toMatch(/^\s*\{/);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(out.summary.totalCruised).toBeGreaterThan(100);
  return out.summary.violations;
}

const describeViolation = (v: Violation) => `${v.rule.name}: ${v.from} → ${v.cycle?.map((c) => c.name).join(' → ') ?? v.to}`;

describe('the import graph of src/', () => {
  test('has no cycle, no import of the CLI from below, no target kind outside the factory, no test-only module', () => {
    expect(cruise().map(describeViolation)).toEqual([]);
  }, 60_000);

  test('each rule fails on a planted violation', () => {
    // Given a scratch tree with one module per broken rule, cruised together with src/
    const dir = mkdtempSync(join(ROOT, 'src', 'architecture-probe-'));
    try {
      const rel = dir.slice(ROOT.length + 1);
      const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
      write('orphan.ts', 'export const unused = 1;\n');
      // A module under src/core importing the CLI (and the CLI never importing it back).
      writeFileSync(join(ROOT, 'src', 'core', `${rel.split('/').pop()}-probe.ts`), "import type { Io } from '../cli/define.js';\nexport type Probe = Io;\n");
      // A check reaching a target kind directly instead of through the factory.
      writeFileSync(join(ROOT, 'src', 'checks', `${rel.split('/').pop()}-probe.ts`), "import type { LocalState } from '../targets/local/state.js';\nexport type Probe = LocalState;\n");
      // Each target kind reaching into the other.
      writeFileSync(join(ROOT, 'src', 'targets', 'cluster', `${rel.split('/').pop()}-probe.ts`), "import type { LocalState } from '../local/state.js';\nexport type Probe = LocalState;\n");
      writeFileSync(join(ROOT, 'src', 'targets', 'local', `${rel.split('/').pop()}-probe.ts`), "import type { DemoState } from '../cluster/state.js';\nexport type Probe = DemoState;\n");
      write('a.ts', "import type { B } from './b.js';\nexport type A = B;\n");
      write('b.ts', "import type { A } from './a.js';\nexport type B = A | 1;\n");
      // When
      const names = cruise().map(describeViolation);
      // Then
      expect(names.some((n) => n.startsWith('no-cycles:') && n.includes('a.ts') && n.includes('b.ts'))).toBe(true);
      expect(names.some((n) => n.startsWith('cli-is-the-top:') && n.includes('src/core/'))).toBe(true);
      expect(names.some((n) => n.startsWith('used-by-the-program:') && n.includes('orphan.ts'))).toBe(true);
      expect(names.some((n) => n.startsWith('one-factory-knows-the-kinds:') && n.includes('src/checks/'))).toBe(true);
      expect(names.some((n) => /^target-kinds-apart: src\/targets\/cluster\/\S+ → src\/targets\/local\//.test(n))).toBe(true);
      expect(names.some((n) => /^target-kinds-apart: src\/targets\/local\/\S+ → src\/targets\/cluster\//.test(n))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      for (const layer of ['core', 'checks', 'targets/cluster', 'targets/local']) rmSync(join(ROOT, 'src', layer, `${dir.split('/').pop()}-probe.ts`), { force: true });
    }
  }, 60_000);
});
