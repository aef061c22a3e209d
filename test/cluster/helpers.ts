/** Test fixtures of the cluster target: a kube-api test server with the MaaS preset, a kubeconfig, a wg dir, an in-process CLI. */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApi, type KubeApi, type MaasPresetOptions } from '../kube-api/server.js';
import { crdsDir } from '../kube-api/seed.js';
import { runMain, type MainResult } from '../helpers/run-cli.js';
import { ndjsonLines } from '../helpers/run-cli.js';

export interface Cluster {
  api: KubeApi;
  kubeconfig: string;
  wgDir: string;
  dir: string;
  close(): Promise<void>;
}

/** A wg-ai-gateway-like directory holding only the two ainetworking CRDs, in the newest layout. */
export function wgDir(root: string): string {
  const dir = join(root, 'wg', 'backend', 'k8s', 'crds');
  mkdirSync(dir, { recursive: true });
  for (const f of ['ainetworking.prototype.x-k8s.io_xbackenddestinations.yaml', 'ainetworking.prototype.x-k8s.io_backends.yaml']) {
    copyFileSync(join(crdsDir(), f), join(dir, f));
  }
  return join(root, 'wg');
}

/**
 * Workaround (reported to the kube-api owner): the simulated wg controller reads XBackendDestination
 * ports at `spec.ports`; the CRD (and our manifests) put them at `spec.destination.ports`. Until that is
 * fixed there, the route check sees the ports where the CRD defines them.
 */
function fixBackendPorts(api: KubeApi): void {
  const c = api.controllers as unknown as { backendProblem: (ns: string, rules: unknown[]) => unknown };
  const original = c.backendProblem.bind(c);
  const xbdGroup = 'ainetworking.prototype.x-k8s.io';
  c.backendProblem = (ns: string, rules: unknown[]) => {
    const t = api.registry.all().find((r) => r.group === xbdGroup && r.plural === 'xbackenddestinations');
    if (!t) return original(ns, rules);
    const patched = new Map<string, unknown>();
    for (const rule of rules as { backendRefs?: Record<string, unknown>[] }[]) {
      for (const b of rule.backendRefs ?? []) {
        if (b['kind'] !== 'Backend') continue;
        const bns = String(b['namespace'] ?? ns);
        const o = api.store.get(t, bns, String(b['name']));
        const dest = (o?.['spec'] as { destination?: { ports?: unknown } } | undefined)?.destination;
        if (o && dest?.ports && !(o['spec'] as Record<string, unknown>)['ports']) patched.set(`${bns}/${String(b['name'])}`, dest.ports);
      }
    }
    if (!patched.size) return original(ns, rules);
    const get = api.store.get.bind(api.store);
    api.store.get = ((tt: typeof t, n: string | undefined, name: string) => {
      const o = get(tt, n, name);
      const ports = tt === t ? patched.get(`${n}/${name}`) : undefined;
      return o && ports ? { ...o, spec: { ...(o['spec'] as object), ports } } : o;
    }) as typeof api.store.get;
    try {
      return original(ns, rules);
    } finally {
      api.store.get = get;
    }
  };
}

export async function startCluster(preset: MaasPresetOptions = {}, opts: { delayMs?: number } = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-cluster-'));
  const api = await startKubeApi({ controllerDelayMs: opts.delayMs ?? 10, bookmarkIntervalMs: 60_000 });
  fixBackendPorts(api);
  await api.seedPreset(preset);
  const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'));
  return { api, kubeconfig, wgDir: wgDir(dir), dir, close: () => api.close() };
}

export interface Run extends MainResult {
  events: Record<string, unknown>[];
}

/** Runs the CLI in-process against the cluster with NDJSON output; events parsed. */
export async function demo(c: Cluster, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const r = await runMain([...args, '--target', 'cluster', '--output', 'ndjson'], { KUBECONFIG: c.kubeconfig, HOME: c.dir, ...env });
  let events: Record<string, unknown>[] = [];
  try {
    events = ndjsonLines(r.stdout);
  } catch {
    events = [];
  }
  return { ...r, events };
}

export function ofKind(events: Record<string, unknown>[], kind: string): Record<string, unknown>[] {
  return events.filter((e) => e.kind === kind);
}

export function runEnd(events: Record<string, unknown>[]): { ok: boolean; exitCode: number; error?: { message: string; hint?: string } } {
  return events.find((e) => e.kind === 'run-end') as never;
}

export const LABELS = 'app.kubernetes.io/managed-by=maas-egress-demo,app.kubernetes.io/part-of=maas-egress-demo';
