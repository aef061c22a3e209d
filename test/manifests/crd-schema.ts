/**
 * Offline validation of rendered objects, so a manifest mistake shows up before `apply` and not as a
 * policy that is Accepted but silently does nothing.
 *
 * Custom resources are checked against the structural `openAPIV3Schema` of the served version in their
 * upstream CRD, the way the API server would: a field the schema does not declare is reported (the server
 * would prune it without error, contracts §9.3), and types, int-or-string, enums, required fields,
 * patterns, lengths, bounds, formats and list-map keys are checked. CEL rules (`x-kubernetes-validations`)
 * are evaluated by `cel.ts` where its subset covers them and counted as skipped otherwise. On top, a light
 * Gateway API model check catches route mistakes the gateways would only report in status, and a few
 * demo-specific lint rules flag patterns known to fail at run time. Built-in kinds get a sanity check.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

import { UserError } from '../../src/core/errors.js';
import { evaluateCel, CelUnsupported } from '../../src/targets/cluster/cel.js';
import type { K8sObject } from '../../src/model/k8s-object.js';

export type IssueRule =
  | 'unknown-field'
  | 'type'
  | 'required'
  | 'enum'
  | 'pattern'
  | 'format'
  | 'length'
  | 'bounds'
  | 'items'
  | 'properties'
  | 'duplicate'
  | 'combinator'
  | 'cel'
  | 'no-schema'
  | 'sanity'
  | 'gateway-api'
  | 'lint';

export interface SchemaIssue {
  /** JSON-path-like location, e.g. `spec.rules.response.success.headers.X-Provider-Api-Key.plain.valeu`. */
  path: string;
  rule: IssueRule;
  message: string;
  severity: 'error' | 'warning';
}

export interface ObjectReport {
  /** `Kind ns/name`. */
  object: string;
  apiVersion: string;
  kind: string;
  /** What the object was checked against: an upstream CRD, the built-in sanity check, or nothing. */
  checkedBy: 'crd' | 'builtin' | 'none';
  issues: SchemaIssue[];
  /** CEL rules the evaluator could not run (counted, not failed). */
  celSkipped: number;
}

/** A JSON-schema node as found in a CRD (the subset structural schemas allow). */
export interface JSONSchemaProps {
  type?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
  [key: string]: unknown;
}

interface CrdVersionSchema {
  crd: string;
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
  schema: JSONSchemaProps;
}

/** Served CRD schemas indexed by `group/version` + kind. */
export class CrdSchemaIndex {
  readonly #byGvk = new Map<string, CrdVersionSchema>();
  readonly #kinds = new Set<string>();

  add(crd: unknown): void {
    if (!isRecord(crd) || crd.kind !== 'CustomResourceDefinition') return;
    const spec = crd.spec as Record<string, unknown> | undefined;
    const names = spec?.names as { kind?: string } | undefined;
    const group = spec?.group;
    if (typeof group !== 'string' || !names?.kind) return;
    const name = (crd.metadata as { name?: string } | undefined)?.name ?? `${group}/${names.kind}`;
    for (const v of (spec?.versions as Record<string, unknown>[] | undefined) ?? []) {
      if (v.served === false) continue;
      const schema = (v.schema as { openAPIV3Schema?: JSONSchemaProps } | undefined)?.openAPIV3Schema;
      if (!schema) continue;
      const version = String(v.name);
      this.#byGvk.set(`${group}/${version}|${names.kind}`, {
        crd: name,
        group,
        version,
        kind: names.kind,
        namespaced: spec?.scope !== 'Cluster',
        schema,
      });
      this.#kinds.add(`${group}|${names.kind}`);
    }
  }

  get(apiVersion: string, kind: string): CrdVersionSchema | undefined {
    return this.#byGvk.get(`${apiVersion}|${kind}`);
  }

  /** The CRD exists but not with this version being served. */
  hasKind(apiVersion: string, kind: string): boolean {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
    return this.#kinds.has(`${group}|${kind}`);
  }

  get size(): number {
    return this.#byGvk.size;
  }
}

