/**
 * The pure plan of the cluster target: steps + configuration → Kubernetes objects. Nothing here talks
 * to a cluster; `demo manifests` prints what this returns (through `renderForDisplay`, keys masked) and
 * `up --target cluster` applies `renderAll` (keys real, as a Secret and an AuthPolicy need them).
 *
 * Templates live in `manifests/*.yaml`, one file per object group, and are plain YAML with:
 * - `${a.b}` placeholders, resolved against the template variables (`templateVars`). A placeholder that is
 *   a whole *plain* scalar keeps the variable's type (`port: ${egress.port}` → 80; `data: ${sim.files}` →
 *   a map); a quoted scalar or a placeholder inside text is always a string. Mapping keys may hold one too.
 *   An unknown variable is a bug in a template and throws.
 * - `$when: path` (or `$when: "!path"`) in any mapping: the mapping is dropped when the value is falsy.
 *   At the top of a document it drops the whole document.
 * - `$each: provider | simulator` at the top of a document: the document is rendered once per provider of
 *   the step (`p` bound), or once per provider that gets an in-cluster simulator.
 * - `$patch: true` at the top of a document: not an object of ours but fields to apply onto an existing
 *   one; returned as an `ObjectPatch`, without our labels.
 * Substitution happens on the parsed tree, never on text, so a value can't inject YAML.
 * Every rendered object gets the labels of `demoLabels(step)` merged into its metadata.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, stringify, Scalar, type Node } from 'yaml';

import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import { BugError, UserError } from '../../core/errors.js';
import type { StepContext, StepDef, StepId } from '../../core/step.js';
import { selectSteps } from '../../../steps/index.js';
import {
  DEFAULT_TRLP_NAME,
  backendPort,
  envoyName,
  names,
  providersForStep,
  readOptions,
  remoteOf,
  simulatedProviders,
  SIMULATOR_PORT,
  type StepOptions,
} from '../../../steps/scope.js';

export interface RenderedStep {
  step: StepDef;
  objects: K8sObject[];
  patches: ObjectPatch[];
  /** Things the user should know about this rendering (e.g. a placeholder simulator). */
  notes: string[];
}

import { demoLabels, type K8sObject, type ObjectPatch } from '../../model/k8s-object.js';

export type { K8sObject, ObjectPatch };

// ---------------------------------------------------------------------------------------------------
// Locations

/** The package root: the nearest ancestor of this module with both package.json and manifests/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'manifests'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new BugError('cannot find the package root (package.json next to manifests/)');
    dir = up;
  }
}

export function manifestsDir(opts: StepOptions = {}): string {
  return opts.manifestsDir ?? join(packageRoot(), 'manifests');
}

/** Where `npm run build` puts the compiled simulators. */
export function defaultSimDir(): string {
  return join(packageRoot(), 'dist', 'src', 'sim');
}

// ---------------------------------------------------------------------------------------------------
// Step 1: the XBackendDestination CRD from a wg-ai-gateway checkout

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

function crdHint(): string {
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

// ---------------------------------------------------------------------------------------------------
// The simulator code shipped in a ConfigMap

export interface SimulatorSources {
  /** `dist`: the compiled simulator; `placeholder`: a stub that exits with a message (not built yet). */
  source: 'dist' | 'placeholder';
  /** ConfigMap data: flattened key → file content (includes a package.json marking the files as ESM). */
  files: Record<string, string>;
  /** ConfigMap volume items: key → path under the mount. */
  items: { key: string; path: string }[];
  /** Absolute path of the entry file inside the container. */
  entry: string;
  /** Short content hash, put on the pod template so new code restarts the pod. */
  hash: string;
  notes: string[];
}

const SIM_MOUNT = '/sim';
const SIM_ENTRY = 'provider-sim.js';

const PLACEHOLDER_SIM = [
  '// Placeholder written by maas-egress-demo: the simulator was not built when the manifests were rendered.',
  "console.error('provider simulator missing: run `npm run build` in maas-egress-demo, then `demo up` again');",
  'process.exit(1);',
  '',
].join('\n');

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]/g;

/**
 * Reads `provider-sim.js` and every file it imports relatively (transitively) from `simDir`. Built-in
 * `node:` modules are fine; anything from node_modules cannot travel in a ConfigMap and is an error.
 * Without a build, returns a placeholder that fails the pod with a message saying so.
 */
