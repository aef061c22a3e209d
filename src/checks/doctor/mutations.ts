/**
 * Random single-field mutations of the demo's objects, for `doctor --self-test --mutations N`: each
 * changes one field of one object the way a person editing the YAML could — a path prefix, a rewrite
 * target, a header name or value, a key, an audience, a predicate, a limit, a window, a counter, a
 * backend's host, port or kind, a registry entry, the on-prem model's route — and says at which hop
 * the symptom belongs. Seeded, so a score can be reproduced.
 */
import type { DemoConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { objectKey } from '../../model/object-source.js';

export interface Mutation {
  /** `Kind/namespace/name`. */
  object: string;
  /** The field path that changed, e.g. `spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch`. */
  field: string;
  /** What kind of field it is (one of the families the self-test draws from). */
  family: string;
  before: unknown;
  after: unknown;
  /** Where the symptom belongs: any of these hops counts as named right. */
  hops: HopId[];
  objects: K8sObject[];
}

/** mulberry32: a small seeded generator, so `--seed S` draws the same mutations every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Path = (string | number)[];

function parsePath(path: string): Path {
  return path
    .split(/\.|\[(\d+)\]/)
    .filter((x) => x !== undefined && x !== '')
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

export function getAt(o: unknown, path: string): unknown {
  return parsePath(path).reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), o);
}

function setAt(o: unknown, path: string, value: unknown): void {
  const p = parsePath(path);
  let v = o as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) v = v[k] as Record<string | number, unknown>;
  const last = p.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(v) && typeof last === 'number') v.splice(last, 1);
    else delete v[last];
  } else v[last] = value;
}

interface Candidate {
  object: K8sObject;
  field: string;
  family: string;
  hops: HopId[];
  /** Values to draw from (one is picked); undefined removes the field. */
  values: unknown[];
}

const typo = (s: string) => (s.length > 3 ? `${s.slice(0, -2)}${s.at(-1)}${s.at(-2)}` : `${s}x`);

