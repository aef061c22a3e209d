/**
 * The subscription era (current MaaS) on a cluster, against the rehearsal cluster's subscription preset:
 * `up` with no --maas finds the era from evidence and runs its steps (simulators and the on-prem model,
 * provider Secrets, ExternalModels, MaaSModelRefs, MaaSAuthPolicy and MaaSSubscription, an API key);
 * `env` exports the key; doctor names a planted object fault and `--fix` repairs it; `down` revokes the
 * key and removes only what the demo labelled. The key never shows in any other output.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runMain } from '../helpers/run-cli.js';
import { demo, ofKind, refusingGateway, startCluster, type Cluster, type Run } from './helpers.js';

const MAAS = 'maas.opendatahub.io/v1alpha1';
const INFERENCE = 'inference.opendatahub.io/v1alpha1';
const IPP_LABEL = 'inference.llm-d.ai/ipp-managed';

let c: Cluster;
let up: Run;
let gateway: Awaited<ReturnType<typeof refusingGateway>>;
/** Everything any command printed: the key may appear only in `demo env`'s export line. */
const outputs: string[] = [];
const keep = <T extends { stdout: string; stderr: string }>(r: T): T => {
  outputs.push(r.stdout, r.stderr);
  return r;
};
let foreignBefore: Record<string, unknown>[];

/** Objects of the platform (no demo labels) whose spec must come through the run untouched. */
function foreign(x: Cluster): Record<string, unknown>[] {
  return [
    x.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-default-deny'),
    x.api.get('apps/v1', 'Deployment', 'opendatahub', 'maas-api'),
    x.api.get('apps/v1', 'Deployment', 'openshift-ingress', 'payload-processing'),
    x.api.get('gateway.networking.k8s.io/v1', 'Gateway', 'openshift-ingress', 'maas-default-gateway'),
  ].map((o) => ({ name: o?.metadata.name, labels: o?.metadata.labels ?? {}, spec: o?.spec }));
}

