/**
 * The template mini-language of `manifests/*.yaml` (see render.ts for the directives): placeholders
 * resolved on the parsed YAML tree (never on text, so a value cannot inject YAML), `$when`, `$each` and
 * `$patch`. Pure: text and variables in, objects out.
 */
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar, type Node } from 'yaml';
import { BugError } from '../core/errors.js';
import type { K8sObject } from '../model/k8s-object.js';

const DROP = Symbol('drop');
type Resolved = unknown | typeof DROP;
const WHOLE = /^\$\{([^}]+)\}$/;
const PART = /\$\{([^}]+)\}/g;
const DIRECTIVES = new Set(['$when', '$each', '$patch']);

class TemplateError extends BugError {}

function lookup(vars: Record<string, unknown>, path: string, where: string): unknown {
  let cur: unknown = vars;
  for (const seg of path.trim().split('.')) {
    if (!isObjectLike(cur) || !(seg in cur)) throw new TemplateError(`${where}: unknown template variable \${${path}}`);
    cur = cur[seg];
  }
  if (cur === undefined) throw new TemplateError(`${where}: template variable \${${path}} has no value`);
  return cur;
}

function truthy(vars: Record<string, unknown>, cond: unknown, where: string): boolean {
  if (typeof cond === 'boolean') return cond;
  if (typeof cond !== 'string') throw new TemplateError(`${where}: $when needs a variable path`);
  const neg = cond.trim().startsWith('!');
  const v = lookup(vars, cond.trim().replace(/^!/, ''), where);
  const t = Array.isArray(v) ? v.length > 0 : Boolean(v);
  return neg ? !t : t;
}

function substitute(text: string, vars: Record<string, unknown>, where: string, keepType: boolean): unknown {
  const whole = WHOLE.exec(text);
  if (whole && keepType) return lookup(vars, whole[1] as string, where);
  return text.replace(PART, (_m, path: string) => {
    const v = lookup(vars, path, where);
    if (typeof v === 'object' && v !== null) {
      throw new TemplateError(`${where}: \${${path}} is not a scalar and cannot be part of a string`);
    }
    return String(v);
  });
}

function resolveNode(node: unknown, vars: Record<string, unknown>, where: string): Resolved {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) throw new TemplateError(`${where}: YAML aliases are not supported in templates`);
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v !== 'string') return v;
    return substitute(v, vars, where, node.type === Scalar.PLAIN);
  }
  if (isMap(node)) {
    const when = node.items.find((pair) => isScalar(pair.key) && pair.key.value === '$when');
    if (when && !truthy(vars, isScalar(when.value) ? when.value.value : when.value, where)) return DROP;
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const rawKey = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof rawKey === 'string' && DIRECTIVES.has(rawKey)) continue;
      const key = typeof rawKey === 'string' ? String(substitute(rawKey, vars, where, false)) : String(rawKey);
      const value = resolveNode(pair.value as Node | null, vars, `${where}.${key}`);
      if (value !== DROP) out[key] = value;
    }
    return out;
  }
  if (isSeq(node)) {
    return node.items
      .map((item, i) => resolveNode(item, vars, `${where}[${i}]`))
      .filter((v) => v !== DROP);
  }
  throw new TemplateError(`${where}: unsupported YAML node`);
}

function directive(doc: { contents: unknown }, name: string): unknown {
  const c = doc.contents;
  if (!isMap(c)) return undefined;
  const pair = c.items.find((p) => isScalar(p.key) && p.key.value === name);
  return pair && isScalar(pair.value) ? pair.value.value : undefined;
}

export interface TemplateOutput {
  objects: K8sObject[];
  patches: K8sObject[];
}

/**
 * Renders one template text. `scopes` gives the providers a `$each: provider|simulator` document
 * iterates over; exported for tests and for tools that render a single file.
 */
export function renderTemplate(
  text: string,
  vars: Record<string, unknown>,
  scopes: { provider: Record<string, unknown>[]; simulator: Record<string, unknown>[] },
  file = 'template',
): TemplateOutput {
  const out: TemplateOutput = { objects: [], patches: [] };
  parseAllDocuments(text).forEach((doc, index) => {
    const where = `${file}#${index + 1}`;
    if (doc.errors.length > 0) throw new TemplateError(`${where}: ${doc.errors[0]?.message}`);
    if (doc.contents === null) return;
    const each = directive(doc, '$each');
    let bindings: Record<string, unknown>[] = [{}];
    if (each === 'provider' || each === 'simulator') bindings = scopes[each].map((p) => ({ p }));
    else if (each !== undefined) throw new TemplateError(`${where}: $each must be provider or simulator`);
    for (const bound of bindings) {
      const value = resolveNode(doc.contents, { ...vars, ...bound }, where);
      if (value === DROP) continue;
      const obj = asObject(value, where);
      (directive(doc, '$patch') === true ? out.patches : out.objects).push(obj);
    }
  });
  return out;
}

function asObject(value: unknown, where: string): K8sObject {
  if (!isObjectLike(value)) throw new TemplateError(`${where}: a document must be a mapping`);
  const meta = value.metadata;
  if (typeof value.apiVersion !== 'string' || typeof value.kind !== 'string' || !isObjectLike(meta)) {
    throw new TemplateError(`${where}: apiVersion, kind and metadata are required`);
  }
  if (typeof meta.name !== 'string' || meta.name === '') throw new TemplateError(`${where}: metadata.name is required`);
  return value as K8sObject;
}

function isObjectLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
