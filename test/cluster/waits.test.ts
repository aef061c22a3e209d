/**
 * Waits as the cluster sees them: per waited kind one LIST and one WATCH from the list's resourceVersion
 * (with bookmarks and timeoutSeconds), shared by every wait of a run; pods through label selectors; a
 * 410 Gone lists again; conditions count only when current, so a terminal reason left from before our
 * change neither fails nor passes a wait.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, test } from 'vitest';
import { Kube } from '../../src/targets/cluster/client.js';
import { backoffDelay, Informers } from '../../src/targets/cluster/informers.js';
import { appliedMark, runWait, WaitFailedError, type AppliedMarks } from '../../src/targets/cluster/wait.js';
import type { EventInput } from '../../src/core/events.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import type { RequestRecord } from '../kube-api/server.js';
import { startCluster, type Cluster } from './helpers.js';

let c: Cluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

async function cluster(delayMs = 5): Promise<{ c: Cluster; kube: Kube }> {
  c = await startCluster({}, { delayMs });
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  return { c, kube: new Kube(kc) };
}

async function drain(gen: AsyncGenerator<EventInput>): Promise<EventInput[]> {
  const out: EventInput[] = [];
  for await (const e of gen) out.push(e);
  return out;
}

const signal = () => new AbortController().signal;

function deployment(ns: string, name: string): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `registry.example.com/${name}:1` }] } } },
  };
}

const since = (x: Cluster, from: number) => x.api.requests.slice(from);
const of = (reqs: RequestRecord[], resource: string) => reqs.filter((q) => q.resource === resource);

describe('informer-style waits', () => {
  test('two Deployment waits in a namespace cost one LIST and one WATCH of Deployments, pods by label selector, no GET', async () => {
    const { c, kube } = await cluster();
    c.api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } }]);
    const mark = c.api.requests.length;
    c.api.seed([deployment('w', 'one'), deployment('w', 'two')]);
    const informers = new Informers(kube);
    try {
      await drain(runWait(kube, 'x', { kind: 'rollout', namespace: 'w', name: 'one', timeoutMs: 20_000 }, { timeoutMs: 20_000, signal: signal(), informers }));
      await drain(runWait(kube, 'x', { kind: 'rollout', namespace: 'w', name: 'two', timeoutMs: 20_000 }, { timeoutMs: 20_000, signal: signal(), informers }));
      // Both waits were met from the LIST's cache; the informer's WATCH, sent after the LIST, may reach the
      // server a moment later: give it that moment before stopping the informers.
      const deadline = Date.now() + 5_000;
      while (!of(since(c, mark), 'apps/deployments').some((q) => q.verb === 'watch') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      informers.stopAll();
    }
    const reqs = since(c, mark);
    const deploys = of(reqs, 'apps/deployments');
    expect(deploys.map((q) => q.verb)).toEqual(['list', 'watch']);
    const watch = deploys[1]!;
    expect(watch.query).toMatchObject({ allowWatchBookmarks: 'true', timeoutSeconds: '300' });
    expect(Number(watch.query['resourceVersion'])).toBeGreaterThan(0);
    // pods (and ReplicaSets) only through the workloads' label selectors
    for (const q of [...of(reqs, '/pods'), ...of(reqs, 'apps/replicasets')]) expect(q.query['labelSelector']).toMatch(/^app=(one|two)$/);
    expect(of(reqs, '/pods').filter((q) => q.verb === 'list').length).toBeGreaterThanOrEqual(1);
    expect(reqs.filter((q) => q.verb === 'get')).toEqual([]);
  }, 60_000);

  test('a 410 Gone on a re-watch lists again and the wait still sees the change', async () => {
    const { c, kube } = await cluster();
    c.api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gate', namespace: 'w' } }]);
    c.api.installCrds('gateway-api');
    const informers = new Informers(kube, { watchTimeoutSeconds: 1 });
    const mark = c.api.requests.length;
    const gw = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g', namespace: 'w' }, spec: { gatewayClassName: 'nobody', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } };
    c.api.seed([gw]);
    try {
      const waiting = drain(runWait(kube, 'x', { kind: 'condition', apiVersion: 'gateway.networking.k8s.io/v1', resource: 'Gateway', namespace: 'w', name: 'g', type: 'Programmed', timeoutMs: 20_000 }, { timeoutMs: 20_000, signal: signal(), informers }));
      await c.api.waitFor(() => of(since(c, mark), 'gateway.networking.k8s.io/gateways').some((q) => q.verb === 'watch'), 5_000);
      // the history the watch would continue from is gone (other writes happened since its resourceVersion)
      c.api.seed([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', namespace: 'w' } }]);
      c.api.store.compact();
      await c.api.waitFor(() => of(since(c, mark), 'gateway.networking.k8s.io/gateways').filter((q) => q.verb === 'list').length >= 2, 10_000);
      c.api.seed([{ ...gw, status: { conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: 'ok', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } }], { unmanaged: true });
      const events = await waiting;
      expect(events.at(-1)).toMatchObject({ kind: 'wait', state: 'met' });
    } finally {
      informers.stopAll();
    }
    const verbs = of(since(c, mark), 'gateway.networking.k8s.io/gateways').map((q) => q.verb);
    expect(verbs.slice(0, 3)).toEqual(['list', 'watch', 'watch']);
    expect(verbs.filter((v) => v === 'list').length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test('re-watch delays back off exponentially with jitter and a cap', () => {
    const o = { baseMs: 250, capMs: 8_000 };
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, o, () => 0))).toEqual([125, 250, 500, 1000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, o, () => 0.5))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(20, o, () => 0.5)).toBe(8_000);
  });
});

describe('conditions count only when current', () => {
  /** A wg route whose backendRef kind the controller does not support: ResolvedRefs=False UnsupportedValue. */
  async function brokenRoute(x: Cluster): Promise<K8sObject> {
    x.api.installCrds('wg-backends');
    x.api.seed([
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'wg-ai-gateway' }, spec: { controllerName: 'sigs.k8s.io/wg-ai-gateway-envoy-controller' } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'poc-gateway', namespace: 'default' }, spec: { gatewayClassName: 'wg-ai-gateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'sim', namespace: 'default' }, spec: { ports: [{ port: 8000 }] } },
    ]);
    const route: K8sObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'openai-route', namespace: 'default' },
      spec: { parentRefs: [{ name: 'poc-gateway' }], rules: [{ backendRefs: [{ kind: 'XBackendDestination', name: 'sim', port: 8000 }] }] },
    };
    x.api.seed([route as never]);
    await x.api.waitFor(() => JSON.stringify(x.api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'openai-route')?.['status'] ?? {}).includes('UnsupportedValue'));
    // the stale status must be older than our change (times have one-second resolution)
    await new Promise((r) => setTimeout(r, 1_100));
    return route;
  }

  const fixed = (route: K8sObject): K8sObject => ({ ...route, spec: { parentRefs: [{ name: 'poc-gateway' }], rules: [{ backendRefs: [{ kind: 'Service', name: 'sim', port: 8000 }] }] } });
  const routeWait = { kind: 'route-accepted' as const, namespace: 'default', name: 'openai-route', timeoutMs: 20_000 };

  test('a terminal reason left from before our apply does not fail the wait: the controller then reports the fix', async () => {
    const { c, kube } = await cluster();
    const route = await brokenRoute(c);
    c.api.controllers.delayMs = 400; // the wait sees the old status first
    const before = await kube.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: 'default', name: 'openai-route' });
    const after = await kube.apply(fixed(route), { force: true });
    const applied: AppliedMarks = new Map([['HTTPRoute/default/openai-route', appliedMark(before, after)!]]);
    const events = await drain(runWait(kube, 'fix', routeWait, { timeoutMs: 20_000, signal: signal(), applied }));
    const pending = events.filter((e) => e.kind === 'wait' && e.state === 'pending' && 'reason' in e && e.reason).map((e) => (e as { reason: string }).reason);
    // the conditions seen before the controller reacted were judged stale, not final
    expect(pending.some((r) => /before our change/.test(r)), pending.join('\n')).toBe(true);
    expect(events.some((e) => e.kind === 'wait' && e.state === 'failed')).toBe(false);
    expect(events.at(-1)).toMatchObject({ state: 'met' });
  }, 60_000);

  test('without knowing our apply, the same stale status ends the wait as terminal (what current-ness prevents)', async () => {
    const { c, kube } = await cluster();
    const route = await brokenRoute(c);
    c.api.controllers.delayMs = 400;
    await kube.apply(fixed(route), { force: true });
    const err = await drain(runWait(kube, 'fix', routeWait, { timeoutMs: 20_000, signal: signal() })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitFailedError);
    expect((err as Error).message).toMatch(/ResolvedRefs=False UnsupportedValue/);
  }, 60_000);
});