/** Reads every CRD in `dir` (`*.yaml`/`*.yml`, multi-document files allowed). */
export function loadCrdSchemas(dir: string): CrdSchemaIndex {
  if (!existsSync(dir)) {
    throw new UserError(`CRD directory ${dir} does not exist`, 'set MAAS_EGRESS_DEMO_CRDS_DIR to a directory of CRD YAML files');
  }
  const index = new CrdSchemaIndex();
  for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) index.add(doc.toJS());
  }
  return index;
}

/** Built-in kinds we render, by apiVersion; they get a sanity check only. */
const BUILTIN: Record<string, { namespaced: boolean }> = {
  'v1|Namespace': { namespaced: false },
  'v1|ServiceAccount': { namespaced: true },
  'v1|Service': { namespaced: true },
  'v1|ConfigMap': { namespaced: true },
  'v1|Secret': { namespaced: true },
  'apps/v1|Deployment': { namespaced: true },
  'rbac.authorization.k8s.io/v1|ClusterRole': { namespaced: false },
  'rbac.authorization.k8s.io/v1|ClusterRoleBinding': { namespaced: false },
  'rbac.authorization.k8s.io/v1|Role': { namespaced: true },
  'rbac.authorization.k8s.io/v1|RoleBinding': { namespaced: true },
  'apiextensions.k8s.io/v1|CustomResourceDefinition': { namespaced: false },
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** The object-level checks every kind gets: identity, metadata shape, names, labels. */
export function sanityCheck(obj: K8sObject, namespaced: boolean | undefined): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const err = (path: string, message: string): void => {
    issues.push({ path, rule: 'sanity', message, severity: 'error' });
  };
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') err('apiVersion', 'apiVersion is required');
  if (typeof obj.kind !== 'string' || obj.kind === '') err('kind', 'kind is required');
  const meta = obj.metadata as unknown;
  if (!isRecord(meta)) {
    err('metadata', 'metadata is required');
    return issues;
  }
  const name = meta.name;
  if (typeof name !== 'string' || name === '') err('metadata.name', 'metadata.name is required');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    err('metadata.name', `"${name}" is not a valid name (lower-case DNS subdomain)`);
  }
  if (namespaced === true && typeof meta.namespace !== 'string') {
    err('metadata.namespace', `${obj.kind} is namespaced but has no metadata.namespace`);
  }
  if (namespaced === false && meta.namespace !== undefined) {
    err('metadata.namespace', `${obj.kind} is cluster-scoped but sets metadata.namespace`);
  }
  if (typeof meta.namespace === 'string' && !DNS_LABEL.test(meta.namespace)) {
    err('metadata.namespace', `"${meta.namespace}" is not a valid namespace name`);
  }
  for (const field of ['labels', 'annotations'] as const) {
    const m = meta[field];
    if (m === undefined) continue;
    if (!isRecord(m)) {
      err(`metadata.${field}`, `metadata.${field} must be a map of strings`);
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      const key = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
      const prefix = k.includes('/') ? k.slice(0, k.indexOf('/')) : '';
      if (typeof v !== 'string') err(`metadata.${field}.${k}`, `value must be a string, got ${typeOf(v)}`);
      if (key.length > 63 || !QUALIFIED_NAME.test(key) || (prefix !== '' && !DNS_SUBDOMAIN.test(prefix))) {
        err(`metadata.${field}.${k}`, `"${k}" is not a valid ${field === 'labels' ? 'label' : 'annotation'} key`);
      }
      if (field === 'labels' && typeof v === 'string' && (v.length > 63 || !LABEL_VALUE.test(v))) {
        err(`metadata.labels.${k}`, `"${v}" is not a valid label value`);
      }
    }
  }
  if (obj.kind === 'ConfigMap' || obj.kind === 'Secret') {
    for (const field of ['data', 'stringData', 'binaryData']) {
      const d = obj[field];
      if (d === undefined) continue;
      if (!isRecord(d)) {
        err(field, `${field} must be a map`);
        continue;
      }
      for (const [k, v] of Object.entries(d)) {
        if (!CONFIGMAP_KEY.test(k)) err(`${field}.${k}`, `"${k}" is not a valid key`);
        if (typeof v !== 'string') err(`${field}.${k}`, `value must be a string, got ${typeOf(v)}`);
      }
    }
  }
  return issues;
}

