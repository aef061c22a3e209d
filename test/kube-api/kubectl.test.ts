// The test server checked against a client we did not write: the real kubectl binary on the PATH.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApi, type KubeApi } from './server.js';
import { requireTool } from '../helpers/prereq.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Without kubectl the suite fails saying how to get it (never a silent skip).
requireTool('kubectl');

describe('kube-api test server driven by the real kubectl', () => {
  let api: KubeApi;
  let dir: string;
  let kubeconfig: string;

  const kubectl = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { env: { ...process.env, KUBECACHEDIR: join(dir, 'cache'), HOME: dir }, timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0
        ports:
        - containerPort: 8080
`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-api-kubectl-'));
    api = await startKubeApi({ controllerDelayMs: 40 });
    kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'));
    api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } }]);
    await writeFile(join(dir, 'web.yaml'), manifest);
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists namespaces through discovery and a plain list', async () => {
    // When
    const r = await kubectl('get', 'ns');
    // Then
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+/);
    expect(r.stdout).toContain('kube-system');
    expect(r.stdout).toContain('demo');
  });

  it('applies server-side, and a second identical apply changes nothing', async () => {
    // Given
    const first = await kubectl('apply', '--server-side', '-f', join(dir, 'web.yaml'));
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toBe('deployment.apps/web serverside-applied');
    await api.settle();
    const before = api.get('apps/v1', 'Deployment', 'demo', 'web')!;
    // When
    const second = await kubectl('apply', '--server-side', '-f', join(dir, 'web.yaml'));
    // Then
    expect(second.code).toBe(0);
    const patch = api.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/deployments/web')).at(-1)!;
    expect(patch.contentType).toBe('application/apply-patch+yaml');
    expect(patch.query['fieldManager']).toBe('kubectl');
    const after = api.get('apps/v1', 'Deployment', 'demo', 'web')!;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.generation).toBe(1);
  });

  it('waits for the Deployment to become Available and shows it as JSON', async () => {
    // When
    const w = await kubectl('wait', '--for=condition=Available', 'deployment/web', '-n', 'demo', '--timeout=10s');
    const g = await kubectl('get', 'deploy', 'web', '-n', 'demo', '-o', 'json');
    // Then
    expect(w.stdout.trim()).toBe('deployment.apps/web condition met');
    const obj = JSON.parse(g.stdout) as { status: { readyReplicas: number; conditions: { type: string; status: string; reason: string }[] } };
    expect(obj.status.readyReplicas).toBe(2);
    expect(obj.status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }));
    const pods = await kubectl('get', 'pods', '-n', 'demo', '-l', 'app=web', '-o', 'name');
    expect(pods.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('reports NotFound the way kubectl prints it', async () => {
    const r = await kubectl('get', 'deploy', 'nope', '-n', 'demo');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): deployments.apps "nope" not found');
  });

  it('serves a custom resource kind once its CRD is registered, and refuses unknown fields when strict', async () => {
    // Given: no AuthPolicy kind yet
    const before = await kubectl('get', 'authpolicies', '-A');
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`the server doesn't have a resource type "authpolicies"`);
    api.installCrds('kuadrant');
    const policy = `apiVersion: kuadrant.io/v1
kind: AuthPolicy
metadata: {name: bridge-auth, namespace: demo}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: openai-bridge}
  rules:
    headers:
      X-Provider-Api-Key: {plain: {expression: "'sk-openai-key-for-demo'"}}
`;
    await writeFile(join(dir, 'policy.yaml'), policy);
    // When
    const strict = await kubectl('apply', '--server-side', '-f', join(dir, 'policy.yaml'));
    const lax = await kubectl('apply', '--server-side', '--validate=false', '-f', join(dir, 'policy.yaml'));
    const got = await kubectl('get', 'authpolicy', 'bridge-auth', '-n', 'demo', '-o', 'json');
    // Then
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('.spec.rules.headers: field not declared in schema');
    expect(lax.stdout.trim()).toBe('authpolicy.kuadrant.io/bridge-auth serverside-applied');
    const stored = JSON.parse(got.stdout) as { spec: { rules: Record<string, unknown> } };
    expect(stored.spec.rules).toEqual({});
  });

  it('refuses a conflicting apply from another field manager unless forced', async () => {
    // Given
    await writeFile(join(dir, 'web-5.yaml'), manifest.replace('replicas: 2', 'replicas: 5'));
    // When
    const refused = await kubectl('apply', '--server-side', '--field-manager=other', '-f', join(dir, 'web-5.yaml'));
    const forced = await kubectl('apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', join(dir, 'web-5.yaml'));
    // Then
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas');
    expect(forced.code).toBe(0);
    expect((api.get('apps/v1', 'Deployment', 'demo', 'web')!['spec'] as { replicas: number }).replicas).toBe(5);
  });

  it('deletes, garbage-collecting the ReplicaSet and Pods', async () => {
    // When
    const d = await kubectl('delete', '-f', join(dir, 'web.yaml'));
    // Then
    expect(d.stdout.trim()).toBe('deployment.apps "web" deleted');
    expect(api.list('apps/v1', 'ReplicaSet', 'demo')).toEqual([]);
    expect(api.list('v1', 'Pod', 'demo')).toEqual([]);
    const g = await kubectl('get', 'deploy', '-n', 'demo');
    expect(g.stderr.trim()).toBe('No resources found in demo namespace.');
  });

  it('scales through the scale subresource', async () => {
    api.seed([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'one', namespace: 'demo' }, spec: { replicas: 1, selector: { matchLabels: { app: 'one' } }, template: { metadata: { labels: { app: 'one' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } }]);
    const r = await kubectl('scale', 'deployment/one', '-n', 'demo', '--replicas=3');
    expect(r.stdout.trim()).toBe('deployment.apps/one scaled');
    expect((api.get('apps/v1', 'Deployment', 'demo', 'one')!['spec'] as { replicas: number }).replicas).toBe(3);
  });
});

