/**
 * Named faults: each is a mutation of a healthy topology, the same mistake a person can make in the
 * YAML, so doctor diagnoses configuration and behaviour rather than a test switch.
 */
import type { TopologySpec } from './topology.js';

/** A fault is a named mutation of a healthy spec: what someone could get wrong in the real YAML. */
export interface FaultDef {
  name: string;
  /** What is wrong, in the words a person would use. */
  description: string;
  /** The hop where the mistake lives. */
  hop: 'maas-gateway' | 'egress-gateway' | 'maas-api' | 'provider';
  /** The doctor check expected to fail when this fault is planted (self-test scoring). */
  check: string;
  /** Validation calls expected to fail with it (by call id). */
  calls: string[];
  apply: (spec: TopologySpec, ctx: { provider: string; deadPort: number }) => void;
}

const forProvider = <T extends { provider: string }>(items: T[], provider: string) => items.filter((i) => i.provider === provider);

export const FAULTS: FaultDef[] = [
  {
    name: 'rewrite-double-slash',
    description: 'egress controller without the prefix-rewrite fix: /openai/v1/… reaches the provider as //v1/…',
    hop: 'egress-gateway',
    check: 'rewrite-egress-strips-prefix',
    calls: ['4', '5', '6', '10'],
    apply: (s) => void (s.egress.controllerFixed = false),
  },
  {
    name: 'egress-no-rewrite',
    description: 'egress route without its URLRewrite: the provider receives /openai/v1/…',
    hop: 'egress-gateway',
    check: 'rewrite-egress-strips-prefix',
    calls: ['4', '10'],
    apply: (s, c) => forProvider(s.egress.routes, c.provider).forEach((r) => (r.rewritePrefix = null)),
  },
  {
    name: 'bridge-rewrite-missing',
    description: 'bridge route without its URLRewrite: the egress gateway receives /external/openai/…',
    hop: 'maas-gateway',
    check: 'rewrite-bridge-prefix',
    calls: ['4', '10'],
    apply: (s, c) => forProvider(s.maasGateway.bridges, c.provider).forEach((b) => (b.rewritePrefix = null)),
  },
  {
    name: 'egress-route-missing',
    description: 'no egress HTTPRoute for the provider: the egress gateway has no route for /openai/',
    hop: 'egress-gateway',
    check: 'rewrite-egress-route-present',
    calls: ['4', '10'],
    apply: (s, c) => void (s.egress.routes = s.egress.routes.filter((r) => r.provider !== c.provider)),
  },
  {
    name: 'key-header-wrong',
    description: 'bridge policy injects the key under X-Api-Key; the provider reads X-Provider-Api-Key',
    hop: 'maas-gateway',
    check: 'key-injected',
    calls: ['4', '10'],
    apply: (s, c) =>
      forProvider(s.maasGateway.bridges, c.provider).forEach((b) => {
        if (b.auth?.inject) b.auth.inject.header = 'x-api-key';
      }),
  },
  {
    name: 'wrong-key',
    description: 'bridge policy injects a key the provider does not accept',
    hop: 'maas-gateway',
    check: 'key-injected',
    calls: ['4', '10'],
    apply: (s, c) =>
      forProvider(s.maasGateway.bridges, c.provider).forEach((b) => {
        if (b.auth?.inject) b.auth.inject.value = 'sk-wrong-key-planted-by-fault';
      }),
  },
  {
    name: 'no-key',
    description: 'bridge policy injects no key (e.g. its headers were pruned by the API server)',
    hop: 'maas-gateway',
    check: 'key-injected',
    calls: ['4', '10'],
    apply: (s, c) =>
      forProvider(s.maasGateway.bridges, c.provider).forEach((b) => {
        if (b.auth) b.auth.inject = null;
      }),
  },
  {
    name: 'token-forwarded',
    description: "bridge keeps the user's Authorization header: the MaaS token reaches the provider",
    hop: 'maas-gateway',
    check: 'exposure-user-token-forwarded',
    calls: ['4'],
    apply: (s, c) => forProvider(s.maasGateway.bridges, c.provider).forEach((b) => (b.removeHeaders = [])),
  },
  {
    name: 'ratelimit-missing',
    description: 'no TokenRateLimitPolicy: requests are never limited',
    hop: 'maas-gateway',
    check: 'ratelimit-policy-present',
    calls: ['10'],
    apply: (s) => void (s.maasGateway.rateLimit.enabled = false),
  },
  {
    name: 'ratelimit-no-count',
    description: 'the rate limit admits requests but never counts their tokens',
    hop: 'maas-gateway',
    check: 'ratelimit-counts-tokens',
    calls: ['10'],
    apply: (s) => void (s.maasGateway.rateLimit.countUsage = false),
  },
  {
    name: 'backend-down',
    description: "the provider's backend is unreachable (nothing listens at its address)",
    hop: 'provider',
    check: 'rewrite-backend-reachable',
    calls: ['4', '10'],
    apply: (s, c) =>
      s.egress.backends
        .filter((b) => s.egress.routes.some((r) => r.provider === c.provider && r.backendRef.name === b.name))
        .forEach((b) => {
          for (const port of b.ports) s.egress.dns[`${b.hostname}:${port}`] = `127.0.0.1:${c.deadPort}`;
        }),
  },
  {
    name: 'wasm-append-auth',
    description: 'wasm-shim v0.12.0 appends injected headers: the vLLM bridge sends two Authorization headers and vLLM reads the MaaS token',
    hop: 'maas-gateway',
    check: 'key-injected',
    calls: ['6'],
    apply: (s) => void (s.maasGateway.injectMode = 'append'),
  },
  {
    name: 'registry-missing-model',
    description: "the external model registry does not list the provider's model",
    hop: 'maas-api',
    check: 'models-listed-routable',
    calls: ['3'],
    apply: (s, c) => {
      if (s.maasApi.registry) s.maasApi.registry = s.maasApi.registry.filter((m) => m.provider !== c.provider);
    },
  },
  {
    name: 'bridge-audience-wrong',
    description: 'bridge AuthPolicy without the maas-default-gateway-sa audience: valid MaaS tokens get 401',
    hop: 'maas-gateway',
    check: 'key-auth-accepts-maas-token',
    calls: ['4', '10'],
    apply: (s, c) =>
      forProvider(s.maasGateway.bridges, c.provider).forEach((b) => {
        if (b.auth) b.auth.audiences = ['https://kubernetes.default.svc'];
      }),
  },
  {
    name: 'envoy-trace-logging',
    description: 'egress Envoy logs at trace level, with key headers in its log',
    hop: 'egress-gateway',
    check: 'exposure-trace-logging',
    calls: [],
    apply: (s) => void (s.egress.logLevel = 'trace'),
  },
];

export function findFault(name: string): FaultDef | undefined {
  return FAULTS.find((f) => f.name === name);
}

/** Applies faults by name to a spec; the provider defaults to openai (most faults target one provider). */
export function applyFaults(spec: TopologySpec, faults: string[], ctx: { provider?: string; deadPort: number }): TopologySpec {
  const copy = JSON.parse(JSON.stringify(spec)) as TopologySpec;
  for (const name of faults) {
    const [fname, provider] = name.split(':');
    const fault = findFault(fname ?? '');
    if (!fault) throw new Error(`unknown fault ${name}`);
    fault.apply(copy, { provider: provider ?? ctx.provider ?? 'openai', deadPort: ctx.deadPort });
  }
  return copy;
}
