/**
 * The one Kubernetes client of the cluster target, on @kubernetes/client-node's KubernetesObjectApi:
 * discovery resolves kinds to paths, every request carries the kubeconfig's credentials, and bodies
 * stay plain JSON (the generated model classes would rename `x-kubernetes-*` and `default` in CRD
 * schemas and drop unknown fields). Server-side apply uses the field manager `maas-egress-demo`.
 * Errors become `KubeApiError` with a kind the callers turn into a message and a fix.
 */
import {
  ApiException,
  HttpMethod,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubeConfig,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { K8sObject } from '../../model/k8s-object.js';

export const FIELD_MANAGER = 'maas-egress-demo';

export interface ObjRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type KubeErrorKind =
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'kind-not-served'
  | 'conflict'
  | 'invalid'
  | 'expired'
  | 'other';

export interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { type?: string; message?: string; field?: string }[] };
}

export class KubeApiError extends Error {
  constructor(
    readonly errorKind: KubeErrorKind,
    message: string,
    readonly code: number,
    readonly status?: StatusBody,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** `Kind/ns/name` (or `Kind/name`): how objects are named in apply events and errors. */
export function refText(ref: { kind?: string; metadata?: { namespace?: string; name?: string }; namespace?: string; name?: string }): string {
  const kind = ref.kind ?? '?';
  const ns = ref.metadata?.namespace ?? ref.namespace;
  const name = ref.metadata?.name ?? ref.name ?? '?';
  return ns ? `${kind}/${ns}/${name}` : `${kind}/${name}`;
}

export function refOf(obj: K8sObject): ObjRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null ? (v as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Turns whatever the client threw into a KubeApiError (or returns it when it already is one). */
export function toKubeError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const status = parseStatus(err.body);
    const code = err.code;
    const msg = status?.message ?? (typeof err.body === 'string' && err.body ? err.body.slice(0, 200) : `HTTP ${code}`);
    const discovery = /Failed to fetch resource metadata/.test(err.message);
    if (code === 401) return new KubeApiError('unauthorized', `${what}: ${msg}`, code, status);
    if (code === 403) return new KubeApiError('forbidden', msg, code, status);
    if (code === 404) {
      const kindMissing = discovery || !status?.details?.name;
      return new KubeApiError(kindMissing ? 'kind-not-served' : 'not-found', `${what}: ${msg}`, code, status);
    }
    if (code === 409) return new KubeApiError('conflict', `${what}: ${msg}`, code, status);
    if (code === 410) return new KubeApiError('expired', `${what}: ${msg}`, code, status);
    if (code === 422 || code === 400) return new KubeApiError('invalid', `${what}: ${msg}`, code, status);
    return new KubeApiError('other', `${what}: ${msg}`, code, status);
  }
  const e = err as { message?: string; code?: string; errno?: string; type?: string; cause?: { code?: string } };
  const message = e?.message ?? String(err);
  if (/^Unrecognized API version and kind/.test(message)) return new KubeApiError('kind-not-served', `${what}: ${message}`, 404);
  const netCode = e?.code ?? e?.errno ?? e?.cause?.code;
  if (e?.type === 'system' || (netCode && /^(E[A-Z]+|UND_ERR|CERT|DEPTH|SELF_SIGNED|UNABLE)/.test(netCode))) {
    return new KubeApiError('unreachable', `${what}: ${message}`, 0);
  }
  return new KubeApiError('other', `${what}: ${message}`, 0);
}

export interface ListResult {
  items: K8sObject[];
  resourceVersion: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
}

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** KubernetesObjectApi with plain-JSON bodies and the few raw calls the target needs. */
class PlainObjectApi extends KubernetesObjectApi {
  protected override async processResponse<T>(response: ResponseContext, type?: string): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
    }
    if (type === 'text') return text as T;
    return (text ? JSON.parse(text) : {}) as T;
  }

  async pathOf(ref: { apiVersion: string; kind: string; namespace?: string; name?: string }, action: 'read' | 'list'): Promise<string> {
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...(ref.namespace ? { namespace: ref.namespace } : {}), ...(ref.name ? { name: ref.name } : {}) } };
    return this.specUriPath(spec, action);
  }

  async discover(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean } | undefined> {
    const r = await this.resource(apiVersion, kind);
    return r ? { name: r.name, namespaced: r.namespaced } : undefined;
  }

  /** Forgets the discovery cache of one apiVersion (after a CRD was installed or removed). */
  forget(apiVersion: string): void {
    delete this.apiVersionResourceCache[apiVersion];
  }

  async send<T>(method: HttpMethod, path: string, opts: { query?: Record<string, string | undefined>; body?: unknown; contentType?: string; text?: boolean } = {}): Promise<T> {
    const rc = this.configuration.baseServer.makeRequestContext(path, method);
    rc.setHeaderParam('Accept', opts.text ? 'text/plain, */*' : 'application/json, */*;q=0.8');
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) rc.setQueryParam(k, v);
    if (opts.body !== undefined) {
      rc.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      rc.setBody(JSON.stringify(opts.body));
    }
    return this.requestPromise<never>(rc, opts.text ? 'text' : 'json') as Promise<T>;
  }
}