export function loadSimulatorSources(simDir: string = defaultSimDir()): SimulatorSources {
  const entryFile = join(simDir, SIM_ENTRY);
  if (!existsSync(entryFile)) {
    const files = { [SIM_ENTRY]: PLACEHOLDER_SIM, 'package.json': '{"type":"module"}\n' };
    return {
      source: 'placeholder',
      files,
      items: Object.keys(files).map((key) => ({ key, path: key })),
      entry: `${SIM_MOUNT}/${SIM_ENTRY}`,
      hash: contentHash(files),
      notes: [
        `simulator code not found at ${entryFile}: the simulator pods get a placeholder that exits with ` +
          'a message; run `npm run build` and render again',
      ],
    };
  }
  const seen = new Map<string, string>();
  const queue = [resolve(entryFile)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const spec of importsOf(text)) {
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      if (!spec.startsWith('.')) {
        throw new BugError(`${file} imports '${spec}', which cannot be shipped in the simulator ConfigMap`);
      }
      const target = resolve(dirname(file), spec);
      if (!existsSync(target)) throw new BugError(`${file} imports '${spec}', which does not exist at ${target}`);
      queue.push(target);
    }
  }
  const paths = [...seen.keys()].sort();
  const root = commonDir(paths);
  const files: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  for (const abs of paths) {
    const rel = relative(root, abs).split(sep).join('/');
    const key = rel.replace(/\//g, '__');
    files[key] = seen.get(abs) as string;
    items.push({ key, path: rel });
  }
  files['package.json'] = '{"type":"module"}\n';
  items.push({ key: 'package.json', path: 'package.json' });
  const entryRel = relative(root, resolve(entryFile)).split(sep).join('/');
  return { source: 'dist', files, items, entry: `${SIM_MOUNT}/${entryRel}`, hash: contentHash(files), notes: [] };
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec) out.push(spec);
  }
  return out;
}

function commonDir(paths: string[]): string {
  let dir = dirname(paths[0] as string);
  while (!paths.every((p) => p.startsWith(dir + sep))) dir = dirname(dir);
  return dir;
}

function contentHash(files: Record<string, string>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(files).sort()) h.update(k).update('\0').update(files[k] as string).update('\0');
  return h.digest('hex').slice(0, 12);
}

// ---------------------------------------------------------------------------------------------------
// Template variables

/** A CEL string literal for `value` (single-quoted, backslash and quote escaped). */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** What the provider's key header carries: the bare key, or `Bearer <key>` for Authorization. */
export function injectedKeyValue(p: ProviderConfig): string {
  return p.keyHeader === 'authorization' ? `Bearer ${p.key.reveal()}` : p.key.reveal();
}

export function keyHeaderName(p: ProviderConfig): string {
  return p.keyHeader === 'authorization' ? 'Authorization' : 'X-Provider-Api-Key';
}

/**
 * The header a `--simulator-image` reads its key from. That option runs a prebuilt image with the seed
 * provider-sim's flags (`--port`, `--model`, `--api-key`), and that simulator checks X-Provider-Api-Key only,
 * with no flag to read another header (contracts §3.4).
 */
export const PREBUILT_SIM_KEY_HEADER = 'x-provider-api-key';

/**
 * Whether a provider's in-cluster simulator runs the prebuilt image. Only a provider whose bridge injects
 * the header that image reads does: the vLLM stand-in, keyed on `Authorization: Bearer` like vLLM, keeps our
 * simulator (which reads the header it is told and answers 401 as vLLM does), or the bridge's key would never
 * be seen.
 */
export function runsPrebuiltSimulator(p: ProviderConfig, opts: StepOptions): boolean {
  return opts.simulatorImage !== undefined && p.keyHeader === PREBUILT_SIM_KEY_HEADER;
}

function providerVars(p: ProviderConfig, ctx: StepContext, sources: SimulatorSources | undefined): Record<string, unknown> {
  const remote = remoteOf(p, ctx);
  const ns = ctx.cfg.providersNamespace;
  const sim = p.simulator ?? '';
  const prebuilt = runsPrebuiltSimulator(p, readOptions(ctx)) ? readOptions(ctx).simulatorImage : undefined;
  return {
    name: p.name,
    model: p.model,
    ownedBy: p.ownedBy,
    backend: p.backend,
    simulator: sim,
    keyHeader: p.keyHeader,
    keyHeaderName: keyHeaderName(p),
    key: p.key.reveal(),
    keyCel: celString(injectedKeyValue(p)),
    stripsAuthorization: p.keyHeader !== 'authorization',
    style: p.style,
    remote: remote !== undefined,
    host: remote ? remote.host : `${sim}.${ns}.svc.cluster.local`,
    port: backendPort(p, ctx),
    simPort: SIMULATOR_PORT,
    tls: remote?.scheme === 'https',
    routeName: names.egressRoute(p),
    bridgeName: names.bridgeRoute(p),
    authName: names.bridgeAuth(p),
    secretName: names.simulatorKeySecret(sim),
    codeName: names.simulatorCode(sim),
    // our simulator on a stock Node image with its code from a ConfigMap, or the prebuilt image
    simStock: prebuilt === undefined,
    simPrebuilt: prebuilt !== undefined,
    simImage: prebuilt ?? ctx.cfg.simulatorImage,
    // changes when the code or the image changes, so the pod restarts with it
    simHash: prebuilt ? createHash('sha256').update(prebuilt).digest('hex').slice(0, 12) : (sources?.hash ?? ''),
  };
}

