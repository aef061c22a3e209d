/**
 * `demo doctor --target cluster --fix` against the kube-api test server: each fix that names the
 * demo's objects shows a reviewable field diff (keys masked), restores them as `demo up` renders them
 * after confirmation (server-side apply, then the fields another writer added removed), waits for the
 * controllers, and re-runs the checks that failed, which then no longer fail the run.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../src/targets/cluster/client.js';
import { demo, ofKind, plant, refusingGateway, startCluster, type Cluster, type Run } from './helpers.js';

let c: Cluster;
let gateway: { url: string; caFile: string; close(): void };

beforeAll(async () => {
  c = await startCluster();
  const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
  expect(up.code, up.stdout + up.stderr).toBe(0);
  gateway = await refusingGateway(c);
}, 90_000);

afterAll(async () => {
  gateway?.close();
  await c?.close();
});

const PRE_FIX = 'registry.example.com/wg-ai-gateway:before-pr38';
const doctor = (extra: string[] = []) => demo(c, ['doctor', '--ca-file', gateway.caFile, '--timeout', '10', ...extra], { DEMO_GATEWAY_URL: gateway.url, DEMO_PRE_FIX_CONTROLLER_IMAGES: PRE_FIX });

interface Check {
  id: string;
  outcome: string;
  hop?: string;
  fix?: string;
}
/** Every check event in order; after a fix the re-run of a check comes last. */
const checks = (r: Run) => ofKind(r.events, 'check') as unknown as Check[];
const lastOutcome = (r: Run, id: string) => checks(r).filter((k) => k.id === id).at(-1)?.outcome;
const logs = (r: Run) => ofKind(r.events, 'log').map((e) => String(e.message));
const failing = (r: Run) => {
  const last = new Map(checks(r).map((k) => [k.id, k.outcome]));
  return [...last].filter(([, o]) => o === 'fail').map(([id]) => id);
};

interface AuthObj {
  spec: { rules: { response: { success: { headers: Record<string, { plain: { expression: string } }> } } } };
}
interface RouteObj {
  spec: { rules: { filters?: { type: string }[]; backendRefs?: { kind: string }[] }[] };
}
interface DeploymentObj {
  spec: { template: { spec: { containers: { image?: string }[] } } };
}

