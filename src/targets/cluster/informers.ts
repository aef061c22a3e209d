/**
 * Informer-style caches of the objects waits look at, as client-go keeps them: per waited kind one LIST,
 * then one WATCH from the list's resourceVersion with bookmarks, so nothing is read twice. Each watch
 * asks the server to end it after `timeoutSeconds` and continues from the last resourceVersion seen
 * (a bookmark moves it on quiet streams). A 410 Gone (the version left the server's history) lists
 * again; any other failure re-watches after an exponential backoff with jitter. Pods are watched through
 * label selectors, CRDs by name (their objects are large); everything else per kind and namespace,
 * shared by every wait of the run.
 */
import type { K8sObject } from '../../model/k8s-object.js';
import { KubeApiError, toKubeError, type Kube, type WatchPhase } from './client.js';

export interface WatchSource {
  apiVersion: string;
  kind: string;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
}

export function sourceKey(s: WatchSource): string {
  return [s.apiVersion, s.kind, s.namespace ?? '', s.labelSelector ?? '', s.fieldSelector ?? ''].join('|');
}

export function sourceText(s: WatchSource): string {
  const sel = [s.labelSelector, s.fieldSelector].filter(Boolean).join(',');
  return `${s.kind}${s.namespace ? ` in ${s.namespace}` : ''}${sel ? ` (${sel})` : ''}`;
}

export interface InformerOptions {
  /** How long the server keeps one watch open before the informer starts the next from its resourceVersion. */
  watchTimeoutSeconds: number;
  /** Re-watch delay after a failure: baseMs·2^n capped at capMs, each spread by ±50% jitter. */
  backoff: { baseMs: number; capMs: number };
  random: () => number;
}

export const DEFAULT_INFORMER_OPTIONS: InformerOptions = {
  watchTimeoutSeconds: 300,
  backoff: { baseMs: 250, capMs: 8_000 },
  random: Math.random,
};

