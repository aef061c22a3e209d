/**
 * Cluster target entry points: `up` (preflight, record originals, apply each step and wait for it),
 * `down` (restore and delete what we created), `env` (export lines) and the validate/doctor target.
 *
 * `up` is idempotent: a second run reports every object unchanged. A failed wait or a refused apply
 * ends the step with the cluster's reason and the fix, and the run with a PartialApplyError saying
 * which steps are complete and to resume with `demo up --target cluster`; so does Ctrl-C.
 */
import type { DemoConfig } from '../../core/config.js';
import type { EventInput } from '../../core/events.js';
import { InterruptedError, PartialApplyError, StepFailedError, UserError } from '../../core/errors.js';
import type { DownOptions, SessionOptions, Target, TargetOptions, TargetSession, UpOptions } from '../target.js';
import { Kube } from './client.js';
import { loadKubeconfig, type LoadedKubeconfig } from './kubeconfig.js';
import { renderAll, type RenderedStep } from '../../manifests/render.js';
import type { ClusterStep } from './cluster-step.js';
import { stepContext, wgDirOf, type RenderOptions } from './options.js';
import { selectSteps } from '../../../steps/index.js';
import { preflight } from './preflight.js';
import { ApplyFailedError, applyStep, dryRunStep, emptyCounts, recordState } from './apply.js';
import { readState } from './state.js';
import { runWait, WaitFailedError, type AppliedMarks } from './wait.js';
import { Informers } from './informers.js';
import { labelledObjects, teardown } from './teardown.js';
import { renderEraPlan, revokeDemoKeys } from './era.js';
import { GENERATIONS, type GenerationId } from '../../generations/index.js';
import { DEMO_SUBSCRIPTION } from '../../generations/subscription/plan.js';
import type { Kube as KubeClient } from './client.js';

/**
 * What the summary says of the catalog a plan built: the MaaSModelRefs Ready with an endpoint and the
 * phase of each MaaSSubscription, read back from the cluster (the controllers' word, not ours).
 */
async function eraReadiness(kube: KubeClient, plan: readonly RenderedStep[]): Promise<Record<string, string>> {
  const objects = plan.flatMap((r) => r.objects);
  const refs = objects.filter((o) => o.kind === 'MaaSModelRef');
  const subs = objects.filter((o) => o.kind === 'MaaSSubscription');
  if (!refs.length && !subs.length) return {};
  const live = await Promise.all([...refs, ...subs].map((o) => kube.get({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name }).catch(() => undefined)));
  const status = (i: number) => (live[i]?.status ?? {}) as { phase?: string; endpoint?: string };
  const ready = refs.filter((_, i) => status(i).phase === 'Ready' && status(i).endpoint).length;
  return {
    'models Ready': `${ready} of ${refs.length} MaaSModelRefs (${refs.map((o, i) => `${o.metadata.name}: ${status(i).phase ?? '?'}`).join(', ')})`,
    subscriptions: subs.map((o, i) => `${o.metadata.name}: ${status(refs.length + i).phase ?? '?'}`).join(', '),
  };
}

export const RESUME = 'demo up --target cluster';

