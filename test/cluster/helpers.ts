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
  // --output ndjson prints nothing but events: a line that is not one is a failure, not an empty stream.
  let events: Record<string, unknown>[];
  try {
    events = ndjsonLines(r.stdout);
  } catch (err) {
    throw new Error(`demo ${args.join(' ')} --output ndjson printed a line that is not JSON (${(err as Error).message}); stdout:\n${r.stdout.slice(-2000)}\nstderr:\n${r.stderr.slice(-2000)}`);
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

/**
 * The MaaS gateway's listener as a cluster's Authorino answers a caller it does not accept: `/` has no
 * route (404), everything else is refused with a Bearer challenge — so no MaaS token can be minted and
 * doctor has only configuration and controller status to go on. Returns its URL and a CA file.
 */
export async function refusingGateway(c: Cluster): Promise<{ url: string; caFile: string; close(): void }> {
  const { createServer } = await import('node:https');
  const { writeFileSync } = await import('node:fs');
  const { servingCert } = await import('../kube-api/tls.js');
  const cert = await servingCert();
  const caFile = join(c.dir, 'gateway-ca.pem');
  writeFileSync(caFile, cert.certPem);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    if (req.url === '/') {
      res.writeHead(404, { server: 'istio-envoy' });
      return res.end();
    }
    res.writeHead(401, { server: 'istio-envoy', 'www-authenticate': 'Bearer realm="service-accounts"', 'x-ext-auth-reason': 'credential not found' });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, caFile, close: () => void server.close() };
}

/**
 * Replaces an object by a changed copy, as another writer would (no managed fields of ours); returns
 * the restore. The server's controllers reconcile both ways.
 */
export async function plant<T>(c: Cluster, apiVersion: string, kind: string, ns: string | undefined, name: string, change: (o: T) => void): Promise<() => Promise<void>> {
  const original = c.api.get(apiVersion, kind, ns, name);
  if (!original) throw new Error(`${kind} ${ns ?? ''}/${name} does not exist`);
  const copy = structuredClone(original);
  delete copy.metadata.managedFields;
  change(copy as unknown as T);
  c.api.seed([copy]);
  await c.api.settle();
  return async () => {
    const back = structuredClone(original);
    delete back.metadata.managedFields;
    c.api.seed([back]);
    await c.api.settle();
  };
}
