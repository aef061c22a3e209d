// `npm run bench:cluster`: what `demo up --target cluster` asks of an API server, counted from the rehearsal
// cluster's request log, for each preset: requests per waited object (the informers' LISTs and WATCHes over
// the conditions the run waited for), and per preflight. Writes the cluster-requests section of BENCHMARKS.md.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { table, writeSection } from '../../bench/report.js';
import { crdsDir, type PresetName } from './seed.js';
import { defaultCrdsDirFromRepository, repositoryRoot } from './repository.js';
import { startKubeApi, type RequestRecord } from './server.js';

defaultCrdsDirFromRepository();
const REPO = repositoryRoot();
// the CLI as `npm run build` compiled it into dist/ (it finds package.json and manifests/ from there)
const { main } = (await import(pathToFileURL(join(REPO, 'dist', 'src', 'cli', 'main.js')).href)) as typeof import('../../src/cli/main.js');

interface PresetRun {
  preset: PresetName;
  code: number;
  end: string;
  requests: RequestRecord[];
  preflight: RequestRecord[];
  waits: { condition: string; step: string }[];
  waitRequests: RequestRecord[];
}

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

function wgDir(root: string): string {
  const dir = join(root, 'wg', 'backend', 'k8s', 'crds');
  mkdirSync(dir, { recursive: true });
  for (const f of ['ainetworking.prototype.x-k8s.io_xbackenddestinations.yaml', 'ainetworking.prototype.x-k8s.io_backends.yaml']) copyFileSync(join(crdsDir(), f), join(dir, f));
  return join(root, 'wg');
}

async function runUp(preset: PresetName): Promise<PresetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-count-'));
  const api = await startKubeApi({ preset, controllerDelayMs: 20, bookmarkIntervalMs: 60_000 });
  try {
    const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'));
    const from = api.requests.length;
    let out = '';
    let err = '';
    const code = await main(['up', '--target', 'cluster', '--output', 'ndjson', '--wg-dir', wgDir(dir), '--timeout', '60'], {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      env: { CI: '1', KUBECONFIG: kubeconfig, HOME: dir, PATH: process.env['PATH'] ?? '' },
      isTTY: false,
      columns: 100,
      confirm: async () => false,
    });
    if (code !== 0 && !out.includes('"run-end"')) throw new Error(`demo up (${preset}) failed: ${err.trim()}`);
    const events = out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = api.requests.slice(from);
    // preflight ends where the run writes for the first time (the state ConfigMap of step 1)
    const firstWrite = requests.findIndex((q) => q.verb !== undefined && WRITES.has(q.verb) && !q.resource?.startsWith('authorization.k8s.io/'));
    const preflight = firstWrite < 0 ? requests : requests.slice(0, firstWrite);
    const after = firstWrite < 0 ? [] : requests.slice(firstWrite);
    const waits = events.filter((e) => e['kind'] === 'wait' && e['state'] === 'met' && e['step'] !== 'preflight').map((e) => ({ condition: String(e['condition']), step: String(e['step']) }));
    const waitRequests = after.filter((q) => q.verb === 'list' || q.verb === 'watch');
    const endEvent = events.find((e) => e['kind'] === 'run-end') as { ok?: boolean; error?: { message?: string } } | undefined;
    return { preset, code, end: endEvent?.ok ? 'ready' : `stopped: ${(endEvent?.error?.message ?? '').slice(0, 90)}…`, requests, preflight, waits, waitRequests };
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const count = (rs: RequestRecord[], f: (q: RequestRecord) => boolean) => rs.filter(f).length;

function report(runs: PresetRun[], ms: number): string {
  const lines: string[] = ['## Cluster target: requests to the API server', ''];
  lines.push(`Command: \`npm run bench:cluster\` (\`test/kube-api/count-requests.ts\`, compiled by \`tsc -b tsconfig.kube-api.json\`); the run took ${Math.round(ms / 1000)} s.`, '');
  lines.push(`Machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end. Counts barely depend on the machine, but differ by a cache or two between runs: a rollout wait reads its pods and ReplicaSets only while the rollout is incomplete when it looks.`, '');
  lines.push(
    'Method: `demo up --target cluster` runs in-process against the rehearsal cluster (`npm run kube-api`) started with each preset, and every request the server answers is taken from its request log. ' +
      'Preflight is everything before the run\'s first write; wait requests are the LISTs and WATCHes after it (the waits read informer caches: one LIST and one WATCH for the whole run per waited kind, namespace and selector: pods and ReplicaSets through their workload\'s label selector, cluster-scoped objects by name); ' +
      'a waited object is one readiness condition the run waited for and met. Before this change the issue counted 2 watches + 11 GET/LIST for one LLMInferenceService wait, 2 + ~19 for the maas-api rollout, and 98 SelfSubjectAccessReviews in preflight.',
    '',
  );
  lines.push(
    table(
      ['preset', 'up', 'requests in all', 'preflight requests', 'of them: SelfSubjectRulesReviews / SelfSubjectAccessReviews / maas-api through the service proxy', 'waited objects', 'LIST + WATCH for the waits', 'per waited object'],
      runs.map((r) => [
        r.preset,
        r.end,
        r.requests.length,
        r.preflight.length,
        `${count(r.preflight, (q) => q.resource === 'authorization.k8s.io/selfsubjectrulesreviews')} / ${count(r.preflight, (q) => q.resource === 'authorization.k8s.io/selfsubjectaccessreviews')} / ${count(r.preflight, (q) => q.verb === 'proxy')}`,
        r.waits.length,
        `${count(r.waitRequests, (q) => q.verb === 'list')} + ${count(r.waitRequests, (q) => q.verb === 'watch')}`,
        r.waits.length ? (r.waitRequests.length / r.waits.length).toFixed(2) : '—',
      ]),
    ),
    '',
  );
  const tier = runs.find((r) => r.preset === 'tier');
  if (tier && tier.waits.length) {
    const kinds = new Map<string, { list: number; watch: number; selectors: Set<string> }>();
    for (const q of tier.waitRequests) {
      const key = `${(q.resource ?? '?').replace(/^\//, '')}${q.namespace ? ` in ${q.namespace}` : ''}`;
      const k = kinds.get(key) ?? { list: 0, watch: 0, selectors: new Set<string>() };
      if (q.verb === 'list') k.list++;
      else k.watch++;
      const sel = q.query['labelSelector'] ?? q.query['fieldSelector'];
      if (sel) k.selectors.add(sel);
      kinds.set(key, k);
    }
    lines.push(`The tier preset's wait requests by kind (${tier.waits.length} waited objects over ${new Set(tier.waits.map((w) => w.step)).size} steps):`, '');
    lines.push(table(['resource', 'LIST', 'WATCH', 'selectors'], [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.list, v.watch, [...v.selectors].join('; ') || '(whole namespace)'])), '');
  }
  lines.push('The subscription preset runs the subscription era (its steps s0–s4 and the API key, minted through the service proxy after the waits); the bare preset stops in preflight (never without MaaS), so it counts preflight only.');
  return lines.join('\n');
}

const t0 = performance.now();
const runs: PresetRun[] = [];
for (const preset of ['tier', 'subscription', 'bare'] as const) {
  runs.push(await runUp(preset));
  process.stdout.write(`${preset}: ${runs.at(-1)!.end} (${runs.at(-1)!.requests.length} requests)\n`);
}
writeSection(join(REPO, 'BENCHMARKS.md'), 'cluster-requests', report(runs, performance.now() - t0));
process.stdout.write(`wrote the cluster-requests section of ${join(REPO, 'BENCHMARKS.md')}\n`);
