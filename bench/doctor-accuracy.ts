/**
 * Doctor's accuracy, measured: `npm run bench:doctor` runs `demo doctor --self-test` (the named faults)
 * and `demo doctor --self-test --mutations 40` for three seeds, each on its own private local topology,
 * and writes the scores into the doctor section of BENCHMARKS.md with the commands that produced them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './package-size.js';
import { table, writeSection } from './report.js';

interface Doc {
  ok: boolean;
  summaries: { title: string; facts: Record<string, string | number | boolean> }[];
  checks: { id: string; outcome: string }[];
}

const root = repoRoot();
const bin = join(root, 'bin', 'demo.js');

function doctor(args: string[]): { doc: Doc; ms: number } {
  const t0 = performance.now();
  let out: string;
  try {
    out = execFileSync(process.execPath, [bin, 'doctor', '--self-test', ...args, '--output', 'json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: '1' } });
  } catch (err) {
    // A failing self-test exits 1 and still prints its document.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  return { doc: JSON.parse(out) as Doc, ms: Math.round(performance.now() - t0) };
}

const rows: (string | number)[][] = [];
const faults = doctor([]);
const named = faults.doc.summaries.find((s) => s.title === 'Doctor self-test')?.facts;
rows.push(['`demo doctor --self-test`', String(named?.score ?? '?'), String(named?.['false alarms on the healthy topology'] ?? '?'), '–', `${(faults.ms / 1000).toFixed(1)} s`]);
for (const seed of [7, 1, 42]) {
  const r = doctor(['--mutations', '40', '--seed', String(seed)]);
  const f = r.doc.summaries.find((s) => s.title === 'Doctor self-test (mutations)')?.facts ?? {};
  rows.push([`\`demo doctor --self-test --mutations 40 --seed ${seed}\``, `${f.score} (${f.named})`, String(f.falseAlarms), String(f.benign), `${(r.ms / 1000).toFixed(1)} s`]);
}

const body = [
  '## Doctor accuracy',
  '',
  `Command: \`npm run build && npm run bench:doctor\`, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}. Each line is one run on a private local topology.`,
  'A mutation has a symptom when a validation call fails on it; the score is the share of those doctor names at the right hop.',
  'False alarms are findings on the unedited objects; benign mutations (no symptom) must get no finding either.',
  '',
  table(['run', 'score', 'false alarms', 'benign mutations', 'wall time'], rows),
  '',
].join('\n');
writeSection(join(root, 'BENCHMARKS.md'), 'doctor', body);
console.log(body);
