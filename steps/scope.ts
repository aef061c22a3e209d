/**
 * Names and scopes shared by the step declarations (their waits) and the cluster renderer (their
 * manifests), so both always agree on which providers a step touches and what each object is called.
 * Everything here is derived from the DemoConfig and the run options; nothing is hard-coded twice.
 */
import type { DemoConfig, ProviderConfig } from '../src/core/config.js';
import type { StepContext, StepId } from '../src/core/step.js';

/** Options that change what the steps render, read from `StepContext.options` (flags and env twins). */
export interface StepOptions {
  /** wg-ai-gateway checkout (`prototypes/backend-control-plane`) holding the XBackendDestination CRD. */
  wgDir?: string;
  /** The CRD is already installed: step 1 renders no CRDs. */
  skipCrds?: boolean;
  /** Remote vLLM endpoint for step 3a: `host`, `host:port` or `http(s)://host[:port]`. */
  vllmHost?: string;
  /** A prebuilt simulator image (e.g. the seed's provider-sim) instead of node + our simulator code. */
  simulatorImage?: string;
  /** Directory with the compiled simulator (`provider-sim.js` and what it imports). */
  simDir?: string;
  /** Directory with our YAML templates (defaults to the package's `manifests/`). */
  manifestsDir?: string;
  /** Also render a gateway-level TokenRateLimitPolicy (for clusters without MaaS's own). */
  tokenRateLimit?: boolean;
  /** Name of the gateway-level TokenRateLimitPolicy that step 4 waits for. */
  tokenRateLimitName?: string;
}

export const DEFAULT_TRLP_NAME = 'gateway-token-rate-limits';

export function readOptions(ctx: StepContext): StepOptions {
  const o = ctx.options;
  const str = (k: string): string | undefined => {
    const v = o[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const bool = (k: string): boolean => o[k] === true || o[k] === 'true';
  const out: StepOptions = {};
  const set = <K extends keyof StepOptions>(k: K, v: StepOptions[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('wgDir', str('wgDir'));
  set('vllmHost', str('vllmHost'));
  set('simulatorImage', str('simulatorImage'));
  set('simDir', str('simDir'));
  set('manifestsDir', str('manifestsDir'));
  set('tokenRateLimitName', str('tokenRateLimitName'));
  if (bool('skipCrds')) out.skipCrds = true;
  if (bool('tokenRateLimit')) out.tokenRateLimit = true;
  return out;
}

export interface RemoteEndpoint {
  host: string;
  port: number;
  scheme: 'http' | 'https';
}

/** Parses `host`, `host:port`, `http://host:port`; the port defaults to 8000 (vLLM's). */
export function parseRemote(spec: string): RemoteEndpoint {
  const m = /^(?:(https?):\/\/)?([^/:]+)(?::(\d+))?\/?$/.exec(spec.trim());
  if (!m || !m[2]) throw new Error(`not a host[:port]: ${spec}`);
  const scheme = m[1] === 'https' ? 'https' : 'http';
  return { host: m[2], port: m[3] ? Number(m[3]) : 8000, scheme };
}

/** The remote endpoint of a provider: the `vllmHost` option wins for opt-in providers, then the config. */
export function remoteOf(p: ProviderConfig, ctx: StepContext): RemoteEndpoint | undefined {
  const opt = readOptions(ctx).vllmHost;
  if (p.optional && opt) return parseRemote(opt);
  return p.remote;
}

/** Providers a step works on: 3 the always-on ones, 3a the opt-in ones, 4 and 5 every enabled one. */
export function providersForStep(id: StepId, ctx: StepContext): ProviderConfig[] {
  if (id === '3') return ctx.providers.filter((p) => !p.optional);
  if (id === '3a') return ctx.providers.filter((p) => p.optional);
  if (id === '4' || id === '5') return ctx.providers;
  return [];
}

/** Providers of a step that get an in-cluster simulator (no remote endpoint). */
export function simulatedProviders(id: StepId, ctx: StepContext): (ProviderConfig & { simulator: string })[] {
  return providersForStep(id, ctx).filter(
    (p): p is ProviderConfig & { simulator: string } => !remoteOf(p, ctx) && typeof p.simulator === 'string',
  );
}

/** Port the egress gateway dials for a provider: the remote's, else the simulator's 8000. */
export function backendPort(p: ProviderConfig, ctx: StepContext): number {
  return remoteOf(p, ctx)?.port ?? SIMULATOR_PORT;
}

export const SIMULATOR_PORT = 8000;

/** The wg controller names the Envoy objects `envoy-<gw>` in `default`, else `envoy-<ns>-<gw>`. */
export function envoyName(cfg: DemoConfig): string {
  const { namespace, gatewayName } = cfg.egress;
  const raw = namespace === 'default' ? `envoy-${gatewayName}` : `envoy-${namespace}-${gatewayName}`;
  return raw.toLowerCase().replace(/_/g, '-');
}

export const names = {
  egressRoute: (p: ProviderConfig): string => `${p.name}-route`,
  bridgeRoute: (p: ProviderConfig): string => `${p.name}-bridge`,
  bridgeAuth: (p: ProviderConfig): string => `${p.name}-bridge-auth`,
  simulatorKeySecret: (sim: string): string => `${sim}-api-key`,
  simulatorCode: (sim: string): string => `${sim}-code`,
  /** KServe (v0.16) names the managed route of an LLMInferenceService `<name>-kserve-route`. */
  onpremRoute: (cfg: DemoConfig): string => `${cfg.onprem.name}-kserve-route`,
  controller: 'ai-gateway-controller',
  maasApi: 'maas-api',
} as const;

export const XBACKEND_CRDS = [
  'xbackenddestinations.ainetworking.prototype.x-k8s.io',
  'backends.ainetworking.prototype.x-k8s.io',
] as const;

/** Wait budgets in ms: image pulls dominate, so anything that starts a pod gets minutes. */
export const TIMEOUTS = {
  crd: 60_000,
  rollout: 180_000,
  condition: 120_000,
  route: 120_000,
  policy: 180_000,
  model: 600_000,
} as const;
