/** Pure parts of the cluster target: pod verdicts, kubeconfig resolution, `demo manifests`. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { podVerdict, podHint, type EventLike } from '../../src/targets/cluster/pod-reasons.js';
import { loadKubeconfig } from '../../src/targets/cluster/kubeconfig.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { runMain } from '../helpers/run-cli.js';
import { wgDir } from './helpers.js';

function pod(waiting: { reason: string; message?: string } | undefined, extra: Record<string, unknown> = {}): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: 'c', image: 'img:1', ready: false, restartCount: 0, state: waiting ? { waiting } : { running: {} }, ...extra }],
    },
  };
}

describe('pod verdicts', () => {
  test('a first ErrImagePull with an unclear message is transient', () => {
    expect(podVerdict(pod({ reason: 'ErrImagePull', message: 'i/o timeout' }))?.terminal).toBe(false);
  });
  test('ImagePullBackOff after a definitive registry answer is terminal', () => {
    const events: EventLike[] = [{ type: 'Warning', reason: 'Failed', message: 'Failed to pull image "img:1": manifest unknown', count: 1 }];
    const v = podVerdict(pod({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "img:1"' }), events)!;
    expect(v).toMatchObject({ reason: 'ImagePullBackOff', terminal: true, message: 'Failed to pull image "img:1": manifest unknown' });
    expect(podHint(v)).toMatch(/cannot be pulled/);
  });
  test('ImagePullBackOff is terminal once the kubelet retried, even with a vague message', () => {
    const events: EventLike[] = [{ type: 'Warning', reason: 'Failed', message: 'Failed to pull image "img:1": i/o timeout', count: 2 }];
    expect(podVerdict(pod({ reason: 'ImagePullBackOff' }), events)?.terminal).toBe(true);
    expect(podVerdict(pod({ reason: 'ImagePullBackOff' }), [])?.terminal).toBe(false);
  });
  test('InvalidImageName, CreateContainerConfigError and CrashLoopBackOff are terminal', () => {
    expect(podVerdict(pod({ reason: 'InvalidImageName' }))?.terminal).toBe(true);
    expect(podVerdict(pod({ reason: 'CreateContainerConfigError', message: 'secret "x" not found' }))?.terminal).toBe(true);
    const crash = podVerdict(pod({ reason: 'CrashLoopBackOff' }, { lastState: { terminated: { exitCode: 3 } } }))!;
    expect(crash).toMatchObject({ terminal: true, exitCode: 3 });
    expect(podHint(crash)).toMatch(/exit code 3/);
  });
  test('ContainerCreating, unschedulable and a failing readiness probe are transient', () => {
    expect(podVerdict(pod({ reason: 'ContainerCreating' }))?.terminal).toBe(false);
    const unsched: K8sObject = { ...pod(undefined), status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } };
    expect(podVerdict(unsched)).toMatchObject({ reason: 'FailedScheduling', terminal: false, message: '0/3 nodes are available' });
    expect(podVerdict(pod(undefined))).toMatchObject({ reason: 'ContainersNotReady', terminal: false });
  });
  test('Ready and terminating pods have no verdict', () => {
    const ready: K8sObject = { ...pod(undefined), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    expect(podVerdict(ready)).toBeUndefined();
    expect(podVerdict({ ...pod({ reason: 'CrashLoopBackOff' }), metadata: { name: 'p', namespace: 'ns', deletionTimestamp: 'x' } })).toBeUndefined();
  });
});

describe('kubeconfig', () => {
  const file = (dir: string, name: string, ctxName: string, current: boolean) => {
    const p = join(dir, name);
    writeFileSync(p, [
      'apiVersion: v1', 'kind: Config', ...(current ? [`current-context: ${ctxName}`] : []),
      `clusters: [{name: ${ctxName}, cluster: {server: "https://${ctxName}.example:6443"}}]`,
      `users: [{name: u-${ctxName}, user: {token: t-${ctxName}}}]`,
      `contexts: [{name: ${ctxName}, context: {cluster: ${ctxName}, user: u-${ctxName}}}]`, '',
    ].join('\n'));
    return p;
  };
  test('KUBECONFIG lists are merged like kubectl: the first current-context wins, --context picks another', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const a = file(dir, 'a', 'alpha', true);
    const b = file(dir, 'b', 'beta', true);
    const env = { KUBECONFIG: `${a}:${join(dir, 'missing')}:${b}` };
    expect(loadKubeconfig({ env })).toMatchObject({ context: 'alpha', server: 'https://alpha.example:6443', user: 'u-alpha' });
    expect(loadKubeconfig({ env, context: 'beta' })).toMatchObject({ context: 'beta', server: 'https://beta.example:6443' });
    expect(loadKubeconfig({ env: {}, file: b })).toMatchObject({ context: 'beta' });
    expect(() => loadKubeconfig({ env: { HOME: dir } })).toThrow(/no kubeconfig/);
  });
});

describe('demo manifests', () => {
  test('renders every step with no cluster, keys masked unless --reveal-keys', async () => {
    const r = await runMain(['manifests'], { HOME: '/nonexistent', KUBECONFIG: '/nonexistent' });
    expect(r.code, r.stderr).toBe(0);
    for (const s of ['# Step 1', '# Step 2', '# Step 3 ', '# Step 4', '# Step 5']) expect(r.stdout).toContain(s);
    // the platform-owned gateway TokenRateLimitPolicy is left out (test/cluster/manifests.test.ts), and with it the apply-mode annotation
    expect(r.stdout).not.toContain('kind: TokenRateLimitPolicy');
    expect(r.stdout).not.toContain('maas-egress-demo/apply:');
    expect(r.stdout).not.toContain('sk-openai-key-for-demo');
    expect(r.stdout).toContain('the XBackendDestination CRD is not included');
    const revealed = await runMain(['manifests', '--reveal-keys', '--step', '4'], {});
    expect(revealed.stdout).toContain('sk-openai-key-for-demo');
    expect(revealed.stdout).not.toContain('# Step 3');
  });
  test('with WG_DIR the CRDs are part of step 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-'));
    const r = await runMain(['manifests', '--step', '1'], { WG_DIR: wgDir(dir) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('name: xbackenddestinations.ainetworking.prototype.x-k8s.io');
  });
});
