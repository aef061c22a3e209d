/**
 * The one Kubernetes client of the cluster target. Requests go over node:https (node:http for a plain
 * server) with what @kubernetes/client-node's public `KubeConfig.applyToHTTPSOptions` puts on them (CA,
 * client certificates, bearer or exec credentials, proxy agent); watches use client-node's public `Watch`.
 * Bodies stay plain JSON (client-node's generated model classes would rename `x-kubernetes-*` and
 * `default` in CRD schemas and drop unknown fields), and kinds are resolved to paths through discovery
 * documents read once per group-version.
 *
 * Server-side apply uses the field manager `maas-egress-demo` and always `fieldValidation=Strict`, so a
 * pruned or unknown field is an error naming it instead of a warning nobody reads. Errors become
 * `KubeApiError` with a kind the callers turn into a message and a fix; a field-manager conflict
 * carries the other managers and their fields.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
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

export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}

export interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
}

/** One field another manager owns with a value different from ours (a server-side apply conflict). */
export interface FieldConflict {
  manager: string;
  field: string;
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

  /** The conflicting field managers and fields of a refused apply (empty for other errors). */
  get conflicts(): FieldConflict[] {
    return (this.status?.details?.causes ?? [])
      .filter((c) => c.type === 'FieldManagerConflict')
      .map((c) => ({ manager: /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1] ?? 'another manager', field: c.field ?? '?' }));
  }

  /**
   * Fields a strict field validation refused (unknown, or not declared in the schema), as the API server
   * names them: from the Status causes, else from its message (`unknown field "spec.x"`, `.spec.x: field
   * not declared in schema`).
   */
  get refusedFields(): string[] {
    const out = new Set<string>();
    for (const c of this.status?.details?.causes ?? []) {
      if (/unknown field|not declared in schema/.test(c.message ?? '') || c.type === 'FieldValueUnknown') out.add((c.field ?? '?').replace(/^\.?/, '.'));
    }
    const text = this.status?.message ?? this.message;
    for (const m of text.matchAll(/unknown field "([^"]+)"/g)) out.add(`.${m[1]!.replace(/^\./, '')}`);
    for (const m of text.matchAll(/(\.[^\s:,]+): field not declared in schema/g)) out.add(m[1]!);
    return [...out];
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

function parseStatus(body: string): StatusBody | undefined {
  if (!body) return undefined;
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null && (v as StatusBody).kind === 'Status' ? (v as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

/** An HTTP answer that was not 2xx. */
export class HttpStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
    this.name = 'HttpStatusError';
  }
}

/** Turns whatever a request threw into a KubeApiError (or returns it when it already is one). */
/** What to check when the API server does not answer. */
export const UNREACHABLE_HINT = 'check the API server URL of the context (`oc whoami --show-server`), that the cluster is up, and your network or VPN';

export function toKubeError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof HttpStatusError) {
    const status = parseStatus(err.body);
    const code = err.code;
    const msg = status?.message ?? (err.body ? err.body.slice(0, 200) : `HTTP ${code}`);
    if (code === 401) return new KubeApiError('unauthorized', `${what}: ${msg}`, code, status);
    if (code === 403) return new KubeApiError('forbidden', msg, code, status);
    if (code === 404) {
      const kindMissing = !status?.details?.name;
      return new KubeApiError(kindMissing ? 'kind-not-served' : 'not-found', `${what}: ${msg}`, code, status);
    }
    if (code === 409) return new KubeApiError('conflict', `${what}: ${msg}`, code, status);
    if (code === 410) return new KubeApiError('expired', `${what}: ${msg}`, code, status);
    if (code === 422 || code === 400) return new KubeApiError('invalid', `${what}: ${msg}`, code, status);
    return new KubeApiError('other', `${what}: ${msg}`, code, status);
  }
  const e = err as { message?: string; code?: string; errno?: string; type?: string; cause?: { code?: string } };
  const message = e?.message ?? String(err);
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
  /** Server-side end of the watch; a new one continues from the last resourceVersion seen. */
  timeoutSeconds?: number;
}

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ApplyOptions {
  /** Take fields other managers own (kubectl's --force-conflicts). */
  force?: boolean;
  dryRun?: boolean;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** A SelfSubjectRulesReview answer: what the user may do in one namespace. */
export interface RulesReview {
  resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
  incomplete: boolean;
  evaluationError?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class Kube {
  readonly kc: KubeConfig;
  readonly #server: URL;
  /** Discovery documents per group-version (undefined: not served). */
  readonly #discovery = new Map<string, Promise<ApiResource[] | undefined>>();

  constructor(kc: KubeConfig) {
    this.kc = kc;
    const server = kc.getCurrentCluster()?.server;
    this.#server = new URL(server ?? 'http://localhost');
  }

  /**
   * One request to the API server with the kubeconfig's credentials. Resolves with any status; throws
   * only when the server cannot be reached.
   */
  async raw(method: string, path: string, opts: { query?: Record<string, string | undefined>; body?: string; contentType?: string; accept?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
    const o: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(o);
    const url = new URL(`${this.#server.origin}${this.#server.pathname.replace(/\/+$/, '')}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string | number | string[]> = { ...((o.headers ?? {}) as Record<string, string>), Accept: opts.accept ?? 'application/json, */*;q=0.8', 'User-Agent': 'maas-egress-demo' };
    if (o.auth && !headers['Authorization']) headers['Authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = v;
    if (opts.body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(opts.body);
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<RawResponse>((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          ...(url.protocol === 'https:' ? { agent: o.agent, ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: o.rejectUnauthorized, servername: o.servername } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(Object.assign(new Error(`no answer from ${this.#server.host} within 30 s`), { code: 'ETIMEDOUT' })));
      req.end(opts.body);
    });
  }

  /** A request whose answer must be 2xx; returns the parsed JSON (or the text with `text`). */
  async #call<T>(method: string, path: string, opts: { query?: Record<string, string | undefined>; body?: unknown; contentType?: string; text?: boolean } = {}): Promise<T> {
    const res = await this.raw(method, path, {
      ...(opts.query ? { query: opts.query } : {}),
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body), contentType: opts.contentType ?? 'application/json' } : {}),
      ...(opts.text ? { accept: 'text/plain, */*' } : {}),
    });
    if (res.status < 200 || res.status > 299) throw new HttpStatusError(res.status, res.body);
    if (opts.text) return res.body as T;
    return (res.body ? JSON.parse(res.body) : {}) as T;
  }

  /** The resources of a group-version (undefined when the server does not serve it), cached. */
  #resources(apiVersion: string): Promise<ApiResource[] | undefined> {
    let hit = this.#discovery.get(apiVersion);
    if (!hit) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      hit = this.#call<{ resources?: ApiResource[] }>('GET', path).then(
        (r) => (r.resources ?? []).filter((x) => !x.name.includes('/')),
        (err: unknown) => {
          this.#discovery.delete(apiVersion);
          const e = toKubeError(err, `discovery of ${apiVersion}`);
          if (e.errorKind === 'kind-not-served' || e.errorKind === 'not-found') return undefined;
          throw e;
        },
      );
      this.#discovery.set(apiVersion, hit);
    }
    return hit;
  }

  /** Plural and scope of a kind, or undefined when the cluster does not serve it (no CRD). */
  async served(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean } | undefined> {
    const list = await this.#resources(apiVersion);
    const r = list?.find((x) => x.kind === kind);
    return r ? { name: r.name, namespaced: r.namespaced } : undefined;
  }

  /** Forgets the discovery of one apiVersion (after a CRD was installed or removed). */
  forgetDiscovery(apiVersion: string): void {
    this.#discovery.delete(apiVersion);
  }

  /**
   * The REST path of a kind: one object when `name` is given (namespace default when unset), else the
   * collection in `namespace`, or across all namespaces.
   */
  async pathOf(ref: { apiVersion: string; kind: string; namespace?: string; name?: string }): Promise<string> {
    const r = await this.served(ref.apiVersion, ref.kind);
    if (!r) throw new KubeApiError('kind-not-served', `the server does not serve ${ref.apiVersion} ${ref.kind}`, 404);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = r.namespaced && (ref.namespace || ref.name) ? `/namespaces/${encodeURIComponent(ref.namespace ?? 'default')}` : '';
    return `${base}${ns}/${r.name}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  async version(): Promise<{ gitVersion?: string }> {
    try {
      return await this.#call<{ gitVersion?: string }>('GET', '/version');
    } catch (err) {
      throw toKubeError(err, 'GET /version');
    }
  }

  /** The object, or undefined when it does not exist. Throws `kind-not-served` when its kind is unknown. */
  async get(ref: ObjRef): Promise<K8sObject | undefined> {
    try {
      return await this.#call<K8sObject>('GET', await this.pathOf(ref));
    } catch (err) {
      const e = toKubeError(err, `get ${refText(ref)}`);
      if (e.errorKind === 'not-found') return undefined;
      if (e.errorKind === 'kind-not-served') this.forgetDiscovery(ref.apiVersion);
      throw e;
    }
  }

  async list(apiVersion: string, kind: string, namespace?: string, opts: { labelSelector?: string; fieldSelector?: string } = {}): Promise<ListResult> {
    try {
      const path = await this.pathOf({ apiVersion, kind, ...(namespace ? { namespace } : {}) });
      const r = await this.#call<{ items?: K8sObject[]; metadata?: { resourceVersion?: string } }>('GET', path, {
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

  /** Server-side apply with our field manager and strict field validation. */
  async apply(obj: K8sObject, opts: ApplyOptions = {}): Promise<K8sObject> {
    try {
      return await this.#call<K8sObject>('PATCH', await this.pathOf(refOf(obj)), {
        query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', ...(opts.force ? { force: 'true' } : {}), ...(opts.dryRun ? { dryRun: 'All' } : {}) },
        body: obj,
        contentType: 'application/apply-patch+yaml',
      });
    } catch (err) {
      throw toKubeError(err, `apply ${refText(obj)}`);
    }
  }

  /**
   * A JSON merge patch: an update operation, so the fields it changes become `manager`'s (ours unless a
   * field is handed back to the manager that owned it before us).
   */
  async mergePatch(ref: ObjRef, patch: unknown, manager: string = FIELD_MANAGER): Promise<K8sObject> {
    try {
      return await this.#call<K8sObject>('PATCH', await this.pathOf(ref), { query: { fieldManager: manager, fieldValidation: 'Strict' }, body: patch, contentType: 'application/merge-patch+json' });
    } catch (err) {
      throw toKubeError(err, `patch ${refText(ref)}`);
    }
  }

  /** A JSON patch (RFC 6902), an update operation like mergePatch: `test` ops guard what it changes. */
  async jsonPatch(ref: ObjRef, ops: { op: string; path: string; value?: unknown }[], manager: string = FIELD_MANAGER): Promise<K8sObject> {
    try {
      return await this.#call<K8sObject>('PATCH', await this.pathOf(ref), { query: { fieldManager: manager, fieldValidation: 'Strict' }, body: ops, contentType: 'application/json-patch+json' });
    } catch (err) {
      throw toKubeError(err, `patch ${refText(ref)}`);
    }
  }

  /** Deletes; false when it was already gone. */
  async remove(ref: ObjRef, propagationPolicy: 'Background' | 'Foreground' = 'Background'): Promise<boolean> {
    try {
      await this.#call('DELETE', await this.pathOf(ref), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
      return true;
    } catch (err) {
      const e = toKubeError(err, `delete ${refText(ref)}`);
      if (e.errorKind === 'not-found' || e.errorKind === 'kind-not-served') return false;
      throw e;
    }
  }

  async podLog(namespace: string, pod: string, opts: { container?: string; tailLines?: number; previous?: boolean } = {}): Promise<string> {
    try {
      return await this.#call<string>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`, {
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
      const r = await this.#call<{ status?: { allowed?: boolean; reason?: string } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } },
      });
      return { allowed: r.status?.allowed === true, ...(r.status?.reason ? { reason: r.status.reason } : {}) };
    } catch (err) {
      throw toKubeError(err, 'SelfSubjectAccessReview');
    }
  }

  /** SelfSubjectRulesReview: everything the current user may do in `namespace` (cluster-scoped rules included). */
  async rulesReview(namespace: string): Promise<RulesReview> {
    try {
      const r = await this.#call<{ status?: Partial<RulesReview> }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
      });
      return { resourceRules: r.status?.resourceRules ?? [], incomplete: r.status?.incomplete === true, ...(r.status?.evaluationError ? { evaluationError: r.status.evaluationError } : {}) };
    } catch (err) {
      throw toKubeError(err, `SelfSubjectRulesReview in ${namespace}`);
    }
  }

  /**
   * A request to a Service through the API server's service proxy
   * (`/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>`). Any status resolves.
   */
  async serviceProxy(namespace: string, service: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse> {
    const p = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}/proxy${path}`;
    return this.raw(method, p, { ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }), ...(headers ? { headers } : {}) });
  }

  /** SelfSubjectReview (`kubectl auth whoami`): the user name and groups the API server knows the caller by. */
  async whoAmI(): Promise<{ username: string; groups: string[] }> {
    try {
      const r = await this.#call<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      const u = r.status?.userInfo;
      if (!u?.username) throw new Error('the SelfSubjectReview named no user');
      return { username: u.username, groups: u.groups ?? [] };
    } catch (err) {
      throw toKubeError(err, 'SelfSubjectReview');
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
    let path: string;
    try {
      path = await this.pathOf({ apiVersion, kind, ...(namespace ? { namespace } : {}) });
    } catch (err) {
      throw toKubeError(err, `watch ${kind}`);
    }
    let stopped = false;
    const controller = await new Watch(this.kc).watch(
      path,
      {
        allowWatchBookmarks: true,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
        ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
        ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}),
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
