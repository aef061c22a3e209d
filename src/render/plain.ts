/**
 * Plain text: one line (or a few indented lines) per event, for pipes, CI and NO_COLOR terminals.
 *
 * @example
 *   √ 4 OpenAI chat through both gateways [call-4] → 200 completion from gpt-4
 *   × 8 no token → 401 on every provider [call-8]
 *       expected: 401, 401, 401
 *       actual:   401, 200, 401
 */
import type { EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';
import { formatEvent } from './formatters.js';
import { palette } from './style.js';

export function createPlainSink(opts: { write: (text: string) => void; writeErr?: (text: string) => void; color: boolean; width?: number }): EventSink {
  const p = palette(opts.color);
  return {
    write(e) {
      const line = formatEvent(e, p, opts.width ?? 100);
      if (line === null) return;
      // The run's error (one line and a hint) goes to stderr, as errors before the run started do.
      const out = e.kind === 'run-end' && e.error && opts.writeErr ? opts.writeErr : opts.write;
      out(`${redact(line)}\n`);
    },
  };
}
