/**
 * A config file is checked before it merges: each mistake is exit 2 with the path and what was
 * expected, never a crash (exit 70) or a value rendered as-is (`limit: lots`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { defaultConfig, serializeConfig } from '../../src/core/config.js';
import { checkConfigShape } from '../../src/core/config-schema.js';
import { runMain } from '../helpers/run-cli.js';

const shapeError = (data: unknown): string => {
  try {
    checkConfigShape(data, 'c.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('the configuration schema', () => {
  test.each<[string, unknown, string]>([
    ['a list that is a number', { providers: 42 }, 'providers: expected a list, got 42'],
    ['a limit that is text', { rateLimit: { tiers: [{ name: 'free', level: 0, groups: ['a'], tokensPerWindow: 'lots' }] } }, 'rateLimit.tiers[0].tokensPerWindow: expected a number, got "lots"'],
    ['a limit of zero', { rateLimit: { tiers: [{ name: 'free', level: 0, groups: ['a'], tokensPerWindow: 0 }] } }, 'rateLimit.tiers[0].tokensPerWindow: must be greater than 0, got 0'],
    ['a window of zero', { rateLimit: { windowSeconds: 0 } }, 'rateLimit.windowSeconds: must be greater than 0, got 0'],
    ['a negative window', { rateLimit: { windowSeconds: -60 } }, 'rateLimit.windowSeconds: must be greater than 0, got -60'],
    ['an empty key', { providers: [{ name: 'openai', key: '' }] }, 'providers[0].key: must not be empty'],
    ['an unknown key, with the likely one', { maas: { gatwayName: 'x' } }, 'maas.gatwayName: unknown key (did you mean "gatewayName"?)'],
    ['an unknown top-level key', { ratelimit: {} }, 'ratelimit: unknown key (did you mean "rateLimit"?)'],
    ['a new provider without a backend', { providers: [{ name: 'mistral', model: 'm', key: 'k', simulator: 'mistral-sim' }] }, 'providers[0].backend: required for a provider the defaults do not define'],
    ['a new provider with nothing to send to', { providers: [{ name: 'mistral', model: 'm', key: 'k', backend: 'mistral-backend' }] }, 'providers[0]: a new provider needs `simulator`'],
    ['a key header nobody reads', { providers: [{ name: 'openai', keyHeader: 'x-api-key' }] }, 'providers[0].keyHeader: expected one of x-provider-api-key, authorization, got "x-api-key"'],
    ['a tier without groups', { rateLimit: { tiers: [{ name: 'free', level: 0, groups: [], tokensPerWindow: 10 }] } }, 'rateLimit.tiers[0].groups: needs at least 1 entry'],
    ['an incomplete tier', { rateLimit: { tiers: [{ name: 'free', tokensPerWindow: 10 }] } }, 'rateLimit.tiers[0].level: required'],
    ['a port out of range', { egress: { port: 70000 } }, 'egress.port: must be at most 65535, got 70000'],
    ['a fractional port', { egress: { port: 80.5 } }, 'egress.port: expected a whole number, got 80.5'],
    ['a provider name that is no DNS label', { providers: [{ name: 'Open AI', model: 'm', key: 'k', backend: 'b', simulator: 's' }] }, 'providers[0].name: must be a lower-case DNS label'],
  ])('%s', (_what, data, message) => {
    expect(shapeError(data)).toContain(`config file c.yaml: ${message}`);
  });

  test('the whole default configuration, written out as a file, fits the schema', () => {
    expect(shapeError(JSON.parse(JSON.stringify(serializeConfig(defaultConfig()))))).toBe('accepted');
  });

  test('overrides of known providers need only the fields they change; a complete new provider fits', () => {
    expect(shapeError({ providers: [{ name: 'openai', model: 'gpt-4o', key: 'sk-mine' }], user: { name: 'alice', groups: ['premium-group'] } })).toBe('accepted');
    expect(shapeError({ providers: [{ name: 'mistral', model: 'mistral-large', key: 'k', backend: 'mistral-backend', simulator: 'mistral-simulator' }] })).toBe('accepted');
    expect(shapeError({ providers: [{ name: 'mistral', model: 'mistral-large', key: 'k', backend: 'mistral-backend', remote: { host: 'api.mistral.ai', port: 443, scheme: 'https' } }] })).toBe('accepted');
  });
});

describe('--config on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-schema-'));
  test.each<[string, string]>([
    ['providers: 42\n', 'providers: expected a list, got 42'],
    ['rateLimit:\n  tiers:\n    - { name: free, level: 0, groups: [a], tokensPerWindow: lots }\n', 'rateLimit.tiers[0].tokensPerWindow: expected a number, got "lots"'],
    ['providers:\n  - { name: mistral, model: m, key: k, simulator: mistral-sim }\n', 'providers[0].backend: required'],
  ])('%j is a usage error (exit 2) naming the path, not a crash', async (yaml, message) => {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    const r = await runMain(['manifests', '--config', file], {});
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/^hint: see docs\/configuration\.md#configuration/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