describe('the rehearsal cluster driven by the real kubectl', () => {
  let api: KubeApi;
  let dir: string;
  let kubeconfig: string;

  /** kubectl with `input` on its stdin (closed either way, so `-f -` never waits). */
  const kubectlIn = (input: string, ...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { env: { ...process.env, HOME: dir }, timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
      });
      child.stdin!.end(input);
    });
  const kubectl = (...args: string[]): Promise<Run> => kubectlIn('', ...args);
  const LOOKUP = '/api/v1/namespaces/opendatahub/services/https:maas-api:8443/proxy/v1/tiers/lookup';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-api-kubectl-rehearsal-'));
    api = await startKubeApi({ controllerDelayMs: 10, preset: 'subscription' });
    kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'));
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches maas-api through the service proxy with get --raw, and a set image changes which generation answers', async () => {
    // Given the subscription-era maas-api
    const health = await kubectl('get', '--raw', '/api/v1/namespaces/opendatahub/services/https:maas-api:8443/proxy/health');
    const before = await kubectlIn('{"groups":["system:authenticated"]}', 'create', '--raw', LOOKUP, '-f', '-');
    expect(JSON.parse(health.stdout)).toEqual({ status: 'healthy' });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('NotFound'); // gin's 404: the subscription era has no tier lookup
    // When someone puts the tier-era fork image on it
    const set = await kubectl('set', 'image', 'deployment/maas-api', '-n', 'opendatahub', 'maas-api=ghcr.io/nerdalert/maas-api:external-models');
    expect(set.stdout.trim()).toBe('deployment.apps/maas-api image updated');
    await kubectl('wait', '--for=condition=Available', 'deployment/maas-api', '-n', 'opendatahub', '--timeout=10s');
    await api.waitFor(() => api.list('v1', 'Pod', 'opendatahub').filter((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'maas-api').length === 1);
    await api.settle();
    // Then the tier-era paths answer (with a tier ConfigMap to look in)
    api.seed([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tier-to-group-mapping', namespace: 'opendatahub' }, data: { tiers: '- name: free\n  level: 0\n  groups: [system:authenticated]\n' } }]);
    const lookup = await kubectlIn('{"groups":["system:authenticated"]}', 'create', '--raw', LOOKUP, '-f', '-');
    expect(lookup.stderr).toBe('');
    expect(JSON.parse(lookup.stdout)).toEqual({ tier: 'free', displayName: 'Free Tier' });
  });
});
