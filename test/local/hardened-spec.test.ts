/**
 * The hardened settings are fields of the topology model, like every other object field doctor reads:
 * `baseSpec(…, {hardened})` sets them all, the tier-era spec has none of them, and the lifetime cap
 * and per-user request cap come from the configuration file.
 */
import { describe, expect, test } from 'vitest';
import { defaultConfig, mergeConfig } from '../../src/core/config.js';
import { baseSpec, bridgeFor } from '../../src/model/topology.js';

describe('the hardened topology model', () => {
  test('the tier-era spec carries none of the hardened fields (its weaknesses included)', () => {
    const cfg = defaultConfig();
    const spec = baseSpec(cfg, { host: '127.0.0.1:1', strictBudget: false });
    expect(spec.maasGateway.tokensRequireUserIdentity).toBeUndefined();
    expect(spec.maasGateway.streamUsageEnforcer).toBeUndefined();
    expect(spec.maasGateway.rateLimit.strictBudget).toBe(false);
    expect(spec.maasGateway.rateLimit.maxConcurrentPerUser).toBeUndefined();
    expect(spec.maasApi.maxTokenSeconds).toBeUndefined();
    expect(bridgeFor(cfg, cfg.providers[0]!).auth?.allowedTiers).toBeUndefined();
  });

  test('--hardened sets every field, with the 24 h lifetime cap and 32 requests per user by default', () => {
    const cfg = defaultConfig();
    const spec = baseSpec(cfg, { host: '127.0.0.1:1', strictBudget: false, hardened: true });
    expect(spec.maasGateway).toMatchObject({ tokensRequireUserIdentity: true, streamUsageEnforcer: true, rateLimit: { strictBudget: true, maxConcurrentPerUser: 32 } });
    expect(spec.maasApi.maxTokenSeconds).toBe(86_400);
    expect(bridgeFor(cfg, cfg.providers[0]!, { hardened: true }).auth?.allowedTiers).toEqual(['free', 'premium', 'enterprise']);
  });

  test('the lifetime cap and the per-user cap come from the config file', () => {
    const cfg = mergeConfig(defaultConfig(), { maas: { maxTokenSeconds: 7200 }, rateLimit: { maxConcurrentPerUser: 4 } });
    const spec = baseSpec(cfg, { host: '127.0.0.1:1', strictBudget: false, hardened: true });
    expect(spec.maasApi.maxTokenSeconds).toBe(7200);
    expect(spec.maasGateway.rateLimit.maxConcurrentPerUser).toBe(4);
    // the rest of the configuration stays as it was
    expect(cfg.maas.minTokenSeconds).toBe(600);
    expect(cfg.rateLimit.windowSeconds).toBe(60);
  });
});
