/**
 * One configuration for every name, key, model, tier and limit the demo uses. Defaults equal the seed
 * demo's; a config file (`--config FILE`, JSON or YAML) and flags override them. Both targets read it:
 * the local topology is built from it and the cluster manifests are rendered from it.
 */
import { Secret } from './secret.js';

export type KeyHeader = 'x-provider-api-key' | 'authorization';

export interface ProviderConfig {
  /** Path segment and id: `/external/<name>/…` on the MaaS gateway, `/<name>/…` on the egress gateway. */
  name: string;
  /** Model the provider serves and the registry lists. */
  model: string;
  /** `owned_by` in the unified listing. */
  ownedBy: string;
  /** The provider's API key, injected by the bridge policy; never shown unmasked. */
  key: Secret;
  /** Header the backend reads the key from. vLLM reads `Authorization: Bearer`. */
  keyHeader: KeyHeader;
  /** XBackendDestination name. */
  backend: string;
  /** Simulator Deployment/Service name in the providers namespace (absent for a remote backend). */
  simulator?: string;
  /** Remote endpoint (host and port) instead of a simulator, e.g. a real vLLM. */
  remote?: { host: string; port: number; scheme: 'http' | 'https' };
  /** Step 3a providers are opt-in on a cluster. */
  optional: boolean;
  /** Response style of the simulator: provider-sim (OpenAI-style errors) or vLLM (`{"error":"Unauthorized"}`). */
  style: 'provider' | 'vllm';
}

export interface TierConfig {
  name: string;
  level: number;
  groups: string[];
  /** Tokens per window. */
  tokensPerWindow: number;
}

export interface DemoConfig {
  maas: {
    /** Gateway name; also the MaaS instance name used for tier namespaces and the token audience. */
    gatewayName: string;
    gatewayNamespace: string;
    /** Namespace of maas-api (`opendatahub` on ODH, `redhat-ods-applications` on RHOAI). Detected on a cluster. */
    apiNamespace: string;
    audience: string;
    issuer: string;
    /** Minimum token lifetime maas-api accepts. */
    minTokenSeconds: number;
    defaultTokenSeconds: number;
    /** Longest token lifetime maas-api grants under `demo up --hardened` (the tier-era maas-api has no cap). */
    maxTokenSeconds: number;
    maasApiImage: string;
    registryName: string;
  };
  egress: {
    gatewayName: string;
    namespace: string;
    className: string;
    controllerName: string;
    controllerNamespace: string;
    controllerImage: string;
    envoyImage: string;
    port: number;
  };
  providersNamespace: string;
  providers: ProviderConfig[];
  onprem: {
    namespace: string;
    name: string;
    model: string;
    simulatorImage: string;
    mode: 'random' | 'echo';
  };
  rateLimit: {
    windowSeconds: number;
    tiers: TierConfig[];
    /** Reserve `max_tokens` at admission and settle on the response (not what Limitador does; opt-in). */
    strictBudget: boolean;
    /** Requests one user may have in flight at once under `demo up --hardened`. */
    maxConcurrentPerUser: number;
  };
  /** The identity the local target's cluster-user token stands for (`oc whoami`). */
  user: { name: string; groups: string[] };
  simulatorImage: string;
}