/** Validates one object: CRD schema (or built-in sanity), Gateway API model, lint. */
export function validateObject(obj: K8sObject, index: CrdSchemaIndex): ObjectReport {
  const ref = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
  const report: ObjectReport = {
    object: ref,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    checkedBy: 'none',
    issues: [],
    celSkipped: 0,
  };
  const builtin = BUILTIN[`${obj.apiVersion}|${obj.kind}`];
  const crd = index.get(obj.apiVersion, obj.kind);
  report.issues.push(...sanityCheck(obj, builtin?.namespaced ?? crd?.namespaced));
  if (builtin) {
    report.checkedBy = 'builtin';
  } else if (crd) {
    report.checkedBy = 'crd';
    const ctx: WalkContext = { issues: report.issues, celSkipped: 0, prune: true };
    validateRoot(obj, crd.schema, ctx);
    report.celSkipped = ctx.celSkipped;
  } else {
    report.issues.push({
      path: 'apiVersion',
      rule: 'no-schema',
      severity: 'error',
      message: index.hasKind(obj.apiVersion, obj.kind)
        ? `the CRD for ${obj.kind} does not serve ${obj.apiVersion}`
        : `no CRD for ${obj.apiVersion} ${obj.kind} among the loaded schemas`,
    });
  }
  report.issues.push(...checkGatewayApi(obj), ...lintDemoRules(obj));
  return report;
}

export function validateObjects(objs: readonly K8sObject[], index: CrdSchemaIndex): ObjectReport[] {
  return objs.map((o) => validateObject(o, index));
}

/** Only the errors, as `Kind ns/name: path: message` lines (handy for assertions and error messages). */
export function errorLines(reports: readonly ObjectReport[]): string[] {
  return reports.flatMap((r) =>
    r.issues.filter((i) => i.severity === 'error').map((i) => `${r.object}: ${i.path}: ${i.message}`),
  );
}

// ---------------------------------------------------------------------------------------------------
// Structural schema walk

interface WalkContext {
  issues: SchemaIssue[];
  celSkipped: number;
  /** Report fields the schema does not declare (false inside anyOf/oneOf/allOf/not value checks). */
  prune: boolean;
}

function validateRoot(obj: K8sObject, schema: JSONSchemaProps, ctx: WalkContext): void {
  // metadata is ObjectMeta, validated by the API server itself (sanityCheck covers what we render);
  // the CRD's schema only says `type: object`, so it is not walked.
  const { metadata: _metadata, ...rest } = obj;
  const rootSchema: JSONSchemaProps = {
    ...schema,
    properties: Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => k !== 'metadata')),
  };
  validateValue(applyDefaults(rest, rootSchema), rootSchema, '', ctx);
}

/**
 * Fills absent fields from the schema's `default`s, as the API server does before it validates and
 * evaluates CEL rules (e.g. an HTTPRoute rule without `matches` gets `PathPrefix /`).
 */
export function applyDefaults(value: unknown, schema: JSONSchemaProps): unknown {
  if (Array.isArray(value)) return schema.items ? value.map((v) => applyDefaults(v, schema.items as JSONSchemaProps)) : value;
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties?.[k] ?? (isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined);
    out[k] = sub ? applyDefaults(v, sub) : v;
  }
  for (const [k, sub] of Object.entries(schema.properties ?? {})) {
    if (!(k in out) && sub.default !== undefined) out[k] = applyDefaults(structuredClone(sub.default), sub);
  }
  return out;
}