function labelled(x: Cluster): string[] {
  const kinds: [string, string][] = [
    [MAAS, 'MaaSModelRef'], [MAAS, 'MaaSAuthPolicy'], [MAAS, 'MaaSSubscription'], [MAAS, 'ExternalModel'], [INFERENCE, 'ExternalModel'], [INFERENCE, 'ExternalProvider'],
    ['v1', 'Secret'], ['v1', 'ConfigMap'], ['v1', 'Namespace'], ['apps/v1', 'Deployment'], ['v1', 'Service'], ['serving.kserve.io/v1alpha1', 'LLMInferenceService'],
  ];
  return kinds.flatMap(([v, k]) => x.api.list(v, k).filter((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'maas-egress-demo').map((o) => `${k}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
}

beforeAll(async () => {
  c = await startCluster({ generation: 'subscription' });
  foreignBefore = foreign(c);
  gateway = await refusingGateway(c);
  up = keep(await demo(c, ['up', '--timeout', '30']));
}, 120_000);

afterAll(async () => {
  gateway?.close();
  await c?.close();
});

describe('the subscription era on a cluster', () => {
  test('up with no --maas exits 0: at least three MaaSModelRefs Ready with an endpoint, the subscription Active, a key minted', () => {
    expect(up.code, up.stdout.slice(-3000) + up.stderr).toBe(0);
    const gen = ofKind(up.events, 'wait').find((e) => String(e.condition).startsWith('MaaS generation'));
    expect(String(gen?.condition)).toMatch(/: subscription: CRDs served/);
    const refs = c.api.list(MAAS, 'MaaSModelRef');
    const ready = refs.filter((r) => {
      const s = r.status as { phase?: string; endpoint?: string };
      return s.phase === 'Ready' && Boolean(s.endpoint);
    });
    expect(ready.length).toBeGreaterThanOrEqual(3);
    // The on-prem model is a MaaSModelRef of the LLMInferenceService kind.
    expect(refs.some((r) => (r.spec as { modelRef: { kind: string } }).modelRef.kind === 'LLMInferenceService' && (r.status as { phase?: string }).phase === 'Ready')).toBe(true);
    const sub = c.api.get(MAAS, 'MaaSSubscription', 'models-as-a-service', 'demo-subscription');
    expect((sub?.status as { phase?: string }).phase).toBe('Active');
    // What maas-controller generates from them, Enforced.
    const trlp = c.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'llm', 'maas-trlp-gpt-4');
    expect((trlp?.status as { conditions: { type: string; status: string }[] }).conditions.find((x) => x.type === 'Enforced')?.status).toBe('True');
    expect(c.api.maasApi.apiKeys()).toEqual([expect.objectContaining({ subscription: 'demo-subscription', status: 'active' })]);
    const summary = ofKind(up.events, 'summary').at(-1) as { facts: Record<string, string> };
    expect(summary.facts['models Ready']).toMatch(/^3 of 3 MaaSModelRefs/);
    expect(summary.facts.subscriptions).toMatch(/demo-subscription: Active/);
    expect(summary.facts['API key']).toMatch(/^sk-o…/);
  });

  test('the era as the cluster serves it: canonical external models, provider Secrets labelled for payload processing, in-cluster simulators over plain HTTP', () => {
    expect(c.api.list(INFERENCE, 'ExternalModel').map((o) => o.metadata.name).sort()).toEqual(['claude-3-sonnet', 'gpt-4']);
    expect(c.api.list(MAAS, 'ExternalModel')).toEqual([]);
    const secret = c.api.get('v1', 'Secret', 'llm', 'gpt-4-api-key');
    expect(secret?.metadata.labels?.[IPP_LABEL]).toBe('true');
    const provider = c.api.get(INFERENCE, 'ExternalProvider', 'llm', 'gpt-4-provider');
    expect(provider?.metadata.annotations).toEqual({ 'maas.opendatahub.io/tls': 'false', 'maas.opendatahub.io/port': '8000' });
    expect((provider?.spec as { endpoint: string }).endpoint).toBe('openai-simulator.external-models.svc.cluster.local');
    const route = c.api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'llm', 'maas-gpt-4');
    expect(route).toBeDefined();
  });

  test('a second up changes nothing and keeps the key', async () => {
    const again = keep(await demo(c, ['up', '--timeout', '30']));
    expect(again.code, again.stdout.slice(-2000)).toBe(0);
    expect(ofKind(again.events, 'apply').filter((e) => e.action === 'created' || e.action === 'configured')).toEqual([]);
    expect(c.api.maasApi.apiKeys().length).toBe(1);
  }, 60_000);

  test('env exports the generation, the subscription and the key', async () => {
    const r = keep(await runMain(['env', '--target', 'cluster'], { KUBECONFIG: c.kubeconfig, HOME: c.dir }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^export MAAS_GENERATION='subscription'$/m);
    expect(r.stdout).toMatch(/^export MAAS_SUBSCRIPTION='demo-subscription'$/m);
    expect(r.stdout).toMatch(/^export MAAS_API_KEY='sk-oai-[^']+'$/m);
    // env's export line is where the key is meant to be; every other output is checked below.
    outputs.pop();
    outputs.pop();
    envKey = /MAAS_API_KEY='([^']+)'/.exec(r.stdout)![1]!;
  });

  test('validate runs the era\'s calls against the gateway the session names', async () => {
    const r = keep(await demo(c, ['validate', '--ca-file', gateway.caFile, '--skip', '12'], { DEMO_GATEWAY_URL: gateway.url }));
    const checks = ofKind(r.events, 'check');
    expect(checks.map((x) => x.id)).toContain('call-2');
    // A gateway that refuses everyone cannot mint a key: said, not passed.
    expect(checks.find((x) => x.id === 'call-2')?.outcome).toBe('fail');
    expect(r.code).toBe(1);
  }, 60_000);

  test('doctor names a Secret without the payload-processing label (object and field), and --fix puts it back by server-side apply', async () => {
    // Given: someone takes the label off, as `kubectl label secret gpt-4-api-key inference.llm-d.ai/ipp-managed-` would
    const secret = c.api.get('v1', 'Secret', 'llm', 'gpt-4-api-key')!;
    const labels = { ...(secret.metadata.labels ?? {}) };
    delete labels[IPP_LABEL];
    c.api.seed([{ ...structuredClone(secret), metadata: { ...structuredClone(secret.metadata), labels, managedFields: undefined } }]);
    await c.api.settle();
    const env = { DEMO_GATEWAY_URL: gateway.url };
    // When
    const d = keep(await demo(c, ['doctor', '--ca-file', gateway.caFile], env));
    // Then
    const check = ofKind(d.events, 'check').find((x) => x.id === 'sub-secrets-readable');
    expect(check?.outcome).toBe('fail');
    expect(check?.object).toBe('Secret/llm/gpt-4-api-key');
    expect(check?.field).toBe(`metadata.labels["${IPP_LABEL}"]`);
    // Checks that need a request's evidence say they have none (the gateway refuses), never pass.
    for (const id of ['sub-provider-accepts-key', 'sub-identity-headers-stripped', 'sub-access-granted', 'sub-tls-matches-endpoint']) {
      expect(ofKind(d.events, 'check').find((x) => x.id === id)?.outcome, id).toBe('skip');
    }
    const clear = ofKind(d.events, 'check').find((x) => x.id === 'sub-keys-not-in-clear');
    expect(clear?.outcome).toBe('warn');
    expect((clear?.data as { expectedWarning?: boolean } | undefined)?.expectedWarning).toBe(true);
    // When: --fix
    const f = keep(await demo(c, ['doctor', '--ca-file', gateway.caFile, '--fix', '--yes', '--category', 'key-injection'], env));
    const after = ofKind(f.events, 'check').filter((x) => x.id === 'sub-secrets-readable');
    expect(after.at(-1)?.outcome).toBe('pass');
    const fixed = c.api.get('v1', 'Secret', 'llm', 'gpt-4-api-key')!;
    expect(fixed.metadata.labels?.[IPP_LABEL]).toBe('true');
    const mine = (fixed.metadata.managedFields as { manager: string; operation: string }[]).filter((m) => m.manager === 'maas-egress-demo');
    expect(mine.map((m) => m.operation)).toContain('Apply');
  }, 90_000);

  test('down revokes the key, removes every labelled object, restores the plugins ConfigMap and leaves the platform alone', async () => {
    const r = keep(await demo(c, ['down']));
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(c.api.maasApi.apiKeys().every((k) => k.status === 'revoked')).toBe(true);
    expect(labelled(c)).toEqual([]);
    const kubectlLabelled = c.api.list('v1', 'ConfigMap').filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'maas-egress-demo');
    expect(kubectlLabelled).toEqual([]);
    const plugins = c.api.get('v1', 'ConfigMap', 'openshift-ingress', 'payload-processing-plugins');
    expect(plugins?.data).toEqual({
      'custom-pre-processing-ipp-config.yaml': 'plugins: [body-field-to-header (model -> X-Gateway-Model-Name), model-provider-resolver]\n',
      'custom-ipp-config.yaml': 'plugins: [maas-headers-guard, stream-usage-enforcer, model-provider-resolver, api-translation, apikey-injection]\n',
    });
    expect(foreign(c)).toEqual(foreignBefore);
    expect(c.api.get('kuadrant.io/v1', 'AuthPolicy', 'openshift-ingress', 'maas-gateway-auth')).toBeDefined();
  }, 90_000);

  test('the API key never appears in any output but the export line of env', () => {
    expect(envKey).toMatch(/^sk-oai-/);
    for (const o of outputs) expect(o).not.toContain(envKey);
    // Nor its secret part alone.
    const secretPart = envKey.split('_').at(-1)!;
    for (const o of outputs) expect(o).not.toContain(secretPart);
    // Nor any provider key, in clear or as a cluster serves Secret data (base64).
    for (const key of ['sk-openai-key-for-demo', 'sk-ant-claude-key-for-demo']) {
      for (const o of outputs) {
        expect(o).not.toContain(key);
        expect(o).not.toContain(Buffer.from(key).toString('base64'));
      }
    }
  });
});

let envKey = '';
