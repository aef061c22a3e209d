import { describe, expect, it } from 'vitest';

import { renderAll } from '../../src/manifests/render.js';
import { type K8sObject } from '../../src/model/k8s-object.js';
import {
  applyDefaults,
  checkGatewayApi,
  CrdSchemaIndex,
  errorLines,
  evaluateRule,
  loadCrdSchemas,
  validateObject,
  validateObjects,
} from './crd-schema.js';
import { allObjects, crdsDir, find, makeCtx } from './helpers.js';

// Missing CRDs fail this file with the reason and how to get them (never a silent skip).
const dir = crdsDir();

function clone<T>(v: T): T {
  return structuredClone(v);
}

function rendered(options = {}): K8sObject[] {
  return allObjects(renderAll(makeCtx({ tokenRateLimit: true, ...options })));
}

let loaded: CrdSchemaIndex | undefined;
/** The upstream CRDs, parsed once (the LLMInferenceService CRD alone is 19k lines). */
function index(): CrdSchemaIndex {
  loaded ??= loadCrdSchemas(dir);
  return loaded;
}

describe('rendered manifests against the upstream CRDs', () => {

  it('validates every object of every step, with the TokenRateLimitPolicy and vLLM included', () => {
    // Given every step rendered with defaults
    const objs = rendered();
    // When validated
    const reports = validateObjects(objs, index());
    // Then nothing is reported, custom resources were checked against a CRD, and no CEL rule was skipped
    expect(errorLines(reports)).toEqual([]);
    expect(reports.flatMap((r) => r.issues)).toEqual([]);
    for (const kind of ['XBackendDestination', 'HTTPRoute', 'AuthPolicy', 'TokenRateLimitPolicy', 'Gateway', 'GatewayClass', 'LLMInferenceService']) {
      const ofKind = reports.filter((r) => r.kind === kind);
      expect(ofKind.length, kind).toBeGreaterThan(0);
      expect(ofKind.every((r) => r.checkedBy === 'crd'), kind).toBe(true);
    }
    expect(reports.reduce((n, r) => n + r.celSkipped, 0)).toBe(0);
  });

  it('validates a remote https vLLM backend and a prebuilt simulator image', () => {
    const objs = rendered({ vllmHost: 'https://vllm.example.com:8443', simulatorImage: 'ghcr.io/nerdalert/provider-sim:latest' });
    expect(errorLines(validateObjects(objs, index()))).toEqual([]);
  });

  it('catches response.success.headers mis-nested under spec.rules (the server would prune it)', () => {
    // Given a bridge policy whose headers moved one level up
    const policy = clone(find(rendered(), 'AuthPolicy', 'openai-bridge-auth'));
    const rules = (policy.spec as { rules: Record<string, unknown> }).rules;
    const response = rules.response as { success: { headers?: unknown } };
    rules.headers = response.success.headers;
    delete response.success.headers;
    // When validated
    const report = validateObject(policy, index());
    // Then the unknown field is named with its path
    expect(report.issues).toContainEqual(
      expect.objectContaining({ path: 'spec.rules.headers', rule: 'unknown-field', severity: 'error' }),
    );
  });

  it('catches the plain.valeu typo and suggests the field it meant', () => {
    const policy = clone(find(rendered(), 'AuthPolicy', 'anthropic-bridge-auth'));
    const header = (policy.spec as { rules: { response: { success: { headers: Record<string, { plain: Record<string, unknown> }> } } } })
      .rules.response.success.headers['X-Provider-Api-Key'];
    if (!header) throw new Error('no X-Provider-Api-Key header');
    header.plain = { valeu: 'sk-ant-claude-key-for-demo' };
    const issue = validateObject(policy, index()).issues.find((i) => i.rule === 'unknown-field');
    expect(issue?.path).toBe('spec.rules.response.success.headers.X-Provider-Api-Key.plain.valeu');
    expect(issue?.message).toContain('did you mean "value"');
  });

  it('reports wrong types, enums, patterns and missing required fields', () => {
    const backend = clone(find(rendered(), 'XBackendDestination', 'openai-backend'));
    const dest = (backend.spec as { destination: Record<string, unknown> }).destination;
    dest.ports = [{ number: '8000', protocol: 'HTTPS' }];
    delete dest.type;
    const rules = validateObject(backend, index()).issues.map((i) => `${i.rule} ${i.path}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'type spec.destination.ports[0].number',
        'enum spec.destination.ports[0].protocol',
        'required spec.destination.type',
      ]),
    );
    const route = clone(find(rendered(), 'HTTPRoute', 'openai-route'));
    (route.spec as { parentRefs: { name: string }[] }).parentRefs[0] = { name: 'Not_A_Name', namespace: 'UPPER' } as never;
    expect(validateObject(route, index()).issues.some((i) => i.rule === 'pattern' && i.path === 'spec.parentRefs[0].namespace')).toBe(true);
  });

  it('evaluates the upstream CEL rules: targetRef kind, one of fqdn/service, rewrite needs a PathPrefix match', () => {
    const policy = clone(find(rendered(), 'AuthPolicy', 'openai-bridge-auth'));
    (policy.spec as { targetRef: { kind: string } }).targetRef.kind = 'Service';
    expect(validateObject(policy, index()).issues).toContainEqual(
      expect.objectContaining({ rule: 'cel', path: 'spec.targetRef', message: expect.stringContaining('HTTPRoute') }),
    );

    const backend = clone(find(rendered(), 'XBackendDestination', 'openai-backend'));
    (backend.spec as { destination: Record<string, unknown> }).destination.service = { name: 'x', namespace: 'y' };
    expect(validateObject(backend, index()).issues).toContainEqual(
      expect.objectContaining({ rule: 'cel', message: expect.stringContaining('exactly one of the fields') }),
    );

    const route = clone(find(rendered(), 'HTTPRoute', 'openai-bridge'));
    const match = (route.spec as { rules: { matches: { path: { type: string } }[] }[] }).rules[0]?.matches[0];
    if (match) match.path.type = 'Exact';
    const issues = validateObject(route, index()).issues;
    expect(issues.some((i) => i.rule === 'cel' && i.path === 'spec.rules[0]')).toBe(true);
    expect(issues.some((i) => i.rule === 'gateway-api' && i.message.includes('ReplacePrefixMatch'))).toBe(true);
  });

  it('flags a kind it has no CRD for, and a version the CRD does not serve', () => {
    const obj = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' } };
    expect(validateObject(obj, index()).issues[0]?.rule).toBe('no-schema');
    const old = clone(find(rendered(), 'AuthPolicy', 'openai-bridge-auth'));
    old.apiVersion = 'kuadrant.io/v1beta3';
    expect(validateObject(old, index()).issues[0]?.message).toContain('does not serve');
  });
});

describe('Gateway API model and demo lint (no CRDs needed)', () => {
  it('requires parentRefs, and a port on every backendRef', () => {
    const route = clone(find(rendered(), 'HTTPRoute', 'openai-route'));
    const spec = route.spec as { parentRefs?: unknown[]; rules: { backendRefs: { port?: number }[] }[] };
    delete spec.parentRefs;
    delete spec.rules[0]?.backendRefs[0]?.port;
    const msgs = checkGatewayApi(route).map((i) => `${i.path}: ${i.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        'spec.parentRefs: a route with no parentRefs attaches to no gateway',
        'spec.rules[0].backendRefs[0].port: backendRef to a Backend needs a port',
      ]),
    );
  });

  it('rejects ReplacePrefixMatch without exactly one PathPrefix match', () => {
    const route = clone(find(rendered(), 'HTTPRoute', 'anthropic-bridge'));
    const rule = (route.spec as { rules: { matches: unknown[] }[] }).rules[0];
    rule?.matches.push({ path: { type: 'PathPrefix', value: '/other/' } });
    expect(checkGatewayApi(route).some((i) => i.message.includes('ReplacePrefixMatch needs exactly one match'))).toBe(true);
  });

  it('flags backendRef kind XBackendDestination, which the wg controller does not resolve', () => {
    const route = clone(find(rendered(), 'HTTPRoute', 'openai-route'));
    const ref = (route.spec as { rules: { backendRefs: { kind: string }[] }[] }).rules[0]?.backendRefs[0];
    expect(ref).toBeDefined();
    ref!.kind = 'XBackendDestination';
    const issues = validateObject(route, index());
    expect(issues.issues.some((i) => i.rule === 'lint' && i.severity === 'error')).toBe(true);
  });

  it('warns about an unquoted CEL key and about plain.value', () => {
    const policy = clone(find(rendered(), 'AuthPolicy', 'openai-bridge-auth'));
    const headers = (policy.spec as { rules: { response: { success: { headers: Record<string, unknown> } } } }).rules.response.success
      .headers;
    headers['X-Provider-Api-Key'] = { plain: { expression: 'sk-openai-key-for-demo' } };
    headers['X-Other'] = { plain: { value: 'x' } };
    const warnings = validateObject(policy, index()).issues.filter((i) => i.severity === 'warning');
    expect(warnings.map((w) => w.path)).toEqual(
      expect.arrayContaining([
        'spec.rules.response.success.headers.X-Provider-Api-Key.plain.expression',
        'spec.rules.response.success.headers.X-Other.plain.value',
      ]),
    );
  });

  it('sanity-checks built-in kinds: names, namespaces, label values, ConfigMap keys', () => {
    const cm: K8sObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'Bad_Name', labels: { 'maas-egress-demo/step': 'not ok!' } },
      data: { 'a/b': 'x', n: 1 as unknown as string },
    };
    const paths = validateObject(cm, index()).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['metadata.name', 'metadata.namespace', 'metadata.labels.maas-egress-demo/step', 'data.a/b', 'data.n']),
    );
  });

  it('fills schema defaults before validating, as the API server does', () => {
    const schema = {
      type: 'object',
      properties: {
        matches: { type: 'array', default: [{ path: { type: 'PathPrefix', value: '/' } }], items: { type: 'object' } },
        weight: { type: 'integer', default: 1 },
      },
    };
    expect(applyDefaults({ weight: 3 }, schema)).toEqual({ weight: 3, matches: [{ path: { type: 'PathPrefix', value: '/' } }] });
  });
});

