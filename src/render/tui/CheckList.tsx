/**
 * Checks and validation calls. A finished one is written once (a failure with what was expected,
 * what happened, the broken hop, evidence, the fix and a hint, plus its hop trace); the browser in
 * the live area lists them with a selection (↑/↓) and opens the selected call's trace (enter).
 *
 * @example
 *   × 5 Anthropic messages through both gateways                        [call-5]
 *       expected: 200 message from claude
 *       actual:   404 from anthropic-sim
 *       broken hop: egress-gateway
 *       hint: README.md#doctor-rewrite-egress
 */
import { Box, Text } from 'ink';
import type { CheckView } from '../state.js';
import { formatMs } from '../style.js';
import { docLink } from '../doc-links.js';
import { HopTrace } from './HopTrace.js';
import { Tinted, outcomeSymbol } from './theme.js';
import { spinnerFrame, truncate } from './text.js';

function Head({ check, width, marker }: { check: CheckView; width: number; marker?: string }) {
  const { symbol, tone } = outcomeSymbol(check.status);
  const id = `[${check.id}]`;
  const prefix = `${marker ?? ''}${symbol} `;
  const actual = check.status === 'pass' && check.actual !== undefined ? ` → ${check.actual}` : '';
  const skipped = check.status === 'skip' && check.message ? ` (skipped: ${check.message})` : '';
  const rerun = check.runs > 1 ? ' (rerun)' : '';
  const room = width - prefix.length - id.length - 1;
  const title = truncate(`${check.title}${rerun}`, Math.max(8, room));
  const extra = truncate(`${actual}${skipped}`, Math.max(0, room - title.length));
  const pad = Math.max(1, width - prefix.length - title.length - extra.length - id.length);
  return (
    <Text wrap="truncate-end">
      {marker ? <Tinted tone="cyan">{marker}</Tinted> : null}
      <Tinted tone={tone}>{symbol}</Tinted> {title}
      <Tinted tone="dim">{extra}</Tinted>
      {' '.repeat(pad)}
      <Tinted tone="dim">{id}</Tinted>
    </Text>
  );
}

function Field({ label, value, tone = 'plain' }: { label: string; value: string; tone?: 'plain' | 'cyan' | 'dim' }) {
  const lines = value.split('\n');
  return (
    <>
      {lines.map((l, i) => (
        <Box key={i} paddingLeft={4}>
          <Text wrap="wrap">
            <Tinted tone={tone === 'plain' ? 'dim' : tone}>{i === 0 ? label : ' '.repeat(label.length)}</Tinted> {l}
          </Text>
        </Box>
      ))}
    </>
  );
}

/** A finished check or call. `withTrace` adds the hop trace under a failure (validate calls). */
export function CheckLine({ check, width, withTrace = true }: { check: CheckView; width: number; withTrace?: boolean }) {
  const failed = check.status === 'fail' || check.status === 'warn';
  return (
    <Box flexDirection="column" width={width}>
      <Head check={check} width={width} />
      {failed && check.expected !== undefined ? <Field label="expected:" value={check.expected} /> : null}
      {failed && check.actual !== undefined ? <Field label="actual:  " value={check.actual} /> : null}
      {failed && check.message ? (
        <Box paddingLeft={4}>
          <Text wrap="wrap">{check.message}</Text>
        </Box>
      ) : null}
      {failed && check.hop ? <Field label="broken hop:" value={check.hop} /> : null}
      {failed ? (check.evidence ?? []).map((e, i) => <Field key={i} label="evidence:" value={e} />) : null}
      {failed && check.fix ? <Field label="fix:" value={check.fix} /> : null}
      {failed && check.hint ? <Field label="hint:" value={docLink(check.hint)} tone="cyan" /> : null}
      {failed && withTrace && check.hops.length > 0 ? <HopTrace check={check} width={width} /> : null}
    </Box>
  );
}

/** The check being run now. */
export function ActiveCheck({ check, now, width }: { check: CheckView; now: number; width: number }) {
  const elapsed = Math.max(0, now - (check.startT ?? now));
  const label = truncate(check.title, width - 14);
  return (
    <Text wrap="truncate-end">
      <Tinted tone="cyan">{spinnerFrame(now)}</Tinted> {label}
      <Tinted tone="dim">{`  ${formatMs(elapsed)}`}</Tinted>
    </Text>
  );
}

export interface CheckListProps {
  checks: CheckView[];
  selected?: string;
  expanded: boolean;
  width: number;
  /** Rows the list may use (the trace gets its own budget). */
  maxRows: number;
  /** Rows the open trace may use. */
  traceRows: number;
}

/** Rows to show: a window of `size` rows that keeps the selected row visible. */
export function windowAround(count: number, selected: number, size: number): [number, number] {
  if (count <= size) return [0, count];
  const start = Math.min(Math.max(0, selected - Math.floor(size / 2)), count - size);
  return [start, start + size];
}

/** The browsable list of finished checks with the selected one's trace underneath. */
export function CheckList({ checks, selected, expanded, width, maxRows, traceRows }: CheckListProps) {
  const at = Math.max(0, checks.findIndex((c) => c.id === selected));
  const [from, to] = windowAround(checks.length, at, Math.max(1, maxRows));
  const current = checks[at];
  return (
    <Box flexDirection="column" width={width}>
      {from > 0 ? <Tinted tone="dim">{`  ↑ ${from} more`}</Tinted> : null}
      {checks.slice(from, to).map((c) => (
        <Head key={c.id} check={c} width={width} marker={c.id === current?.id ? '› ' : '  '} />
      ))}
      {to < checks.length ? <Tinted tone="dim">{`  ↓ ${checks.length - to} more`}</Tinted> : null}
      {expanded && current ? (
        <Box flexDirection="column" marginTop={0}>
          <Text wrap="truncate-end">
            <Tinted tone="bold">{truncate(`trace of ${current.id}`, width)}</Tinted>
            {current.hops[0]?.requestId ? <Tinted tone="dim">{truncate(` · request ${current.hops[0].requestId}`, Math.max(0, width - 10 - current.id.length))}</Tinted> : null}
          </Text>
          <HopTrace check={current} width={width} maxLines={traceRows} />
        </Box>
      ) : null}
    </Box>
  );
}
