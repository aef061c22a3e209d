/**
 * `demo doctor --target cluster` with live evidence: the objects come from the kube-api test server
 * after `up --vllm-host …`, and the data plane is a real local topology (its MaaS gateway, egress
 * gateway, maas-api and simulators behave as contracts §3 says the cluster's do), reached through
 * DEMO_GATEWAY_URL with the topology's CA and cluster token. Faults planted in the data plane only —
 * the objects stay healthy — must be found from the probes: a backend that cannot be reached, usage
 * that is never counted, and a gateway that appends the injected Authorization (wasm-shim v0.12.0).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { simpleCrd } from '../kube-api/seed.js';
import { startTopology, stopTopology, type Topology } from '../helpers/topology.js';
import { demo, ofKind, startCluster, type Cluster, type Run } from './helpers.js';

interface Check {
  id: string;
  outcome: 'pass' | 'fail' | 'warn' | 'skip';
  hop?: string;
  message?: string;
  fix?: string;
  evidence?: string[];
}

let c: Cluster;

beforeAll(async () => {
  c = await startCluster();
  c.api.seed([simpleCrd('extensions.istio.io', 'WasmPlugin', 'wasmplugins', 'Namespaced', 'v1alpha1')]);
  await c.api.settle();
  const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--vllm-host', 'vllm.example.com:8000', '--timeout', '20']);
  expect(up.code, up.stdout + up.stderr).toBe(0);
}, 90_000);

afterAll(async () => {
  await c?.close();
});

/** Runs doctor against the cluster's objects with `topo` as the data plane. */
const doctor = (topo: Topology, extra: string[] = []) => demo(c, ['doctor', '--ca-file', topo.state.caFile, '--token', topo.state.clusterToken, ...extra], { DEMO_GATEWAY_URL: topo.base });
const checks = (r: Run) => ofKind(r.events, 'check') as unknown as Check[];
const check = (r: Run, id: string) => {
  const k = checks(r).find((x) => x.id === id);
  expect(k, `check ${id} ran`).toBeDefined();
  return k!;
};
const failed = (r: Run) => checks(r).filter((k) => k.outcome === 'fail').map((k) => `${k.id}@${k.hop ?? ''}`);

async function withPlane(faults: string[], body: (topo: Topology) => Promise<void>): Promise<void> {
  const topo = await startTopology({ label: `live-${faults.join('-') || 'healthy'}`, args: faults.flatMap((f) => ['--fault', f]) });
  try {
    await body(topo);
  } finally {
    await stopTopology(topo.dir, topo.pids);
  }
}

describe('doctor --target cluster with a live data plane', () => {
  test('healthy: the live checks pass on observed evidence, not configuration; nothing fails', async () => {
    await withPlane([], async (topo) => {
      const r = await doctor(topo);
      expect(failed(r), JSON.stringify(checks(r).filter((k) => k.outcome === 'fail'))).toEqual([]);
      expect(r.code).toBe(0);
      for (const id of ['rewrite-bridge-prefix', 'rewrite-egress-strips-prefix', 'rewrite-backend-reachable', 'key-policy-enforced', 'key-auth-accepts-maas-token', 'key-injected', 'ratelimit-policy-present', 'models-listed-routable', 'exposure-user-token-forwarded']) {
        expect(check(r, id).outcome, `${id}: ${check(r, id).message ?? ''}`).toBe('pass');
      }
      // The counter cannot be read on a cluster: said so, not guessed.
      expect(check(r, 'ratelimit-counts-tokens').outcome).toBe('skip');
      expect(check(r, 'ratelimit-counts-tokens').message).toMatch(/--probe-rate-limit/);
      expect(r.stdout).not.toContain(topo.state.clusterToken);
    });
  }, 60_000);

  test('a backend nothing answers for → rewrite-backend-reachable at the provider, with the cluster checks to run', async () => {
    await withPlane(['backend-down'], async (topo) => {
      const r = await doctor(topo, ['--category', 'rewrites']);
      expect(failed(r)).toEqual(['rewrite-backend-reachable@provider:openai']);
      const k = check(r, 'rewrite-backend-reachable');
      expect(k.message).toMatch(/^openai: route, XBackendDestination and Service agree, but nothing answers behind Service external-models\/openai-simulator:8000 \(egress-gateway 503 upstream connect error \(UF/);
      expect(k.evidence?.join('\n')).toMatch(/egress-gateway 503 upstream connect error \(UF/);
      expect(k.fix).toMatch(/make openai-simulator reachable: nothing accepts connections at openai-simulator\.external-models\.svc\.cluster\.local:8000/);
      expect(k.fix).toMatch(/kubectl get xbackenddestination openai-backend -n default[\s\S]*kubectl -n default run egress-check[\s\S]*not watched by the wg controller/);
      expect(r.code).toBe(1);
    });
  }, 60_000);

  test('usage never counted → only --probe-rate-limit can tell on a cluster, and names the cause', async () => {
    await withPlane(['ratelimit-no-count'], async (topo) => {
      const quiet = await doctor(topo, ['--category', 'rate-limits']);
      expect(failed(quiet)).toEqual([]);
      expect(check(quiet, 'ratelimit-probe').outcome).toBe('skip');
      const r = await doctor(topo, ['--category', 'rate-limits', '--probe-rate-limit']);
      expect(failed(r)).toEqual(['ratelimit-probe@maas-gateway']);
      const k = check(r, 'ratelimit-probe');
      expect(k.message).toMatch(/^\d+ tokens in \d+ requests against a limit of 100 and no 429: usage is never counted, or Limitador is unreachable/);
      expect(k.fix).toMatch(/kubectl -n kuadrant-system get limitador/);
      expect(r.code).toBe(1);
    });
  }, 90_000);

  test('the gateway appends the injected Authorization → key-injected at maas-gateway for vllm, from the probe', async () => {
    await withPlane(['wasm-append-auth'], async (topo) => {
      const r = await doctor(topo, ['--category', 'key-injection']);
      expect(failed(r)).toEqual(['key-injected@maas-gateway']);
      const k = check(r, 'key-injected');
      expect(k.message).toMatch(/^vllm: probe: the provider received authorization twice/);
      expect(k.fix).toMatch(/wasm-shim that replaces injected headers[\s\S]*get wasmplugin kuadrant-maas-default-gateway/);
    });
  }, 60_000);

  test('a WasmPlugin running wasm-shim v0.12.0 fails key-injected for vllm from configuration alone; v0.12.1 passes', async () => {
    const plugin = (tag: string) => ({ apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', metadata: { name: 'kuadrant-maas-default-gateway', namespace: 'openshift-ingress' }, spec: { url: `oci://quay.io/kuadrant/wasm-shim:${tag}`, phase: 'STATS' } });
    await withPlane([], async (topo) => {
      c.api.seed([plugin('v0.12.0')]);
      await c.api.settle();
      const r = await doctor(topo, ['--category', 'key-injection']);
      expect(failed(r)).toEqual(['key-injected@maas-gateway']);
      expect(check(r, 'key-injected').evidence?.join('\n')).toMatch(/vllm: WasmPlugin openshift-ingress\/kuadrant-maas-default-gateway runs wasm-shim v0\.12\.0 .*appends injected headers/);
      c.api.seed([plugin('v0.12.1')]);
      await c.api.settle();
      const ok = await doctor(topo, ['--category', 'key-injection']);
      expect(failed(ok)).toEqual([]);
    });
  }, 60_000);
});
