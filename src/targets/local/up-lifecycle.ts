/**
 * The life of a local topology that both MaaS generations share: one `up` at a time per state dir,
 * what `up` does with a topology already there (reprogram it, restart what stopped, or clean a stale
 * state and start afresh), running a plan's steps with their step events, undoing a failed or
 * interrupted `up` so nothing is left running, polling a readiness probe, and removing the state.
 */
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { InterruptedError, StepFailedError, UserError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import { registerSecretValue } from '../../core/secret.js';
import type { WaitSpec } from '../../core/step.js';
import type { K8sObject, ObjectPatch } from '../../model/k8s-object.js';
import { objectKey, type ObjectSet } from '../../model/object-source.js';
import { AdminClient, launch, portOpen, scriptPath, stopAndWait, type LaunchSpec } from './launcher.js';
import { acquireLock, paths, pidAlive, readState, writeJson, type ComponentState, type LocalState } from './state.js';

export const elapsed = (start: number): number => Math.round(performance.now() - start);

/** The tier era's hops: started as `component.js <name>` with no launch record (the era's hops record theirs). */
export const HOPS = ['maas-api', 'maas-gateway', 'egress-gateway'] as const;

/** One step of a local `up`: the objects it applies, the patches it reports, what it waits for. */
export interface LocalStep {
  id: string;
  title: string;
  explain?: string;
  objects: K8sObject[];
  patches: ObjectPatch[];
  notes: string[];
  waits: WaitSpec[];
}

/** The admin client of a running component (its admin listener, bearer-token protected). */
export function adminOf(components: Record<string, ComponentState>, adminToken: string, name: string): AdminClient {
  const c = components[name];
  if (!c?.adminPort) throw new Error(`${name} is not running`);
  return new AdminClient(c.adminPort, adminToken);
}

/** Polls `probe` until it returns true (met) or a string (the latest reason), within the timeout. */
export async function* waitFor(step: string, condition: string, timeoutMs: number, signal: AbortSignal, probe: () => Promise<true | string>): AsyncGenerator<EventInput> {
  const start = performance.now();
  let reason = 'starting';
  yield { kind: 'wait', step, condition, state: 'pending', elapsedMs: 0 };
  while (performance.now() - start < timeoutMs) {
    if (signal.aborted) throw new InterruptedError();
    let r: true | string;
    try {
      r = await probe();
    } catch (err) {
      r = (err as Error).message;
    }
    if (r === true) {
      yield { kind: 'wait', step, condition, state: 'met', elapsedMs: elapsed(start) };
      return;
    }
    reason = r;
    await new Promise((res) => setTimeout(res, 25));
  }
  yield { kind: 'wait', step, condition, state: 'timeout', reason, elapsedMs: elapsed(start) };
  throw new StepFailedError(`step ${step}: ${condition} not met within ${timeoutMs} ms (${reason})`, 'see the hop logs under logs/ in the state dir, then run `demo up` again');
}

/** Applies a step's objects to the object set, one `apply` event each: created, unchanged or configured. */
export function* applyToSet(set: ObjectSet, step: string, objects: readonly K8sObject[]): Generator<EventInput> {
  for (const o of objects) {
    const before = set.apply(o);
    yield { kind: 'apply', step, object: objectKey(o), action: before === undefined ? 'created' : isDeepStrictEqual(before, o) ? 'unchanged' : 'configured' };
  }
}

/** Proves a step's readiness conditions one after another, each with the probe the generation makes for it. */
export async function* proveWaits(
  step: string,
  waits: readonly WaitSpec[],
  probeOf: (spec: WaitSpec) => { condition: string; probe: () => Promise<true | string> },
  timeoutMs: number,
  signal: AbortSignal,
): AsyncGenerator<EventInput> {
  for (const spec of waits) {
    const w = probeOf(spec);
    yield* waitFor(step, w.condition, timeoutMs, signal, w.probe);
  }
}

/** What an `up` works with, whichever generation: the state dir, the tokens, what runs and how it was started. */
export interface RunningTopology {
  dir: string;
  signal: AbortSignal;
  host: string;
  clusterToken: string;
  adminToken: string;
  components: Record<string, ComponentState>;
  /** How each process was started (repair starts it again the same way). */
  launches: Record<string, LaunchSpec>;
  opts: { faults: string[]; vllm: boolean; vllmUrl?: string; timeoutMs: number };
}

/** The state `up` records for a topology, with what its generation adds. */
export function topologyState(run: RunningTopology, steps: string[], startedAt: string, own: Pick<LocalState, 'strictBudget'> & Partial<LocalState>): LocalState {
  return {
    format: 1,
    startedAt,
    host: run.host,
    caFile: paths(run.dir).caCert,
    clusterToken: run.clusterToken,
    adminToken: run.adminToken,
    components: run.components,
    steps,
    faults: run.opts.faults,
    vllm: { enabled: run.opts.vllm, remote: Boolean(run.opts.vllmUrl), ...(run.opts.vllmUrl ? { url: run.opts.vllmUrl } : {}) },
    launches: run.launches,
    ...own,
  };
}

// ---------------------------------------------------------------------------------------------------
// A fresh `up`: its steps, and undoing it when it fails

/** Where a fresh `up` is: the steps completed and the one under way (to end it as failed). */
export interface UpProgress {
  completed: string[];
  current?: { id: string; start: number };
}

/**
 * Runs the plan's steps in order: the step's events around `apply`, and `persist` with the steps
 * completed so far after each (the state on disk always says how far `up` got).
 */
export async function* runPlanSteps(
  plan: readonly LocalStep[],
  progress: UpProgress,
  apply: (step: LocalStep) => AsyncGenerator<EventInput>,
  persist: (completed: string[]) => void,
): AsyncGenerator<EventInput> {
  for (const r of plan) {
    const ts = performance.now();
    progress.current = { id: r.id, start: ts };
    yield { kind: 'step-start', step: r.id, title: r.title, ...(r.explain ? { explain: r.explain } : {}) };
    for (const n of r.notes) yield { kind: 'log', level: 'info', message: `step ${r.id}: ${n}` };
    yield* apply(r);
    progress.completed = [...progress.completed, r.id];
    persist(progress.completed);
    yield { kind: 'step-end', step: r.id, ok: true, ms: elapsed(ts) };
  }
}

/**
 * The rest of a fresh `up` once its platform step is proven: that step ends, the plan's steps run
 * (`persist` after each), the faults are planted over the healthy topology, and `ready` writes the
 * final state and gives the summary. A Ctrl-C before ready throws, so the caller undoes the run.
 */
export async function* finishUp(
  run: { progress: UpProgress; signal: AbortSignal; startedAt: number; platformStartedAt: number },
  plan: readonly LocalStep[],
  apply: (step: LocalStep) => AsyncGenerator<EventInput>,
  persist: (completed: string[]) => void,
  plantFaults: () => AsyncGenerator<EventInput>,
  ready: (completed: string[]) => EventInput,
): AsyncGenerator<EventInput> {
  yield { kind: 'step-end', step: 'platform', ok: true, ms: elapsed(run.platformStartedAt) };
  run.progress.completed.push('platform');
  yield* runPlanSteps(plan, run.progress, apply, persist);
  yield* plantFaults();
  // A Ctrl-C that came before ready still stops everything this run started (the caller's undo).
  if (run.signal.aborted) throw new InterruptedError();
  const summary = ready(run.progress.completed);
  yield { kind: 'log', level: 'info', message: `local topology ready in ${elapsed(run.startedAt)} ms` };
  yield summary;
}

/**
 * Undoes a fresh `up` that failed or was interrupted: the step under way ends as failed, `stopStarted`
 * stops what was started but not yet recorded, every recorded component stops, the state goes, and
 * the error says what was completed. Never returns: it throws the error to report.
 */
export async function* undoFailedUp(
  err: unknown,
  run: { progress: UpProgress; signal: AbortSignal; dir: string; components: Record<string, ComponentState>; again: string },
  stopStarted: () => Promise<void>,
): AsyncGenerator<EventInput, never> {
  const { progress, signal } = run;
  if (progress.current && !progress.completed.includes(progress.current.id)) {
    yield { kind: 'step-end', step: progress.current.id, ok: false, ms: elapsed(progress.current.start), message: signal.aborted ? 'interrupted' : (err as Error).message };
  }
  await stopStarted();
  await stopComponents(run.components);
  cleanDir(run.dir);
  const what = progress.completed.length ? `completed ${progress.completed.join(', ')}` : 'nothing completed';
  if (signal.aborted || err instanceof InterruptedError || (err as Error).name === 'AbortError') {
    yield { kind: 'log', level: 'warn', message: `interrupted (${what}); every process this run started was stopped; run \`demo up\` to start again` };
    throw new InterruptedError();
  }
  yield { kind: 'log', level: 'error', message: `up failed (${what}); every process this run started was stopped, nothing is left running` };
  if (err instanceof StepFailedError || err instanceof UserError) throw err;
  throw new StepFailedError((err as Error).message, `fix the cause above and run \`${run.again}\` again`);
}

// ---------------------------------------------------------------------------------------------------
// `up` on whatever the state dir holds

export interface UpOnState {
  dir: string;
  signal: AbortSignal;
  /** Refuses a running topology this `up` cannot change in place (throws a UserError). */
  check?: (existing: LocalState) => void;
  /** Applies what differs on a healthy running topology; false when nothing does. */
  reprogram: (existing: LocalState) => AsyncGenerator<EventInput, boolean>;
  /** Starts a topology from nothing. */
  fresh: () => AsyncGenerator<EventInput>;
  summary: (state: LocalState, title: string) => EventInput;
  /** How the running topology is named in "already up" (e.g. `MaaS gateway https://…`). */
  running: (existing: LocalState) => string;
  repairTimeoutMs: number;
}

/**
 * `up`, one at a time per state dir: on a running topology it reprograms (or says nothing changed),
 * on a partly running one it restarts what stopped, on a stale state it cleans up and starts afresh.
 */
export async function* upOnState(up: UpOnState): AsyncGenerator<EventInput> {
  const release = acquireLock(up.dir, 'demo up');
  try {
    const existing = readState(up.dir);
    if (existing) {
      // This process did not create these tokens: register them so the summary masks them too.
      registerSecretValue(existing.clusterToken);
      registerSecretValue(existing.adminToken);
      up.check?.(existing);
      const h = await health(existing);
      if (h.dead.length === 0) {
        const changed = yield* up.reprogram(existing);
        if (!changed) yield { kind: 'log', level: 'info', message: `already up: the local topology is running (${up.running(existing)}) with these objects, faults and configuration; nothing changed` };
        yield up.summary(readState(up.dir) ?? existing, changed ? 'reprogrammed' : 'already up');
        return;
      }
      if (h.alive.length > 0) {
        yield* repair(existing, h, up.dir, up.signal, up.repairTimeoutMs);
        yield up.summary(readState(up.dir) ?? existing, 'repaired');
        return;
      }
      yield { kind: 'log', level: 'warn', message: `found a stale state in ${up.dir} (no process of it is running): cleaning it up and starting afresh` };
      // Keep the lock we hold: removing it here let a concurrent `up` start a second topology.
      cleanDir(up.dir, { keepLock: true });
    }
    yield* up.fresh();
  } finally {
    release();
  }
}

export interface Health {
  alive: string[];
  dead: string[];
}

export async function health(state: LocalState): Promise<Health> {
  const alive: string[] = [];
  const dead: string[] = [];
  for (const [name, c] of Object.entries(state.components)) {
    if (pidAlive(c.pid) && (await portOpen(c.port))) alive.push(name);
    else dead.push(name);
  }
  return { alive, dead };
}

/** Restarts the dead hops of a partly running topology, on the ports they had. */
export async function* repair(state: LocalState, h: Health, dir: string, signal: AbortSignal, timeoutMs: number): AsyncGenerator<EventInput> {
  const ts = performance.now();
  yield { kind: 'step-start', step: 'repair', title: `Restart stopped hops: ${h.dead.join(', ')}` };
  const cfgFile = paths(dir).config;
  if (!existsSync(cfgFile)) throw new StepFailedError('the state is incomplete (no config.json)', 'run `demo down` then `demo up`');
  for (const name of h.dead) {
    let component: ComponentState;
    if ((HOPS as readonly string[]).includes(name) && !state.launches?.[name]) {
      component = await launch(dir, { name, script: scriptPath('targets/local/component.js'), args: [name, dir], env: { MAAS_EGRESS_DEMO_ADMIN_TOKEN: state.adminToken } }, { timeoutMs, signal });
    } else {
      // A workload starts again exactly as `up` started it, on the port it had.
      const old = state.components[name]!;
      const spec = state.launches?.[name];
      if (!spec) throw new StepFailedError(`no record of how ${name} was started (a state from an older version)`, 'run `demo down` then `demo up`');
      component = await launch(dir, { ...spec, args: spec.args.map((a, i, all) => (all[i - 1] === '--port' ? String(old.port) : a)) }, { timeoutMs, signal });
    }
    state.components[name] = component;
    yield { kind: 'apply', step: 'repair', object: `process/${name} (pid ${component.pid}, 127.0.0.1:${component.port})`, action: 'started' };
    if (component.port !== (readState(dir)?.components[name]?.port ?? component.port)) {
      yield { kind: 'log', level: 'warn', message: `${name} came back on a new port ${component.port}` };
    }
  }
  writeJson(paths(dir).state, state);
  yield { kind: 'step-end', step: 'repair', ok: true, ms: elapsed(ts) };
}

export async function stopComponents(components: Record<string, ComponentState>): Promise<void> {
  await Promise.all(Object.values(components).map((c) => stopAndWait(c.pid)));
}

/** Removes every file the demo created in the state dir, then the dir itself when empty. */
export function cleanDir(dir: string, opts: { keepLock?: boolean } = {}): void {
  const p = paths(dir);
  // The subscription era's API keys go with it (pgdata); the initdb template cache stays.
  for (const f of [p.state, p.config, p.objects, p.run, p.spec, p.tls, p.logs, p.pgdata]) rmSync(f, { recursive: true, force: true });
  if (opts.keepLock) return;
  try {
    if (existsSync(dir) && readdirSync(dir).filter((f) => f !== 'up.lock').length === 0) {
      rmSync(p.lock, { force: true });
      rmdirSync(dir);
    }
  } catch {
    /* not empty: leave what is not ours */
  }
}
