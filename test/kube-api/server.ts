// A Kubernetes API test server: real HTTP, real REST shapes, for kubectl and @kubernetes/client-node.
// Start it with startKubeApi(); see README.md beside this file.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import YAML from 'yaml';
import { Controllers } from './controllers.js';
import {
  ApiError,
  badRequest,
  forbidden,
  notFound,
  unauthorized,
  unknownResource,
} from './errors.js';
import { jsonPatch, mergePatch } from './apply.js';
import { Faults } from './faults.js';
import { openApiV3Doc, openApiV3Root } from './openapi.js';
import { Registry, type ResourceType } from './registry.js';
import { objectFilter } from './selectors.js';
import { ApiStore, type FieldValidation, type StoreEvent } from './store.js';
import type { KObj } from './util.js';
import { clone, findCondition, isPlainObject, joinApiVersion, sleep } from './util.js';
import { servingCert } from './tls.js';
import { installCrds, loadCrds, presetOptions, seedOpenShiftMaas, type CrdSelection, type MaasPresetOptions, type PresetName } from './seed.js';
import { accessReview, rulesReview } from './access-review.js';
import { installMaasControllers } from './maas-controllers.js';
import { MaasApiSim, maasApiBackend, type MaasApiGeneration } from './maas-api.js';
import { proxyTarget, serviceProxy, type ServiceBackend } from './service-proxy.js';

