import { describe, expect, test } from 'vitest';
import { shorten, wrapWords } from '../../src/render/tui/text.js';

describe('shorten', () => {
  test('cuts at a word boundary and never inside a word', () => {
    expect(shorten('the wg-ai-gateway controller is a build with the prefix-rewrite fix', 46)).toBe('the wg-ai-gateway controller is a build with…');
    expect(shorten('Egress gateway: backend CRD, wg', 20)).toBe('Egress gateway…');
    expect(shorten('abc def', 7)).toBe('abc def');
    expect(shorten('abc def', 6)).toBe('abc…');
    expect(shorten('abc defgh', 5)).toBe('abc…');
  });
  test('a single word longer than the room is the only thing cut inside', () => {
    expect(shorten('abcdefghij', 5)).toBe('abcd…');
    expect(shorten('anything', 1)).toBe('…');
    expect(shorten('anything', 0)).toBe('');
  });
});

describe('wrapWords', () => {
  test('breaks at spaces, each line within the width', () => {
    const lines = wrapWords('the wg-ai-gateway controller is a build with the prefix-rewrite fix', 20);
    expect(lines).toEqual(['the wg-ai-gateway', 'controller is a', 'build with the', 'prefix-rewrite fix']);
  });
  test('breaks a word longer than a line, and keeps given line breaks', () => {
    expect(wrapWords('aaaaaaaaaaaaaaaaaaaaaaaaa bb', 10)).toEqual(['aaaaaaaaaa', 'aaaaaaaaaa', 'aaaaa bb']);
    expect(wrapWords('x\ny z', 3)).toEqual(['x', 'y z']);
  });
});
