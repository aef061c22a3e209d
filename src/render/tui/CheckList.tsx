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
import { Tinted, Wrapped, outcomeSymbol } from './theme.js';
import { shorten, spinnerFrame, truncate } from './text.js';

/**
 * A check's line. In the feed (`wrap`) the title wraps at word boundaries beside the id column; in the
 * browser list (one row per check) it is shortened at a word boundary instead.
 */
function Head({ check, width, marker, wrap }: { check: CheckView; width: number; marker?: string; wrap: boolean }) {
  const { symbol, tone } = outcomeSymbol(check.status);
  const id = `[${check.id}]`;
  const prefix = `${marker ?? ''}${symbol} `;
  const actual = check.status === 'pass' && check.actual !== undefined ? ` → ${check.actual}` : '';
  const skipped = check.status === 'skip' && check.message ? ` (skipped: ${check.message})` : '';
  const title = `${check.title}${check.runs > 1 ? ' (rerun)' : ''}`;
  const room = Math.max(8, width - prefix.length - id.length - 1);
  const shown = wrap ? title : shorten(title, room);
  const extra = wrap ? `${actual}${skipped}` : shorten(`${actual}${skipped}`, Math.max(0, room - shown.length));
  return (
    <Box width={width}>
      <Box flexShrink={0}>
        <Text>
          {marker ? <Tinted tone="cyan">{marker}</Tinted> : null}
          <Tinted tone={tone}>{symbol}</Tinted>{' '}
        </Text>
      </Box>
      <Box flexGrow={1} flexShrink={1}>
        {wrap ? (
          <Wrapped segments={[{ text: shown, tone: 'plain' }, { text: extra, tone: 'dim' }]} width={room} />
        ) : (
          <Text wrap="truncate-end">
            {shown}
            <Tinted tone="dim">{extra}</Tinted>
          </Text>
        )}
      </Box>
      <Box flexShrink={0} marginLeft={1}>
        <Tinted tone="dim">{id}</Tinted>
      </Box>
    </Box>
  );
}

/** `label value`, the value wrapped under itself; each line of a multi-line value (a patch) on its own row. */
function Field({ label, value, width, tone = 'plain' }: { label: string; value: string; width: number; tone?: 'plain' | 'cyan' | 'dim' }) {
  const lines = value.split('\n');
  return (
    <>
      {lines.map((l, i) => (
        <Box key={i} paddingLeft={4}>
          <Box flexShrink={0} width={label.length + 1}>
            <Tinted tone={tone === 'plain' ? 'dim' : tone}>{i === 0 ? label : ''}</Tinted>
          </Box>
          <Box flexGrow={1} flexShrink={1}>
            <Wrapped segments={[{ text: l, tone: 'plain' }]} width={Math.max(8, width - 4 - label.length - 1)} />
          </Box>
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
      <Head check={check} width={width} wrap />
      {failed && check.expected !== undefined ? <Field label="expected:" value={check.expected} width={width} /> : null}
      {failed && check.actual !== undefined ? <Field label="actual:  " value={check.actual} width={width} /> : null}
      {failed && check.message ? (
        <Box paddingLeft={4}>
          <Wrapped segments={[{ text: check.message, tone: 'plain' }]} width={width - 4} />
        </Box>
      ) : null}
      {failed && check.hop ? <Field label="broken hop:" value={check.hop} width={width} /> : null}
      {failed && check.object ? <Field label="object:" value={`${check.object}${check.field ? ` field ${check.field}` : ''}`} width={width} /> : null}
      {failed ? (check.evidence ?? []).map((e, i) => <Field key={i} label="evidence:" value={e} width={width} />) : null}
      {failed && check.fix ? <Field label="fix:" value={check.fix} width={width} /> : null}
      {failed && check.hint ? <Field label="hint:" value={docLink(check.hint)} width={width} tone="cyan" /> : null}
      {failed && withTrace && check.hops.length > 0 ? <HopTrace check={check} width={width} /> : null}
    </Box>
  );
}

/** The check being run now. */
export function ActiveCheck({ check, now, width }: { check: CheckView; now: number; width: number }) {
  const elapsed = Math.max(0, now - (check.startT ?? now));
  const label = shorten(check.title, Math.max(8, width - 14));
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
  /** Rows the list may use when no trace is open. */
  maxRows: number;
  /** Rows the open trace may use (its scroll line included). */
  traceRows: number;
  /** First trace line shown. */
  scroll?: number;
}

/** Rows to show: a window of `size` rows that keeps the selected row visible. */
export function windowAround(count: number, selected: number, size: number): [number, number] {
  if (count <= size) return [0, count];
  const start = Math.min(Math.max(0, selected - Math.floor(size / 2)), count - size);
  return [start, start + size];
}

/** Rows the list takes: its window plus the "↑/↓ N more" lines; with a trace open, the selected row, the title and the trace. */
export function checkListHeight(p: Pick<CheckListProps, 'checks' | 'expanded' | 'maxRows' | 'traceRows'> & { traceLines: number }): number {
  if (p.expanded) return 2 + Math.min(p.traceRows, p.traceLines);
  const shown = Math.min(p.checks.length, Math.max(1, p.maxRows));
  return shown + (p.checks.length > shown ? 2 : 0);
}

/**
 * The browsable list of finished checks. With a trace open the list steps back to the selected row,
 * and the trace gets the room: it scrolls (↑/↓, PgUp/PgDn, Home/End), so every hop is reachable.
 */
export function CheckList({ checks, selected, expanded, width, maxRows, traceRows, scroll = 0 }: CheckListProps) {
  const at = Math.max(0, checks.findIndex((c) => c.id === selected));
  const current = checks[at];
  if (expanded && current) {
    return (
      <Box flexDirection="column" width={width}>
        <Head check={current} width={width} marker="› " wrap={false} />
        <Text wrap="truncate-end">
          <Tinted tone="bold">{truncate(`trace of ${current.id}`, width)}</Tinted>
          {current.hops[0]?.requestId ? <Tinted tone="dim">{truncate(` · request ${current.hops[0].requestId}`, Math.max(0, width - 10 - current.id.length))}</Tinted> : null}
        </Text>
        <HopTrace check={current} width={width} maxLines={traceRows} scroll={scroll} />
      </Box>
    );
  }
  const [from, to] = windowAround(checks.length, at, Math.max(1, maxRows));
  const scrolled = checks.length > to - from;
  return (
    <Box flexDirection="column" width={width}>
      {scrolled ? <Tinted tone="dim">{from > 0 ? `  ↑ ${from} more` : ' '}</Tinted> : null}
      {checks.slice(from, to).map((c) => (
        <Head key={c.id} check={c} width={width} marker={c.id === current?.id ? '› ' : '  '} wrap={false} />
      ))}
      {scrolled ? <Tinted tone="dim">{to < checks.length ? `  ↓ ${checks.length - to} more` : ' '}</Tinted> : null}
    </Box>
  );
}