export interface KubeApiOptions {
  /** Bearer token clients must send (default `demo-token`). */
  token?: string;
  /** User name used in Forbidden messages (default `demo`). */
  user?: string;
  /** Delay before simulated controllers react, ms (default 60). */
  controllerDelayMs?: number;
  /** Apps domain when no ingresses.config.openshift.io/cluster exists (default apps.demo.example.com). */
  domain?: string;
  /** Watch history kept for resourceVersion replays (default 5000 events). */
  historySize?: number;
  /** Interval between BOOKMARK events on watches that allow them, ms (default 1000). */
  bookmarkIntervalMs?: number;
  /**
   * Seed a preset before returning (and wait for it to settle): `tier` (OpenShift with tier-era MaaS; also
   * `openshift-maas`), `subscription` (current MaaS), `bare` (OpenShift without MaaS), or options of your own.
   */
  preset?: PresetName | 'openshift-maas' | MaasPresetOptions;
  /** Print every request to stderr (also on when KUBE_API_DEBUG is set). */
  log?: boolean;
  /**
   * Serve HTTPS with a self-signed certificate that the kubeconfig carries as certificate-authority-data
   * (default true). Both real clients want TLS: kubectl sends no bearer token over plain HTTP, and
   * client-node 1.4 refuses an http:// server unless the kubeconfig sets insecure-skip-tls-verify (which
   * writeKubeconfig then does). With `tls: false` only client-node (and raw fetch) can talk to the server.
   */
  tls?: boolean;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
  /** ms since the server started. */
  at: number;
  /** Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection) for resource requests. */
  verb?: string;
  /** `group/plural` (core group empty: `/pods`) for resource requests. */
  resource?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface KubeconfigOptions {
  token?: string;
  context?: string;
  namespace?: string;
}

export interface SeedOptions {
  /** Leave seeded objects alone: no controller rewrites their status (for planting broken objects). */
  unmanaged?: boolean;
}

export interface KubeApi {
  url: string;
  port: number;
  /** PEM of the serving certificate (absent with tls: false); trust it to call `url` with fetch/undici. */
  caPem?: string;
  token: string;
  user: string;
  store: ApiStore;
  registry: Registry;
  faults: Faults;
  controllers: Controllers;
  /** Every request served, oldest first. */
  requests: RequestRecord[];
  /** Called with each request once answered (the CLI's --request-log writes them out). */
  onRequest?: (r: RequestRecord) => void;
  /** maas-api as pods labelled app.kubernetes.io/name=maas-api answer it through the service proxy. */
  maasApi: MaasApiSim;
  /** What answers behind Services reached through the service proxy (maas-api by default). */
  backends: ServiceBackend[];
  close(): Promise<void>;
  /** Writes a kubeconfig pointing at this server (bearer token auth) and returns its path. */
  writeKubeconfig(file: string, opts?: KubeconfigOptions): Promise<string>;
  /** Creates (or replaces) objects as they are, status included; namespaces are created when missing. */
  seed(objects: KObj[], opts?: SeedOptions): KObj[];
  /** Registers CRDs from the shared CRD directory as already Established (see CrdSelection). */
  installCrds(selection: CrdSelection): KObj[];
  /** Seeds a preset (default: OpenShift with tier-era MaaS); waits until controllers settle. */
  seedPreset(opts?: MaasPresetOptions | PresetName): Promise<void>;
  /** Reads one object by apiVersion/kind/namespace/name (undefined when absent). */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KObj | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KObj[];
  /** Resolves once no controller work is pending (or after timeoutMs). */
  settle(timeoutMs?: number): Promise<void>;
  /** Polls until `fn` returns a truthy value; rejects after timeoutMs. */
  waitFor<T>(fn: () => T | undefined | false, timeoutMs?: number): Promise<T>;
}

interface Route {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

function parseResourcePath(parts: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  if (rest.length === 0) return undefined;
  let namespace: string | undefined;
  const nsSub = rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && nsSub)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  return { group, version, namespace, plural: rest[0]!, name: rest[1], subresource: rest[2] };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): unknown {
  if (/protobuf|cbor/.test(contentType)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
    );
  }
  if (!text.trim()) return undefined;
  try {
    if (contentType.includes('yaml')) return YAML.parse(text);
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

function verbOf(method: string, r: Route, watch: boolean): string {
  switch (method) {
    case 'GET':
      return r.name ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return r.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Shows an object as the requested version (no conversion: the shapes of the served versions are compatible). */
function present(o: KObj, t: ResourceType, version: string): KObj {
  const out = clone(o);
  out.apiVersion = joinApiVersion(t.group, version);
  out.kind = t.kind;
  return out;
}

export async function startKubeApi(opts: KubeApiOptions = {}): Promise<KubeApi> {
  const token = opts.token ?? 'demo-token';
  const user = opts.user ?? 'demo';
  const registry = new Registry();
  const store = new ApiStore(registry, { historySize: opts.historySize });
  const faults = new Faults();
  const controllers = new Controllers(store, faults, { delayMs: opts.controllerDelayMs, domain: opts.domain });
  installMaasControllers(controllers);
  const started = performance.now();
  const maasApi = new MaasApiSim(store);
  // the generation an unknown maas-api image answers as: the one the preset installed
  let maasFallback: MaasApiGeneration = 'tier';
  const backends: ServiceBackend[] = [maasApiBackend(maasApi, () => maasFallback)];
  const bookmarkMs = opts.bookmarkIntervalMs ?? 1000;
  const log = opts.log ?? !!process.env['KUBE_API_DEBUG'];
  const requests: RequestRecord[] = [];
  const openWatches = new Set<() => void>();

  faults.onChange = () => controllers.resyncAll();
  faults.onCrdMissing = (nameOrKind) => {
    const crdT = registry.byPlural('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    for (const crd of store.list(crdT)) {
      const kind = (crd['spec'] as { names?: { kind?: string } } | undefined)?.names?.kind;
      if (crd.metadata.name === nameOrKind || kind === nameOrKind) store.delete(crdT, undefined, crd.metadata.name!);
    }
  };

  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create(registry.byPlural('', 'v1', 'namespaces')!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'kube-apiserver' });
  }

  const send = (res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): Promise<void> => {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) throw unauthorized();
    if (path === '/version') {
      send(res, 200, {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.4',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-04-22T00:00:00Z',
        goVersion: 'go1.23.8',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
      return;
    }
    if (path === '/openapi/v3') return send(res, 200, openApiV3Root(registry));
    if (path.startsWith('/openapi/v3/')) {
      const segs = path.slice('/openapi/v3/'.length).split('/');
      const doc = segs[0] === 'api' ? openApiV3Doc(registry, '', segs[1] ?? '') : openApiV3Doc(registry, segs[1] ?? '', segs[2] ?? '');
      if (!doc) throw unknownResource();
      return send(res, 200, doc);
    }
    const proxied = proxyTarget(url.pathname);
    if (proxied) {
      Object.assign(record, { verb: 'proxy', resource: '/services', namespace: proxied.namespace, name: proxied.spec, subresource: 'proxy' });
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const answer = serviceProxy({ store, faults, user, backends }, proxied, req.method ?? 'GET', url.searchParams, req.headers, Buffer.concat(chunks));
      res.writeHead(answer.status, { 'Content-Length': Buffer.byteLength(answer.body), ...(answer.headers ?? {}) });
      res.end(answer.body);
      return;
    }
    if (path === '/api') return send(res, 200, registry.apiVersions());
    if (path === '/apis') return send(res, 200, registry.apiGroupList());
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = registry.apiGroup(parts[1]!);
      if (!g) throw unknownResource();
      return send(res, 200, g);
    }
    if ((parts[0] === 'api' && parts.length === 2) || (parts[0] === 'apis' && parts.length === 3)) {
      const group = parts[0] === 'api' ? '' : parts[1]!;
      const list = registry.resourceList(group, parts[parts.length - 1]!);
      if (!list) throw unknownResource();
      return send(res, 200, list);
    }
    const r = parseResourcePath(parts);
    if (!r) throw unknownResource();
    const t = registry.byPlural(r.group, r.version, r.plural);
    if (!t) throw unknownResource();
    if (r.subresource && !t.subresources.includes(r.subresource)) throw unknownResource();
    if (t.namespaced === false && r.namespace) throw unknownResource();
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = verbOf(req.method ?? 'GET', r, watch);
    Object.assign(record, {
      verb,
      resource: `${t.group}/${t.plural}`,
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.name ? { name: r.name } : {}),
      ...(r.subresource ? { subresource: r.subresource } : {}),
    });
    if (faults.isForbidden(verb, t.group, t.plural, r.namespace, r.name, r.subresource)) {
      throw forbidden(user, verb, t.plural, t.group, r.namespace, r.name, r.subresource);
    }
    const ns = t.namespaced ? r.namespace : undefined;
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    const dryRun = q.getAll('dryRun').includes('All');
    const fieldValidation = (q.get('fieldValidation') ?? 'Warn') as FieldValidation;
    const ua = String(req.headers['user-agent'] ?? 'unknown');
    const manager = q.get('fieldManager') ?? (ua.split('/')[0] || 'unknown');
    const writeOpts = { dryRun, fieldValidation, manager, version: r.version, subresource: r.subresource };
    const warn = (warnings: string[]): Record<string, string[]> =>
      warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};

    if (t.group === 'authorization.k8s.io' && (t.plural === 'selfsubjectaccessreviews' || t.plural === 'selfsubjectrulesreviews')) {
      if (req.method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const body = parseBody(await readBody(req), contentType) as KObj | undefined;
      return send(res, 201, t.plural === 'selfsubjectaccessreviews' ? accessReview(faults, body) : rulesReview(registry, faults, body));
    }

    if (t.group === 'authentication.k8s.io' && t.plural === 'selfsubjectreviews') {
      // `kubectl auth whoami`: who the bearer token is (the test server has one user, a cluster admin).
      if (req.method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return send(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { creationTimestamp: null }, status: { userInfo: { username: user, groups: ['system:masters', 'system:authenticated'] } } });
    }

    switch (req.method) {
      case 'GET': {
        if (!r.name) {
          if (watch) return serveWatch(req, res, t, r, ns, q);
          const filter = objectFilter(q.get('labelSelector'), q.get('fieldSelector'));
          const items = store.list(t, ns).filter(filter).map((o) => present(o, t, r.version));
          return send(res, 200, {
            kind: `${t.kind}List`,
            apiVersion: joinApiVersion(t.group, r.version),
            metadata: { resourceVersion: store.resourceVersion },
            items,
          });
        }
        const obj = store.mustGet(t, ns, r.name);
        if (r.subresource === 'log') return serveLog(res, obj, q);
        if (r.subresource === 'scale') return send(res, 200, scaleOf(obj));
        return send(res, 200, present(obj, t, r.version));
      }
      case 'POST': {
        if (r.name) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = parseBody(await readBody(req), contentType);
        if (!isPlainObject(body)) throw badRequest('request body must be an object');
        const obj = body as KObj;
        obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
        if (t.namespaced) {
          if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
            throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
          }
          obj.metadata.namespace = ns ?? obj.metadata.namespace ?? 'default';
        }
        const result = store.create(t, obj, writeOpts);
        return send(res, 201, present(result.object, t, r.version), warn(result.warnings));
      }
      case 'PUT': {
        if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = parseBody(await readBody(req), contentType);
        if (r.subresource === 'scale') return send(res, 200, scaleOf(setReplicas(t, ns, r.name, body, writeOpts)));
        if (!isPlainObject(body)) throw badRequest('request body must be an object');
        const result = store.replace(t, ns, r.name, body as KObj, writeOpts);
        return send(res, 200, present(result.object, t, r.version), warn(result.warnings));
      }
      case 'PATCH': {
        if (!r.name) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const body = parseBody(await readBody(req), contentType);
        if (r.subresource === 'scale') {
          const current = scaleOf(store.mustGet(t, ns, r.name));
          const next = contentType.startsWith('application/json-patch') ? jsonPatch(current, body) : mergePatch(current, body);
          return send(res, 200, scaleOf(setReplicas(t, ns, r.name, next, writeOpts)));
        }
        const force = q.get('force') === 'true';
        if (force && !contentType.startsWith('application/apply-patch')) {
          throw badRequest('force may only be specified with apply patches');
        }
        const result = store.patch(t, ns, r.name, contentType, body, { ...writeOpts, force });
        return send(res, result.created ? 201 : 200, present(result.object, t, r.version), warn(result.warnings));
      }
      case 'DELETE': {
        const body = parseBody(await readBody(req), 'application/json') as Record<string, unknown> | undefined;
        const propagationPolicy = (q.get('propagationPolicy') ?? body?.['propagationPolicy'] ?? 'Background') as
          | 'Background'
          | 'Foreground'
          | 'Orphan';
        const bodyDry = Array.isArray(body?.['dryRun']) && (body['dryRun'] as string[]).includes('All');
        const pre = (body?.['preconditions'] ?? {}) as Record<string, string>;
        if (!r.name) {
          const filter = objectFilter(q.get('labelSelector'), q.get('fieldSelector'));
          const gone = store.list(t, ns).filter(filter).map((o) => store.delete(t, o.metadata.namespace, o.metadata.name!, { dryRun: dryRun || bodyDry, propagationPolicy }));
          return send(res, 200, {
            kind: `${t.kind}List`,
            apiVersion: joinApiVersion(t.group, r.version),
            metadata: { resourceVersion: store.resourceVersion },
            items: gone.map((o) => present(o, t, r.version)),
          });
        }
        const gone = store.delete(t, ns, r.name, { dryRun: dryRun || bodyDry, propagationPolicy, resourceVersion: pre['resourceVersion'] });
        if (t.group === '' && t.plural === 'namespaces') {
          const shown = present(gone, t, r.version);
          shown['status'] = { phase: 'Terminating' };
          return send(res, 200, shown);
        }
        if (t.crd || t.plural === 'pods') return send(res, 200, present(gone, t, r.version));
        return send(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: r.name, group: t.group, kind: t.plural, uid: gone.metadata.uid },
        });
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  };

