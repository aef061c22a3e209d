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


export async function startCluster(preset: MaasPresetOptions = {}, opts: { delayMs?: number } = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-cluster-'));
  const api = await startKubeApi({ controllerDelayMs: opts.delayMs ?? 10, bookmarkIntervalMs: 60_000 });
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