function push(ctx: WalkContext, path: string, rule: IssueRule, message: string): void {
  ctx.issues.push({ path: path === '' ? '(root)' : path, rule, message, severity: 'error' });
}

function join2(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const patternCache = new Map<string, RegExp | null>();
function compile(pattern: string): RegExp | null {
  if (!patternCache.has(pattern)) {
    let re: RegExp | null = null;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      try {
        re = new RegExp(pattern);
      } catch {
        re = null;
      }
    }
    patternCache.set(pattern, re);
  }
  return patternCache.get(pattern) ?? null;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function checkFormat(value: unknown, format: string): string | undefined {
  if (format === 'int32' && typeof value === 'number' && (value < -(2 ** 31) || value > 2 ** 31 - 1)) {
    return 'does not fit in int32';
  }
  if (format === 'int64' && typeof value === 'number' && !Number.isSafeInteger(value)) return 'is not a safe int64';
  if (typeof value !== 'string') return undefined;
  if (format === 'date-time' && !DATE_TIME.test(value)) return 'is not an RFC 3339 date-time';
  if (format === 'ipv4' && !IPV4.test(value)) return 'is not an IPv4 address';
  if (format === 'ipv6' && !(value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value))) return 'is not an IPv6 address';
  return undefined;
}

function validateValue(value: unknown, schema: JSONSchemaProps, path: string, ctx: WalkContext): void {
  if (value === null) {
    if (!schema.nullable && schema.type !== undefined) push(ctx, path, 'type', `must be ${schema.type}, got null`);
    return;
  }
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const actual = typeOf(value);
  if (intOrString) {
    if (actual !== 'integer' && actual !== 'string') {
      push(ctx, path, 'type', `must be an integer or a string, got ${actual}`);
      return;
    }
  } else if (schema.type !== undefined) {
    const ok =
      schema.type === actual ||
      (schema.type === 'number' && actual === 'integer') ||
      (schema.type === 'object' && actual === 'object') ||
      (schema.type === 'array' && actual === 'array');
    if (!ok) {
      push(ctx, path, 'type', `must be ${schema.type}, got ${actual}`);
      return;
    }
  }

  if (schema.enum && !schema.enum.some((e) => e === value)) {
    push(ctx, path, 'enum', `"${String(value)}" is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'string') {
    if (schema.pattern !== undefined) {
      const re = compile(schema.pattern);
      if (re && !re.test(value)) push(ctx, path, 'pattern', `"${value}" does not match ${schema.pattern}`);
    }
    if (schema.minLength !== undefined && [...value].length < schema.minLength) {
      push(ctx, path, 'length', `shorter than ${schema.minLength}`);
    }
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
      push(ctx, path, 'length', `longer than ${schema.maxLength}`);
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      push(ctx, path, 'bounds', `${value} is below the minimum ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      push(ctx, path, 'bounds', `${value} is above the maximum ${schema.maximum}`);
    }
  }
  if (schema.format !== undefined) {
    const problem = checkFormat(value, schema.format);
    if (problem) push(ctx, path, 'format', `${JSON.stringify(value)} ${problem}`);
  }

  if (Array.isArray(value)) validateArray(value, schema, path, ctx);
  else if (isRecord(value)) validateObjectValue(value, schema, path, ctx);

  validateCombinators(value, schema, path, ctx);
  validateCelRules(value, schema, path, ctx);
}

