/**
 * Doctor diagnoses from evidence, on objects planted another way than `--fault`: each example of
 * issue 12 is planted through `up --from` (a mutated copy of `demo manifests --reveal-keys --include-platform`) or
 * `--config` on one running topology, and doctor must name the hop, the object and the field, with a
 * fix; validate must blame the same hop (or, for a spent budget, no hop at all).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { runCli } from '../helpers/run-cli.js';
import { startTopology, stopTopology, type Topology } from '../helpers/topology.js';

type Check = { id: string; outcome: string; hop?: string; object?: string; field?: string; message?: string; fix?: string; evidence?: string[]; data?: Record<string, unknown> };
type Doc = { ok: boolean; exitCode: number; checks: Check[] };

const dir = mkdtempSync(join(tmpdir(), 'evidence-'));
let topo: Topology;
let healthy: K8sObject[];

beforeAll(async () => {
  const m = await runCli(['manifests', '--reveal-keys', '--vllm', '--include-platform']);
  healthy = parseAllDocuments(m.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
  const file = join(dir, 'healthy.yaml');
  writeFileSync(file, m.stdout);
  topo = await startTopology({ label: 'evidence', args: ['--from', file] });
}, 120_000);

afterAll(async () => {
  if (topo) await stopTopology(topo.dir, topo.pids);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

let n = 0;
/** Runs `edit` on a copy of the healthy objects and brings them up on the running topology. */
async function plant(edit: (objects: K8sObject[]) => void): Promise<void> {
  const objects = structuredClone(healthy);
  edit(objects);
  const file = join(dir, `planted-${++n}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  // A broken object may fail its wait (ResolvedRefs never True): the objects still run, as on a cluster.
  await runCli(['up', '--from', file, '--output', 'json', '--timeout', '1'], { stateDir: topo.dir });
}

async function doctor(...args: string[]): Promise<Doc> {
  await resetBudgets();
  const r = await runCli(['doctor', '--output', 'json', ...args], { stateDir: topo.dir });
  return JSON.parse(r.stdout) as Doc;
}

/** A fresh window: the budget is per user, and the cases before spent some of it. */
async function resetBudgets(): Promise<void> {
  const state = JSON.parse(readFileSync(join(topo.dir, 'state.json'), 'utf8')) as { adminToken: string; components: Record<string, { adminPort?: number }> };
  const res = await fetch(`http://127.0.0.1:${state.components['maas-gateway']!.adminPort}/ratelimit/reset`, { method: 'POST', headers: { authorization: `Bearer ${state.adminToken}` } });
  expect(res.status).toBe(200);
}

async function validate(...args: string[]): Promise<Doc> {
  await resetBudgets();
  const r = await runCli(['validate', '--output', 'json', ...args], { stateDir: topo.dir });
  return JSON.parse(r.stdout) as Doc;
}

const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const failed = (d: Doc) => d.checks.filter((c) => c.outcome === 'fail');

describe('doctor names the hop, the object and the field of faults planted through objects', () => {
  test('a tier limit of 0: every chat gets 429; the TokenRateLimitPolicy field is named', async () => {
    await plant((o) => {
      ((find(o, 'TokenRateLimitPolicy', 'gateway-token-rate-limits').spec as { limits: Record<string, { rates: { limit: number }[] }> }).limits['free-user-tokens']!.rates[0]!.limit = 0);
    });
    const d = await doctor();
    const c = d.checks.find((x) => x.id === 'ratelimit-policy-present')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'maas-gateway', object: 'TokenRateLimitPolicy/openshift-ingress/gateway-token-rate-limits', field: 'spec.limits.free-user-tokens.rates[0].limit' });
    expect(c.message).toMatch(/0 tokens: every request is refused/);
    expect(c.fix).toMatch(/\+ 100/);
    expect(d.exitCode).toBe(1);
  });

  test('the free tier’s limit removed: "no limit for tier free" on that policy, and a fix that renders every tier', async () => {
    await plant((o) => {
      delete (find(o, 'TokenRateLimitPolicy', 'gateway-token-rate-limits').spec as { limits: Record<string, unknown> }).limits['free-user-tokens'];
    });
    const c = (await doctor()).checks.find((x) => x.id === 'ratelimit-policy-present')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'maas-gateway', object: 'TokenRateLimitPolicy/openshift-ingress/gateway-token-rate-limits', field: 'spec.limits.free-user-tokens' });
    expect(c.message).toBe('no limit for tier free: that tier is unlimited');
    expect(c.fix).toContain('free-user-tokens: {rates: [{limit: 100, window: 1m}]');
    expect(c.fix).not.toMatch(/undefined/);
  });

  test('a provider answering 500: the provider hop, never a pass and never maas-api', async () => {
    await plant((o) => {
      const d = find(o, 'Deployment', 'openai-simulator').spec as { template: { spec: { containers: { args: string[] }[] } } };
      d.template.spec.containers[0]!.args.push('--fail-status', '500');
    });
    const d = await doctor();
    const c = d.checks.find((x) => x.id === 'rewrite-backend-reachable')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'provider:openai', object: 'Deployment/external-models/openai-simulator' });
    expect(c.evidence?.join('\n')).toMatch(/openai answered 500/);
    const v = await validate('--only', '4');
    expect(v.checks[0]).toMatchObject({ outcome: 'fail', hop: 'provider:openai' });
  });

  test('the on-prem route not stripped: the KServe route and its rewrite are named', async () => {
    await plant((o) => {
      // KServe's route, as a cluster dump would hold it, without its URLRewrite.
      o.push({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'facebook-opt-125m-simulated-kserve-route', namespace: 'llm' },
        spec: { parentRefs: [{ name: 'maas-default-gateway', namespace: 'openshift-ingress' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/llm/facebook-opt-125m-simulated' } }], filters: [], backendRefs: [{ name: 'facebook-opt-125m-simulated-kserve-workload-svc', port: 8000 }] }] },
      });
    });
    const c = (await doctor()).checks.find((x) => x.id === 'rewrite-onprem-route')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'maas-gateway', object: 'HTTPRoute/llm/facebook-opt-125m-simulated-kserve-route' });
    expect(c.message).toMatch(/does not strip \/llm\/facebook-opt-125m-simulated/);
    const v = await validate('--only', '7');
    expect(v.checks[0]).toMatchObject({ outcome: 'fail' });
  });

  test('header names compared case-insensitively: a lower-case header the provider reads is right, no fix proposed', async () => {
    await plant((o) => {
      const headers = (find(o, 'AuthPolicy', 'vllm-bridge-auth').spec as { rules: { response: { success: { headers: Record<string, unknown> } } } }).rules.response.success.headers;
      headers.authorization = headers.Authorization;
      delete headers.Authorization;
      const h2 = (find(o, 'AuthPolicy', 'openai-bridge-auth').spec as { rules: { response: { success: { headers: Record<string, unknown> } } } }).rules.response.success.headers;
      h2['x-provider-api-key'] = h2['X-Provider-Api-Key'];
      delete h2['X-Provider-Api-Key'];
    });
    const d = await doctor();
    expect(d.checks.find((x) => x.id === 'key-injected')?.outcome).toBe('pass');
    expect(failed(d).map((c) => c.id)).toEqual([]);
  });

  test.each<[string, (o: K8sObject[]) => void, { object: string; field: string; reason: RegExp }]>([
    [
      'a backend with a wrong port',
      (o) => void ((find(o, 'XBackendDestination', 'openai-backend').spec as { destination: { ports: { number: number }[] } }).destination.ports[0]!.number = 8001),
      // The route still sends to 8000, which the Service serves: the destination's port is the one that changed.
      { object: 'XBackendDestination/default/openai-backend', field: 'spec.destination.ports[0].number', reason: /XBackendDestination openai-backend lists port 8001, but the route sends to 8000 and Service openai-simulator serves 8000/ },
    ],
    [
      'a hostname typo',
      (o) => void ((find(o, 'XBackendDestination', 'openai-backend').spec as { destination: { fqdn: { hostname: string } } }).destination.fqdn.hostname = 'openai-simulatr.external-models.svc.cluster.local'),
      { object: 'XBackendDestination/default/openai-backend', field: 'spec.destination.fqdn.hostname', reason: /names Service external-models\/openai-simulatr, which does not exist/ },
    ],
    [
      'a backendRef naming no XBackendDestination',
      (o) => void ((find(o, 'HTTPRoute', 'openai-route').spec as { rules: { backendRefs: { name: string }[] }[] }).rules[0]!.backendRefs[0]!.name = 'openai-backnd'),
      { object: 'HTTPRoute/default/openai-route', field: 'spec.rules[0].backendRefs[0].name', reason: /names XBackendDestination openai-backnd, which does not exist/ },
    ],
  ])('%s: the egress backend or route object and field, with the evidence', async (_what, edit, want) => {
    await plant(edit);
    const c = (await doctor()).checks.find((x) => x.id === 'rewrite-backend-reachable')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'egress-gateway', object: want.object, field: want.field });
    expect(c.evidence?.join('\n')).toMatch(want.reason);
    expect(c.fix).toContain(want.field);
  });

  test('a 20 s provider behind a shorter route timeout: the route’s timeout is named, not the provider', async () => {
    await plant((o) => {
      const d = find(o, 'Deployment', 'openai-simulator').spec as { template: { spec: { containers: { args: string[] }[] } } };
      d.template.spec.containers[0]!.args.push('--latency-ms', '2500');
      // 1 s stands in for Envoy's 15 s default, so the test does not wait 20 s.
      (find(o, 'HTTPRoute', 'openai-route').spec as { rules: Record<string, unknown>[] }).rules[0]!.timeouts = { request: '1s' };
    });
    const c = (await doctor()).checks.find((x) => x.id === 'rewrite-backend-reachable')!;
    expect(c).toMatchObject({ outcome: 'fail', hop: 'egress-gateway', object: 'HTTPRoute/default/openai-route', field: 'spec.rules[0].timeouts.request' });
    expect(c.evidence?.join('\n')).toMatch(/UT|timeout/);
  }, 60_000);

  test('--fix says "applied" only when an object changed, and re-runs the check', async () => {
    await plant((o) => {
      const filters = (find(o, 'HTTPRoute', 'openai-bridge').spec as { rules: { filters: { type: string }[] }[] }).rules[0]!.filters;
      filters.splice(filters.findIndex((f) => f.type === 'URLRewrite'), 1);
    });
    await resetBudgets();
    const r = await runCli(['doctor', '--fix', '--yes', '--category', 'rewrites', '--output', 'plain'], { stateDir: topo.dir });
    expect(r.stdout).toMatch(/applied: add URLRewrite ReplacePrefixMatch \/openai\/ to HTTPRoute openai-bridge/);
    expect(r.stdout).toMatch(/√ each bridge rewrites/);
    // The same fix again finds nothing to change and says so instead of "applied".
    const again = await runCli(['doctor', '--fix', '--yes', '--category', 'rewrites', '--output', 'plain'], { stateDir: topo.dir });
    expect(again.stdout).not.toMatch(/applied:/);
  });
});

