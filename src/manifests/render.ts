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
 *
 * The parts live apart: the template language (render-template.ts), the simulator bundle
 * (simulator-bundle.ts), the CRD from a wg-ai-gateway checkout (xbackend-crd.ts), YAML output
 * (manifest-yaml.ts); this module holds the step variables and puts them together.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

import type { DemoConfig, ProviderConfig } from '../core/config.js';
import { BugError, UserError } from '../core/errors.js';
import type { StepContext, StepDef, StepId, WaitSpec } from '../core/step.js';
import { selectSteps } from '../../steps/index.js';
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
} from '../../steps/scope.js';
import { demoLabels, type K8sObject, type ObjectPatch } from '../model/k8s-object.js';
import { manifestsDir } from './package-files.js';
import { renderTemplate } from './render-template.js';
import { loadSimulatorSources, type SimulatorSources } from './simulator-bundle.js';
import { crdHint, loadXBackendCrds } from './xbackend-crd.js';

/** What the cluster target needs of a step: the tier era's StepDef, or a step of another generation's plan. */
export interface PlanStepDef {
  id: string;
  slug: string;
  title: string;
  explain: string;
  waits: (ctx: StepContext) => WaitSpec[];
  hint: string;
}

export interface RenderedStep {
  step: PlanStepDef;
  objects: K8sObject[];
  patches: ObjectPatch[];
  /** Things the user should know about this rendering (e.g. a placeholder simulator). */
  notes: string[];
}

export type { K8sObject, ObjectPatch };

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
// Rendering steps

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
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
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

