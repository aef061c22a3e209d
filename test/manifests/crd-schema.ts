/**
 * Offline validation of rendered objects, so a manifest mistake shows up before `apply` and not as a
 * policy that is Accepted but silently does nothing.
 *
 * Custom resources are checked against the structural `openAPIV3Schema` of the served version in their
 * upstream CRD, the way the API server would: a field the schema does not declare is reported (the server
 * would prune it without error, contracts §9.3), and types, int-or-string, enums, required fields,
 * patterns, lengths, bounds, formats and list-map keys are checked — by ajv, on the schema with
 * undeclared fields refused. CEL rules (`x-kubernetes-validations`) are evaluated by a CEL implementation
 * (@bufbuild/cel, src/model/cel.ts); a rule calling a function it lacks is counted as skipped. On top, a light
 * Gateway API model check catches route mistakes the gateways would only report in status, and a few
 * demo-specific lint rules flag patterns known to fail at run time. Built-in kinds get a sanity check.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

import { UserError } from '../../src/core/errors.js';
import { CelError, evaluateCel } from '../../src/model/cel.js';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';
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
    const ctx: WalkContext = { issues: report.issues, celSkipped: 0 };
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
// Structural schema validation on ajv

interface WalkContext {
  issues: SchemaIssue[];
  celSkipped: number;
}

/** Evaluates one CRD validation rule against a value, as the API server does (`self` bound); throws CelError. */
export function evaluateRule(rule: string, self: unknown): unknown {
  return evaluateCel(rule, { self });
}

/** A function or variable this CEL environment lacks (counted as not evaluated, not as a failure). */
function unsupported(e: unknown): boolean {
  return e instanceof CelError && e.unsupported;
}

/** The run in progress: custom keywords report CEL skips here (ajv calls them synchronously). */
let current: WalkContext | undefined;

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false, verbose: true });
  const fmt = (re: RegExp) => (v: string) => re.test(v);
  ajv.addFormat('date-time', fmt(/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/));
  ajv.addFormat('ipv4', fmt(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/));
  ajv.addFormat('ipv6', fmt(/^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/));
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => n >= -(2 ** 31) && n <= 2 ** 31 - 1 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  for (const k of ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type']) ajv.addKeyword({ keyword: k });
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    errors: true,
    validate: function celRules(rules: { rule: string; message?: string }[], data: unknown, _parent?: AnySchemaObject, cxt?: DataValidationCxt) {
      const instancePath = cxt?.instancePath ?? '';
      const errors: ErrorObject[] = [];
      for (const r of rules) {
        if (/\boldSelf\b/.test(r.rule)) continue; // transition rules need the stored object; nothing to compare on create
        try {
          if (evaluateRule(r.rule, data) !== true) errors.push({ keyword: 'x-kubernetes-validations', message: r.message ?? `failed rule: ${r.rule}`, params: { rule: r.rule }, instancePath, schemaPath: '' });
        } catch (e) {
          if (unsupported(e)) {
            if (current) current.celSkipped += 1;
          } else errors.push({ keyword: 'x-kubernetes-validations', message: `rule could not be evaluated (${(e as Error).message.split('\n')[0]}): ${r.rule}`, params: { rule: r.rule }, instancePath, schemaPath: '' });
        }
      }
      (celRules as unknown as { errors: ErrorObject[] }).errors = errors;
      return errors.length === 0;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    errors: true,
    validate: function listType(kind: string, data: unknown, parent?: AnySchemaObject, cxt?: DataValidationCxt) {
      if (!Array.isArray(data) || (kind !== 'set' && kind !== 'map')) return true;
      const keys = (parent?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      const seen = new Set<string>();
      const errors: ErrorObject[] = [];
      data.forEach((item, i) => {
        const k = kind === 'set' ? JSON.stringify(item) : isRecord(item) ? JSON.stringify(keys.map((key) => item[key] ?? null)) : undefined;
        if (k === undefined) return;
        if (seen.has(k)) errors.push({ keyword: 'x-kubernetes-list-type', message: kind === 'set' ? `duplicate entry ${k} in a set` : `duplicate entry for key (${keys.join(', ')}) = ${k}`, params: { index: i }, instancePath: `${cxt?.instancePath ?? ''}/${i}`, schemaPath: '' });
        seen.add(k);
      });
      (listType as unknown as { errors: ErrorObject[] }).errors = errors;
      return errors.length === 0;
    },
  });
  return ajv;
}

let ajvInstance: Ajv | undefined;
const compiled = new WeakMap<JSONSchemaProps, ValidateFunction>();

/**
 * A CRD's structural schema as ajv reads it: fields not declared are refused (what the API server prunes),
 * int-or-string is an anyOf, OpenAPI's boolean exclusive bounds become JSON Schema's numeric ones.
 */