/** Every field the self-test may change, with the values it may change it to. */
export function candidates(objects: readonly K8sObject[], cfg: DemoConfig): Candidate[] {
  const out: Candidate[] = [];
  const add = (object: K8sObject, field: string, family: string, hops: HopId[], values: unknown[]) => {
    const before = getAt(object, field);
    const vals = values.filter((v) => JSON.stringify(v) !== JSON.stringify(before));
    if (before !== undefined && vals.length) out.push({ object, field, family, hops, values: vals });
  };
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    if (o.kind === 'HTTPRoute') {
      const parent = ((spec?.parentRefs as { name?: string }[] | undefined) ?? [])[0]?.name;
      const hop: HopId = parent === cfg.egress.gatewayName ? 'egress-gateway' : 'maas-gateway';
      const prefix = String(getAt(o, 'spec.rules[0].matches[0].path.value') ?? '');
      add(o, 'spec.rules[0].matches[0].path.value', 'path prefix', [hop], [`${prefix.replace(/\/$/, '')}x/`, prefix.replace(/^\/[^/]+/, '/other'), prefix.toUpperCase()]);
      const filters = (getAt(o, 'spec.rules[0].filters') as { type?: string }[] | undefined) ?? [];
      const rw = filters.findIndex((f) => f.type === 'URLRewrite');
      if (rw >= 0) {
        const target = String(getAt(o, `spec.rules[0].filters[${rw}].urlRewrite.path.replacePrefixMatch`) ?? '');
        add(o, `spec.rules[0].filters[${rw}].urlRewrite.path.replacePrefixMatch`, 'rewrite target', [hop], [target === '/' ? '/v1/' : '/', `${target.replace(/\/$/, '')}x/`, `/x${target}`]);
        add(o, `spec.rules[0].filters[${rw}]`, 'rewrite target', [hop], [undefined]);
      }
      const hm = filters.findIndex((f) => f.type === 'RequestHeaderModifier');
      if (hm >= 0) add(o, `spec.rules[0].filters[${hm}].requestHeaderModifier.remove[0]`, 'header name', [hop], ['X-Unused-Header']);
      add(o, 'spec.rules[0].backendRefs[0].port', 'backend port', [hop], [Number(getAt(o, 'spec.rules[0].backendRefs[0].port') ?? 80) + 1]);
      if (hop === 'egress-gateway') add(o, 'spec.rules[0].backendRefs[0].kind', 'backend kind', [hop], ['Service']);
      add(o, 'spec.rules[0].backendRefs[0].name', 'backend host', [hop], [typo(String(getAt(o, 'spec.rules[0].backendRefs[0].name') ?? 'x'))]);
    } else if (o.kind === 'AuthPolicy') {
      const headers = (getAt(o, 'spec.rules.response.success.headers') as Record<string, unknown> | undefined) ?? {};
      const [name] = Object.keys(headers);
      if (name) {
        // A renamed header key: the object is rebuilt with the header under another name.
        const renamed = (to: string) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k === name ? to : k, v]));
        add(o, 'spec.rules.response.success.headers', 'header name', ['maas-gateway'], [renamed('X-Api-Key'), renamed(name.toLowerCase())]);
        const expr = String(getAt(o, `spec.rules.response.success.headers.${name}.plain.expression`) ?? '');
        add(o, `spec.rules.response.success.headers.${name}.plain.expression`, 'key', ['maas-gateway'], [expr.replace(/'([^']*)'/, "'sk-not-the-key-$1'")]);
      }
      add(o, 'spec.rules.authentication.service-accounts.kubernetesTokenReview.audiences[0]', 'audience', ['maas-gateway'], ['https://kubernetes.default.svc', `${cfg.maas.audience}-x`]);
    } else if (o.kind === 'TokenRateLimitPolicy') {
      const limits = (spec?.limits as Record<string, unknown> | undefined) ?? {};
      for (const name of Object.keys(limits)) {
        const base = `spec.limits.${name}`;
        const limit = Number(getAt(o, `${base}.rates[0].limit`) ?? 0);
        add(o, `${base}.rates[0].limit`, 'limit', ['maas-gateway'], [0, limit * 1000, Math.max(1, Math.floor(limit / 10))]);
        add(o, `${base}.rates[0].window`, 'window', ['maas-gateway'], ['1h', '1s']);
        add(o, `${base}.when[0].predicate`, 'predicate', ['maas-gateway'], [String(getAt(o, `${base}.when[0].predicate`) ?? '').replace(/"[^"]+"/, '"gold"')]);
        add(o, `${base}.counters[0].expression`, 'counter', ['maas-gateway'], ['auth.identity.username']);
      }
    } else if (o.kind === 'XBackendDestination') {
      const host = String(getAt(o, 'spec.destination.fqdn.hostname') ?? '');
      add(o, 'spec.destination.fqdn.hostname', 'backend host', ['egress-gateway'], [typo(host.split('.')[0] ?? host) + host.slice((host.split('.')[0] ?? '').length)]);
      add(o, 'spec.destination.ports[0].number', 'backend port', ['egress-gateway'], [Number(getAt(o, 'spec.destination.ports[0].number') ?? 8000) + 1]);
    } else if (o.kind === 'Secret' && typeof getAt(o, 'stringData.api-key') === 'string') {
      const provider = cfg.providers.find((p) => o.metadata.name.startsWith(p.simulator ?? `${p.name}-`));
      add(o, 'stringData.api-key', 'key', ['maas-gateway', ...(provider ? [`provider:${provider.name}` as HopId] : [])], [`${String(getAt(o, 'stringData.api-key'))}-rotated`]);
    } else if (o.kind === 'ConfigMap' && o.metadata.name === cfg.maas.registryName) {
      const text = String(getAt(o, 'data.models') ?? '');
      const lines = text.split('\n');
      const idLine = lines.findIndex((l) => /id:/.test(l));
      if (idLine >= 0) {
        add(o, 'data.models', 'registry entry', ['maas-api'], [lines.map((l, i) => (i === idLine ? l.replace(/id:\s*(\S+)/, 'id: $1-typo') : l)).join('\n'), lines.filter((_, i) => i < idLine || i > idLine + 2).join('\n')]);
      }
    } else if (o.kind === 'LLMInferenceService') {
      add(o, 'spec.model.name', 'registry entry', ['maas-api', 'onprem'], [`${String(getAt(o, 'spec.model.name'))}-renamed`]);
      add(o, 'spec.router.gateway.refs[0].name', 'route prefix', ['maas-gateway', 'onprem'], [typo(String(getAt(o, 'spec.router.gateway.refs[0].name') ?? ''))]);
    }
  }
  return out;
}

/** What a mutation is drawn from: one field of one object, of a family, whose symptom belongs at `hops`. */
export interface MutationCandidate {
  family: string;
  object: K8sObject;
  field: string;
  hops: HopId[];
}

/**
 * `n` mutations drawn with `seed` from `all`, families taken in turn so each is covered: each a copy of
 * the objects in which `change` altered the candidate's field (returning the value before and after).
 */
export function drawInTurn<C extends MutationCandidate>(
  objects: readonly K8sObject[],
  all: readonly C[],
  n: number,
  seed: number,
  change: (c: C, target: K8sObject, rand: () => number) => { before: unknown; after: unknown },
): Mutation[] {
  const rand = seededRandom(seed);
  const families = [...new Set(all.map((c) => c.family))];
  const out: Mutation[] = [];
  for (let i = 0; i < n && all.length; i++) {
    const family = families[i % families.length]!;
    const pool = all.filter((c) => c.family === family);
    const c = pool[Math.floor(rand() * pool.length)]!;
    const key = objectKey(c.object);
    const copy = objects.map((o) => structuredClone(o));
    const target = copy.find((o) => objectKey(o) === key && o.apiVersion === c.object.apiVersion)!;
    const { before, after } = change(c, target, rand);
    out.push({ object: key, field: c.field, family: c.family, before, after, hops: c.hops, objects: copy });
  }
  return out;
}

/** `n` mutations drawn with `seed`, each a copy of the objects with exactly one field changed to one of its candidate values. */
export function drawMutations(objects: readonly K8sObject[], cfg: DemoConfig, n: number, seed: number): Mutation[] {
  return drawInTurn(objects, candidates(objects, cfg), n, seed, (c, target, rand) => {
    const after = c.values[Math.floor(rand() * c.values.length)];
    const before = getAt(target, c.field);
    setAt(target, c.field, after === undefined ? undefined : structuredClone(after));
    return { before, after };
  });
}
