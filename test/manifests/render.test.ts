import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

import { defaultConfig, mergeConfig } from '../../src/core/config.js';
import { BugError } from '../../src/core/errors.js';
import { maasBridge, modelDiscovery, providerSims, remoteVllm, steps } from '../../steps/index.js';
import { renderAll, renderForDisplay, renderStep, renderStepPlan } from '../../src/manifests/render.js';
import { planToYaml, toYaml } from '../../src/targets/cluster/manifest-yaml.js';
import { loadSimulatorSources } from '../../src/manifests/simulator-bundle.js';
import { renderTemplate } from '../../src/manifests/render-template.js';
import { DEMO_SELECTOR, LABEL_MANAGED_BY, LABEL_PART_OF, LABEL_STEP, type K8sObject } from '../../src/model/k8s-object.js';
import { allObjects, at, find, makeCtx, repoRoot } from './helpers.js';

const KEYS = ['sk-openai-key-for-demo', 'sk-ant-claude-key-for-demo', 'change-me-super-secret'];

describe('labels', () => {
  it('puts the managed-by, part-of and step labels on every object of every step', () => {
    // Given every step rendered, the optional TokenRateLimitPolicy included
    const plan = renderAll(makeCtx({ tokenRateLimit: true }));
    // Then every object carries the three labels, the step label naming its own step
    for (const r of plan) {
      for (const o of r.objects) {
        expect(o.metadata.labels, `${o.kind}/${o.metadata.name}`).toMatchObject({
          [LABEL_MANAGED_BY]: 'maas-egress-demo',
          [LABEL_PART_OF]: 'maas-egress-demo',
          [LABEL_STEP]: r.step.id,
        });
      }
    }
    expect(DEMO_SELECTOR).toBe('app.kubernetes.io/managed-by=maas-egress-demo,app.kubernetes.io/part-of=maas-egress-demo');
  });

  it('keeps template labels next to ours and never labels the patched maas-api Deployment', () => {
    const plan = renderStepPlan(modelDiscovery, makeCtx());
    expect(find(plan.objects, 'ConfigMap', 'external-model-registry').metadata.labels?.app).toBe('maas-api');
    expect(plan.objects.some((o) => o.kind === 'Deployment')).toBe(false);
    expect(plan.patches).toHaveLength(1);
    expect(plan.patches[0]?.applyObject.metadata.labels).toBeUndefined();
  });
});

describe('egress routes and backends (steps 3 and 3a)', () => {
  it('routes /<provider>/ on poc-gateway to <provider>-backend with the prefix replaced by /', () => {
    const objs = renderStep(providerSims, makeCtx());
    const route = find(objs, 'HTTPRoute', 'openai-route');
    expect(at(route, 'spec.parentRefs[0].name')).toBe('poc-gateway');
    expect(at(route, 'spec.rules[0].matches[0].path')).toEqual({ type: 'PathPrefix', value: '/openai/' });
    expect(at(route, 'spec.rules[0].filters[0].urlRewrite.path')).toEqual({ type: 'ReplacePrefixMatch', replacePrefixMatch: '/' });
    expect(at(route, 'spec.rules[0].backendRefs[0]')).toEqual({
      group: 'ainetworking.prototype.x-k8s.io',
      kind: 'Backend',
      name: 'openai-backend',
      port: 8000,
    });
    const backend = find(objs, 'XBackendDestination', 'anthropic-backend');
    expect(at(backend, 'spec.destination')).toEqual({
      type: 'Fqdn',
      fqdn: { hostname: 'anthropic-simulator.external-models.svc.cluster.local' },
      ports: [{ number: 8000, protocol: 'HTTP' }],
    });
  });

  it('step 3 leaves vLLM to 3a, and 3a points at the --vllm-host remote without a simulator', () => {
    const ctx = makeCtx({ vllmHost: 'gpu.example.com:9000' });
    expect(renderStep(providerSims, ctx).some((o) => o.metadata.name.startsWith('vllm'))).toBe(false);
    const objs = renderStep(remoteVllm, ctx);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['XBackendDestination/vllm-backend', 'HTTPRoute/vllm-route']);
    expect(at(find(objs, 'XBackendDestination', 'vllm-backend'), 'spec.destination.fqdn.hostname')).toBe('gpu.example.com');
    expect(at(find(objs, 'XBackendDestination', 'vllm-backend'), 'spec.destination.ports[0]')).toEqual({ number: 9000, protocol: 'HTTP' });
    expect(at(find(objs, 'HTTPRoute', 'vllm-route'), 'spec.rules[0].backendRefs[0].port')).toBe(9000);
  });

  it('asks for TLS to an https remote', () => {
    const objs = renderStep(remoteVllm, makeCtx({ vllmHost: 'https://gpu.example.com' }));
    expect(at(find(objs, 'XBackendDestination', 'vllm-backend'), 'spec.destination.ports[0]')).toEqual({
      number: 8000,
      protocol: 'HTTP',
      tls: { mode: 'Simple', sni: 'gpu.example.com' },
    });
  });

  it('without --vllm-host, 3a runs a vLLM-style simulator that reads Authorization', () => {
    const objs = renderStep(remoteVllm, makeCtx());
    const args = at(find(objs, 'Deployment', 'vllm-simulator'), 'spec.template.spec.containers[0].args') as string[];
    expect(args.join(' ')).toContain('--key-header authorization --style vllm');
    // the namespace belongs to step 3
    expect(objs.some((o) => o.kind === 'Namespace')).toBe(false);
  });
});