describe('a user on a higher tier (through --config)', () => {
  test('validate call 10 says why no 429 came (the tier), doctor names the group', async () => {
    const cfg = join(dir, 'enterprise.json');
    writeFileSync(cfg, JSON.stringify({ user: { name: 'demo-user', groups: ['system:authenticated', 'enterprise-group'] } }));
    // Back to the healthy objects, with the user in the enterprise group.
    await runCli(['up', '--from', join(dir, 'healthy.yaml'), '--config', cfg, '--output', 'json'], { stateDir: topo.dir });
    await resetBudgets();
    const v = JSON.parse((await runCli(['validate', '--only', '10', '--config', cfg, '--output', 'json'], { stateDir: topo.dir })).stdout) as Doc;
    expect(v.checks[0]).toMatchObject({ outcome: 'fail', hop: 'maas-api' });
    expect(v.checks[0]!.message).toMatch(/as expected for tier enterprise: its budget of 100000 tokens/);
    await resetBudgets();
    const d = JSON.parse((await runCli(['doctor', '--config', cfg, '--output', 'json'], { stateDir: topo.dir })).stdout) as Doc;
    const c = d.checks.find((x) => x.id === 'ratelimit-budget')!;
    expect(c).toMatchObject({ outcome: 'warn', hop: 'maas-api', object: 'Group/enterprise-group', field: 'users' });
    expect(c.fix).toContain('oc adm groups remove-users enterprise-group demo-user');
    const probe = JSON.parse((await runCli(['doctor', '--config', cfg, '--probe-rate-limit', '--category', 'rate-limits', '--output', 'json'], { stateDir: topo.dir, timeoutMs: 120_000 })).stdout) as Doc;
    const p = probe.checks.find((x) => x.id === 'ratelimit-probe')!;
    // No false claim: still inside a 100,000-token budget, a missing 429 proves nothing.
    expect(p.outcome).toBe('warn');
    expect(p.message).toMatch(/too large to spend in a probe/);
  }, 120_000);
});