function validateArray(value: unknown[], schema: JSONSchemaProps, path: string, ctx: WalkContext): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    push(ctx, path, 'items', `needs at least ${schema.minItems} item(s), has ${value.length}`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    push(ctx, path, 'items', `allows at most ${schema.maxItems} item(s), has ${value.length}`);
  }
  if (schema.items) value.forEach((item, i) => validateValue(item, schema.items as JSONSchemaProps, join2(path, i), ctx));
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const k = JSON.stringify(item);
      if (seen.has(k)) push(ctx, join2(path, i), 'duplicate', `duplicate entry ${k} in a set`);
      seen.add(k);
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (!isRecord(item)) return;
      const k = JSON.stringify(keys.map((key) => item[key] ?? null));
      if (seen.has(k)) push(ctx, join2(path, i), 'duplicate', `duplicate entry for key (${keys.join(', ')}) = ${k}`);
      seen.add(k);
    });
  }
}

function validateObjectValue(
  value: Record<string, unknown>,
  schema: JSONSchemaProps,
  path: string,
  ctx: WalkContext,
): void {
  const props = schema.properties ?? {};
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const req of schema.required ?? []) {
    if (!(req in value) || value[req] === undefined) push(ctx, join2(path, req), 'required', `required field "${req}" is missing`);
  }
  const size = Object.keys(value).length;
  if (schema.minProperties !== undefined && size < schema.minProperties) {
    push(ctx, path, 'properties', `needs at least ${schema.minProperties} field(s)`);
  }
  if (schema.maxProperties !== undefined && size > schema.maxProperties) {
    push(ctx, path, 'properties', `allows at most ${schema.maxProperties} field(s)`);
  }
  for (const [k, v] of Object.entries(value)) {
    const p = join2(path, k);
    const sub = props[k];
    if (sub) {
      validateValue(v, sub, p, ctx);
    } else if (isRecord(additional)) {
      validateValue(v, additional, p, ctx);
    } else if (additional === true || preserve) {
      continue;
    } else if (embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) {
      continue;
    } else if (ctx.prune) {
      const known = Object.keys(props);
      const hint = nearest(k, known);
      push(
        ctx,
        p,
        'unknown-field',
        `unknown field "${k}": the API server would silently drop it` +
          (hint ? ` (did you mean "${hint}"?)` : known.length > 0 ? ` (known: ${known.slice(0, 12).join(', ')})` : ''),
      );
    }
  }
}

/** anyOf/oneOf/allOf/not only constrain values in structural schemas (no new fields), so no pruning inside. */
function validateCombinators(value: unknown, schema: JSONSchemaProps, path: string, ctx: WalkContext): void {
  const passes = (sub: JSONSchemaProps): boolean => {
    const inner: WalkContext = { issues: [], celSkipped: 0, prune: false };
    validateValue(value, { ...sub, type: sub.type ?? undefined }, path, inner);
    return inner.issues.length === 0;
  };
  if (schema['x-kubernetes-int-or-string'] !== true && schema.anyOf && !schema.anyOf.some(passes)) {
    push(ctx, path, 'combinator', 'matches none of the allowed forms (anyOf)');
  }
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1) {
    push(ctx, path, 'combinator', 'must match exactly one of the allowed forms (oneOf)');
  }
  for (const sub of schema.allOf ?? []) {
    if (!passes(sub)) push(ctx, path, 'combinator', 'violates an allOf constraint');
  }
  if (schema.not && passes(schema.not)) push(ctx, path, 'combinator', 'matches a forbidden form (not)');
}

function validateCelRules(value: unknown, schema: JSONSchemaProps, path: string, ctx: WalkContext): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(rule.rule)) continue; // transition rules need the stored object; nothing to compare on create
    try {
      const ok = evaluateCel(rule.rule, value);
      if (ok !== true) push(ctx, path, 'cel', rule.message ?? `failed rule: ${rule.rule}`);
    } catch (e) {
      if (e instanceof CelUnsupported) ctx.celSkipped += 1;
      else push(ctx, path, 'cel', `rule could not be evaluated (${(e as Error).message}): ${rule.rule}`);
    }
  }
}