describe('CEL rules (a CEL implementation, not our own)', () => {
  it('evaluates macros, has(), size() and the string functions Kuadrant and the CRDs use', () => {
    const self = { a: [{ t: 'x' }, { t: 'y' }], s: '/v1/models', __ns: 1 };
    expect(evaluateRule("self.a.exists_one(f, f.t == 'x') && self.a.all(f, has(f.t))", self)).toBe(true);
    expect(evaluateRule('self.a.filter(f, f.t == "y").size() <= 1', self)).toBe(true);
    expect(evaluateRule("self.s.startsWith('/') && !self.s.contains('//') && self.s.split('/')[2] == 'models'", self)).toBe(true);
    expect(evaluateRule('self.s.matches(r"""^/v1/[a-z]+$""")', self)).toBe(true);
    expect(evaluateRule("[has(self.a), has(self.b)].filter(x, x == true).size() == 1", self)).toBe(true);
    expect(evaluateRule("self.t in ['a', 'b'] ? 1 : 2", { t: 'b' })).toBe(1n);
    expect(evaluateRule("self.u.lowerAscii().endsWith('bearer x')", { u: 'Bearer X' })).toBe(true);
    expect(evaluateRule('self.n > 0 && self.n <= 5', { n: 3 })).toBe(true);
  });

  it("absorbs errors the way CEL's && and || do; durations evaluate; an unknown function throws", () => {
    expect(evaluateRule('has(self.x) && self.x.y == 1', {})).toBe(false);
    expect(evaluateRule('self.x.y == 1 || true', {})).toBe(true);
    expect(evaluateRule("duration(self.a) > duration('1s')", { a: '2s' })).toBe(true);
    expect(() => evaluateRule('isURL(self.s)', { s: 'x' })).toThrow(/unbound function: isURL/);
  });
});
