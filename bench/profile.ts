/**
 * Where the MaaS gateway's CPU goes under load: a second gateway process, identical to the benchmarked
 * one but started with --cpu-prof, takes a few seconds of the throughput load; the profile is then
 * summed by what the functions do (inclusive time: a function and everything it calls), as shares of
 * the time the process was busy.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannon, type Target } from './load.js';
import { HopProcess } from './topology.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Categories by function name (and module URL); a sample counts once per category it is under. */
const CATEGORIES: { name: string; match: (fn: string, url: string) => boolean }[] = [
  // By module: an async function resumed after an await has only its own frame on the stack, so
  // matching one entry function would miss most of its work.
  { name: 'token check (jose: ES256 signature, claims)', match: (_fn, url) => url.includes('/node_modules/jose/') },
  { name: 'of which importing the key', match: (fn, url) => url.includes('/node_modules/jose/') && (fn === 'importJWK' || fn === 'jwkToKey') },
  { name: 'relaying (proxy.ts: upstream request, streaming both bodies)', match: (_fn, url) => url.endsWith('/targets/local/proxy.js') },
  { name: 'socket writes (TLS encryption to the client, plain to the upstream)', match: (fn) => fn === 'writev' || fn === 'writeUtf8String' || fn === 'writeBuffer' || fn === 'writeLatin1String' },
  { name: 'rate limiter (check, usage scan, report)', match: (fn, url) => url.endsWith('/rate-limit.js') },
  { name: 'trace record and log line', match: (fn, url) => url.endsWith('/maas-gateway.js') && fn === 'record' },
  { name: 'garbage collection', match: (fn) => fn === '(garbage collector)' },
  { name: 'idle', match: (fn) => fn === '(idle)' },
];

export async function profileGateway(init: HopProcess['init'], target: (port: number) => Target, seconds: number, connections: number): Promise<{ name: string; share: number }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-bench-prof-'));
  const hop = new HopProcess('gateway-profiled', init, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    await hop.start();
    await cannon(target(hop.port), { connections, duration: 1 });
    await cannon(target(hop.port), { connections, duration: seconds });
    await hop.disconnect();
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return [];
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    const self = new Map<number, number>();
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const totals = new Map<string, number>();
    let total = 0;
    for (const [id, t] of self) {
      total += t;
      const hit = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const node = byId.get(cur)!;
        for (const c of CATEGORIES) if (c.match(node.callFrame.functionName, node.callFrame.url)) hit.add(c.name);
      }
      for (const name of hit) totals.set(name, (totals.get(name) ?? 0) + t);
    }
    // Shares of the busy time; idle as a share of the whole.
    const idle = totals.get('idle') ?? 0;
    return CATEGORIES.map((c) => ({ name: c.name, share: c.name === 'idle' ? idle / total : (totals.get(c.name) ?? 0) / (total - idle) }));
  } finally {
    await hop.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
