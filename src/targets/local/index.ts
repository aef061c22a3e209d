/**
 * The local target: the whole demo as loopback processes, one per hop, in a state directory
 * (MAAS_EGRESS_DEMO_STATE_DIR, else the XDG state dir). Nothing here needs a cluster.
 */
import { UserError } from '../../core/errors.js';
import type { EventInput } from '../../core/events.js';
import { selectSteps } from '../../../steps/index.js';
import type { DownOptions, SessionOptions, Target, TargetOptions, TargetSession, UpOptions } from '../target.js';
import { readState, stateDir } from './state.js';
import { DEFAULT_GENERATION, GENERATIONS, type GenerationId } from '../../generations/index.js';

/** Locally, a wait gets this long unless `--timeout` says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

export const PLATFORM_STEP = { id: 'platform', title: 'MaaS platform: gateway (TLS, policies) and maas-api' } as const;

export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  readonly #opts: TargetOptions;

  constructor(opts: TargetOptions) {
    this.#opts = opts;
  }

  get #dir(): string {
    return stateDir(this.#opts.env);
  }

  /** What `up` runs: `--maas`, else the running topology's, else what a `--from` file holds, else the default. */
  async #generationFor(opts: UpOptions): Promise<GenerationId> {
    if (opts.maas) return opts.maas;
    const running = readState(this.#dir)?.generation;
    if (running) return running;
    if (opts.from) {
      const { objectsAreEra } = await import('./subscription-up.js');
      if (objectsAreEra(opts.from.objects)) return 'subscription';
    }
    return readState(this.#dir) ? 'tier' : DEFAULT_GENERATION;
  }

  async generation(): Promise<GenerationId> {
    return readState(this.#dir)?.generation ?? 'tier';
  }

  /** The subscription era's options, as its `up` takes them. */
  #eraOptions(opts: UpOptions) {
    return {
      vllm: opts.vllm ?? true,
      ...(opts.vllmUrl !== undefined ? { vllmUrl: opts.vllmUrl } : {}),
      faults: opts.faults,
      ...(opts.from ? { from: opts.from } : {}),
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
      providers: opts.providers ?? [],
      ...(this.#opts.env.MAAS_EGRESS_DEMO_CACHE_DIR ? { cacheDir: this.#opts.env.MAAS_EGRESS_DEMO_CACHE_DIR } : {}),
    };
  }

  async plan(opts: UpOptions): Promise<{ id: string; title: string }[]> {
    if ((await this.#generationFor(opts)) === 'subscription') {
      const { eraLocalPlan, ERA_PLATFORM_STEP } = await import('./subscription-up.js');
      return [ERA_PLATFORM_STEP, ...eraLocalPlan(this.#opts.cfg, this.#eraOptions(opts)).map((s) => ({ id: s.id, title: s.title }))];
    }
    if (opts.from) {
      // Grouped as up will run them (by the demo's step label); cheap, no rendering.
      const ids = [...new Set(opts.from.objects.map((o) => o.metadata.labels?.['maas-egress-demo/step'] ?? 'objects'))];
      const order = ['objects', ...selectSteps({ vllm: true }).map((s) => s.id)];
      return [PLATFORM_STEP, ...ids.sort((a, b) => order.indexOf(a) - order.indexOf(b)).map((id) => ({ id, title: selectSteps({ vllm: true }).find((s) => s.id === id)?.title ?? `Objects from ${opts.from!.source}` }))];
    }
    return [PLATFORM_STEP, ...selectSteps({ vllm: opts.vllm ?? true }).map((s) => ({ id: s.id, title: s.title }))];
  }

  async *up(opts: UpOptions, signal: AbortSignal): AsyncGenerator<EventInput> {
    if (opts.vllmUrl !== undefined) {
      try {
        const u = new URL(opts.vllmUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      } catch {
        throw new UserError(`--vllm-url must be an http(s) URL; got "${opts.vllmUrl}"`, 'e.g. --vllm-url http://vllm.example.com:8000');
      }
    }
    if (opts.from && opts.vllmUrl !== undefined) throw new UserError('--from and --vllm-url both say what to run', 'put the remote vLLM into the objects of the file (its XBackendDestination), or drop --from');
    const generation = await this.#generationFor(opts);
    const running = readState(this.#dir)?.generation ?? (readState(this.#dir) ? 'tier' : undefined);
    if (running && running !== generation) {
      throw new UserError(`the running topology is the ${GENERATIONS[running].title}; up does not change generations in place`, `run \`demo down\` first, then \`demo up --maas ${generation}\``);
    }
    if (generation === 'subscription') {
      const { eraUp } = await import('./subscription-up.js');
      yield* eraUp(this.#opts.cfg, this.#eraOptions(opts), this.#dir, signal);
      return;
    }
    if (opts.databaseUrl !== undefined || opts.providers?.length) {
      throw new UserError('--database-url and --provider belong to the subscription era', 'add --maas subscription');
    }
    const { localUp } = await import('./local-target.js');
    // With --from the objects say whether the opt-in provider is there: its bridge route.
    const optional = this.#opts.cfg.providers.filter((p) => p.optional);
    const vllm = opts.from ? opts.from.objects.some((o) => o.kind === 'HTTPRoute' && optional.some((p) => o.metadata.name === `${p.name}-bridge`)) : (opts.vllm ?? true);
    yield* localUp(
      this.#opts.cfg,
      {
        vllm,
        ...(opts.vllmUrl !== undefined ? { vllmUrl: opts.vllmUrl } : {}),
        faults: opts.faults,
        strictBudget: opts.strictBudget,
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.hardened ? { hardened: true } : {}),
        timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      },
      this.#dir,
      signal,
    );
  }

  async *down(_opts: DownOptions, _signal: AbortSignal): AsyncGenerator<EventInput> {
    const { localDown } = await import('./local-target.js');
    yield* localDown(this.#dir);
  }

  async env(): Promise<Record<string, string>> {
    const { readState } = await import('./state.js');
    const { envFacts } = await import('./local-target.js');
    const { health } = await import('./up-lifecycle.js');
    const state = readState(this.#dir);
    if (!state) throw new UserError(`the local topology is not running (no state in ${this.#dir})`, 'start it with `demo up`');
    const h = await health(state);
    if (h.dead.length) throw new UserError(`the local topology is broken: ${h.dead.join(', ')} not running`, 'run `demo up` to restart the stopped hops, or `demo down` to clean up');
    if (state.generation === 'subscription') {
      const { eraEnvFacts } = await import('./subscription-up.js');
      return eraEnvFacts(state);
    }
    return { ...envFacts(state, this.#opts.cfg), MAAS_GENERATION: 'tier' };
  }

  async open(opts: SessionOptions = {}): Promise<TargetSession> {
    const { LocalSession } = await import('./session.js');
    return LocalSession.open(this.#opts.env, opts);
  }
}
