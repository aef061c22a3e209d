/** Secret masking: every text form of a Secret is masked; redact() catches what slipped into a string. */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { Secret, fingerprint, mask, redact, redactValue, registerSecretValue } from '../../src/core/secret.js';

describe('mask', () => {
  test.each([
    ['sk-openai-key-for-demo', 'sk-o…demo'],
    ['change-me-super-secret', 'chan…cret'],
    ['1234567890abc', '1234…0abc'],
    ['123456789012', '…'],
    ['short', '…'],
    ['', '…'],
  ])('%s → %s', (value, masked) => {
    expect(mask(value)).toBe(masked);
  });
});

describe('Secret', () => {
  const value = 'sk-unit-test-secret-value-1';
  const s = new Secret(value);

  test('every way to make text of it is masked', () => {
    const masked = 'sk-u…ue-1';
    expect(String(s)).toBe(masked);
    expect(`${s}`).toBe(masked);
    expect(s.toString()).toBe(masked);
    expect(s.masked).toBe(masked);
    expect(JSON.stringify({ key: s })).toBe(`{"key":"${masked}"}`);
    expect(inspect(s)).toBe(`Secret(${masked})`);
    expect(inspect({ nested: { s } }, { depth: 5 })).not.toContain(value);
    expect(Object.keys(s)).toEqual([]);
  });

  test('reveal() gives the value; equals() compares without revealing', () => {
    expect(s.reveal()).toBe(value);
    expect(s.equals(value)).toBe(true);
    expect(s.equals(new Secret(value))).toBe(true);
    expect(s.equals('other')).toBe(false);
  });

  test('the fingerprint is the first 8 hex digits of SHA-256', () => {
    const expected = createHash('sha256').update(value).digest('hex').slice(0, 8);
    expect(s.fingerprint).toBe(expected);
    expect(fingerprint(value)).toBe(expected);
    expect(s.fingerprint).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('redact', () => {
  test('masks every registered secret value wherever it appears, however often', () => {
    new Secret('sk-registered-by-constructor');
    registerSecretValue('plain-registered-value');
    const text = 'a sk-registered-by-constructor b sk-registered-by-constructor c plain-registered-value';
    expect(redact(text)).toBe('a sk-r…ctor b sk-r…ctor c plai…alue');
  });

  test('values shorter than 6 characters are not registered (they would mask ordinary words)', () => {
    registerSecretValue('abc12');
    expect(redact('abc12 stays')).toBe('abc12 stays');
  });

  test('JWT-shaped strings are masked even when nobody registered them', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXBhcnQtaGVyZQ';
    const out = redact(`Authorization: Bearer ${jwt} end`);
    expect(out).toBe(`Authorization: Bearer ${mask(jwt)} end`);
    expect(out).not.toContain(jwt);
  });

  test('text without secrets is unchanged', () => {
    expect(redact('GET /v1/models 200 sk-')).toBe('GET /v1/models 200 sk-');
  });

  test('redactValue deep-copies a JSON value with Secrets and registered strings masked', () => {
    const key = new Secret('sk-deep-copy-secret-value');
    const input = { a: [{ key }], b: 'x sk-deep-copy-secret-value y', n: 3, t: true, z: null };
    const out = redactValue(input);
    expect(out).toEqual({ a: [{ key: 'sk-d…alue' }], b: 'x sk-d…alue y', n: 3, t: true, z: null });
    expect(JSON.stringify(out)).not.toContain('sk-deep-copy-secret-value');
    expect(input.b).toContain('sk-deep-copy-secret-value');
  });
});
