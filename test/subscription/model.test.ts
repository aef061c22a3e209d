/**
 * The era's objects: the renderer's output validated strictly (unknown fields rejected) against the
 * upstream CRDs with ajv, and the pure reading of those objects into what the hops are programmed
 * with — including the pitfalls it reports (Secret without label or api-key, key in clear, bad port).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule, { type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { renderSubscriptionDemo, type SubscriptionDemoPlan } from '../../src/model/subscription-render.js';
import { readSubscriptionTopology, readProviderSecret, subscriptionSpecs } from '../../src/model/subscription-read.js';
import { ApiKeyStore } from '../../src/targets/local/api-keys.js';
import { createMaasApiKeys } from '../../src/targets/local/maas-api-keys.js';
import { listen } from '../../src/sim/http-server.js';
import { startTestDb } from './helpers.js';
import { crdsDir } from '../helpers/prereq.js';

// The first PGlite of a run may run initdb in WASM (seconds, more on a loaded machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const OPENAI = 'sk-proj-render-test-openai-key-111';
const ANTHROPIC = 'sk-ant-render-test-anthropic-key-222';
const VLLM = 'render-test-vllm-key-333';

function plan(overrides: Partial<SubscriptionDemoPlan> = {}): SubscriptionDemoPlan {
  return {
    modelNamespace: 'llm',
    gatewayHost: 'maas.127.0.0.1.nip.io:8443',
    providers: [
      { name: 'gpt-4o', provider: 'openai', endpoint: 'api.openai.com', targetModel: 'gpt-4o', tls: true, key: new Secret(OPENAI) },
      { name: 'claude-sonnet', provider: 'anthropic', endpoint: 'api.anthropic.com', targetModel: 'claude-sonnet-4-20250514', tls: true, key: new Secret(ANTHROPIC) },
      { name: 'remote-vllm', provider: 'openai', endpoint: 'vllm.internal.example.com', targetModel: 'Qwen/Qwen3-0.6B', tls: false, port: 8000, key: new Secret(VLLM) },
    ],
    onprem: [{ name: 'granite', llmisvc: 'granite', alias: 'publishers/llm/models/granite' }],
    subscription: { name: 'demo-subscription', groups: ['system:authenticated'], users: [], priority: 10, limit: 2000, window: '1m', displayName: 'Demo' },
    authPolicy: { name: 'demo-access', groups: ['system:authenticated'], users: [] },
    generation: 'legacy',
    keys: 'reveal',
    status: true,
    now: new Date('2026-11-30T00:00:00Z'),
    ...overrides,
  };
}

const objects = (p: SubscriptionDemoPlan): K8sObject[] => renderSubscriptionDemo(p).flatMap((s) => s.objects);

// ---------------------------------------------------------------------------------------------------
// Strict CRD validation with ajv


/** Structural schemas prune unknown fields; to reject them instead, close every object that lists its properties. */
function strict(schema: Record<string, unknown>, root = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Record<string, unknown>>).map(([name, s]) => [name, root && name === 'metadata' ? { type: 'object' } : strict(s, false)]));
    } else if ((k === 'items' || k === 'additionalProperties') && v && typeof v === 'object') {
      out[k] = strict(v as Record<string, unknown>, false);
    } else {
      out[k] = v;
    }
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

/** ajv is CommonJS: under NodeNext its default export is the module object, the class is `.default`. */
const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;

function validators(dir: string): Map<string, ValidateFunction> {
  const ajv = new (Ajv as unknown as new (o: object) => import('ajv').default)({ allErrors: true, strict: true });
  for (const kw of ['x-kubernetes-validations', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-embedded-resource']) ajv.addKeyword(kw);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  const out = new Map<string, ValidateFunction>();
  for (const f of readdirSync(dir).filter((x) => /^(maas|inference)\.opendatahub\.io_.*\.yaml$/.test(x))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const crd = doc.toJS() as { spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] } };
      for (const v of crd.spec.versions) out.set(`${crd.spec.group}/${v.name}|${crd.spec.names.kind}`, ajv.compile(strict(v.schema.openAPIV3Schema)));
    }
  }
  return out;
}