export class Kube {
  readonly kc: KubeConfig;
  readonly #api: PlainObjectApi;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.#api = kc.makeApiClient(PlainObjectApi);
  }

  /** Plural and scope of a kind, or undefined when the cluster does not serve it (no CRD). */
  async served(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean } | undefined> {
    try {
      return await this.#api.discover(apiVersion, kind);
    } catch (err) {
      const e = toKubeError(err, `discovery of ${apiVersion} ${kind}`);
      if (e.errorKind === 'kind-not-served' || e.errorKind === 'not-found') return undefined;
      throw e;
    }
  }

  forgetDiscovery(apiVersion: string): void {
    this.#api.forget(apiVersion);
  }

  async version(): Promise<{ gitVersion?: string }> {
    try {
      return await this.#api.send<{ gitVersion?: string }>(HttpMethod.GET, '/version');
    } catch (err) {
      throw toKubeError(err, 'GET /version');
    }
  }

  /** The object, or undefined when it does not exist. Throws `kind-not-served` when its kind is unknown. */
  async get(ref: ObjRef): Promise<K8sObject | undefined> {
    try {
      const path = await this.#api.pathOf(ref, 'read');
      return await this.#api.send<K8sObject>(HttpMethod.GET, path);
    } catch (err) {
      const e = toKubeError(err, `get ${refText(ref)}`);
      if (e.errorKind === 'not-found') return undefined;
      if (e.errorKind === 'kind-not-served') this.forgetDiscovery(ref.apiVersion);
      throw e;
    }
  }

  async list(apiVersion: string, kind: string, namespace?: string, opts: { labelSelector?: string; fieldSelector?: string } = {}): Promise<ListResult> {
    try {
      const path = await this.#api.pathOf({ apiVersion, kind, ...(namespace ? { namespace } : {}) }, 'list');
      const r = await this.#api.send<{ items?: K8sObject[]; metadata?: { resourceVersion?: string } }>(HttpMethod.GET, path, {
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
      });
      const items = (r.items ?? []).map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind }));
      return { items, resourceVersion: r.metadata?.resourceVersion ?? '' };
    } catch (err) {
      const e = toKubeError(err, `list ${kind}${namespace ? ` in ${namespace}` : ''}`);
      if (e.errorKind === 'kind-not-served') this.forgetDiscovery(apiVersion);
      throw e;
    }
  }

  /** Server-side apply with our field manager. */
  async apply(obj: K8sObject, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<K8sObject> {
    try {
      const path = await this.#api.pathOf(refOf(obj), 'read');
      return await this.#api.send<K8sObject>(HttpMethod.PATCH, path, {
        query: { fieldManager: FIELD_MANAGER, ...(opts.force ? { force: 'true' } : {}), ...(opts.dryRun ? { dryRun: 'All' } : {}) },
        body: obj,
        contentType: PatchStrategy.ServerSideApply,
      });
    } catch (err) {
      throw toKubeError(err, `apply ${refText(obj)}`);
    }
  }

  /** A JSON merge patch (used to take our labels off an object we adopted but did not create). */
  async mergePatch(ref: ObjRef, patch: unknown): Promise<K8sObject> {
    try {
      const path = await this.#api.pathOf(ref, 'read');
      return await this.#api.send<K8sObject>(HttpMethod.PATCH, path, { query: { fieldManager: FIELD_MANAGER }, body: patch, contentType: PatchStrategy.MergePatch });
    } catch (err) {
      throw toKubeError(err, `patch ${refText(ref)}`);
    }
  }

  /** Deletes; false when it was already gone. */
  async remove(ref: ObjRef, propagationPolicy: 'Background' | 'Foreground' = 'Background'): Promise<boolean> {
    try {
      const path = await this.#api.pathOf(ref, 'read');
      await this.#api.send(HttpMethod.DELETE, path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (err) {
      const e = toKubeError(err, `delete ${refText(ref)}`);
      if (e.errorKind === 'not-found' || e.errorKind === 'kind-not-served') return false;
      throw e;
    }
  }

  async podLog(namespace: string, pod: string, opts: { container?: string; tailLines?: number; previous?: boolean } = {}): Promise<string> {
    try {
      return await this.#api.send<string>(HttpMethod.GET, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`, {
        text: true,
        query: {
          container: opts.container,
          tailLines: opts.tailLines !== undefined ? String(opts.tailLines) : undefined,
          previous: opts.previous ? 'true' : undefined,
        },
      });
    } catch (err) {
      throw toKubeError(err, `logs of pod ${namespace}/${pod}`);
    }
  }

  /** SelfSubjectAccessReview: may the current user do `verb` on `resource`? */
  async canI(attrs: { verb: string; group: string; resource: string; namespace?: string; name?: string; subresource?: string }): Promise<{ allowed: boolean; reason?: string }> {
    try {
      const r = await this.#api.send<{ status?: { allowed?: boolean; reason?: string } }>(HttpMethod.POST, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } },
      });
      return { allowed: r.status?.allowed === true, ...(r.status?.reason ? { reason: r.status.reason } : {}) };
    } catch (err) {
      throw toKubeError(err, 'SelfSubjectAccessReview');
    }
  }

  /**
   * Starts a watch; `onEvent` gets every event, `onDone` once when the stream ends (null: closed by the
   * server, the normal end) or fails. Returns a function that stops it.
   */
  async watch(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (phase: WatchPhase, obj: K8sObject) => void,
    onDone: (err: KubeApiError | null) => void,
  ): Promise<() => void> {
    const path = await this.#api.pathOf({ apiVersion, kind, ...(namespace ? { namespace } : {}) }, 'list').catch((err: unknown) => {
      throw toKubeError(err, `watch ${kind}`);
    });
    let stopped = false;
    const controller = await new Watch(this.kc).watch(
      path,
      {
        allowWatchBookmarks: true,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
        ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
      },
      (phase, obj) => {
        if (!stopped) onEvent(phase as WatchPhase, obj as K8sObject);
      },
      (err: unknown) => {
        if (stopped) return;
        stopped = true;
        if (!err) return onDone(null);
        const code = (err as { statusCode?: number }).statusCode;
        if (code === 403) return onDone(new KubeApiError('forbidden', `watch ${kind}${namespace ? ` in ${namespace}` : ''}: forbidden`, 403));
        if (code === 404) return onDone(new KubeApiError('kind-not-served', `watch ${kind}: the server does not serve ${apiVersion} ${kind}`, 404));
        if (code === 410) return onDone(new KubeApiError('expired', `watch ${kind}: resource version expired`, 410));
        onDone(toKubeError(err, `watch ${kind}`));
      },
    );
    return () => {
      stopped = true;
      controller.abort();
    };
  }
}