/** `60` → `1m`, `90` → `90s`: the window syntax of Kuadrant rates. */
export function rateWindow(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** Per-tier limits of the gateway TokenRateLimitPolicy, keyed `<tier>-user-tokens`. */
export function tokenLimits(cfg: DemoConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const tier of cfg.rateLimit.tiers) {
    out[`${tier.name}-user-tokens`] = {
      rates: [{ limit: tier.tokensPerWindow, window: rateWindow(cfg.rateLimit.windowSeconds) }],
      when: [
        { predicate: `auth.identity.tier == ${JSON.stringify(tier.name)}` },
        // Listing models costs no tokens and must not be blocked by an exhausted budget.
        { predicate: '!request.path.endsWith("/v1/models")' },
      ],
      counters: [{ expression: 'auth.identity.userid' }],
    };
  }
  return out;
}

/** The `models` key of the external model registry: a YAML list of {id, provider, backend}. */
export function registryModels(providers: readonly ProviderConfig[]): string {
  return stringify(providers.map((p) => ({ id: p.model, provider: p.ownedBy, backend: p.backend })));
}

/** Namespaces the demo must never create or label as its own. */
const FOREIGN_NAMESPACES = new Set(['default', 'kube-system', 'openshift-ingress']);

interface RenderInputs {
  sim: SimulatorSources | undefined;
}

function templateVars(step: StepDef, ctx: StepContext, inputs: RenderInputs): Record<string, unknown> {
  const { cfg } = ctx;
  const opts = readOptions(ctx);
  const simsHere = simulatedProviders(step.id, ctx);
  const sim = inputs.sim;
  return {
    step: step.id,
    maas: cfg.maas,
    egress: {
      ...cfg.egress,
      createNamespace: !FOREIGN_NAMESPACES.has(cfg.egress.namespace) && cfg.egress.namespace !== cfg.maas.apiNamespace,
    },
    onprem: cfg.onprem,
    providersNamespace: cfg.providersNamespace,
    envoy: envoyName(cfg),
    controller: names.controller,
    maasApi: { name: names.maasApi, container: names.maasApi },
    sim: {
      // Step 3 owns the namespace; 3a creates it only when step 3 runs no simulator.
      createNamespace:
        simsHere.length > 0 && (step.id === '3' || simulatedProviders('3', ctx).length === 0),
      source: sim?.source ?? 'none',
      files: sim?.files ?? {},
      items: sim?.items ?? [],
      entry: sim?.entry ?? '',
    },
    registry: { models: registryModels(providersForStep('5', ctx)) },
    trlp: {
      enabled: opts.tokenRateLimit === true,
      name: opts.tokenRateLimitName ?? DEFAULT_TRLP_NAME,
      limits: tokenLimits(cfg),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The template engine

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

interface TemplateOutput {
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

function withLabels(obj: K8sObject, stepId: StepId): K8sObject {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...(obj.metadata.labels ?? {}), ...demoLabels(stepId) } } };
}

function toPatch(obj: K8sObject): ObjectPatch {
  const spec = obj.spec as { template?: { spec?: { containers?: { name: string; image: string }[] } } } | undefined;
  const container = spec?.template?.spec?.containers?.[0];
  return {
    target: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: obj.metadata.namespace ?? 'default',
      name: obj.metadata.name,
    },
    annotations: { ...(obj.metadata.annotations ?? {}) },
    ...(container ? { container: { name: container.name, image: container.image } } : {}),
    applyObject: obj,
    force: true,
  };
}

// ---------------------------------------------------------------------------------------------------
// Rendering steps

