/** Shared fixtures for the manifest tests: a step context from config + options, and the CRD directory. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { defaultConfig, type DemoConfig } from '../../src/core/config.js';
import type { StepContext } from '../../src/core/step.js';
import type { RenderedStep } from '../../src/manifests/render.js';
import type { K8sObject } from '../../src/model/k8s-object.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

/** A context with every provider enabled (3a included) unless `vllm: false`. */
export function makeCtx(
  options: StepContext['options'] = {},
  opts: { vllm?: boolean; cfg?: DemoConfig } = {},
): StepContext {
  const cfg = opts.cfg ?? defaultConfig();
  const providers = opts.vllm === false ? cfg.providers.filter((p) => !p.optional) : cfg.providers;
  return { cfg, providers, options: { skipCrds: true, ...options } };
}

export function allObjects(plan: RenderedStep[]): K8sObject[] {
  return plan.flatMap((r) => r.objects);
}

export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** Reads a nested field by a dotted path with [i] indexes, e.g. `spec.rules[0].filters`. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    const m = /^([^[]*)((\[\d+\])*)$/.exec(part);
    const key = m?.[1] ?? part;
    if (key !== '') cur = (cur as Record<string, unknown> | undefined)?.[key];
    for (const idx of (m?.[2] ?? '').match(/\d+/g) ?? []) cur = (cur as unknown[] | undefined)?.[Number(idx)];
  }
  return cur;
}

/** The upstream CRDs to validate against (throws, failing the suite, when they are missing). */
export { crdsDir } from '../helpers/prereq.js';