export function defaultConfig(): DemoConfig {
  return {
    maas: {
      gatewayName: 'maas-default-gateway',
      gatewayNamespace: 'openshift-ingress',
      apiNamespace: 'opendatahub',
      audience: 'maas-default-gateway-sa',
      issuer: 'https://kubernetes.default.svc',
      minTokenSeconds: 600,
      defaultTokenSeconds: 4 * 3600,
      maxTokenSeconds: 24 * 3600,
      maasApiImage: 'ghcr.io/nerdalert/maas-api:external-models',
      registryName: 'external-model-registry',
    },
    egress: {
      gatewayName: 'poc-gateway',
      namespace: 'default',
      className: 'wg-ai-gateway',
      controllerName: 'sigs.k8s.io/wg-ai-gateway-envoy-controller',
      controllerNamespace: 'ai-gateway-system',
      controllerImage: 'ghcr.io/nerdalert/wg-ai-gateway:prefix-rewrite-fix',
      envoyImage: 'docker.io/envoyproxy/envoy:v1.37-latest',
      port: 80,
    },
    providersNamespace: 'external-models',
    providers: [
      {
        name: 'openai',
        model: 'gpt-4',
        ownedBy: 'openai',
        key: new Secret('sk-openai-key-for-demo'),
        keyHeader: 'x-provider-api-key',
        backend: 'openai-backend',
        simulator: 'openai-simulator',
        optional: false,
        style: 'provider',
      },
      {
        name: 'anthropic',
        model: 'claude-3-sonnet',
        ownedBy: 'anthropic',
        key: new Secret('sk-ant-claude-key-for-demo'),
        keyHeader: 'x-provider-api-key',
        backend: 'anthropic-backend',
        simulator: 'anthropic-simulator',
        optional: false,
        style: 'provider',
      },
      {
        name: 'vllm',
        model: 'Qwen/Qwen3-0.6B',
        ownedBy: 'vllm',
        key: new Secret('change-me-super-secret'),
        keyHeader: 'authorization',
        backend: 'vllm-backend',
        simulator: 'vllm-simulator',
        optional: true,
        style: 'vllm',
      },
    ],
    onprem: {
      namespace: 'llm',
      name: 'facebook-opt-125m-simulated',
      model: 'facebook/opt-125m',
      simulatorImage: 'ghcr.io/llm-d/llm-d-inference-sim:v0.7.1',
      mode: 'random',
    },
    rateLimit: {
      windowSeconds: 60,
      strictBudget: false,
      maxConcurrentPerUser: 32,
      tiers: [
        { name: 'free', level: 0, groups: ['tier-free-users', 'system:authenticated'], tokensPerWindow: 100 },
        { name: 'premium', level: 1, groups: ['tier-premium-users', 'premium-group'], tokensPerWindow: 50_000 },
        {
          name: 'enterprise',
          level: 2,
          groups: ['tier-enterprise-users', 'enterprise-group', 'admin-group'],
          tokensPerWindow: 100_000,
        },
      ],
    },
    user: { name: 'demo-user', groups: ['system:authenticated'] },
    simulatorImage: 'docker.io/library/node:20-alpine',
  };
}

/** Tier namespace of MaaS: `<instance>-tier-<tier>`. */
export function tierNamespace(cfg: DemoConfig, tier: string): string {
  return `${cfg.maas.gatewayName}-tier-${tier}`;
}

/** The tier for a set of groups: the highest level whose groups intersect (maas-api's rule). */
export function tierForGroups(cfg: DemoConfig, groups: readonly string[]): TierConfig | undefined {
  const sorted = [...cfg.rateLimit.tiers].sort((a, b) => b.level - a.level);
  return sorted.find((t) => t.groups.some((g) => groups.includes(g)));
}

export function providerByName(cfg: DemoConfig, name: string): ProviderConfig | undefined {
  return cfg.providers.find((p) => p.name === name);
}

/** The on-prem route prefix KServe generates: `/<namespace>/<name>`. */
export function onpremPrefix(cfg: DemoConfig): string {
  return `/${cfg.onprem.namespace}/${cfg.onprem.name}`;
}

/**
 * Plain, serialisable form of the config, with keys revealed. Written only to the 0600 state file the
 * local topology reads; never printed.
 */
export interface SerializedConfig extends Omit<DemoConfig, 'providers'> {
  providers: (Omit<ProviderConfig, 'key'> & { key: string })[];
}

export function serializeConfig(cfg: DemoConfig): SerializedConfig {
  return { ...cfg, providers: cfg.providers.map((p) => ({ ...p, key: p.key.reveal() })) };
}

export function deserializeConfig(raw: SerializedConfig): DemoConfig {
  return { ...raw, providers: raw.providers.map((p) => ({ ...p, key: new Secret(p.key) })) };
}

/**
 * Deep-merges a user override (from a config file, its shape checked by config-schema.ts) over the
 * defaults; providers merge by name, a new provider gets the defaults of the optional fields.
 */
export function mergeConfig(base: DemoConfig, override: Record<string, unknown>): DemoConfig {
  const out = structuredCloneConfig(base);
  for (const [k, v] of Object.entries(override)) {
    if (k === 'providers' && Array.isArray(v)) {
      for (const p of v as Record<string, unknown>[]) {
        const existing = out.providers.find((x) => x.name === p.name);
        const key = typeof p.key === 'string' ? new Secret(p.key) : undefined;
        if (existing) Object.assign(existing, { ...p, ...(key ? { key } : { key: existing.key }) });
        else {
          const defaults: Omit<ProviderConfig, 'name' | 'model' | 'key' | 'backend'> = { ownedBy: String(p.name), keyHeader: 'x-provider-api-key', optional: false, style: 'provider' };
          out.providers.push({ ...defaults, ...(p as unknown as ProviderConfig), key: key ?? new Secret('') });
        }
      }
    } else if (v && typeof v === 'object' && !Array.isArray(v) && k in out) {
      Object.assign((out as unknown as Record<string, object>)[k] as object, v);
    } else {
      (out as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

function structuredCloneConfig(cfg: DemoConfig): DemoConfig {
  return deserializeConfig(JSON.parse(JSON.stringify(serializeConfig(cfg))) as SerializedConfig);
}