/** The closest known name within edit distance 2, to turn "valeu" into "did you mean value". */
function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (dp[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = dp[i] as number[];
      const prev = dp[i - 1] as number[];
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return (dp[a.length] as number[])[b.length] as number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------
// Gateway API model check (what the controllers would otherwise only say in status)

interface RouteRule {
  matches?: { path?: { type?: string; value?: string } }[];
  filters?: Filter[];
  backendRefs?: { group?: string; kind?: string; name?: string; port?: number; filters?: Filter[] }[];
}
interface Filter {
  type?: string;
  urlRewrite?: { path?: { type?: string; replacePrefixMatch?: string } };
  requestHeaderModifier?: { set?: unknown[]; add?: unknown[]; remove?: unknown[] };
  [key: string]: unknown;
}

const FILTER_FIELD: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
};

export function checkGatewayApi(obj: K8sObject): SchemaIssue[] {
  if (!obj.apiVersion.startsWith('gateway.networking.k8s.io/')) return [];
  const issues: SchemaIssue[] = [];
  const err = (path: string, message: string): void => {
    issues.push({ path, rule: 'gateway-api', message, severity: 'error' });
  };
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (obj.kind === 'GatewayClass' && typeof spec.controllerName !== 'string') {
    err('spec.controllerName', 'a GatewayClass needs a controllerName');
  }
  if (obj.kind === 'Gateway') {
    const listeners = (spec.listeners ?? []) as { name?: string; port?: number; protocol?: string }[];
    if (listeners.length === 0) err('spec.listeners', 'a Gateway needs at least one listener');
    const seen = new Set<string>();
    listeners.forEach((l, i) => {
      if (l.name && seen.has(l.name)) err(`spec.listeners[${i}].name`, `duplicate listener name "${l.name}"`);
      if (l.name) seen.add(l.name);
      if (typeof l.port !== 'number') err(`spec.listeners[${i}].port`, 'listener port is required');
    });
  }
  if (obj.kind !== 'HTTPRoute') return issues;
  const parents = (spec.parentRefs ?? []) as { name?: string; kind?: string }[];
  if (parents.length === 0) err('spec.parentRefs', 'a route with no parentRefs attaches to no gateway');
  parents.forEach((p, i) => {
    if (!p.name) err(`spec.parentRefs[${i}].name`, 'parentRef needs a name');
  });
  const rules = (spec.rules ?? []) as RouteRule[];
  if (rules.length === 0) err('spec.rules', 'a route with no rules matches nothing');
  rules.forEach((rule, r) => {
    const at = `spec.rules[${r}]`;
    const matches = rule.matches ?? [];
    matches.forEach((m, i) => {
      const path = m.path;
      if (!path) return;
      if ((path.type ?? 'PathPrefix') !== 'RegularExpression') {
        const v = path.value ?? '/';
        if (!v.startsWith('/')) err(`${at}.matches[${i}].path.value`, `path "${v}" must start with "/"`);
        if (v.includes('//')) err(`${at}.matches[${i}].path.value`, `path "${v}" contains "//"`);
      }
    });
    const filters = rule.filters ?? [];
    const counts = new Map<string, number>();
    filters.forEach((f, i) => {
      const fat = `${at}.filters[${i}]`;
      if (!f.type) {
        err(`${fat}.type`, 'filter type is required');
        return;
      }
      counts.set(f.type, (counts.get(f.type) ?? 0) + 1);
      const field = FILTER_FIELD[f.type];
      if (field && f[field] === undefined) err(fat, `filter of type ${f.type} needs ${field}`);
      for (const [t, other] of Object.entries(FILTER_FIELD)) {
        if (t !== f.type && f[other] !== undefined) err(`${fat}.${other}`, `${other} set on a filter of type ${f.type}`);
      }
      const rewrite = f.urlRewrite?.path;
      if (f.type === 'URLRewrite' && rewrite?.type === 'ReplacePrefixMatch') {
        const onlyPrefix = matches.length === 1 && (matches[0]?.path?.type ?? 'PathPrefix') === 'PathPrefix';
        if (!onlyPrefix) {
          err(`${fat}.urlRewrite.path`, 'ReplacePrefixMatch needs exactly one match, and it must be a PathPrefix');
        }
        if (rewrite.replacePrefixMatch === undefined) {
          err(`${fat}.urlRewrite.path.replacePrefixMatch`, 'ReplacePrefixMatch needs replacePrefixMatch');
        }
      }
      const mod = f.requestHeaderModifier;
      if (f.type === 'RequestHeaderModifier' && mod && !mod.set && !mod.add && !mod.remove) {
        err(`${fat}.requestHeaderModifier`, 'a RequestHeaderModifier that sets, adds and removes nothing');
      }
    });
    for (const [t, n] of counts) {
      if (n > 1 && t !== 'RequestMirror' && t !== 'ExtensionRef') err(`${at}.filters`, `${n} filters of type ${t} (at most one)`);
    }
    const refs = rule.backendRefs ?? [];
    if (refs.length === 0) err(`${at}.backendRefs`, 'a rule without backendRefs answers 500 for every request');
    refs.forEach((b, i) => {
      const bat = `${at}.backendRefs[${i}]`;
      if (!b.name) err(`${bat}.name`, 'backendRef needs a name');
      const kind = b.kind ?? 'Service';
      if (typeof b.port !== 'number') err(`${bat}.port`, `backendRef to a ${kind} needs a port`);
    });
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------------
// Demo lint: shapes that validate but are known not to work (contracts §9)

export function lintDemoRules(obj: K8sObject): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const warn = (path: string, message: string): void => {
    issues.push({ path, rule: 'lint', message, severity: 'warning' });
  };
  const error = (path: string, message: string): void => {
    issues.push({ path, rule: 'lint', message, severity: 'error' });
  };
  if (obj.kind === 'HTTPRoute') {
    const rules = ((obj.spec as { rules?: RouteRule[] } | undefined)?.rules ?? []) as RouteRule[];
    rules.forEach((rule, r) =>
      (rule.backendRefs ?? []).forEach((b, i) => {
        if (b.kind === 'XBackendDestination') {
          error(
            `spec.rules[${r}].backendRefs[${i}].kind`,
            'the wg-ai-gateway controller resolves only kind "Backend" (naming an XBackendDestination); this route would answer 500',
          );
        }
      }),
    );
  }
  if (obj.kind === 'AuthPolicy') {
    const headers = (
      obj.spec as { rules?: { response?: { success?: { headers?: Record<string, { plain?: Record<string, unknown> }> } } } }
    )?.rules?.response?.success?.headers;
    for (const [name, h] of Object.entries(headers ?? {})) {
      if (h?.plain && 'value' in h.plain) {
        warn(
          `spec.rules.response.success.headers.${name}.plain.value`,
          'plain.value is schemaless and has been seen to render as bytes; use plain.expression with a quoted CEL literal',
        );
      }
      const expr = h?.plain?.expression;
      if (typeof expr === 'string' && /^[A-Za-z0-9_-]+$/.test(expr) && !/^(true|false|null)$/.test(expr)) {
        warn(
          `spec.rules.response.success.headers.${name}.plain.expression`,
          `"${expr}" is read as a CEL identifier, not a string; quote it as '${expr}'`,
        );
      }
    }
    const auth = (obj.spec as { rules?: { authentication?: Record<string, { kubernetesTokenReview?: { audiences?: string[] } }> } })
      ?.rules?.authentication;
    for (const [name, a] of Object.entries(auth ?? {})) {
      if (a?.kubernetesTokenReview && !(a.kubernetesTokenReview.audiences?.length ?? 0)) {
        warn(
          `spec.rules.authentication.${name}.kubernetesTokenReview.audiences`,
          'without audiences TokenReview checks the request Host and MaaS tokens fail with "not authenticated"',
        );
      }
    }
  }
  return issues;
}
