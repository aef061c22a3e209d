/**
 * Step 1's XBackendDestination CRD, read from a wg-ai-gateway checkout (`--wg-dir`) under either layout
 * of its tree (contracts §9.21); a missing one is a UserError naming both ways out.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../core/errors.js';
import type { K8sObject } from '../model/k8s-object.js';

/** Where the CRDs sit relative to `--wg-dir`, newest layout first (contracts §9.21). */
export function xBackendCrdCandidates(wgDir: string): string[] {
  const base = resolve(wgDir);
  return [
    join(base, 'backend', 'k8s', 'crds'), // prototypes/backend-control-plane (since 2026-02-15)
    join(base, '..', 'internal', 'backend', 'k8s', 'crds'), // the older layout the seed README names
    join(base, 'prototypes', 'backend-control-plane', 'backend', 'k8s', 'crds'), // --wg-dir = repository root
    join(base, 'prototypes', 'internal', 'backend', 'k8s', 'crds'),
    base, // --wg-dir = the crds directory itself
  ];
}

const XBACKEND_CRD_NAME = 'xbackenddestinations.ainetworking.prototype.x-k8s.io';

export function crdHint(): string {
  return (
    'pass --wg-dir <wg-ai-gateway>/prototypes/backend-control-plane (a checkout of kubernetes-sigs/wg-ai-gateway), ' +
    `or install the CRD ${XBACKEND_CRD_NAME} yourself and pass --skip-crds`
  );
}

/** The directory under `wgDir` holding the XBackendDestination CRD, or a UserError naming both ways out. */
export function findXBackendCrdDir(wgDir: string): string {
  const tried: string[] = [];
  for (const dir of xBackendCrdCandidates(wgDir)) {
    tried.push(dir);
    if (!isDir(dir)) continue;
    if (yamlFiles(dir).some((f) => readFileSync(f, 'utf8').includes(XBACKEND_CRD_NAME))) return dir;
  }
  throw new UserError(
    `no XBackendDestination CRD under --wg-dir ${wgDir} (looked in ${tried.map((d) => relativeOr(wgDir, d)).join(', ')})`,
    crdHint(),
  );
}

/** Every CustomResourceDefinition in the wg-ai-gateway CRD directory (both Backend and XBackendDestination). */
export function loadXBackendCrds(wgDir: string): K8sObject[] {
  const dir = findXBackendCrdDir(wgDir);
  const out: K8sObject[] = [];
  for (const file of yamlFiles(dir)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new UserError(`${file}: ${doc.errors[0]?.message}`, crdHint());
      const obj = doc.toJS() as unknown;
      if (isObjectLike(obj) && obj.kind === 'CustomResourceDefinition') out.push(obj as K8sObject);
    }
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function relativeOr(base: string, p: string): string {
  const r = relative(resolve(base), p);
  return r === '' ? '.' : r;
}

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
