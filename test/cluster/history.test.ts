/**
 * A cluster with a history: someone edits what the demo applied (`kubectl set image` on the controller),
 * someone upgrades maas-api after `up`. `up` names the other field manager and the fields and takes them
 * only with --force-conflicts; `down` restores maas-api only while it runs what `up` set, hands the fields
 * back to their owner, and leaves nothing of ours behind.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { KObj } from '../kube-api/server.js';
import { demo, LABELS, ofKind, runEnd, startCluster, type Cluster } from './helpers.js';

let c: Cluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

const TIER_IMAGE = 'quay.io/opendatahub/maas-api:odh-2026-01-28-30f93ad1';

/** What `kubectl set image deployment/NAME CONTAINER=IMAGE` sends: a strategic merge patch as field manager kubectl-set. */
async function kubectlSetImage(x: Cluster, ns: string, name: string, container: string, image: string): Promise<void> {
  const t = x.api.store.typeOf('apps/v1', 'Deployment');
  x.api.store.patch(t, ns, name, 'application/strategic-merge-patch+json', { spec: { template: { spec: { containers: [{ name: container, image }] } } } }, { manager: 'kubectl-set' });
  await x.api.settle();
}

const imageOf = (d: KObj | undefined, container: string) => ((d?.['spec'] as { template: { spec: { containers: { name: string; image: string }[] } } }).template.spec.containers.find((k) => k.name === container))?.image;
const managers = (d: KObj | undefined) => (d?.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`);

/** Every object carrying both demo labels, across the kinds the demo creates. */
function labelled(x: Cluster): string[] {
  const wanted = LABELS.split(',').map((p) => p.split('=') as [string, string]);
  const out: string[] = [];
  for (const t of x.api.registry.all()) {
    for (const o of x.api.store.list(t)) if (wanted.every(([k, v]) => o.metadata.labels?.[k] === v)) out.push(`${t.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  }
  return out;
}

describe('a cluster with a history', () => {
  test('up, a foreign set image on the controller, up names the conflict, up --force-conflicts takes it, down leaves nothing and maas-api as it was', async () => {
    // Given the demo is up
    c = await startCluster({}, { delayMs: 5 });
    const before = c.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api');
    expect(imageOf(before, 'maas-api')).toBe(TIER_IMAGE);
    const first = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '30']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // When someone sets another image on the controller
    await kubectlSetImage(c, 'ai-gateway-system', 'ai-gateway-controller', 'manager', 'ghcr.io/someone/wg-ai-gateway:v2');
    const again = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '30']);
    // Then up names the other field manager and the field, and says how to take it back
    expect(again.code).toBe(1);
    const end = runEnd(again.events);
    expect(end.error?.message).toMatch(/step 1 failed: Deployment\/ai-gateway-system\/ai-gateway-controller: \.spec\.template\.spec\.containers\[name="manager"\]\.image is owned by field manager "kubectl-set", which changed it after the demo applied it/);
    expect(end.error?.hint).toMatch(/demo up --target cluster --force-conflicts/);
    expect(imageOf(c.api.get('apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller'), 'manager')).toBe('ghcr.io/someone/wg-ai-gateway:v2');
    // And with --force-conflicts the demo's image is back and ours
    const forced = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '30', '--force-conflicts']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    const ctl = c.api.get('apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller');
    expect(imageOf(ctl, 'manager')).toBe('ghcr.io/nerdalert/wg-ai-gateway:prefix-rewrite-fix');
    expect(JSON.stringify(ctl?.metadata.managedFields?.find((m) => m.manager === 'kubectl-set')?.fieldsV1 ?? {})).not.toContain('f:image');
    // When the demo goes
    const down = await demo(c, ['down', '--timeout', '30']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    // Then nothing labelled is left, and maas-api runs its image again with no field of ours
    expect(labelled(c)).toEqual([]);
    const after = c.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api');
    expect(imageOf(after, 'maas-api')).toBe(TIER_IMAGE);
    expect(after?.metadata.annotations?.['opendatahub.io/managed']).toBeUndefined();
    expect(managers(after).filter((m) => m.startsWith('maas-egress-demo'))).toEqual([]);
    // the image went back to the manager that owned it before the demo
    const owner = after?.metadata.managedFields?.find((m) => JSON.stringify(m.fieldsV1).includes('f:image'));
    expect(owner?.manager).toBe('seed');
  }, 120_000);

  test('down leaves a maas-api that was upgraded after up, says what runs, and keeps only its unmanaged mark', async () => {
    c = await startCluster({}, { delayMs: 5 });
    const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '30']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(imageOf(c.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api'), 'maas-api')).toBe('ghcr.io/nerdalert/maas-api:external-models');
    await kubectlSetImage(c, 'opendatahub', 'maas-api', 'maas-api', 'quay.io/opendatahub/maas-api:odh-2026-02-20-aa11bb22');
    const down = await demo(c, ['down', '--timeout', '30']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    const logs = ofKind(down.events, 'log').map((e) => String(e.message)).join('\n');
    expect(logs).toMatch(/maas-api runs quay\.io\/opendatahub\/maas-api:odh-2026-02-20-aa11bb22, not ghcr\.io\/nerdalert\/maas-api:external-models which `demo up` set: it was changed since, so it is left as it is \(before the demo it ran quay\.io\/opendatahub\/maas-api:odh-2026-01-28-30f93ad1\)/);
    const summary = ofKind(down.events, 'summary').at(-1) as { facts: Record<string, string> };
    expect(summary.facts['maas-api']).toMatch(/left as it runs now/);
    const after = c.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api');
    expect(imageOf(after, 'maas-api')).toBe('quay.io/opendatahub/maas-api:odh-2026-02-20-aa11bb22');
    // the unmanaged mark stays (the operator would revert the upgrade), and it is the only field still ours
    expect(after?.metadata.annotations?.['opendatahub.io/managed']).toBe('false');
    expect(logs).toMatch(/opendatahub\.io\/managed=false stays on maas-api/);
    const ours = after?.metadata.managedFields?.filter((m) => m.manager === 'maas-egress-demo') ?? [];
    expect(ours.map((m) => m.fieldsV1)).toEqual([{ 'f:metadata': { 'f:annotations': { 'f:opendatahub.io/managed': {} } } }]);
  }, 120_000);
});