describe('provider simulators', () => {
  it('runs our simulator on stock node with the key from a Secret and a /health readiness probe', () => {
    const objs = renderStep(providerSims, makeCtx());
    const dep = find(objs, 'Deployment', 'openai-simulator');
    const c = at(dep, 'spec.template.spec.containers[0]') as Record<string, unknown>;
    expect(c.image).toBe('docker.io/library/node:20-alpine');
    expect(c.command).toEqual(['node', '/sim/provider-sim.js']);
    expect(c.args).toEqual([
      '--host', '0.0.0.0', '--port', '8000', '--name', 'openai', '--model', 'gpt-4',
      '--key-header', 'x-provider-api-key', '--style', 'provider',
    ]);
    expect(c.env).toEqual([
      { name: 'PROVIDER_API_KEY', valueFrom: { secretKeyRef: { name: 'openai-simulator-api-key', key: 'api-key' } } },
    ]);
    expect(at(c, 'readinessProbe.httpGet')).toEqual({ path: '/health', port: 'http' });
    expect(at(find(objs, 'Secret', 'openai-simulator-api-key'), 'stringData')).toEqual({ 'api-key': 'sk-openai-key-for-demo' });
    const svc = find(objs, 'Service', 'openai-simulator');
    expect(at(svc, 'spec.ports[0]')).toMatchObject({ name: 'http', port: 8000 });
    // the key is not in the Deployment at all
    expect(JSON.stringify(dep)).not.toContain('sk-openai');
  });

  it('switches to a prebuilt image with its own flags and no code ConfigMap', () => {
    const objs = renderStep(providerSims, makeCtx({ simulatorImage: 'ghcr.io/nerdalert/provider-sim:latest' }));
    expect(objs.some((o) => o.kind === 'ConfigMap')).toBe(false);
    const c = at(find(objs, 'Deployment', 'anthropic-simulator'), 'spec.template.spec.containers[0]') as Record<string, unknown>;
    expect(c.image).toBe('ghcr.io/nerdalert/provider-sim:latest');
    expect(c.command).toBeUndefined();
    expect(c.args).toEqual(['--port', '8000', '--model', 'claude-3-sonnet', '--api-key', '$(PROVIDER_API_KEY)']);
    expect(at(find(objs, 'Deployment', 'anthropic-simulator'), 'spec.template.spec.volumes')).toEqual([]);
  });

  it('ships the built simulator and everything it imports, as ESM, in the ConfigMap', () => {
    // Given a build output with an entry that imports two siblings and node built-ins
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    writeFileSync(join(dir, 'provider-sim.js'), "import http from 'node:http';\nimport { serve } from './http-server.js';\nserve(http);\n");
    writeFileSync(join(dir, 'http-server.js'), "export { SIM_HEADERS } from './headers.js';\nexport function serve() {}\n");
    writeFileSync(join(dir, 'headers.js'), "export const SIM_HEADERS = {};\n");
    writeFileSync(join(dir, 'unrelated.js'), 'not shipped');
    // When rendered
    const plan = renderStepPlan(providerSims, makeCtx({ simDir: dir }));
    const cm = find(plan.objects, 'ConfigMap', 'openai-simulator-code');
    // Then the three files plus a package.json marking them as modules are shipped, nothing else
    expect(Object.keys(cm.data as object).sort()).toEqual(['headers.js', 'http-server.js', 'package.json', 'provider-sim.js']);
    expect(cm.metadata.annotations?.['maas-egress-demo/sim-source']).toBe('dist');
    expect(plan.notes).toEqual([]);
    const volume = at(find(plan.objects, 'Deployment', 'openai-simulator'), 'spec.template.spec.volumes[0].configMap.items');
    expect(volume).toContainEqual({ key: 'http-server.js', path: 'http-server.js' });
  });

  it('uses a placeholder, and says so, when the simulator is not built', () => {
    const plan = renderStepPlan(providerSims, makeCtx({ simDir: mkdtempSync(join(tmpdir(), 'nosim-')) }));
    expect(plan.notes.join('\n')).toContain('npm run build');
    expect(find(plan.objects, 'ConfigMap', 'openai-simulator-code').metadata.annotations?.['maas-egress-demo/sim-source']).toBe(
      'placeholder',
    );
  });

  it('refuses a simulator that imports a package, which a ConfigMap cannot carry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdep-'));
    writeFileSync(join(dir, 'provider-sim.js'), "import { request } from 'undici';\n");
    expect(() => loadSimulatorSources(dir)).toThrow(BugError);
  });

  it('changes the pod-template hash when the code changes, so pods restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simhash-'));
    writeFileSync(join(dir, 'provider-sim.js'), 'console.log(1);\n');
    const first = loadSimulatorSources(dir).hash;
    writeFileSync(join(dir, 'provider-sim.js'), 'console.log(2);\n');
    expect(loadSimulatorSources(dir).hash).not.toBe(first);
  });
});

