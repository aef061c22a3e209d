/** The error → exit code/hint table, event parsing, and the configuration's defaults and merging. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BugError, EXIT, InterruptedError, PartialApplyError, StepFailedError, UnreachableError, UserError, exitCodeOf, hintOf } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/events.js';
import { defaultConfig, deserializeConfig, mergeConfig, onpremPrefix, providerByName, serializeConfig, tierForGroups, tierNamespace } from '../../src/core/config.js';
import { Secret } from '../../src/core/secret.js';

describe('exitCodeOf / hintOf', () => {
  test.each<[string, unknown, number, string | undefined]>([
    ['UserError', new UserError('bad', 'do this'), EXIT.usage, 'do this'],
    ['UserError without hint', new UserError('bad'), EXIT.usage, undefined],
    ['UnreachableError', new UnreachableError('cannot reach the API server', 'check the URL'), EXIT.unreachable, 'check the URL'],
    ['StepFailedError', new StepFailedError('failed', 'look'), EXIT.failed, 'look'],
    ['PartialApplyError', new PartialApplyError('half', ['a'], 'demo up'), EXIT.failed, 'resume with: demo up'],
    ['PartialApplyError with hint', new PartialApplyError('half', ['a'], 'demo up', 'custom'), EXIT.failed, 'custom'],
    ['InterruptedError', new InterruptedError(), EXIT.interrupted, undefined],
    ['AbortError', Object.assign(new Error('x'), { name: 'AbortError' }), EXIT.interrupted, undefined],
    ['BugError', new BugError('ours'), EXIT.bug, 're-run with --debug for the stack trace'],
    ['Error', new Error('x'), EXIT.bug, 're-run with --debug for the stack trace'],
    ['a string', 'x', EXIT.bug, 're-run with --debug for the stack trace'],
  ])('%s → %i', (_n, err, code, hint) => {
    expect(exitCodeOf(err)).toBe(code);
    expect(hintOf(err)).toBe(hint);
  });

  test('the codes are the README’s', () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, usage: 2, unreachable: 3, bug: 70, interrupted: 130 });
    // Every code the tool exits with is a row of the README's table (141 is the shell's, for a closed pipe).
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Exit codes'));
    const rows = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(rows).toEqual([...Object.values(EXIT), 141].sort((a, b) => a - b));
  });
});

describe('parseEvent', () => {
  test('accepts our kinds with a time stamp', () => {
    expect(parseEvent('{"kind":"log","t":3,"level":"info","message":"hi"}')).toEqual({ kind: 'log', t: 3, level: 'info', message: 'hi' });
  });
  test.each(['{"kind":"nope","t":1}', '{"t":1}', '{"kind":"log"}', '[1]', 'null'])('refuses %s', (line) => {
    expect(() => parseEvent(line)).toThrow();
  });
  test('refuses a line that is not JSON', () => {
    expect(() => parseEvent('not json')).toThrow(SyntaxError);
  });
});

describe('configuration', () => {
  test('defaults are the seed demo’s', () => {
    const cfg = defaultConfig();
    expect(cfg.providers.map((p) => [p.name, p.model, p.keyHeader, p.optional])).toEqual([
      ['openai', 'gpt-4', 'x-provider-api-key', false],
      ['anthropic', 'claude-3-sonnet', 'x-provider-api-key', false],
      ['vllm', 'Qwen/Qwen3-0.6B', 'authorization', true],
    ]);
    expect(cfg.providers.every((p) => p.key instanceof Secret)).toBe(true);
    expect(String(cfg.providers[0]!.key)).toBe('sk-o…demo');
    expect(cfg.maas).toMatchObject({ audience: 'maas-default-gateway-sa', minTokenSeconds: 600, defaultTokenSeconds: 14400 });
    expect(cfg.rateLimit).toMatchObject({ windowSeconds: 60, strictBudget: false });
    expect(cfg.rateLimit.tiers.map((t) => [t.name, t.tokensPerWindow])).toEqual([
      ['free', 100],
      ['premium', 50000],
      ['enterprise', 100000],
    ]);
    expect(onpremPrefix(cfg)).toBe('/llm/facebook-opt-125m-simulated');
    expect(tierNamespace(cfg, 'free')).toBe('maas-default-gateway-tier-free');
  });

  test('the tier is the highest level whose groups intersect', () => {
    const cfg = defaultConfig();
    expect(tierForGroups(cfg, ['system:authenticated'])?.name).toBe('free');
    expect(tierForGroups(cfg, ['system:authenticated', 'premium-group'])?.name).toBe('premium');
    expect(tierForGroups(cfg, ['premium-group', 'admin-group'])?.name).toBe('enterprise');
    expect(tierForGroups(cfg, ['nobody'])).toBeUndefined();
  });

  test('a config file merges over the defaults; providers merge by name and keys become Secrets', () => {
    const cfg = mergeConfig(defaultConfig(), {
      providers: [
        { name: 'openai', model: 'gpt-4o', key: 'sk-my-own-demo-key' },
        { name: 'gemini', model: 'gemini-pro', key: 'gm-key-for-tests-123', keyHeader: 'x-provider-api-key' },
      ],
      rateLimit: { windowSeconds: 5 },
      user: { name: 'alice', groups: ['premium-group'] },
    });
    const openai = providerByName(cfg, 'openai')!;
    expect(openai).toMatchObject({ model: 'gpt-4o', keyHeader: 'x-provider-api-key', backend: 'openai-backend' });
    expect(openai.key).toBeInstanceOf(Secret);
    expect(openai.key.reveal()).toBe('sk-my-own-demo-key');
    expect(providerByName(cfg, 'anthropic')!.key.reveal()).toBe('sk-ant-claude-key-for-demo');
    expect(providerByName(cfg, 'gemini')!.key.reveal()).toBe('gm-key-for-tests-123');
    expect(cfg.rateLimit.windowSeconds).toBe(5);
    expect(cfg.rateLimit.tiers).toHaveLength(3);
    expect(cfg.user).toEqual({ name: 'alice', groups: ['premium-group'] });
    // the defaults are untouched
    expect(providerByName(defaultConfig(), 'openai')!.model).toBe('gpt-4');
  });

  test('serialize reveals keys only for the 0600 state file, and deserialize restores Secrets', () => {
    const raw = serializeConfig(defaultConfig());
    expect(raw.providers[0]!.key).toBe('sk-openai-key-for-demo');
    const back = deserializeConfig(JSON.parse(JSON.stringify(raw)) as typeof raw);
    expect(back.providers[0]!.key).toBeInstanceOf(Secret);
    expect(JSON.stringify(back)).not.toContain('sk-openai-key-for-demo');
  });
});
