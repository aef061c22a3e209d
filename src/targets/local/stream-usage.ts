/**
 * The stream-usage enforcer of `demo up --hardened`, in the role of the current MaaS payload
 * processor's `stream-usage-enforcer` plugin (IPP, before the rate limit): a streamed OpenAI chat or
 * completion request gets `stream_options.include_usage: true`, so the model server ends the stream
 * with a usage chunk and the token rate limit can count it. Without it, Limitador counts nothing for a
 * stream that did not ask for usage (contracts §5).
 *
 * The upstream plugin changes the request only; a client that did not ask for usage then receives the
 * usage chunk (and `"usage": null` in every chunk) anyway. Here the gateway also takes them back out
 * of the stream for such a client, so it sees what it asked for while the budget still counts the tokens.
 */
import { StringDecoder } from 'node:string_decoder';
import type { BodyTransform } from './proxy.js';

export interface EnforcedBody {
  body: Buffer;
  /** True when the enforcer added include_usage (the client did not ask for usage). */
  injected: boolean;
}

/**
 * What the enforcer does to an OpenAI request object: a streamed one (`"stream": true`) that did not ask
 * for usage gets `stream_options.include_usage: true`, every other field and stream option kept
 * (`forced`); one that asked already (`asked`) or does not stream (`not-streamed`) is left as it is.
 */
export function forceStreamUsage(request: Record<string, unknown>): { request: Record<string, unknown>; outcome: 'not-streamed' | 'asked' | 'forced' } {
  if (request.stream !== true) return { request, outcome: 'not-streamed' };
  const options = request.stream_options;
  const opts = options && typeof options === 'object' && !Array.isArray(options) ? (options as Record<string, unknown>) : {};
  if (opts.include_usage === true) return { request, outcome: 'asked' };
  return { request: { ...request, stream_options: { ...opts, include_usage: true } }, outcome: 'forced' };
}

/**
 * {@link forceStreamUsage} on a request body. Anything that is not a JSON object, or that the enforcer
 * leaves alone, goes through unchanged.
 */
export function enforceStreamUsage(body: Buffer): EnforcedBody {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { body, injected: false };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { body, injected: false };
  const enforced = forceStreamUsage(json as Record<string, unknown>);
  if (enforced.outcome !== 'forced') return { body, injected: false };
  return { body: Buffer.from(JSON.stringify(enforced.request)), injected: true };
}

/**
 * Takes the usage the enforcer asked for back out of a server-sent event stream: the final chunk that
 * carries only usage (`choices: []`) is dropped, and the `"usage": null` every other chunk carries is
 * removed. Events are cut at blank lines, so a chunk split across reads is handled whole; anything
 * that is not a JSON `data:` event (comments, `[DONE]`, other fields) passes unchanged.
 */
export function usageStripper(): BodyTransform {
  let pending = '';
  // A multi-byte character split between two reads stays whole.
  const decoder = new StringDecoder('utf8');
  const rewrite = (event: string): string => {
    const lines = event.split('\n');
    const out: string[] = [];
    for (const line of lines) {
      if (!line.startsWith('data:')) {
        out.push(line);
        continue;
      }
      const data = line.slice(5).trim();
      if (!data.startsWith('{')) {
        out.push(line);
        continue;
      }
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(data) as Record<string, unknown>;
      } catch {
        out.push(line);
        continue;
      }
      if (!('usage' in chunk)) {
        out.push(line);
        continue;
      }
      // The usage-only chunk: nothing of it was asked for.
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null) return '';
      delete chunk.usage;
      out.push(`data: ${JSON.stringify(chunk)}`);
    }
    return out.join('\n');
  };
  const take = (final: boolean): string => {
    let out = '';
    let cut = pending.search(/\r?\n\r?\n/);
    while (cut >= 0) {
      const sep = /\r?\n\r?\n/.exec(pending.slice(cut))![0];
      const event = rewrite(pending.slice(0, cut).replace(/\r\n/g, '\n'));
      if (event) out += `${event}\n\n`;
      pending = pending.slice(cut + sep.length);
      cut = pending.search(/\r?\n\r?\n/);
    }
    if (final && pending) {
      out += rewrite(pending);
      pending = '';
    }
    return out;
  };
  return {
    push: (chunk) => {
      pending += decoder.write(chunk);
      return Buffer.from(take(false));
    },
    end: () => {
      pending += decoder.end();
      return Buffer.from(take(true));
    },
  };
}