export function toJsonSchema(s: JSONSchemaProps): AnySchemaObject {
  const out: AnySchemaObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' && isRecord(v)) out[k] = Object.fromEntries(Object.entries(v as Record<string, JSONSchemaProps>).map(([pk, pv]) => [pk, toJsonSchema(pv)]));
    else if ((k === 'items' || k === 'not' || k === 'additionalProperties') && isRecord(v)) out[k] = toJsonSchema(v as JSONSchemaProps);
    else if ((k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v)) out[k] = (v as JSONSchemaProps[]).map((x) => toJsonSchema({ ...x }));
    else if (k !== 'exclusiveMinimum' && k !== 'exclusiveMaximum') out[k] = v;
  }
  if (s.exclusiveMinimum === true && s.minimum !== undefined) {
    out['exclusiveMinimum'] = s.minimum;
    delete out['minimum'];
  }
  if (s.exclusiveMaximum === true && s.maximum !== undefined) {
    out['exclusiveMaximum'] = s.maximum;
    delete out['maximum'];
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    delete out['type'];
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  }
  const isObject = s.type === 'object' || s.properties !== undefined;
  if (isObject && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true) {
    out['additionalProperties'] = false;
    if (s['x-kubernetes-embedded-resource'] === true) out['properties'] = { apiVersion: {}, kind: {}, metadata: {}, ...((out['properties'] as object) ?? {}) };
  }
  return out;
}

function validatorFor(schema: JSONSchemaProps): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    ajvInstance ??= makeAjv();
    v = ajvInstance.compile(toJsonSchema(schema));
    compiled.set(schema, v);
  }
  return v;
}

/** ajv's `/spec/rules/0/name` as `spec.rules[0].name`. */
function pathOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

const RULE_OF: Record<string, IssueRule> = {
  type: 'type',
  required: 'required',
  enum: 'enum',
  pattern: 'pattern',
  format: 'format',
  minLength: 'length',
  maxLength: 'length',
  minimum: 'bounds',
  maximum: 'bounds',
  exclusiveMinimum: 'bounds',
  exclusiveMaximum: 'bounds',
  minItems: 'items',
  maxItems: 'items',
  minProperties: 'properties',
  maxProperties: 'properties',
  anyOf: 'combinator',
  oneOf: 'combinator',
  allOf: 'combinator',
  not: 'combinator',
  'x-kubernetes-validations': 'cel',
  'x-kubernetes-list-type': 'duplicate',
};

function issueOf(e: ErrorObject, data: unknown): SchemaIssue | undefined {
  let path = pathOf(e.instancePath);
  if (e.keyword === 'additionalProperties') {
    const field = String((e.params as { additionalProperty?: string }).additionalProperty);
    const known = Object.keys(((e.parentSchema as AnySchemaObject | undefined)?.['properties'] as object | undefined) ?? {});
    const hint = nearest(field, known);
    path = path ? `${path}.${field}` : field;
    return {
      path,
      rule: 'unknown-field',
      severity: 'error',
      message: `unknown field "${field}": the API server would silently drop it` + (hint ? ` (did you mean "${hint}"?)` : known.length > 0 ? ` (known: ${known.slice(0, 12).join(', ')})` : ''),
    };
  }
  if (e.keyword === 'required') {
    const field = String((e.params as { missingProperty?: string }).missingProperty);
    return { path: path ? `${path}.${field}` : field, rule: 'required', severity: 'error', message: `required field "${field}" is missing` };
  }
  const rule = RULE_OF[e.keyword];
  if (!rule) return undefined;
  const value = e.instancePath ? e.instancePath.split('/').slice(1).reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), data) : data;
  const message =
    rule === 'type'
      ? `must be ${String((e.params as { type?: string }).type)}, got ${typeOf(value)}`
      : rule === 'enum'
        ? `"${String(value)}" is not one of ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((x) => JSON.stringify(x)).join(', ')}`
        : rule === 'pattern'
          ? `"${String(value)}" does not match ${String((e.params as { pattern?: string }).pattern)}`
          : rule === 'format'
            ? `${JSON.stringify(value)} is not a valid ${String((e.params as { format?: string }).format)}`
            : rule === 'combinator'
              ? { anyOf: 'matches none of the allowed forms (anyOf)', oneOf: 'must match exactly one of the allowed forms (oneOf)', allOf: 'violates an allOf constraint', not: 'matches a forbidden form (not)' }[e.keyword] ?? 'does not match the allowed forms'
              : (e.message ?? e.keyword);
  return { path: path === '' ? '(root)' : path, rule, severity: 'error', message };
}

function validateRoot(obj: K8sObject, schema: JSONSchemaProps, ctx: WalkContext): void {
  // metadata is ObjectMeta, validated by the API server itself (sanityCheck covers what we render);
  // the CRD's schema only says `type: object`, so it is not checked here.
  const { metadata: _metadata, ...rest } = obj;
  const rootSchema: JSONSchemaProps = {
    ...schema,
    properties: Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => k !== 'metadata')),
  };
  // schema defaults first, as the API server fills them before it validates and runs CEL rules
  const data = applyDefaults(rest, rootSchema);
  const validate = validatorFor(rootSchema);
  current = ctx;
  try {
    validate(data);
  } finally {
    current = undefined;
  }
  // Inside anyOf/oneOf/not the branches' own errors are not the object's: only the combinator counts.
  const errors = (validate.errors ?? []).filter((e) => !/\/(anyOf|oneOf|not)\//.test(e.schemaPath));
  const seen = new Set<string>();
  for (const e of errors) {
    const issue = issueOf(e, data);
    if (!issue) continue;
    const key = `${issue.path}|${issue.rule}|${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ctx.issues.push(issue);
  }
}

/**
 * Fills absent fields from the schema's `default`s, as the API server does before it validates and
 * evaluates CEL rules (e.g. an HTTPRoute rule without `matches` gets `PathPrefix /`). Done before ajv runs
 * (its `useDefaults` fills them while keywords already look at the object, too late for the CEL rules).
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

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
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
