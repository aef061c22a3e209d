/**
 * The stream-usage enforcer of `--hardened` (the payload processor's stream-usage-enforcer) and what
 * the gateway counts: a streamed request gets stream_options.include_usage, the usage chunk comes back
 * for the limiter, and a client that did not ask for usage gets the stream it would have had.
 */
import { describe, expect, test } from 'vitest';
import { enforceStreamUsage, usageStripper } from '../../src/targets/local/stream-usage.js';
import { UsageScanner } from '../../src/targets/local/rate-limit.js';
import { estimateTokens } from '../../src/targets/local/maas-gateway.js';

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const event = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

describe('enforceStreamUsage', () => {
  test('a streamed request without usage gets include_usage, other stream options and fields kept', () => {
    const r = enforceStreamUsage(json({ model: 'gpt-4', stream: true, stream_options: { continuous_usage_stats: false }, messages: [] }));
    expect(r.injected).toBe(true);
    expect(JSON.parse(r.body.toString())).toEqual({ model: 'gpt-4', stream: true, stream_options: { continuous_usage_stats: false, include_usage: true }, messages: [] });
  });

  test.each([
    ['not streamed', { stream: false, messages: [] }],
    ['stream as a string', { stream: 'true', messages: [] }],
    ['usage already asked for', { stream: true, stream_options: { include_usage: true } }],
  ])('%s: unchanged', (_, body) => {
    const b = json(body);
    const r = enforceStreamUsage(b);
    expect(r.injected).toBe(false);
    expect(r.body).toBe(b);
  });

  test('a body that is not a JSON object passes unchanged (the model server answers it)', () => {
    for (const raw of ['{"model":', '[]', 'null', '"x"']) expect(enforceStreamUsage(Buffer.from(raw))).toEqual({ body: Buffer.from(raw), injected: false });
  });
});

describe('usageStripper', () => {
  const chunks = [
    event({ id: 'c1', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
    event({ id: 'c1', choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null }),
    event({ id: 'c1', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
    'data: [DONE]\n\n',
  ].join('');

  test('drops the usage-only chunk and the usage: null fields, keeps everything else as the client would have had it', () => {
    const s = usageStripper();
    const out = s.push(Buffer.from(chunks)).toString() + s.end().toString();
    expect(out).toBe([event({ id: 'c1', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }), event({ id: 'c1', choices: [{ index: 0, delta: { content: 'Hi' } }] }), 'data: [DONE]\n\n'].join(''));
    expect(out).not.toContain('usage');
  });

  test('events split across reads at any byte (a multi-byte character included) come out whole', () => {
    const text = chunks.replace('Hi', 'Grüße ✓');
    const whole = usageStripper();
    const expected = whole.push(Buffer.from(text)).toString() + whole.end().toString();
    const bytes = Buffer.from(text);
    for (const step of [1, 3, 7, 64]) {
      const s = usageStripper();
      let out = '';
      for (let i = 0; i < bytes.length; i += step) out += s.push(bytes.subarray(i, i + step)).toString();
      out += s.end().toString();
      expect(out, `step ${step}`).toBe(expected);
    }
    expect(expected).toContain('Grüße ✓');
  });

  test('comments, CRLF framing and non-JSON data pass through', () => {
    const s = usageStripper();
    const out = s.push(Buffer.from(': keep-alive\r\n\r\ndata: not json\r\n\r\n')).toString() + s.end().toString();
    expect(out).toBe(': keep-alive\n\ndata: not json\n\n');
  });
});

describe('UsageScanner', () => {
  test('finds the usage of a stream read in small pieces, keeping only the line in progress', () => {
    const scanner = new UsageScanner();
    const body = Buffer.from([event({ choices: [{ delta: { content: 'x' } }], usage: null }), event({ choices: [], usage: { total_tokens: 17 } }), 'data: [DONE]\n\n'].join(''));
    for (let i = 0; i < body.length; i += 5) scanner.push(body.subarray(i, i + 5));
    expect(scanner.total('text/event-stream')).toBe(17);
  });

  test('a stream with no usage chunk counts nothing; a JSON body is read whole', () => {
    const stream = new UsageScanner();
    stream.push(Buffer.from(event({ choices: [{ delta: { content: 'x' } }] })));
    expect(stream.total('text/event-stream')).toBeUndefined();
    const body = new UsageScanner();
    body.push(Buffer.from('{"usage":{"total'));
    body.push(Buffer.from('_tokens":9}}'));
    expect(body.total('application/json')).toBe(9);
  });
});

describe('estimateTokens (strict budget and --hardened admission)', () => {
  test('counts the words of the text parts, never the JSON around them', () => {
    const parts = Array.from({ length: 5000 }, () => ({ type: 'text', text: 'hi' }));
    expect(estimateTokens(json({ messages: [{ role: 'user', content: parts }], max_tokens: 10 }))).toBe(5000 + 10);
    // 5,000 parts with no text (images): the prompt counts as 1, whatever the size of their JSON
    const images = Array.from({ length: 5000 }, () => ({ type: 'image_url', image_url: { url: 'https://example.com/a-long-url-that-is-no-text.png' } }));
    expect(estimateTokens(json({ messages: [{ role: 'user', content: images }], max_tokens: 10 }))).toBe(1 + 10);
  });

  test('the same count the model servers report as prompt_tokens: every message, string or parts, plus max_tokens', () => {
    const body = { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hello there' }, { type: 'text', text: 'friend' }] }], max_tokens: 7 };
    expect(estimateTokens(json(body))).toBe(2 + 3 + 7);
    expect(estimateTokens(json({ prompt: ['one two', 3, 4], max_tokens: 1 }))).toBe(4 + 1);
    expect(estimateTokens(json({ messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 5 }))).toBe(6);
  });
});