describe('MaaS bridge (step 4)', () => {
  it('rewrites /external/<p>/ to /<p>/ and sends it to envoy-poc-gateway:80 from the MaaS gateway', () => {
    const route = find(renderStep(maasBridge, makeCtx()), 'HTTPRoute', 'openai-bridge');
    expect(at(route, 'spec.parentRefs[0]')).toEqual({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      namespace: 'openshift-ingress',
      name: 'maas-default-gateway',
    });
    expect(at(route, 'spec.rules[0].matches[0].path.value')).toBe('/external/openai/');
    expect(at(route, 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch')).toBe('/openai/');
    expect(at(route, 'spec.rules[0].backendRefs[0]')).toEqual({ kind: 'Service', name: 'envoy-poc-gateway', port: 80 });
  });

  it('removes Authorization for providers keyed on X-Provider-Api-Key, and not for vLLM', () => {
    const objs = renderStep(maasBridge, makeCtx());
    for (const name of ['openai', 'anthropic']) {
      const filters = at(find(objs, 'HTTPRoute', `${name}-bridge`), 'spec.rules[0].filters') as { type: string }[];
      expect(filters).toContainEqual({ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Authorization'] } });
    }
    const vllm = at(find(objs, 'HTTPRoute', 'vllm-bridge'), 'spec.rules[0].filters') as { type: string }[];
    expect(vllm.map((f) => f.type)).toEqual(['URLRewrite']);
  });

  it('injects X-Provider-Api-Key as a quoted CEL literal, and replaces Authorization with Bearer for vLLM', () => {
    const objs = renderStep(maasBridge, makeCtx());
    const headers = (name: string): unknown => at(find(objs, 'AuthPolicy', name), 'spec.rules.response.success.headers');
    expect(headers('openai-bridge-auth')).toEqual({ 'X-Provider-Api-Key': { plain: { expression: "'sk-openai-key-for-demo'" } } });
    expect(headers('anthropic-bridge-auth')).toEqual({
      'X-Provider-Api-Key': { plain: { expression: "'sk-ant-claude-key-for-demo'" } },
    });
    expect(headers('vllm-bridge-auth')).toEqual({ Authorization: { plain: { expression: "'Bearer change-me-super-secret'" } } });
  });

  it('accepts only MaaS tokens and exports userid and tier for the token rate limit', () => {
    const policy = find(renderStep(maasBridge, makeCtx()), 'AuthPolicy', 'openai-bridge-auth');
    expect(at(policy, 'spec.targetRef')).toEqual({ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'openai-bridge' });
    expect(at(policy, 'spec.rules.authentication.service-accounts.kubernetesTokenReview.audiences')).toEqual(['maas-default-gateway-sa']);
    expect(Object.keys(at(policy, 'spec.rules.response.success.filters.identity.json.properties') as object)).toEqual(['userid', 'tier']);
  });

  it('escapes a key with quotes so the CEL literal stays one literal', () => {
    const cfg = mergeConfig(defaultConfig(), { providers: [{ name: 'openai', key: "it's\\odd" }] });
    const policy = find(renderStep(maasBridge, makeCtx({}, { cfg })), 'AuthPolicy', 'openai-bridge-auth');
    expect(at(policy, 'spec.rules.response.success.headers.X-Provider-Api-Key.plain.expression')).toBe("'it\\'s\\\\odd'");
  });

  it('renders the gateway TokenRateLimitPolicy only when asked, with one limit per tier', () => {
    expect(renderStep(maasBridge, makeCtx()).some((o) => o.kind === 'TokenRateLimitPolicy')).toBe(false);
    const trlp = find(renderStep(maasBridge, makeCtx({ tokenRateLimit: true })), 'TokenRateLimitPolicy', 'gateway-token-rate-limits');
    expect(trlp.metadata.namespace).toBe('openshift-ingress');
    expect(trlp.metadata.annotations?.['maas-egress-demo/apply']).toBe('if-absent');
    expect(at(trlp, 'spec.targetRef')).toEqual({ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'maas-default-gateway' });
    expect(at(trlp, 'spec.limits.free-user-tokens')).toEqual({
      rates: [{ limit: 100, window: '1m' }],
      when: [{ predicate: 'auth.identity.tier == "free"' }, { predicate: '!request.path.endsWith("/v1/models")' }],
      counters: [{ expression: 'auth.identity.userid' }],
    });
    expect(Object.keys(at(trlp, 'spec.limits') as object)).toEqual(['free-user-tokens', 'premium-user-tokens', 'enterprise-user-tokens']);
  });

  it('leaves vLLM out of the bridge and the registry when 3a is not selected', () => {
    const plan = renderAll(makeCtx({}, { vllm: false }));
    expect(plan.map((r) => r.step.id)).toEqual(['1', '2', '3', '4', '5']);
    const objs = allObjects(plan);
    expect(objs.some((o) => o.metadata.name.startsWith('vllm'))).toBe(false);
    const models = parse(at(find(objs, 'ConfigMap', 'external-model-registry'), 'data.models') as string);
    expect(models).toEqual([
      { id: 'gpt-4', provider: 'openai', backend: 'openai-backend' },
      { id: 'claude-3-sonnet', provider: 'anthropic', backend: 'anthropic-backend' },
    ]);
  });
});

describe('model discovery (step 5)', () => {
  it('publishes the registry in the maas-api namespace and patches maas-api as data', () => {
    const plan = renderStepPlan(modelDiscovery, makeCtx());
    const cm = find(plan.objects, 'ConfigMap', 'external-model-registry');
    expect(cm.metadata.namespace).toBe('opendatahub');
    expect(parse(at(cm, 'data.models') as string)).toContainEqual({ id: 'Qwen/Qwen3-0.6B', provider: 'vllm', backend: 'vllm-backend' });
    expect(plan.patches[0]).toMatchObject({
      target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'opendatahub', name: 'maas-api' },
      annotations: { 'opendatahub.io/managed': 'false' },
      container: { name: 'maas-api', image: 'ghcr.io/nerdalert/maas-api:external-models' },
      force: true,
    });
  });
});

describe('overrides flow through', () => {
  it('uses namespaces, names, images and keys from the config', () => {
    // Given a config for RHOAI with renamed gateways and namespaces and a new key
    const cfg = mergeConfig(defaultConfig(), {
      maas: { apiNamespace: 'redhat-ods-applications', gatewayName: 'maas-gw', gatewayNamespace: 'gw-ns', audience: 'maas-gw-sa', maasApiImage: 'example.com/maas-api:x' },
      egress: { gatewayName: 'egress', namespace: 'egress-ns' },
      providersNamespace: 'fake-providers',
      onprem: { namespace: 'models', name: 'tiny' },
      providers: [{ name: 'openai', key: 'sk-other-key-0000', backend: 'oai-dest', simulator: 'oai-sim' }],
    });
    const objs = allObjects(renderAll(makeCtx({}, { cfg })));
    // Then every reference follows
    const backend = find(objs, 'XBackendDestination', 'oai-dest');
    expect(backend.metadata.namespace).toBe('egress-ns');
    expect(at(backend, 'spec.destination.fqdn.hostname')).toBe('oai-sim.fake-providers.svc.cluster.local');
    expect(at(find(objs, 'HTTPRoute', 'openai-route'), 'spec.rules[0].backendRefs[0].name')).toBe('oai-dest');
    expect(at(find(objs, 'HTTPRoute', 'openai-route'), 'spec.parentRefs[0].name')).toBe('egress');
    const bridge = find(objs, 'HTTPRoute', 'openai-bridge');
    expect(at(bridge, 'spec.parentRefs[0]')).toMatchObject({ namespace: 'gw-ns', name: 'maas-gw' });
    expect(at(bridge, 'spec.rules[0].backendRefs[0].name')).toBe('envoy-egress-ns-egress');
    expect(find(objs, 'Namespace', 'egress-ns')).toBeDefined();
    expect(at(find(objs, 'AuthPolicy', 'openai-bridge-auth'), 'spec.rules.authentication.service-accounts.kubernetesTokenReview.audiences')).toEqual([
      'maas-gw-sa',
    ]);
    expect(at(find(objs, 'AuthPolicy', 'openai-bridge-auth'), 'spec.rules.response.success.headers.X-Provider-Api-Key.plain.expression')).toBe(
      "'sk-other-key-0000'",
    );
    expect(at(find(objs, 'Secret', 'oai-sim-api-key'), 'stringData.api-key')).toBe('sk-other-key-0000');
    expect(find(objs, 'ConfigMap', 'external-model-registry').metadata.namespace).toBe('redhat-ods-applications');
    const llmis = find(objs, 'LLMInferenceService', 'tiny');
    expect(llmis.metadata.namespace).toBe('models');
    expect(at(llmis, 'spec.router.gateway.refs[0]')).toEqual({ name: 'maas-gw', namespace: 'gw-ns' });
    const patch = renderStepPlan(modelDiscovery, makeCtx({}, { cfg })).patches[0];
    expect(patch?.target.namespace).toBe('redhat-ods-applications');
    expect(patch?.container?.image).toBe('example.com/maas-api:x');
  });

  it('never creates the default namespace for the egress gateway', () => {
    expect(allObjects(renderAll(makeCtx())).some((o) => o.kind === 'Namespace' && o.metadata.name === 'default')).toBe(false);
  });
});

describe('on-prem model (step 2)', () => {
  it('opens the simulated model to every tier and attaches it to the MaaS gateway', () => {
    const objs = allObjects(renderAll(makeCtx()));
    const llmis = find(objs, 'LLMInferenceService', 'facebook-opt-125m-simulated');
    expect(llmis.metadata.annotations).toEqual({ 'alpha.maas.opendatahub.io/tiers': '[]' });
    expect(at(llmis, 'spec.model.name')).toBe('facebook/opt-125m');
    expect(at(llmis, 'spec.router.route')).toEqual({});
    expect(at(llmis, 'spec.template.containers[0].image')).toBe('ghcr.io/llm-d/llm-d-inference-sim:v0.7.1');
    expect(at(llmis, 'spec.template.containers[0].args')).toContain('facebook/opt-125m');
  });
});

describe('display and YAML output', () => {
  it('shows no provider key in renderForDisplay output, only masks', () => {
    // Given the full plan with every optional part
    const ctx = makeCtx({ tokenRateLimit: true });
    // When printed
    const text = planToYaml(renderForDisplay(ctx));
    // Then no key appears, and the masks do
    for (const key of KEYS) expect(text).not.toContain(key);
    expect(text).toContain("'sk-o…demo'");
    expect(text).toContain("'Bearer chan…cret'");
    expect(text).toContain('api-key: sk-a…demo');
  });

  it('keeps the real keys in what is applied', () => {
    const text = toYaml(allObjects(renderAll(makeCtx())));
    for (const key of KEYS) expect(text).toContain(key);
  });

  it('prints parseable multi-document YAML that round-trips to the same objects', () => {
    const objs = allObjects(renderAll(makeCtx()));
    const docs = parseAllDocuments(toYaml(objs)).map((d) => d.toJS() as K8sObject);
    expect(docs).toEqual(objs);
    const planDocs = parseAllDocuments(planToYaml(renderAll(makeCtx()))).map((d) => d.toJS() as K8sObject);
    expect(planDocs.length).toBe(objs.length + 1); // + the maas-api patch
  });
});

describe('template engine', () => {
  const scopes = { provider: [{ name: 'a', port: 1 }, { name: 'b', port: 2 }], simulator: [] };

  it('keeps the type of a whole plain placeholder and stringifies quoted ones', () => {
    const out = renderTemplate('apiVersion: v1\nkind: X\nmetadata: {name: x}\nn: ${v}\ns: "${v}"\nt: p-${v}\n', { v: 80 }, scopes);
    expect(out.objects[0]).toMatchObject({ n: 80, s: '80', t: 'p-80' });
  });

  it('repeats $each documents per provider and drops $when-false mappings', () => {
    const text = [
      '$each: provider',
      'apiVersion: v1',
      'kind: X',
      'metadata: {name: "${p.name}"}',
      'list:',
      '  - {$when: flag, keep: no}',
      '  - {$when: "!flag", keep: yes}',
    ].join('\n');
    const out = renderTemplate(text, { flag: false }, scopes);
    expect(out.objects.map((o) => [o.metadata.name, o.list])).toEqual([
      ['a', [{ keep: 'yes' }]],
      ['b', [{ keep: 'yes' }]],
    ]);
  });

  it('throws on an unknown variable, naming the file', () => {
    expect(() => renderTemplate('apiVersion: v1\nkind: X\nmetadata: {name: "${nope}"}\n', {}, scopes, 'manifests/t.yaml')).toThrow(
      /manifests\/t.yaml#1.*\$\{nope\}/,
    );
  });

  it('cannot be injected through a value', () => {
    const out = renderTemplate('apiVersion: v1\nkind: X\nmetadata: {name: x}\nv: ${evil}\n', { evil: 'a\nkind: Secret' }, scopes);
    expect(out.objects[0]?.kind).toBe('X');
    expect(out.objects[0]?.v).toBe('a\nkind: Secret');
  });
});

// A guard for contributors: adding a template without wiring it into a step is probably a mistake.
it('every template under manifests/ is used by some step', () => {
  const used = new Set(steps.flatMap((s) => s.manifests));
  const files = readdirSync(join(repoRoot, 'manifests')).filter((f) => f.endsWith('.yaml'));
  expect(files.filter((f) => !used.has(f))).toEqual([]);
});