/** The delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, o: InformerOptions['backoff'], random: () => number): number {
  const raw = Math.min(o.capMs, o.baseMs * 2 ** attempt);
  return Math.round(raw * (0.5 + random()));
}

type State = 'starting' | 'synced' | 'not-served' | 'forbidden';

const keyOf = (o: K8sObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer {
  readonly source: WatchSource;
  readonly ready: Promise<void>;
  #kube: Kube;
  #opts: InformerOptions;
  #cache = new Map<string, K8sObject>();
  #rv = '';
  #state: State = 'starting';
  #error: KubeApiError | undefined;
  #listeners = new Set<() => void>();
  #stopWatch: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #attempt = 0;
  #gone = false;

  constructor(kube: Kube, source: WatchSource, opts: InformerOptions) {
    this.#kube = kube;
    this.source = source;
    this.#opts = opts;
    this.ready = this.#list();
  }

  get state(): State {
    return this.#state;
  }

  /** Why the informer cannot serve (a kind not served, a forbidden list or watch). */
  get error(): KubeApiError | undefined {
    return this.#error;
  }

  items(): K8sObject[] {
    return [...this.#cache.values()];
  }

  get(namespace: string | undefined, name: string): K8sObject | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stopWatch?.();
    this.#listeners.clear();
  }

  #notify(): void {
    for (const fn of [...this.#listeners]) fn();
  }

  #later(fn: () => void): void {
    if (this.#stopped) return;
    const ms = backoffDelay(this.#attempt++, this.#opts.backoff, this.#opts.random);
    this.#timer = setTimeout(fn, ms);
    this.#timer.unref?.();
  }

  async #list(): Promise<void> {
    if (this.#stopped) return;
    const s = this.source;
    try {
      const r = await this.#kube.list(s.apiVersion, s.kind, s.namespace, { ...(s.labelSelector ? { labelSelector: s.labelSelector } : {}), ...(s.fieldSelector ? { fieldSelector: s.fieldSelector } : {}) });
      this.#cache = new Map(r.items.map((o) => [keyOf(o), o]));
      this.#rv = r.resourceVersion;
      this.#state = 'synced';
      this.#error = undefined;
      this.#notify();
      void this.#watch();
    } catch (err) {
      const e = toKubeError(err, `list ${sourceText(s)}`);
      this.#error = e;
      if (e.errorKind === 'forbidden') {
        this.#state = 'forbidden';
      } else {
        // a kind not served yet (its CRD is being installed) or a passing failure: list again later
        if (e.errorKind === 'kind-not-served') this.#state = 'not-served';
        this.#later(() => void this.#list());
      }
      this.#notify();
    }
  }

  async #watch(): Promise<void> {
    if (this.#stopped) return;
    const s = this.source;
    this.#gone = false;
    try {
      this.#stopWatch = await this.#kube.watch(
        s.apiVersion,
        s.kind,
        s.namespace,
        {
          ...(s.labelSelector ? { labelSelector: s.labelSelector } : {}),
          ...(s.fieldSelector ? { fieldSelector: s.fieldSelector } : {}),
          ...(this.#rv ? { resourceVersion: this.#rv } : {}),
          timeoutSeconds: this.#opts.watchTimeoutSeconds,
        },
        (phase, obj) => this.#event(phase, obj),
        (err) => this.#ended(err),
      );
      if (this.#stopped) this.#stopWatch();
    } catch (err) {
      this.#ended(toKubeError(err, `watch ${sourceText(s)}`));
    }
  }

  #event(phase: WatchPhase, obj: K8sObject): void {
    const rv = obj?.metadata?.resourceVersion as string | undefined;
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.#cache.set(keyOf(obj), obj);
        break;
      case 'DELETED':
        this.#cache.delete(keyOf(obj));
        break;
      case 'BOOKMARK':
        if (rv) this.#rv = rv;
        return;
      case 'ERROR': {
        // a Status object: 410 Expired/Gone means the version left the server's history
        const code = (obj as unknown as { code?: number }).code;
        if (code === 410) this.#gone = true;
        return;
      }
    }
    if (rv) this.#rv = rv;
    this.#attempt = 0;
    this.#notify();
  }

  #ended(err: KubeApiError | null): void {
    this.#stopWatch = undefined;
    if (this.#stopped) return;
    if (this.#gone || err?.errorKind === 'expired') {
      void this.#list();
      return;
    }
    if (!err) {
      // the server ended the watch (timeoutSeconds): continue from where it stopped
      void this.#watch();
      return;
    }
    if (err.errorKind === 'forbidden') {
      this.#state = 'forbidden';
      this.#error = err;
      this.#notify();
      return;
    }
    this.#later(() => void (err.errorKind === 'kind-not-served' ? this.#list() : this.#watch()));
  }
}

/** The informers of one run, shared by its waits; stopped together. */
export class Informers {
  #kube: Kube;
  #opts: InformerOptions;
  #map = new Map<string, Informer>();

  constructor(kube: Kube, opts: Partial<InformerOptions> = {}) {
    this.#kube = kube;
    this.#opts = { ...DEFAULT_INFORMER_OPTIONS, ...opts };
  }

  /** The informer of a source, started on first use; resolves once its first LIST answered. */
  async of(source: WatchSource): Promise<Informer> {
    const key = sourceKey(source);
    let inf = this.#map.get(key);
    if (!inf) {
      inf = new Informer(this.#kube, source, this.#opts);
      this.#map.set(key, inf);
    }
    await inf.ready;
    return inf;
  }

  /** Drops the informers of a kind (after its CRD came or went, discovery changes). */
  forget(apiVersion: string, kind: string): void {
    for (const [key, inf] of this.#map) {
      if (inf.source.apiVersion === apiVersion && inf.source.kind === kind) {
        inf.stop();
        this.#map.delete(key);
      }
    }
  }

  stopAll(): void {
    for (const inf of this.#map.values()) inf.stop();
    this.#map.clear();
  }
}
