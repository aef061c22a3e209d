/**
 * Which MaaS generation the cluster runs, from evidence: the CRDs, maas-api's own answers through the API
 * server's service proxy, its image, the tier ConfigMap, payload-processing. `up` runs the generation the
 * evidence shows and stops before changing anything when it cannot tell; `--maas` says which one it is, but
 * never makes the demo replace a maas-api that answers as another generation.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { demo, ofKind, runEnd, startCluster, type Cluster } from './helpers.js';

let c: Cluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
/** Requests that could have changed the cluster (reviews are questions, not changes). */
const changes = (x: Cluster) => x.api.requests.filter((q) => q.verb && WRITES.has(q.verb) && !q.resource?.startsWith('authorization.k8s.io/'));

function generationCheck(events: Record<string, unknown>[]): Record<string, unknown> | undefined {
  return ofKind(events, 'wait').find((e) => String(e.condition).startsWith('MaaS generation'));
}

describe('MaaS generation from evidence', () => {
  test('on the subscription preset, up runs the subscription era, having said what it saw', async () => {
    c = await startCluster({ generation: 'subscription' });
    const r = await demo(c, ['up', '--dry-run']);
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const g = String(generationCheck(r.events)?.condition);
    expect(g).toMatch(/: subscription: CRDs served: MaaSSubscription, MaaSModelRef, MaaSAuthPolicy/);
    expect(g).toMatch(/maas-api answers POST \/v1\/tokens with 404 page not found/);
    expect(g).toMatch(/maas-api serves GET \/v1\/api-keys\/config \(HTTP 401\)/);
    expect(g).toMatch(/payload-processing exists/);
    expect(ofKind(r.events, 'step-start').map((e) => e.step)).toEqual(['preflight', 's0', 's1', 's2', 's3', 's4', 'key']);
    // A dry run asks the server to validate each object (dryRun=All) and persists nothing.
    expect(changes(c).filter((q) => q.query.dryRun !== 'All')).toEqual([]);
    expect(c.api.maasApi.apiKeys()).toEqual([]);
  }, 60_000);

  test('with the MaaS CRDs deleted, it still does not assume: maas-api itself says subscription, and the missing CRDs stop it before any change', async () => {
    c = await startCluster({ generation: 'subscription' });
    for (const crd of ['maassubscriptions.maas.opendatahub.io', 'maasmodelrefs.maas.opendatahub.io', 'maasauthpolicies.maas.opendatahub.io']) c.api.faults.missingCrd(crd);
    const r = await demo(c, ['up']);
    const end = runEnd(r.events);
    expect(r.code).toBe(1);
    expect(String(generationCheck(r.events)?.condition)).toMatch(/: subscription: no MaaSSubscription\/MaaSModelRef\/MaaSAuthPolicy CRD served.*maas-api serves GET \/v1\/subscriptions/);
    expect(end.error?.message).toMatch(/does not serve MaaSModelRef.*MaaSAuthPolicy.*MaaSSubscription/);
    expect(end.error?.hint).toMatch(/modelsAsService/);
    expect(changes(c)).toEqual([]);
  }, 60_000);

  test('with nothing to go on (no CRDs, maas-api not reachable, a floating image tag), it stops and says it cannot tell', async () => {
    c = await startCluster({ generation: 'subscription' });
    for (const crd of ['maassubscriptions.maas.opendatahub.io', 'maasmodelrefs.maas.opendatahub.io', 'maasauthpolicies.maas.opendatahub.io']) c.api.faults.missingCrd(crd);
    c.api.faults.forbid({ resource: 'services', subresource: 'proxy' });
    c.api.store.delete(c.api.store.typeOf('apps/v1', 'Deployment'), 'openshift-ingress', 'payload-processing');
    const r = await demo(c, ['up', '--wg-dir', c.wgDir]);
    const end = runEnd(r.events);
    expect(r.code).toBe(1);
    expect(end.error?.message).toMatch(/could not tell which MaaS generation this cluster runs, and the demo does not guess/);
    expect(end.error?.message).toMatch(/maas-api not asked through the API server's service proxy: the service proxy \(services\/proxy\) is forbidden/);
    expect(end.error?.message).toMatch(/maas-api runs quay\.io\/opendatahub\/maas-api:odh-stable: a tag that does not date the build/);
    expect(end.error?.hint).toMatch(/--maas tier/);
    expect(changes(c)).toEqual([]);
  }, 60_000);

  test('--maas tier never makes the demo replace a maas-api that answers as the subscription era', async () => {
    c = await startCluster({ generation: 'subscription' });
    const r = await demo(c, ['up', '--wg-dir', c.wgDir, '--maas', 'tier']);
    expect(r.code).toBe(1);
    expect(runEnd(r.events).error?.message).toMatch(/--maas tier was given, but maas-api itself answers as the subscription era/);
    expect(changes(c)).toEqual([]);
  }, 60_000);

  test('on the tier preset the evidence agrees: tokens and tier lookup served, the tier ConfigMap, a January 2026 build', async () => {
    c = await startCluster();
    const r = await demo(c, ['up', '--wg-dir', c.wgDir, '--dry-run']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const g = generationCheck(r.events);
    expect(g?.state).toBe('met');
    expect(String(g?.condition)).toMatch(/: tier: no MaaSSubscription.*maas-api serves POST \/v1\/tokens \(HTTP 500\).*maas-api serves POST \/v1\/tiers\/lookup \(HTTP 200\).*maas-api answers GET \/v1\/api-keys\/config with 404.*built 2026-01-28.*tier-to-group-mapping exists/);
  }, 60_000);

  test('doctor on a subscription-era cluster runs the era\'s checks and never advises the tier-era maas-api image', async () => {
    c = await startCluster({ generation: 'subscription' });
    const r = await demo(c, ['doctor', '--category', 'install', '--timeout', '5'], { DEMO_GATEWAY_URL: 'https://127.0.0.1:9' });
    const out = r.stdout + r.stderr;
    expect(ofKind(r.events, 'check').map((e) => e.id)).toContain('sub-modelrefs-ready');
    expect(out).toMatch(/subscription era \(current MaaS\)/);
    expect(out).not.toMatch(/set image deployment\/maas-api/);
    expect(out).not.toMatch(/maas-api:external-models/);
  }, 60_000);
});
