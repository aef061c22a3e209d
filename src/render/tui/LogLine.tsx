/**
 * A line the command said (a log event), styled like the rest of the view: a marker column, then the
 * text wrapped at word boundaries under itself (hanging indent). Under a step it is indented with it.
 *
 * @example
 *   √ step 4  Per-provider routes and key injection on the MaaS gateway    189 ms
 *       · TokenRateLimitPolicy gateway-token-rate-limits: free 100, premium
 *         50000, enterprise 100000 tokens per 60 s
 *   ‼ planted fault rewrite-double-slash: the provider gets //v1/…
 */
import { Box } from 'ink';
import type { LogEvent } from '../../core/events.js';
import { SYMBOL } from '../style.js';
import { Tinted, Wrapped, type Tone } from './theme.js';

const LOOK: Record<LogEvent['level'], { marker: string; tone: Tone; text: Tone }> = {
  debug: { marker: '·', tone: 'dim', text: 'dim' },
  info: { marker: '·', tone: 'dim', text: 'plain' },
  warn: { marker: SYMBOL.warn, tone: 'yellow', text: 'plain' },
  error: { marker: SYMBOL.fail, tone: 'red', text: 'plain' },
};

export function LogLine({ log, width, indent = 0 }: { log: Pick<LogEvent, 'level' | 'message'>; width: number; indent?: number }) {
  const look = LOOK[log.level];
  const lines = log.message.split('\n').filter((l, i) => i > 0 || l.trim() !== '');
  return (
    <Box width={width} paddingLeft={indent}>
      <Box flexShrink={0} width={2}>
        <Tinted tone={look.tone}>{look.marker}</Tinted>
      </Box>
      <Box flexDirection="column" flexGrow={1} flexShrink={1}>
        <Wrapped segments={[{ text: lines.join('\n'), tone: look.text }]} width={Math.max(8, width - indent - 2)} />
      </Box>
    </Box>
  );
}