  const scaleOf = (o: KObj): object => {
    const spec = (o['spec'] ?? {}) as Record<string, unknown>;
    const status = (o['status'] ?? {}) as Record<string, unknown>;
    const labels = ((spec['selector'] as Record<string, unknown> | undefined)?.['matchLabels'] ?? {}) as Record<string, string>;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: spec['replicas'] ?? 1 },
      status: { replicas: status['replicas'] ?? 0, selector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  };

  const setReplicas = (t: ResourceType, ns: string | undefined, name: string, body: unknown, o: { manager: string; dryRun: boolean }): KObj => {
    const replicas = (body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    if (typeof replicas !== 'number') throw badRequest('spec.replicas must be a number');
    const obj = store.mustGet(t, ns, name);
    return store.replace(t, ns, name, { ...obj, spec: { ...(obj['spec'] as object), replicas } }, { manager: o.manager, dryRun: o.dryRun }).object;
  };

  const serveLog = (res: ServerResponse, pod: KObj, q: URLSearchParams): void => {
    const container = q.get('container') ?? undefined;
    const statuses = ((pod['status'] as Record<string, unknown> | undefined)?.['containerStatuses'] ?? []) as Record<string, unknown>[];
    const cs = statuses.find((s) => !container || s['name'] === container);
    const waiting = (cs?.['state'] as Record<string, Record<string, string>> | undefined)?.['waiting'];
    const lines = controllers.podLogs(pod, container);
    if (!cs || (waiting && waiting['reason'] !== 'CrashLoopBackOff')) {
      const cname = container ?? ((pod['spec'] as { containers?: { name: string }[] }).containers?.[0]?.name ?? '');
      const why = waiting?.['reason'] === 'ImagePullBackOff' || waiting?.['reason'] === 'ErrImagePull' ? 'trying and failing to pull image' : (waiting?.['reason'] ?? 'ContainerCreating');
      throw badRequest(`container "${cname}" in pod "${pod.metadata.name}" is waiting to start: ${why}`);
    }
    const tail = q.get('tailLines');
    const shown = tail !== null ? lines.slice(Math.max(0, lines.length - Number(tail))) : lines;
    const text = shown.length ? `${shown.join('\n')}\n` : '';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const serveWatch = (
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    r: Route,
    ns: string | undefined,
    q: URLSearchParams,
  ): void => {
    const filter = objectFilter(q.get('labelSelector'), q.get('fieldSelector'));
    const matches = (e: { resource: ResourceType; object: KObj }): boolean =>
      e.resource.group === t.group &&
      e.resource.plural === t.plural &&
      (ns === undefined || e.object.metadata.namespace === ns) &&
      filter(e.object);
    const rvParam = q.get('resourceVersion');
    let backlog: StoreEvent[] = [];
    let initial: KObj[] = [];
    let expiredStatus: object | undefined;
    const sendInitial = q.get('sendInitialEvents') === 'true';
    if (!rvParam || rvParam === '0' || sendInitial) {
      initial = store.list(t, ns).filter(filter);
    } else {
      try {
        backlog = store.eventsSince(Number(rvParam)).filter(matches);
      } catch (err) {
        if (err instanceof ApiError) expiredStatus = err.toStatus();
        else throw err;
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const write = (type: string, object: unknown): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    if (expiredStatus) {
      write('ERROR', expiredStatus);
      res.end();
      return;
    }
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = (): void => {};
    const finish = (): void => {
      unsubscribe();
      for (const x of timers) clearTimeout(x);
      openWatches.delete(finish);
      if (!res.writableEnded) res.end();
    };
    openWatches.add(finish);
    unsubscribe = store.subscribe((e) => {
      if (matches(e)) write(e.type, present(e.object, t, r.version));
    });
    for (const o of initial) write('ADDED', present(o, t, r.version));
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const bookmark = (extra: Record<string, string> = {}): void =>
      write('BOOKMARK', {
        kind: t.kind,
        apiVersion: joinApiVersion(t.group, r.version),
        metadata: { resourceVersion: store.resourceVersion, ...(Object.keys(extra).length ? { annotations: extra } : {}) },
      });
    if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    for (const e of backlog) write(e.type, present(e.object, t, r.version));
    if (bookmarks) {
      const tick = setInterval(() => bookmark(), bookmarkMs);
      tick.unref?.();
      timers.push(tick);
    }
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(finish, timeout * 1000));
    req.on('close', finish);
    res.on('close', finish);
  };

  const listener: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers['content-type'] ? { contentType: String(req.headers['content-type']) } : {}),
      status: 0,
      at: Math.round(performance.now() - started),
    };
    requests.push(record);
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      record.status = res.statusCode;
      if (log) console.error(`[kube-api] ${record.method} ${req.url} → ${res.statusCode}`);
      api.onRequest?.(record);
    };
    // a watch is reported when it ends
    res.on('finish', report);
    res.on('close', report);
    handle(req, res, url, record).catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      if (!(err instanceof ApiError) && log) console.error(err);
      send(res, e.code, e.toStatus());
    });
  };
  const cert = opts.tls === false ? undefined : await servingCert();
  const server: Server = cert ? createTlsServer({ cert: cert.certPem, key: cert.keyPem }, listener) : createServer(listener);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      controllers.stop();
      reject(err);
    });
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${cert ? 'https' : 'http'}://127.0.0.1:${port}`;

  const typeOf = (apiVersion: string, kind: string): ResourceType => store.typeOf(apiVersion, kind);

  const api: KubeApi = {
    url,
    port,
    ...(cert ? { caPem: cert.certPem } : {}),
    token,
    user,
    store,
    registry,
    faults,
    controllers,
    requests,
    maasApi,
    backends,
    async close() {
      controllers.stop();
      for (const f of [...openWatches]) f();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async writeKubeconfig(file, o = {}) {
      const context = o.context ?? 'kube-api-test';
      const cfg = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'kube-api-test',
            cluster: {
              server: url,
              ...(cert
                ? { 'certificate-authority-data': Buffer.from(cert.certPem).toString('base64') }
                : { 'insecure-skip-tls-verify': true }),
            },
          },
        ],
        users: [{ name: user, user: { token: o.token ?? token } }],
        contexts: [{ name: context, context: { cluster: 'kube-api-test', user, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
        'current-context': context,
        preferences: {},
      };
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, YAML.stringify(cfg), { mode: 0o600 });
      return file;
    },
    seed(objects, o = {}) {
      const out: KObj[] = [];
      const nsT = registry.byPlural('', 'v1', 'namespaces')!;
      for (const input of objects) {
        const obj = clone(input);
        const t = typeOf(obj.apiVersion ?? 'v1', obj.kind ?? '');
        const ns = t.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
        if (ns && !store.get(nsT, undefined, ns)) {
          store.create(nsT, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { manager: 'seed' });
        }
        if (o.unmanaged) controllers.unmanaged.add(`${t.group}/${t.plural}|${ns ?? ''}|${obj.metadata.name}`);
        const existing = store.get(t, ns, obj.metadata.name!);
        const status = obj['status'];
        let saved = existing
          ? store.replace(t, ns, obj.metadata.name!, { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } }, { manager: 'seed', fieldValidation: 'Ignore' }).object
          : store.create(t, obj, { manager: 'seed', fieldValidation: 'Ignore' }).object;
        if (status !== undefined && t.subresources.includes('status')) {
          saved = store.replace(t, ns, obj.metadata.name!, { ...saved, status }, { manager: 'seed', subresource: 'status', fieldValidation: 'Ignore' }).object;
        }
        const crdKind = String(((saved['spec'] as Record<string, unknown> | undefined)?.['names'] as Record<string, unknown> | undefined)?.['kind'] ?? '');
        if (t.plural === 'customresourcedefinitions' && faults.crdBlocked(saved.metadata.name!, crdKind)) {
          controllers.enqueue('apiextensions.k8s.io/customresourcedefinitions', undefined, saved.metadata.name!);
        } else if (t.plural === 'customresourcedefinitions') {
          store.registerCrd(saved);
          const established = {
            acceptedNames: (saved['spec'] as Record<string, unknown>)['names'],
            conditions: [
              { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: saved.metadata.creationTimestamp },
              { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: saved.metadata.creationTimestamp },
            ],
          };
          if (!findCondition(saved, 'Established')) {
            saved = store.replace(t, undefined, saved.metadata.name!, { ...saved, status: established }, { manager: 'kube-apiserver', subresource: 'status' }).object;
          }
        }
        out.push(saved);
      }
      return out;
    },
    installCrds(selection) {
      return installCrds(api, loadCrds(selection));
    },
    async seedPreset(preset = {}) {
      const o = presetOptions(preset);
      maasFallback = o.generation === 'tier' || o.generation === undefined ? 'tier' : 'subscription';
      // the preset is the cluster as it was before the test: converge fast, then restore the visible delay
      const delay = controllers.delayMs;
      controllers.delayMs = 2;
      try {
        seedOpenShiftMaas(api, o);
        await api.settle();
      } finally {
        controllers.delayMs = delay;
      }
    },
    get(apiVersion, kind, namespace, name) {
      return store.get(typeOf(apiVersion, kind), namespace, name);
    },
    list(apiVersion, kind, namespace) {
      return store.list(typeOf(apiVersion, kind), namespace);
    },
    async settle(timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      let quiet = 0;
      while (Date.now() < end && quiet < 3) {
        await sleep(Math.max(5, Math.floor(controllers.delayMs / 2)));
        quiet = controllers.pending === 0 ? quiet + 1 : 0;
      }
    },
    async waitFor(fn, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
        await sleep(15);
      }
    },
  };
  if (opts.preset) await api.seedPreset(opts.preset === 'openshift-maas' ? 'tier' : opts.preset);
  return api;
}

export { notFound };
export type { KObj } from './util.js';
export type { MaasPresetOptions, CrdSelection, PresetName } from './seed.js';
export type { ForbidRule, PodTarget, ConditionFault, FaultHandle } from './faults.js';
export { Controllers } from './controllers.js';
