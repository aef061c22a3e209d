// The API server's service proxy: `/api/v1/namespaces/<ns>/services/[<scheme>:]<name>[:<port>]/proxy/<path>`,
// forwarded to a ready endpoint of the Service, as kube-apiserver does. What answers is a simulated backend chosen
// by the serving pod (maas-api.ts); anything else behind a Service refuses the connection, as a pod whose process
// listens nowhere would. The caller's Authorization header never reaches the backend: kube-apiserver deletes it
// once the request is authenticated.
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, forbidden, notFound } from './errors.js';
import type { Faults } from './faults.js';
import type { ApiStore } from './store.js';
import type { KObj } from './util.js';
import { isPlainObject } from './util.js';

export interface ProxyRequest {
  method: string;
  /** Path below `/proxy`, always starting with `/`. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased request headers as forwarded (no Authorization). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  namespace: string;
  service: string;
  pod: KObj;
  /** Image of the pod's first container (what a backend decides its behaviour by). */
  image?: string;
}

export interface ProxyResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface ServiceBackend {
  /** Does this backend run in the pod behind the endpoint? */
  serves(pod: KObj): boolean;
  /** Does the pod serve TLS on this container port? */
  tls(port: number): boolean;
  handle(req: ProxyRequest): ProxyResponse;
}

export interface ProxyTarget {
  namespace: string;
  /** `name`, `name:port` or `scheme:name:port`, as given in the URL. */
  spec: string;
  /** Path after `/proxy` (may be empty). */
  rest: string;
}

/** Recognises `/api/v1/namespaces/<ns>/services/<spec>/proxy[/...]`; the rest keeps its encoding. */
export function proxyTarget(rawPath: string): ProxyTarget | undefined {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/.exec(rawPath);
  if (!m) return undefined;
  return { namespace: decodeURIComponent(m[1]!), spec: decodeURIComponent(m[2]!), rest: m[3] ?? '' };
}

const VERB: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function unavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message, {});
}

export interface ProxyContext {
  store: ApiStore;
  faults: Faults;
  user: string;
  backends: ServiceBackend[];
}

/** Resolves the target to a pod and lets its backend answer; Kubernetes Status errors on the way. */
export function serviceProxy(ctx: ProxyContext, target: ProxyTarget, method: string, query: URLSearchParams, headers: IncomingHttpHeaders, body: Buffer): ProxyResponse {
  const verb = VERB[method] ?? method.toLowerCase();
  if (ctx.faults.isForbidden(verb, '', 'services', target.namespace, target.spec, 'proxy')) {
    throw forbidden(ctx.user, verb, 'services', '', target.namespace, target.spec, 'proxy');
  }
  const parts = target.spec.split(':');
  const [scheme, name, port] = parts.length === 3 ? parts : parts.length === 2 ? ['', parts[0]!, parts[1]!] : ['', parts[0]!, ''];
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') throw new ApiError(400, 'BadRequest', `unsupported scheme "${scheme}"`);
  const reg = ctx.store.registry;
  const svc = ctx.store.get(reg.byPlural('', 'v1', 'services')!, target.namespace, name!);
  if (!svc) throw notFound('services', '', name!);
  const svcPorts = (((svc['spec'] as Record<string, unknown>)?.['ports'] ?? []) as { name?: string; port: number; targetPort?: number | string }[]);
  const svcPort = port ? svcPorts.find((p) => p.name === port || String(p.port) === port) : svcPorts[0];
  if (!svcPort) throw unavailable(`no endpoints available for service "${target.spec}"`);
  const ep = ctx.store.get(reg.byPlural('', 'v1', 'endpoints')!, target.namespace, name!);
  const subsets = ((ep?.['subsets'] ?? []) as { addresses?: { ip: string; targetRef?: { name?: string } }[]; ports?: { name?: string; port: number }[] }[]);
  const subset = subsets.find((s) => s.addresses?.length);
  const address = subset?.addresses?.[0];
  if (!address) throw unavailable(`no endpoints available for service "${target.spec}"`);
  const pod = address.targetRef?.name ? ctx.store.get(reg.byPlural('', 'v1', 'pods')!, target.namespace, address.targetRef.name) : undefined;
  const containerPort = typeof svcPort.targetPort === 'number' ? svcPort.targetPort : subset?.ports?.find((p) => p.name === svcPort.name)?.port ?? svcPort.port;
  const backend = pod ? ctx.backends.find((b) => b.serves(pod)) : undefined;
  if (!pod || !backend) {
    throw unavailable(`error trying to reach service: dial tcp ${address.ip}:${containerPort}: connect: connection refused`);
  }
  const tls = backend.tls(containerPort);
  if (tls && scheme !== 'https') {
    // Go's TLS server answers a plain-HTTP request itself; the API server relays that answer
    return { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Client sent an HTTP request to an HTTPS server.\n' };
  }
  if (!tls && scheme === 'https') {
    throw unavailable(`error trying to reach service: tls: first record does not look like a TLS handshake`);
  }
  const forwarded: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'authorization' || k === 'host' || k === 'connection' || k === 'content-length') continue;
    forwarded[k] = v;
  }
  const containers = (((pod['spec'] as Record<string, unknown>)?.['containers'] ?? []) as { image?: string }[]);
  return backend.handle({
    method,
    path: target.rest || '/',
    query,
    headers: forwarded,
    body,
    namespace: target.namespace,
    service: name!,
    pod,
    ...(containers[0]?.image ? { image: containers[0].image } : {}),
  });
}

/** True when `o` is a pod carrying label `key=value`. */
export function podLabelled(o: KObj, key: string, value: string): boolean {
  return isPlainObject(o.metadata.labels) && o.metadata.labels[key] === value;
}
