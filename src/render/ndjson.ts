/**
 * NDJSON: the event stream itself, one JSON object per line, secrets already masked.
 *
 * @example
 *   {"kind":"check","id":"call-4","outcome":"pass","t":812,…}
 */
import type { EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';

export function createNdjsonSink(opts: { write: (text: string) => void }): EventSink {
  return { write: (e) => opts.write(`${redact(JSON.stringify(e))}\n`) };
}
