import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { UserError } from '../../src/core/errors.js';
import { gateway } from '../../steps/index.js';
import { renderStep } from '../../src/manifests/render.js';
import { findXBackendCrdDir, loadXBackendCrds } from '../../src/manifests/xbackend-crd.js';
import { makeCtx } from './helpers.js';

const CRD = (plural: string, kind: string): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.ainetworking.prototype.x-k8s.io
spec:
  group: ainetworking.prototype.x-k8s.io
  names: {kind: ${kind}, plural: ${plural}}
  scope: Namespaced
  versions:
    - name: v0alpha0
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
`;

/** A fake wg-ai-gateway checkout with the CRDs at `rel` below the returned --wg-dir. */
function checkout(layout: 'current' | 'old'): { wgDir: string; crdDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'wg-'));
  const wgDir = join(root, 'prototypes', 'backend-control-plane');
  const crdDir = layout === 'current' ? join(wgDir, 'backend', 'k8s', 'crds') : join(root, 'prototypes', 'internal', 'backend', 'k8s', 'crds');
  mkdirSync(wgDir, { recursive: true });
  mkdirSync(crdDir, { recursive: true });
  writeFileSync(join(crdDir, 'ainetworking.prototype.x-k8s.io_xbackenddestinations.yaml'), CRD('xbackenddestinations', 'XBackendDestination'));
  writeFileSync(join(crdDir, 'ainetworking.prototype.x-k8s.io_backends.yaml'), CRD('backends', 'Backend'));
  writeFileSync(join(crdDir, 'kustomization.yaml'), 'resources: []\n');
  return { wgDir, crdDir };
}

describe('XBackendDestination CRD from --wg-dir', () => {
  it.each(['current', 'old'] as const)('finds the CRDs in the %s layout', (layout) => {
    const { wgDir, crdDir } = checkout(layout);
    expect(findXBackendCrdDir(wgDir)).toBe(crdDir);
    expect(loadXBackendCrds(wgDir).map((c) => c.metadata.name)).toEqual([
      'backends.ainetworking.prototype.x-k8s.io',
      'xbackenddestinations.ainetworking.prototype.x-k8s.io',
    ]);
  });

  it('accepts the repository root as --wg-dir too', () => {
    const { wgDir } = checkout('current');
    expect(loadXBackendCrds(join(wgDir, '..', '..'))).toHaveLength(2);
  });

  it('puts the CRDs first in step 1, labelled like everything else', () => {
    const { wgDir } = checkout('current');
    const objs = renderStep(gateway, makeCtx({ skipCrds: false, wgDir }));
    expect(objs.slice(0, 2).map((o) => o.kind)).toEqual(['CustomResourceDefinition', 'CustomResourceDefinition']);
    expect(objs[0]?.metadata.labels?.['maas-egress-demo/step']).toBe('1');
  });

  it('fails with a hint naming both ways out when neither layout exists', () => {
    const empty = mkdtempSync(join(tmpdir(), 'wg-empty-'));
    let err: unknown;
    try {
      loadXBackendCrds(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain('backend/k8s/crds');
    expect((err as UserError).hint).toContain('--wg-dir');
    expect((err as UserError).hint).toContain('--skip-crds');
  });

  it('asks for --wg-dir when step 1 must install the CRDs and none was given', () => {
    expect(() => renderStep(gateway, makeCtx({ skipCrds: false }))).toThrow(UserError);
  });
});
