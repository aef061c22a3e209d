// The test server driven by @kubernetes/client-node, the client the cluster target uses.
import { KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApi, type KubeApi } from './server.js';

const MANAGER = 'maas-egress-demo';

function deployment(name: string, labels: Record<string, string>, image = 'registry.example.com/app:1'): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'apps', labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

describe('kube-api test server driven by @kubernetes/client-node', () => {
  let api: KubeApi;
  let dir: string;
  let client: KubernetesObjectApi;
  let kc: KubeConfig;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-api-client-'));
    api = await startKubeApi({ controllerDelayMs: 30 });
    kc = new KubeConfig();
    kc.loadFromFile(await api.writeKubeconfig(join(dir, 'kubeconfig'), { namespace: 'apps' }));
    client = KubernetesObjectApi.makeApiClient(kc);
    api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }]);
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates with server-side apply and records the field manager; a second apply is a no-op', async () => {
    // Given
    const spec = deployment('alpha', { tier: 'front', team: 'a' });
    // When
    const created = await client.patch(spec, undefined, undefined, MANAGER, false, PatchStrategy.ServerSideApply);
    await api.settle();
    const settled = await client.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'alpha', namespace: 'apps' } });
    const again = await client.patch(deployment('alpha', { tier: 'front', team: 'a' }), undefined, undefined, MANAGER, false, PatchStrategy.ServerSideApply);
    // Then
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([[MANAGER, 'Apply']]);
    expect(again.metadata?.resourceVersion).toBe(settled.metadata?.resourceVersion);
    expect(again.metadata?.generation).toBe(1);
  });

  it('lists with label selectors (equality, set, inequality, existence)', async () => {
    // Given
    await client.patch(deployment('beta', { tier: 'back', team: 'a' }), undefined, undefined, MANAGER, false, PatchStrategy.ServerSideApply);
    await client.patch(deployment('gamma', { tier: 'back' }), undefined, undefined, MANAGER, false, PatchStrategy.ServerSideApply);
    const names = async (sel: string): Promise<string[]> =>
      (await client.list('apps/v1', 'Deployment', 'apps', undefined, undefined, undefined, undefined, sel)).items.map((i) => i.metadata!.name!);
    // Then
    expect(await names('tier=back')).toEqual(['beta', 'gamma']);
    expect(await names('tier in (front,back),team')).toEqual(['alpha', 'beta']);
    expect(await names('tier!=front')).toEqual(['beta', 'gamma']);
    expect(await names('!team')).toEqual(['gamma']);
    const list = await client.list('apps/v1', 'Deployment', 'apps', undefined, undefined, undefined, 'metadata.name=beta');
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['beta']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  it('streams ADDED and MODIFIED watch events until the Deployment is Available', async () => {
    // Given
    const start = await client.list('apps/v1', 'Deployment', 'apps');
    const events: { type: string; available?: string }[] = [];
    let stop: AbortController | undefined;
    const done = new Promise<void>((resolve, reject) => {
      void new Watch(kc)
        .watch(
          '/apis/apps/v1/namespaces/apps/deployments',
          { resourceVersion: start.metadata?.resourceVersion, fieldSelector: 'metadata.name=delta' },
          (type, obj: { status?: { conditions?: { type: string; status: string }[] } }) => {
            const available = obj.status?.conditions?.find((c) => c.type === 'Available')?.status;
            events.push({ type, available });
            if (available === 'True') resolve();
          },
          (err) => (err ? reject(err as Error) : undefined),
        )
        .then((c) => (stop = c));
    });
    // When
    await client.patch(deployment('delta', { tier: 'back' }), undefined, undefined, MANAGER, false, PatchStrategy.ServerSideApply);
    await done;
    stop?.abort();
    // Then
    expect(events[0]).toEqual({ type: 'ADDED', available: undefined });
    expect(events.at(-1)).toEqual({ type: 'MODIFIED', available: 'True' });
    expect(events.some((e) => e.type === 'MODIFIED' && e.available === 'False')).toBe(true);
  });

  it('answers 409 Conflict when another manager applies a different value, and takes ownership with force', async () => {
    // Given: alpha's image is owned by maas-egress-demo
    const other = deployment('alpha', { tier: 'front', team: 'a' }, 'registry.example.com/app:2');
    // When
    const err = await client.patch(other, undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply).catch((e: unknown) => e);
    const forced = await client.patch(other, undefined, undefined, 'someone-else', true, PatchStrategy.ServerSideApply);
    // Then
    const e = err as { code: number; body: string | Record<string, unknown> };
    expect(e.code).toBe(409);
    const status = typeof e.body === 'string' ? (JSON.parse(e.body) as Record<string, unknown>) : e.body;
    expect(status).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "maas-egress-demo" using apps/v1: .spec.template.spec.containers[name="app"].image',
      details: { causes: [{ type: 'FieldManagerConflict', field: '.spec.template.spec.containers[name="app"].image' }] },
    });
    const containers = (forced as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers;
    expect(containers[0]!.image).toBe('registry.example.com/app:2');
    expect(forced.metadata?.generation).toBe(2);
  });

  it('reads, and deletes with a Status answer; the read afterwards is a 404 Status', async () => {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gamma', namespace: 'apps' } };
    const status = await client.delete(ref);
    expect(status).toMatchObject({ status: 'Success', details: { name: 'gamma', group: 'apps', kind: 'deployments' } });
    const err = (await client.read(ref).catch((e: unknown) => e)) as { code: number };
    expect(err.code).toBe(404);
  });

  it('also serves plain HTTP (kubeconfig then skips TLS verification, as client-node demands)', async () => {
    const secure = await startKubeApi({ tls: false });
    try {
      const k = new KubeConfig();
      k.loadFromFile(await secure.writeKubeconfig(join(dir, 'http-kubeconfig')));
      expect(secure.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ns = await KubernetesObjectApi.makeApiClient(k).list('v1', 'Namespace');
      expect(ns.items.map((i) => i.metadata?.name)).toContain('default');
    } finally {
      await secure.close();
    }
  });
});