function load(opts: TargetOptions): LoadedKubeconfig {
  return loadKubeconfig({
    env: opts.env,
    ...(opts.kubeconfig ? { file: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  });
}

/** What `up` renders: step 3a only when asked for (--vllm or --vllm-host) on a cluster. */
export function renderOptions(up: UpOptions, env: NodeJS.ProcessEnv): RenderOptions {
  const wgDir = wgDirOf(up.wgDir, env);
  return {
    vllm: up.vllm ?? Boolean(up.vllmHost),
    skipCrds: up.skipCrds,
    ...(up.vllmHost ? { vllmHost: up.vllmHost } : {}),
    ...(up.simulatorImage ? { simulatorImage: up.simulatorImage } : {}),
    ...(wgDir ? { wgDir } : {}),
  };
}

function copyConfig(cfg: DemoConfig): DemoConfig {
  return { ...cfg, maas: { ...cfg.maas }, egress: { ...cfg.egress } };
}

const elapsed = (t0: number) => Math.round(performance.now() - t0);

/**
 * Forwards `inner`'s events but never yields one once the signal has fired: the driver stops reading
 * at the first event after Ctrl-C, so the interruption (what was applied, how to resume) must be
 * thrown instead of printed.
 */
async function* untilAborted(inner: AsyncGenerator<EventInput>, signal: AbortSignal, interrupted: () => Error): AsyncGenerator<EventInput> {
  try {
    for (;;) {
      let r: IteratorResult<EventInput>;
      try {
        r = await inner.next();
      } catch (err) {
        if (signal.aborted || err instanceof InterruptedError) throw interrupted();
        throw err;
      }
      if (r.done) return;
      if (signal.aborted) throw interrupted();
      yield r.value;
    }
  } finally {
    await inner.return(undefined).catch(() => undefined);
  }
}

interface Progress {
  completed: string[];
  current?: string;
  appliedInStep: number;
}

function interruptedUp(p: Progress): PartialApplyError {
  const where = p.current ? `during step ${p.current}${p.appliedInStep ? ` (${p.appliedInStep} of its objects applied)` : ''}` : 'before the first step';
  const done = p.completed.length ? `steps ${p.completed.join(', ')} complete` : 'no step complete';
  return new PartialApplyError(`interrupted ${where}; ${done}; what was applied stays in the cluster`, p.completed, RESUME, `resume with \`${RESUME}\` (it skips what is already applied)`);
}

async function* upEvents(opts: TargetOptions, up: UpOptions, signal: AbortSignal, progress: Progress): AsyncGenerator<EventInput> {
  const loaded = load(opts);
  const kube = new Kube(loaded.kc);
  const dryRun = up.dryRun;
  const override = up.timeoutMs;
  const cfg = copyConfig(opts.cfg);
  const render = renderOptions(up, opts.env);
  const { wgDir } = render;
  const skipFlag = up.skipCrds;
  let sctx = stepContext(render, cfg);
  const facts = yield* preflight(kube, loaded, cfg, {
    mode: dryRun ? 'dry-run' : 'up',
    ...(opts.maas ? { maas: opts.maas } : {}),
    ...(wgDir ? { wgDir } : {}),
    skipCrds: skipFlag,
    render: (f) => {
      cfg.maas.apiNamespace = f.maasNamespace;
      sctx = stepContext({ ...render, skipCrds: skipFlag || f.xbackendServed }, cfg);
      // The generation the cluster runs decides the plan: the tier era's steps 1–5, or the subscription era's.
      if (f.generation.generation === 'subscription') return renderEraPlan({ cfg, up, sctx, canonical: f.canonical, keys: 'reveal' });
      return renderAll(sctx);
    },
  });
  const plan: ClusterStep[] = facts.plan;
  const gateway = `https://maas.${facts.domain}`;

  if (dryRun) {
    const state = await readState(kube, facts.maasNamespace);
    for (const r of plan) {
      const t0 = performance.now();
      yield { kind: 'step-start', step: r.step.id, title: r.step.title, explain: r.step.explain };
      for (const n of r.notes) yield { kind: 'log', level: 'warn', message: `step ${r.step.id}: ${n}` };
      try {
        yield* dryRunStep(kube, r, state?.preexisting ?? []);
      } catch (err) {
        const e = err instanceof ApplyFailedError ? err : new ApplyFailedError((err as Error).message, 'run again with --debug');
        yield { kind: 'step-end', step: r.step.id, ok: false, ms: elapsed(t0), message: e.message, hint: e.hint };
        throw new StepFailedError(`dry run of step ${r.step.id}: ${e.message}`, e.hint);
      }
      yield { kind: 'step-end', step: r.step.id, ok: true, ms: elapsed(t0) };
    }
    yield {
      kind: 'summary',
      title: 'Dry run: nothing was changed',
      facts: { context: facts.context, 'maas-api namespace': facts.maasNamespace, objects: plan.reduce((n, r) => n + r.objects.length + r.patches.length, 0), yaml: '`demo manifests` prints every object', apply: RESUME },
    };
    return;
  }

  const counts = emptyCounts();
  const finished: Record<string, string | number> = {};
  const completed = progress.completed;
  const existing = await readState(kube, facts.maasNamespace);
  // one LIST and one WATCH per waited kind for the whole run; conditions judged against our applies
  const informers = new Informers(kube);
  const applied: AppliedMarks = new Map();
  try {
    for (const r of plan) {
      if (signal.aborted) throw new InterruptedError();
      const t0 = performance.now();
      progress.current = r.step.id;
      progress.appliedInStep = 0;
      yield { kind: 'step-start', step: r.step.id, title: r.step.title, explain: r.step.explain };
      try {
        for (const n of r.notes) yield { kind: 'log', level: 'warn', message: `step ${r.step.id}: ${n}` };
        const state = completed.length === 0 ? yield* recordState(kube, plan, facts.maasNamespace, existing, r.step.id) : undefined;
        const preexisting = state?.preexisting ?? (await readState(kube, facts.maasNamespace))?.preexisting ?? [];
        yield* applyStep(kube, r, { preexisting, signal, counts, applied, forceConflicts: up.forceConflicts === true, onApplied: () => void progress.appliedInStep++ });
        for (const w of r.step.waits(sctx)) {
          if (signal.aborted) break;
          yield* runWait(kube, r.step.id, w, { timeoutMs: override ?? w.timeoutMs, signal, informers, applied });
        }
        if (r.finish && !signal.aborted) yield* r.finish({ kube, maasNamespace: facts.maasNamespace, user: loaded.user, signal, facts: finished });
        if (signal.aborted) throw new InterruptedError();
        yield { kind: 'step-end', step: r.step.id, ok: true, ms: elapsed(t0) };
        completed.push(r.step.id);
      } catch (err) {
        if (signal.aborted || err instanceof InterruptedError) throw new InterruptedError();
        const e = err instanceof WaitFailedError || err instanceof ApplyFailedError || err instanceof StepFailedError || err instanceof UserError ? err : new StepFailedError((err as Error).message, 'run again with --debug for details');
        if (err instanceof WaitFailedError) {
          for (const line of err.failure.evidence) yield { kind: 'log', level: 'info', message: `  ${line}` };
        }
        const hint = (e as { hint?: string }).hint ?? '';
        yield { kind: 'step-end', step: r.step.id, ok: false, ms: elapsed(t0), message: e.message, ...(hint ? { hint } : {}) };
        throw new PartialApplyError(
          `step ${r.step.id} failed: ${e.message}`,
          completed,
          RESUME,
          `${hint ? `${hint}; then ` : ''}resume with \`${RESUME}\`${completed.length ? ` (steps ${completed.join(', ')} are complete)` : ''}`,
        );
      }
    }
  } finally {
    informers.stopAll();
  }
  progress.current = undefined;
  const changed = counts.created + counts.configured;
  yield {
    kind: 'summary',
    title: changed ? 'Cluster demo ready' : 'Cluster demo ready: nothing changed',
    facts: {
      'MaaS gateway': gateway,
      context: `${facts.context} (${facts.server})`,
      'maas-api namespace': facts.maasNamespace,
      MaaS: facts.generation.generation === 'subscription' || facts.generation.generation === 'tier' ? GENERATIONS[facts.generation.generation].title : facts.generation.generation,
      ...(await eraReadiness(kube, plan)),
      ...finished,
      changes: changed
        ? `${counts.created} created, ${counts.configured} configured, ${counts.unchanged} unchanged${counts.skipped ? `, ${counts.skipped} left as they were` : ''}`
        : `none: all ${counts.unchanged} objects already as rendered${counts.skipped ? `, ${counts.skipped} left as they were` : ''}`,
      next: `${finished['API key'] ? 'eval "$(demo env --target cluster)"; ' : ''}demo validate --target cluster  (add --ca-file FILE if the gateway certificate is not publicly trusted)`,
    },
  };
}

async function* downEvents(opts: TargetOptions, down: DownOptions, signal: AbortSignal): AsyncGenerator<EventInput> {
  const loaded = load(opts);
  const kube = new Kube(loaded.kc);
  const cfg = copyConfig(opts.cfg);
  const timeoutMs = down.timeoutMs ?? 180_000;
  const facts = yield* preflight(kube, loaded, cfg, { mode: 'down', ...(opts.maas ? { maas: opts.maas } : {}) });
  // The subscription era's keys are revoked in maas-api before the Secret that holds one goes.
  const revoked = yield* revokeDemoKeys(kube, facts.maasNamespace, loaded.user, signal);
  const result = yield* teardown(kube, facts.maasNamespace, { timeoutMs, signal, setImage: cfg.maas.maasApiImage });
  if (signal.aborted) throw new InterruptedError();
  const left = (await labelledObjects(kube)).filter((o) => !result.kept.some((k) => k.startsWith(`${o.kind}/`) && k.includes(o.metadata.name)));
  yield {
    kind: 'summary',
    title: left.length ? 'Cluster demo partly removed' : 'Cluster demo removed',
    facts: {
      deleted: result.deleted,
      ...(revoked ? { 'API keys revoked': revoked } : {}),
      'maas-api': { restored: 'image and opendatahub.io/managed restored', left: 'left as it runs now: changed since `demo up`', gone: 'no longer exists', 'not-recorded': 'not changed by the demo (nothing recorded)' }[result.maasApi],
      ...(result.kept.length ? { kept: `${result.kept.join(', ')} (existed before the demo)` } : {}),
      'labelled objects left': left.length,
    },
  };
  if (left.length) throw new StepFailedError(`${left.length} labelled objects are still there`, 'run `demo down --target cluster` again');
}

export class ClusterTarget implements Target {
  readonly kind = 'cluster' as const;
  readonly #opts: TargetOptions;

  constructor(opts: TargetOptions) {
    this.#opts = opts;
  }

  /** The steps to draw up front; the cluster's evidence may still pick the other generation (preflight says so). */
  plan(up: UpOptions): { id: string; title: string }[] {
    if ((up.maas ?? this.#opts.maas) === 'subscription') {
      const cfg = copyConfig(this.#opts.cfg);
      return renderEraPlan({ cfg, up, sctx: stepContext(renderOptions(up, this.#opts.env), cfg), canonical: false, keys: 'mask' }).map((r) => ({ id: r.step.id, title: r.step.title }));
    }
    return selectSteps({ vllm: renderOptions(up, this.#opts.env).vllm }).map((s) => ({ id: s.id, title: s.title }));
  }

  async *up(up: UpOptions, signal: AbortSignal): AsyncGenerator<EventInput> {
    if (up.faults.length) throw new UserError(`--fault plants ${up.faults.join(', ')} in the local topology; a cluster is changed with kubectl`, 'drop --target cluster to rehearse the fault locally, or see docs/faults.md for the object each fault changes');
    if (up.from) throw new UserError(`--from runs ${up.from.source} on the local target; a cluster takes objects from kubectl`, `kubectl apply --server-side -f ${up.from.source === '-' ? '-' : up.from.source}   # or drop --target cluster`);
    const privateCa = (up.providers ?? []).find((p) => p.caFile);
    if (privateCa) throw new UserError(`--provider-ca-file ${privateCa.name}=${privateCa.caFile} is for the local target: on a cluster, the gateway verifies providers with the CAs of its mesh`, `drop --provider-ca-file; for a provider behind a private CA, give the ExternalModel's DestinationRule the CA (\`caCertificates\`) after \`demo up\``);
    if (up.hardened) throw new UserError('--hardened applies to the local target', 'on a cluster, `demo doctor --target cluster --category exposure` names each object change to make');
    const progress: Progress = { completed: [], appliedInStep: 0 };
    yield* untilAborted(upEvents(this.#opts, up, signal, progress), signal, () => interruptedUp(progress));
  }

  async *down(down: DownOptions, signal: AbortSignal): AsyncGenerator<EventInput> {
    yield* untilAborted(downEvents(this.#opts, down, signal), signal, () => new InterruptedError('interrupted: run `demo down --target cluster` again to finish; it only touches what is left'));
  }

  async env(): Promise<Record<string, string>> {
    const { ClusterSession } = await import('./session.js');
    const t = await ClusterSession.open(this.#opts);
    try {
      const url = new URL(t.baseUrl());
      const out: Record<string, string> = { HOST: url.host };
      const token = await t.clusterToken().catch(() => undefined);
      if (token) out.CLUSTER_TOKEN = token.reveal();
      const vllm = await t.vllmDirectUrl();
      if (vllm) out.VLLM_URL = vllm;
      out.MAAS_GENERATION = t.generation;
      if (t.generation === 'subscription') {
        // The key `up` minted (kept in its Secret): exported for curl and SDKs, shown nowhere else.
        const { readStoredKey } = await import('./era.js');
        const stored = await readStoredKey(t.kube, t.cfg.maas.apiNamespace);
        out.MAAS_SUBSCRIPTION = stored?.subscription ?? DEMO_SUBSCRIPTION;
        if (stored) out.MAAS_API_KEY = stored.key.reveal();
      }
      return out;
    } finally {
      await t.close();
    }
  }

  /** The generation the cluster runs, from its evidence (`--maas` where it does not decide). */
  async generation(): Promise<GenerationId> {
    const loaded = load(this.#opts);
    const kube = new Kube(loaded.kc);
    const { MAAS_NAMESPACES } = await import('./preflight.js');
    const { detectMaasGeneration } = await import('./identity.js');
    let ns = this.#opts.cfg.maas.apiNamespace;
    for (const n of [...new Set([ns, ...MAAS_NAMESPACES])]) {
      if (await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: n, name: 'maas-api' }).catch(() => undefined)) {
        ns = n;
        break;
      }
    }
    const g = await detectMaasGeneration(kube, ns, { gatewayNamespace: this.#opts.cfg.maas.gatewayNamespace, ...(this.#opts.maas ? { override: this.#opts.maas } : {}) }).catch(() => undefined);
    return g?.generation === 'subscription' ? 'subscription' : 'tier';
  }

  async open(opts: SessionOptions = {}): Promise<TargetSession> {
    const { ClusterSession } = await import('./session.js');
    return ClusterSession.open(this.#opts, opts);
  }
}