describe('doctor --fix --target cluster', () => {
  test('restores a bridge route and its AuthPolicy: reviewable diff first, keys masked, stray header removed, checks re-run', async () => {
    await plant<RouteObj>(c, 'gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-bridge', (o) => {
      o.spec.rules[0]!.filters = o.spec.rules[0]!.filters!.filter((f) => f.type !== 'URLRewrite');
    });
    await plant<AuthObj>(c, 'kuadrant.io/v1', 'AuthPolicy', 'default', 'anthropic-bridge-auth', (o) => {
      const h = o.spec.rules.response.success.headers;
      h['X-Api-Key'] = { plain: { expression: "'sk-ant-someone-elses-key-9999'" } };
      delete h['X-Provider-Api-Key'];
    });
    const before = await doctor();
    expect(failing(before).sort(), before.stdout + before.stderr).toEqual(['key-injected', 'rewrite-bridge-prefix']);
    expect(before.code).toBe(1);
    // Without --fix the summary says --fix can apply them on this target.
    expect(before.stdout).toMatch(/`demo doctor --fix` applies them after asking/);

    const r = await doctor(['--fix', '--yes']);
    const text = logs(r).join('\n');
    // The reviewable patch: the stored fields against the demo's rendering, per object.
    expect(text).toMatch(/# HTTPRoute default\/openai-bridge \(server-side apply as step 4 renders it/);
    expect(text).toMatch(/\+ spec\.rules\[0\]\.filters.*URLRewrite.*"replacePrefixMatch":"\/openai\/"/);
    expect(text).toMatch(/# AuthPolicy default\/anthropic-bridge-auth/);
    expect(text).toMatch(/- spec\.rules\.response\.success\.headers\.X-Api-Key: \{"plain":\{"expression":"'sk-a…9999'"\}/);
    expect(text).toMatch(/\+ spec\.rules\.response\.success\.headers\.X-Provider-Api-Key: \{"plain":\{"expression":"'sk-a…demo'"\}/);
    // No key in clear anywhere: neither the planted one nor the provider's.
    expect(r.stdout + r.stderr).not.toContain('sk-ant-someone-elses-key-9999');
    expect(r.stdout + r.stderr).not.toMatch(/sk-ant-[a-z-]*demo/);
    // Applied and waited for like `up` does, then re-run: neither check fails any more.
    const applies = ofKind(r.events, 'apply').map((e) => `${String(e.object)} ${String(e.action)}`);
    expect(applies).toEqual(expect.arrayContaining(['HTTPRoute/default/openai-bridge configured', 'AuthPolicy/default/anthropic-bridge-auth configured']));
    expect(ofKind(r.events, 'wait').some((e) => e.state === 'met' && /AuthPolicy default\/anthropic-bridge-auth/.test(String(e.condition)))).toBe(true);
    // Each restore is a step of its own in the stream (so the TUI and JUnit close it), ended ok.
    expect(ofKind(r.events, 'step-end').filter((e) => e.step === 'fix').map((e) => e.ok)).toEqual([true, true]);
    expect(checks(r).filter((k) => k.id === 'key-injected').map((k) => k.outcome)).toEqual(['fail', 'skip']);
    expect(lastOutcome(r, 'rewrite-bridge-prefix')).not.toBe('fail');
    expect(failing(r)).toEqual([]);
    expect(r.code).toBe(0);
    // The stored objects are the demo's again: the stray header is gone, the rewrite is back.
    const pol = c.api.get('kuadrant.io/v1', 'AuthPolicy', 'default', 'anthropic-bridge-auth') as unknown as AuthObj;
    expect(Object.keys(pol.spec.rules.response.success.headers)).toEqual(['X-Provider-Api-Key']);
    const route = c.api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-bridge') as unknown as RouteObj;
    expect(route.spec.rules[0]!.filters!.map((f) => f.type).sort()).toEqual(['RequestHeaderModifier', 'URLRewrite']);
    // And a fresh doctor agrees.
    expect((await doctor()).code).toBe(0);
  }, 60_000);

  test('recreates a deleted TokenRateLimitPolicy and rolls the controller back to the fixed image', async () => {
    await plant<DeploymentObj>(c, 'apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller', (o) => {
      o.spec.template.spec.containers[0]!.image = PRE_FIX;
    });
    await remove('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-token-rate-limits');
    const before = await doctor();
    expect(failing(before).sort()).toEqual(['install-controller-rewrite-fix', 'ratelimit-policy-present']);

    const r = await doctor(['--fix', '--yes']);
    const text = logs(r).join('\n');
    expect(text).toMatch(/\+ create TokenRateLimitPolicy openshift-ingress\/gateway-token-rate-limits as `demo up` renders it \(step 4\)/);
    expect(text).toMatch(/# Deployment ai-gateway-system\/ai-gateway-controller[^\n]*\n- spec\.template\.spec\.containers\[0\]\.image: "registry\.example\.com\/wg-ai-gateway:before-pr38"\n\+ spec\.template\.spec\.containers\[0\]\.image: "ghcr\.io\/nerdalert\/wg-ai-gateway:prefix-rewrite-fix"/);
    expect(ofKind(r.events, 'apply').map((e) => `${String(e.object)} ${String(e.action)}`)).toEqual(
      expect.arrayContaining(['TokenRateLimitPolicy/openshift-ingress/gateway-token-rate-limits created', 'Deployment/ai-gateway-system/ai-gateway-controller configured']),
    );
    expect(failing(r)).toEqual([]);
    expect(r.code).toBe(0);
    // Recreated with the demo's labels, so `demo down` will remove it again.
    const back = c.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-token-rate-limits');
    expect(back?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('maas-egress-demo');
  }, 60_000);

  test('a terminal route status left from before the fix does not fail it: doctor --fix exits 0 once the controller reports the fixed route', async () => {
    await plant<RouteObj>(c, 'gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-route', (o) => {
      o.spec.rules[0]!.backendRefs![0]!.kind = 'XBackendDestination';
    });
    await c.api.waitFor(() => JSON.stringify(c.api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-route')?.['status'] ?? {}).includes('UnsupportedValue'));
    await new Promise((r) => setTimeout(r, 1_100)); // condition times have one-second resolution
    const slow = c.api.controllers.delayMs;
    c.api.controllers.delayMs = 600; // the fix's wait sees the old UnsupportedValue first
    try {
      const r = await doctor(['--fix', '--yes']);
      expect(ofKind(r.events, 'apply').map((e) => `${String(e.object)} ${String(e.action)}`)).toContain('HTTPRoute/default/openai-route configured');
      const waits = ofKind(r.events, 'wait').filter((e) => /HTTPRoute default\/openai-route/.test(String(e.condition)));
      expect(waits.some((e) => e.state === 'pending' && /before our change/.test(String(e.reason ?? '')))).toBe(true);
      expect(waits.at(-1)?.state).toBe('met');
      expect(failing(r)).toEqual([]);
      expect(r.code, r.stdout.slice(-2000)).toBe(0);
    } finally {
      c.api.controllers.delayMs = slow;
    }
  }, 60_000);

  test('a fix that is not an object of ours is printed, not applied; the run still fails', async () => {
    const h = c.api.faults.conditionFalse({ kind: 'AuthPolicy', type: 'Enforced', namespace: 'default', name: 'openai-bridge-auth', reason: 'Overridden', message: 'AuthPolicy is overridden by [openshift-ingress/gateway-auth-policy]' });
    try {
      await c.api.settle();
      const r = await doctor(['--fix', '--yes']);
      expect(failing(r)).toEqual(['key-policy-enforced']);
      expect(logs(r).join('\n')).toMatch(/nothing to fix automatically/);
      expect(ofKind(r.events, 'apply')).toEqual([]);
      expect(r.code).toBe(1);
    } finally {
      h.clear();
      await c.api.settle();
    }
  }, 60_000);

  test('without --yes and no terminal to ask on, nothing is changed', async () => {
    const restore = await plant<RouteObj>(c, 'gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-bridge', (o) => {
      o.spec.rules[0]!.filters = o.spec.rules[0]!.filters!.filter((f) => f.type !== 'URLRewrite');
    });
    try {
      const r = await doctor(['--fix']);
      expect(logs(r).join('\n')).toMatch(/# HTTPRoute default\/openai-bridge[\s\S]*not applied: rewrite-bridge-prefix/);
      expect(ofKind(r.events, 'apply')).toEqual([]);
      expect(failing(r)).toEqual(['rewrite-bridge-prefix']);
      expect(r.code).toBe(1);
    } finally {
      await restore();
    }
  }, 60_000);
});

/** Deletes through the server's REST API, as kubectl would. */
async function remove(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  expect(await new Kube(kc).remove({ apiVersion, kind, namespace, name })).toBe(true);
  await c.api.settle();
}