/** Renders one step: the objects it owns, the patches it applies to foreign objects, and notes. */
export function renderStepPlan(step: StepDef, ctx: StepContext): RenderedStep {
  const opts = readOptions(ctx);
  const dir = manifestsDir(opts);
  const notes: string[] = [];
  const simulated = step.manifests.includes('provider-simulators.yaml') ? simulatedProviders(step.id, ctx) : [];
  const stock = simulated.filter((p) => !runsPrebuiltSimulator(p, opts));
  const sim = stock.length > 0 ? loadSimulatorSources(opts.simDir) : undefined;
  if (sim) notes.push(...sim.notes);
  if (opts.simulatorImage !== undefined && stock.length > 0) {
    notes.push(
      `${stock.map((p) => p.simulator).join(', ')} keeps our simulator instead of ${opts.simulatorImage}: ` +
        `its bridge injects ${stock.map(keyHeaderName).join(', ')}, and the prebuilt image reads only X-Provider-Api-Key`,
    );
  }
  const vars = templateVars(step, ctx, { sim });
  const scopes = {
    provider: providersForStep(step.id, ctx).map((p) => providerVars(p, ctx, sim)),
    simulator: simulated.map((p) => providerVars(p, ctx, sim)),
  };

  const objects: K8sObject[] = [];
  const patches: ObjectPatch[] = [];
  if (step.id === '1' && !opts.skipCrds) {
    if (!opts.wgDir) {
      throw new UserError(`step 1 installs the XBackendDestination CRD but no --wg-dir was given`, crdHint());
    }
    objects.push(...loadXBackendCrds(opts.wgDir));
  }
  for (const file of step.manifests) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new BugError(`template ${path} is missing`);
    const out = renderTemplate(readFileSync(path, 'utf8'), vars, scopes, `manifests/${file}`);
    objects.push(...out.objects);
    patches.push(...out.patches.map(toPatch));
  }
  return { step, objects: objects.map((o) => withLabels(o, step.id)), patches, notes };
}

/** The objects a step creates (with real keys; for apply). */
export function renderStep(step: StepDef, ctx: StepContext): K8sObject[] {
  return renderStepPlan(step, ctx).objects;
}

/** Every selected step in order; 3a is included when the run enables an opt-in provider. */
export function renderAll(ctx: StepContext): RenderedStep[] {
  return selectSteps({ vllm: ctx.providers.some((p) => p.optional) }).map((step) => renderStepPlan(step, ctx));
}

/** Replaces every provider key of the config (alone or inside text, e.g. `Bearer …`) with its mask. */
export function maskKeys<T>(value: T, cfg: DemoConfig): T {
  const keys = cfg.providers
    .map((p) => ({ raw: p.key.reveal(), masked: p.key.masked }))
    .filter((k) => k.raw.length > 0)
    .sort((a, b) => b.raw.length - a.raw.length);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return keys.reduce((s, k) => s.split(k.raw).join(k.masked), v);
    if (Array.isArray(v)) return v.map(walk);
    if (isObjectLike(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** `renderAll` for printing: the same plan with every key masked (`sk-o…demo`). */
export function renderForDisplay(ctx: StepContext): RenderedStep[] {
  return renderAll(ctx).map((r) => ({
    ...r,
    objects: maskKeys(r.objects, ctx.cfg),
    patches: maskKeys(r.patches, ctx.cfg),
  }));
}

// ---------------------------------------------------------------------------------------------------
// YAML output

const YAML_OPTS = { lineWidth: 0, blockQuote: 'literal', aliasDuplicateObjects: false } as const;

/** Multi-document YAML, one document per object, in order. */
export function toYaml(objects: readonly K8sObject[]): string {
  return objects.map((o) => `---\n${stringify(o, YAML_OPTS)}`).join('');
}

/** The whole plan as YAML with a comment per step and per patch (what `demo manifests` prints). */
export function planToYaml(plan: readonly RenderedStep[]): string {
  let out = '';
  for (const r of plan) {
    out += `# Step ${r.step.id} (${r.step.slug}): ${r.step.title}\n`;
    for (const n of r.notes) out += `# note: ${n}\n`;
    out += toYaml(r.objects);
    for (const p of r.patches) {
      out += `---\n# patch of the existing ${p.target.kind} ${p.target.namespace}/${p.target.name} (server-side apply, force)\n`;
      out += stringify(p.applyObject, YAML_OPTS);
    }
  }
  return out;
}

/** `Kind ns/name` (or `Kind name`), how objects are named in events and errors. */
export function objectRef(obj: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return obj.metadata.namespace ? `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}` : `${obj.kind} ${obj.metadata.name}`;
}
