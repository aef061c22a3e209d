/**
 * The subscription era's plan as the cluster target applies it (simulators and the on-prem model, the
 * era's objects with canonical or legacy ExternalModels, the key step) validated against the upstream
 * CRDs with unknown fields rejected, the same validation `demo manifests` is held to.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { renderEraPlan } from '../../src/targets/cluster/era.js';
import { stepContext } from '../../src/targets/cluster/options.js';
import { errorLines, loadCrdSchemas, validateObject, validateObjects } from '../manifests/crd-schema.js';
import { crdsDir } from '../manifests/helpers.js';

const index = loadCrdSchemas(crdsDir());

function plan(canonical: boolean, up = {}) {
  const cfg = defaultConfig();
  return renderEraPlan({ cfg, up, sctx: stepContext({ vllm: false, skipCrds: true }, cfg), canonical, keys: 'mask' });
}

describe("the subscription era's plan on a cluster, against the upstream CRDs", () => {
  it.each([true, false])('validates every object strictly (canonical ExternalModels: %s)', (canonical) => {
    const objects = plan(canonical).flatMap((s) => s.objects);
    const reports = validateObjects(objects, index);
    expect(errorLines(reports)).toEqual([]);
    const kinds = canonical ? ['ExternalProvider', 'ExternalModel', 'MaaSModelRef', 'MaaSAuthPolicy', 'MaaSSubscription', 'LLMInferenceService'] : ['ExternalModel', 'MaaSModelRef', 'MaaSAuthPolicy', 'MaaSSubscription', 'LLMInferenceService'];
    for (const kind of kinds) {
      const of = reports.filter((r) => r.kind === kind);
      expect(of.length, kind).toBeGreaterThan(0);
      expect(of.every((r) => r.checkedBy === 'crd'), kind).toBe(true);
    }
  });

  it('rejects a field the CRD does not declare (strict)', () => {
    const ref = plan(true).flatMap((s) => s.objects).find((o) => o.kind === 'MaaSModelRef')!;
    const bad = structuredClone(ref);
    (bad.spec as Record<string, unknown>).modelName = 'x';
    expect(validateObject(bad, index).issues).toContainEqual(expect.objectContaining({ path: 'spec.modelName', rule: 'unknown-field', severity: 'error' }));
  });

  it('puts the steps in upstream order after the cluster-only s0, the on-prem model as an LLMInferenceService MaaSModelRef', () => {
    const p = plan(true);
    expect(p.map((s) => s.step.id)).toEqual(['s0', 's1', 's2', 's3', 's4', 'key']);
    const refs = p.find((s) => s.step.id === 's3')!.objects;
    expect(refs.map((o) => (o.spec as { modelRef: { kind: string; name: string } }).modelRef)).toContainEqual({ kind: 'LLMInferenceService', name: 'facebook-opt-125m-simulated' });
  });

  it('a provider given with --provider gets no simulator and keeps TLS origination to its endpoint', () => {
    const p = plan(false, { providers: [{ name: 'openai', url: 'https://api.openai.com' }] });
    const objects = p.flatMap((s) => s.objects);
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'openai-simulator')).toBe(false);
    expect(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'anthropic-simulator')).toBe(true);
    const em = objects.find((o) => o.kind === 'ExternalModel' && o.metadata.name === 'gpt-4')!;
    expect((em.spec as { endpoint: string }).endpoint).toBe('api.openai.com');
    expect(em.metadata.annotations).toBeUndefined();
    const claude = objects.find((o) => o.kind === 'ExternalModel' && o.metadata.name === 'claude-3-sonnet')!;
    expect(claude.metadata.annotations).toEqual({ 'maas.opendatahub.io/tls': 'false', 'maas.opendatahub.io/port': '8000' });
  });
});