describe('rendered objects against the upstream CRDs (ajv, unknown fields rejected)', () => {
  let v: Map<string, ValidateFunction>;
  beforeAll(() => {
    // MAAS_EGRESS_DEMO_CRDS_DIR or ../shared/crds; missing → this fails saying how to get them
    v = validators(crdsDir());
  });

  const check = (o: K8sObject): string[] => {
    const name = `${o.kind}/${o.metadata.name}`;
    if (o.apiVersion === 'v1') return [];
    const validate = v.get(`${o.apiVersion}|${o.kind}`);
    if (!validate) return [`no CRD for ${o.apiVersion} ${o.kind}`];
    return validate(o) ? [] : (validate.errors ?? []).map((e) => `${name}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };

  it.each([
    ['legacy ExternalModels, with the controllers\' statuses', plan()],
    ['canonical ExternalProvider + ExternalModel, with statuses', plan({ generation: 'canonical' })],
    ['legacy, as a cluster applies it (no status)', plan({ status: false })],
  ])('%s', (_label, p) => {
    const objs = objects(p);
    expect(objs.flatMap(check)).toEqual([]);
    // Every custom kind the era needs was checked against a CRD
    const kinds = new Set(objs.filter((o) => o.apiVersion !== 'v1').map((o) => `${o.apiVersion}|${o.kind}`));
    for (const k of kinds) expect(v.has(k), k).toBe(true);
    // The CEL rule of MaaSAuthPolicy.subjects (groups or users)
    const policy = objs.find((o) => o.kind === 'MaaSAuthPolicy')!;
    const subjects = (policy.spec as { subjects: { groups?: unknown[]; users?: unknown[] } }).subjects;
    expect((subjects.groups?.length ?? 0) + (subjects.users?.length ?? 0)).toBeGreaterThan(0);
  });

  it('rejects an unknown field and a wrong window, so the check is strict', () => {
    const sub = objects(plan()).find((o) => o.kind === 'MaaSSubscription')!;
    const typo = structuredClone(sub);
    (typo.spec as Record<string, unknown>).tokenRateLimit = [];
    expect(check(typo).join()).toMatch(/must NOT have additional properties.*tokenRateLimit/);
    const days = structuredClone(sub);
    (days.spec as { modelRefs: { tokenRateLimits: { window: string }[] }[] }).modelRefs[0]!.tokenRateLimits[0]!.window = '1d';
    expect(check(days).join()).toMatch(/must match pattern/);
  });
});

describe('reading the objects back', () => {
  it('gives maas-api and payload processing what they run, from either ExternalModel generation', () => {
    for (const generation of ['legacy', 'canonical'] as const) {
      const t = readSubscriptionTopology(objects(plan({ generation })));
      expect(t.maasApi.subscriptions).toEqual([expect.objectContaining({ name: 'demo-subscription', phase: 'Active', ready: true, priority: 10, displayName: 'Demo' })]);
      expect(t.maasApi.subscriptions[0]!.modelRefs.map((r) => r.name)).toEqual(['gpt-4o', 'claude-sonnet', 'remote-vllm', 'granite']);
      expect(t.maasApi.modelRefs.map((m) => [m.name, m.kind, m.phase, m.endpoint])).toEqual([
        ['gpt-4o', 'ExternalModel', 'Ready', 'https://maas.127.0.0.1.nip.io:8443/llm/gpt-4o'],
        ['claude-sonnet', 'ExternalModel', 'Ready', 'https://maas.127.0.0.1.nip.io:8443/llm/claude-sonnet'],
        ['remote-vllm', 'ExternalModel', 'Ready', 'https://maas.127.0.0.1.nip.io:8443/llm/remote-vllm'],
        ['granite', 'LLMInferenceService', 'Ready', 'https://maas.127.0.0.1.nip.io:8443/llm/granite'],
      ]);
      const claude = t.payloadProcessing.externalModels.find((m) => m.name === 'claude-sonnet')!;
      expect(claude.source).toBe(generation === 'legacy' ? 'maas' : 'inference');
      expect(claude.routes).toEqual([expect.objectContaining({ provider: 'anthropic', endpoint: 'api.anthropic.com', port: 443, tls: true, targetModel: 'claude-sonnet-4-20250514', path: '/v1/messages', apiFormat: 'messages', credentialRef: { name: 'claude-sonnet-api-key', namespace: 'llm' } })]);
      const vllm = t.payloadProcessing.externalModels.find((m) => m.name === 'remote-vllm')!;
      expect(vllm.routes[0]).toMatchObject({ tls: false, port: 8000 });
      expect(t.payloadProcessing.secrets.find((s) => s.name === 'gpt-4o-api-key')).toEqual({ name: 'gpt-4o-api-key', namespace: 'llm', managed: true, dataKeys: ['api-key'], apiKey: OPENAI });
      expect(t.payloadProcessing.llmisvc).toEqual([{ modelName: 'granite', publisherId: 'publishers/llm/models/granite' }]);
      // The one issue of the healthy demo: the vLLM key in clear, as the docs warn
      expect(t.issues).toEqual([{ object: 'ExternalModel/llm/remote-vllm', field: 'metadata.annotations["maas.opendatahub.io/tls"]', message: '"false": the provider key travels in clear to vllm.internal.example.com:8000' }]);
    }
  });

  it('names the pitfalls: Secret without the label or the api-key data key, a bad port, objects in the wrong namespace', () => {
    const objs = objects(plan());
    const secret = (n: string) => objs.find((o) => o.kind === 'Secret' && o.metadata.name === n)!;
    delete secret('gpt-4o-api-key').metadata.labels!['inference.llm-d.ai/ipp-managed'];
    secret('claude-sonnet-api-key').stringData = { token: ANTHROPIC };
    objs.find((o) => o.kind === 'ExternalModel' && o.metadata.name === 'remote-vllm')!.metadata.annotations!['maas.opendatahub.io/port'] = '80000';
    objs.find((o) => o.kind === 'MaaSSubscription')!.metadata.namespace = 'llm';
    const issues = readSubscriptionTopology(objs).issues.map((i) => `${i.object} ${i.field}: ${i.message}`);
    expect(issues).toEqual(expect.arrayContaining([
      'Secret/llm/gpt-4o-api-key metadata.labels["inference.llm-d.ai/ipp-managed"]: missing: payload processing never sees this Secret',
      'Secret/llm/claude-sonnet-api-key data["api-key"]: missing (data keys: token)',
      'ExternalModel/llm/remote-vllm metadata.annotations["maas.opendatahub.io/port"]: "80000" is not a port (1–65535); the reconciler rejects it',
      'MaaSSubscription/llm/demo-subscription metadata.namespace: MaaSSubscriptions are read only in models-as-a-service',
    ]));
  });

  it('prefers a canonical ExternalModel over a legacy one of the same name', () => {
    const legacy = objects(plan()).filter((o) => o.kind === 'ExternalModel');
    const canonical = objects(plan({ generation: 'canonical' })).filter((o) => o.kind === 'ExternalModel' || o.kind === 'ExternalProvider');
    const t = readSubscriptionTopology([...legacy, ...canonical]);
    expect(t.payloadProcessing.externalModels.map((m) => `${m.name}:${m.source}`).sort()).toEqual(['claude-sonnet:inference', 'gpt-4o:inference', 'remote-vllm:inference']);
  });

  it('reads base64 data as a cluster returns it, and masks keys when printing', () => {
    const s = readProviderSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k', namespace: 'llm', labels: { 'inference.llm-d.ai/ipp-managed': 'true' } }, data: { 'api-key': Buffer.from(OPENAI).toString('base64') } });
    expect(s).toMatchObject({ managed: true, apiKey: OPENAI });
    const printed = JSON.stringify(objects(plan({ keys: 'mask' })));
    for (const key of [OPENAI, ANTHROPIC, VLLM]) expect(printed).not.toContain(key);
    // The plan itself never shows a key either (Secret masks itself)
    expect(JSON.stringify(plan())).not.toContain(OPENAI);
  });
});

describe('programming a hop', () => {
  it('takes the era\'s objects (read as a cluster\'s are) or a typed spec, and refuses anything else', () => {
    const fromObjects = subscriptionSpecs({ objects: objects(plan()), maasApi: { maxExpirationDays: 30 }, payloadProcessing: { responseTranslation: true } });
    expect(fromObjects.maasApi.maxExpirationDays).toBe(30);
    expect(fromObjects.maasApi.subscriptions.map((s) => s.name)).toEqual(['demo-subscription']);
    expect(fromObjects.payloadProcessing.responseTranslation).toBe(true);
    expect(fromObjects.payloadProcessing.externalModels).toHaveLength(3);
    const typed = subscriptionSpecs(fromObjects.maasApi);
    expect(typed.maasApi).toEqual(fromObjects.maasApi);
    expect(subscriptionSpecs(fromObjects.payloadProcessing).payloadProcessing).toEqual(fromObjects.payloadProcessing);
    expect(() => subscriptionSpecs({ tiers: [] })).toThrow(/not a subscription-era spec/);
  });
});

describe('the rendered demo programs maas-api', () => {
  let close: (() => Promise<void>) | undefined;
  afterAll(async () => close?.());

  it('a key minted for the demo subscription lists every model of the demo', async () => {
    const db = await startTestDb('model-e2e');
    const store = new ApiKeyStore(db.pg.url, 'models-as-a-service');
    await store.open();
    const t = readSubscriptionTopology(objects(plan()));
    const hop = createMaasApiKeys({ spec: t.maasApi, store });
    close = async () => {
      await hop.close();
      await db.close();
    };
    const base = `http://127.0.0.1:${await listen(hop.server, 0)}`;
    const id = { 'x-maas-username': 'demo-user', 'x-maas-group': '["system:authenticated"]' };
    const minted = (await (await fetch(`${base}/v1/api-keys`, { method: 'POST', headers: { ...id, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'demo', subscription: 'demo-subscription' }) })).json()) as { key: string; subscription: string };
    expect(minted.subscription).toBe('demo-subscription');
    const models = (await (await fetch(`${base}/v1/models`, { headers: { ...id, authorization: `Bearer ${minted.key}`, 'x-maas-subscription': 'demo-subscription' } })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['claude-sonnet', 'gpt-4o', 'publishers/llm/models/granite', 'remote-vllm']);
  });
});
