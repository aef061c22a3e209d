/**
 * The providers of the subscription era: each configured provider becomes an ExternalModel pointing at
 * the provider's public endpoint (api.openai.com, api.anthropic.com) with TLS origination, or, for the
 * vLLM, an internal plain-HTTP endpoint (annotation `maas.opendatahub.io/tls: "false"`, port 8000).
 * Locally a simulator stands in for each public endpoint — with a CA of its own, as a public provider
 * has — unless the user points the provider at a real endpoint (`--provider openai=https://…`).
 */
import type { DemoConfig, ProviderConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';

export type EraProviderKind = 'openai' | 'anthropic';

export interface EraProvider {
  /** The configured provider (`openai`, `anthropic`, `vllm`, …): its model, key and style. */
  name: string;
  /** Name of the ExternalModel and of its MaaSModelRef (a DNS-1123 name derived from the model). */
  modelName: string;
  /** ExternalModel `spec.provider`: which API payload processing speaks to it. */
  provider: EraProviderKind;
  /** FQDN (or an address) the ExternalModel names; the simulator's certificate is issued for it. */
  endpoint: string;
  port: number;
  tls: boolean;
  /** The model the provider serves (ExternalModel `targetModel`). */
  targetModel: string;
  /** False when the user gave a real endpoint: nothing is simulated, the gateway dials it. */
  simulated: boolean;
  /** How the simulator answers (`provider-sim --style`). */
  style: 'provider' | 'vllm' | 'anthropic';
  /** A CA the gateway trusts for this provider besides the system's (`--provider-ca-file`). */
  caFile?: string;
}

/** What `--provider NAME=URL` (with its key and CA files) says about one provider. */
export interface ProviderOverride {
  name: string;
  url: string;
  caFile?: string;
}

const PUBLIC_ENDPOINTS: Record<string, { endpoint: string; provider: EraProviderKind }> = {
  openai: { endpoint: 'api.openai.com', provider: 'openai' },
  anthropic: { endpoint: 'api.anthropic.com', provider: 'anthropic' },
};

/** The vLLM stands on an internal network, reached over plain HTTP (upstream's own example). */
export const INTERNAL_VLLM = { endpoint: 'vllm.internal.example.com', port: 8000 } as const;

/** A DNS-1123 name for a model (`Qwen/Qwen3-0.6B` → `qwen-qwen3-0.6b`). */
export function k8sName(model: string): string {
  const s = model.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return (s || 'model').slice(0, 63);
}

/** `https://host[:port]` or `http://host:port` → endpoint, port, TLS; anything else is a usage error. */
export function parseProviderUrl(name: string, raw: string): { endpoint: string; port: number; tls: boolean } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`--provider ${name}=${raw}: not a URL`, 'e.g. --provider openai=https://api.openai.com');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UserError(`--provider ${name}=${raw}: the scheme must be https or http`, 'e.g. --provider openai=https://api.openai.com');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.username || u.password) {
    throw new UserError(`--provider ${name}=${raw}: give only the scheme, host and port (an ExternalModel names an endpoint, not a path)`, 'e.g. --provider openai=https://api.openai.com');
  }
  const tls = u.protocol === 'https:';
  return { endpoint: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : tls ? 443 : 80, tls };
}

function kindOf(p: ProviderConfig): EraProviderKind {
  return PUBLIC_ENDPOINTS[p.name]?.provider ?? 'openai';
}

/**
 * Every provider of this run in the era's terms. `vllm` says whether the optional vLLM provider is
 * on; `vllmUrl` points it at a real vLLM; `overrides` point providers at real endpoints.
 */
export function eraProviders(cfg: DemoConfig, opts: { vllm: boolean; vllmUrl?: string; overrides?: ProviderOverride[] }): EraProvider[] {
  const overrides = opts.overrides ?? [];
  for (const o of overrides) {
    if (!cfg.providers.some((p) => p.name === o.name)) throw new UserError(`--provider ${o.name}: no provider of that name`, `providers: ${cfg.providers.map((p) => p.name).join(', ')}`);
  }
  const out: EraProvider[] = [];
  for (const p of cfg.providers) {
    if (p.optional && !opts.vllm && !overrides.some((o) => o.name === p.name)) continue;
    const kind = kindOf(p);
    const override = overrides.find((o) => o.name === p.name) ?? (p.style === 'vllm' && opts.vllmUrl ? { name: p.name, url: opts.vllmUrl } : undefined);
    const base = p.style === 'vllm'
      ? { endpoint: INTERNAL_VLLM.endpoint, port: INTERNAL_VLLM.port, tls: false }
      : { endpoint: PUBLIC_ENDPOINTS[p.name]?.endpoint ?? `api.${k8sName(p.name)}.example.com`, port: 443, tls: true };
    const where = override ? parseProviderUrl(p.name, override.url) : base;
    out.push({
      name: p.name,
      modelName: k8sName(p.model),
      provider: kind,
      ...where,
      targetModel: p.model,
      simulated: !override,
      style: p.style === 'vllm' ? 'vllm' : kind === 'anthropic' ? 'anthropic' : 'provider',
      ...(override && 'caFile' in override && override.caFile ? { caFile: override.caFile } : {}),
    });
  }
  return out;
}
