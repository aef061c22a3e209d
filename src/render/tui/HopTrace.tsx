/**
 * The hops of one call, top to bottom: who it passed through, the path before → after each rewrite,
 * the facts each hop reported (the injected key is already masked), status and time per hop.
 *
 * A trace longer than its rows scrolls: the last row says which lines show and how many are above
 * and below, so every hop can be reached at 80×24.
 *
 * @example
 *   ┌ 0 client                                                      404 · 15 ms
 *   │   /anthropic/v1/messages
 *   ├ 2 egress-gateway  × broken here                                404 · 7 ms
 *   │   /anthropic/v1/messages (not rewritten)  key=sk-a…demo backend=anthropic
 *   └ 3 provider:anthropic  answered                                 404 · 1 ms
 */
import { Box, Text } from 'ink';
import type { CheckView, HopView } from '../state.js';
import { formatMs } from '../style.js';
import { Tinted, type Tone } from './theme.js';
import { truncate, truncateMiddle, wrapWords } from './text.js';

export interface Segment {
  text: string;
  tone: Tone;
}
export type Line = Segment[];

const seg = (text: string, tone: Tone = 'plain'): Segment => ({ text, tone });

function lineLength(line: Line): number {
  return line.reduce((n, s) => n + s.text.length, 0);
}

/** Cuts a line of segments to `width` characters. */
export function clip(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const s of line) {
    if (left <= 0) break;
    if (s.text.length <= left) {
      out.push(s);
      left -= s.text.length;
    } else {
      out.push({ ...s, text: truncate(s.text, left) });
      left = 0;
    }
  }
  return out;
}

function pathText(h: HopView, width: number): string {
  if (h.pathIn === undefined) return '';
  if (h.pathOut === undefined) return truncateMiddle(h.pathIn, width);
  if (h.pathOut === h.pathIn) return truncateMiddle(`${h.pathIn} (not rewritten)`, width);
  const half = Math.max(8, Math.floor((width - 3) / 2));
  const whole = `${h.pathIn} → ${h.pathOut}`;
  if (whole.length <= width) return whole;
  return `${truncateMiddle(h.pathIn, half)} → ${truncateMiddle(h.pathOut, half)}`;
}

/** Who answered: the deepest hop that reported a status. */
export function answeredBy(hops: HopView[]): HopView | undefined {
  return hops.filter((h) => h.status !== undefined).sort((a, b) => b.index - a.index)[0];
}

/** The trace as lines of coloured segments, each at most `width` wide (pure; also used by tests). */
export function hopTraceLines(check: CheckView, width: number): Line[] {
  const lines: Line[] = [];
  if (check.hops.length === 0) {
    lines.push([seg('  no hop trace was recorded for this call', 'dim')]);
    return lines;
  }
  const answered = answeredBy(check.hops);
  check.hops.forEach((h, i) => {
    const last = i === check.hops.length - 1;
    const corner = i === 0 ? '┌' : last ? '└' : '├';
    const rail = last ? ' ' : '│';
    const right = [h.status !== undefined ? String(h.status) : '', h.ms !== undefined ? formatMs(h.ms) : ''].filter(Boolean).join(' · ');
    const tags: Segment[] = [];
    if (check.hop === h.hop && check.status !== 'pass') tags.push(seg('  × broken here', 'red'));
    if (answered === h) tags.push(seg('  answered', 'cyan'));
    if (h.source === 'inferred') tags.push(seg('  (inferred)', 'dim'));
    const left: Line = [seg(`  ${corner} `, 'dim'), seg(`${h.index} `, 'dim'), seg(h.hop, 'bold'), ...tags];
    const gap = width - lineLength(left) - right.length;
    lines.push(gap >= 1 ? [...left, seg(' '.repeat(gap)), seg(right, h.status !== undefined && h.status >= 400 ? 'yellow' : 'plain')] : clip([...left, seg(` ${right}`)], width));

    const indent = `  ${rail}   `;
    const room = width - indent.length;
    const path = pathText(h, room);
    // A fact longer than a line is wrapped at its spaces, not cut: every fact stays whole.
    const entries = Object.entries(h.detail).flatMap(([k, v]) => wrapWords(`${k}=${v}`, room));
    // The path and the hop's facts on one line when they fit; else the path, then the facts packed
    // into as many lines as they need (never cut between a name and its value).
    const facts = entries.join(' ');
    if (path && facts && path.length + 2 + facts.length <= room) {
      lines.push([seg(indent, 'dim'), seg(path), seg(`  ${facts}`, 'dim')]);
      return;
    }
    if (path) lines.push([seg(indent, 'dim'), seg(path)]);
    let packed = '';
    for (const entry of entries) {
      if (packed && packed.length + 1 + entry.length > room) {
        lines.push([seg(indent, 'dim'), seg(packed, 'dim')]);
        packed = '';
      }
      packed = packed ? `${packed} ${entry}` : entry;
    }
    if (packed) lines.push([seg(indent, 'dim'), seg(packed, 'dim')]);
  });
  return lines;
}

export function LineView({ line }: { line: Line }) {
  return (
    <Text wrap="truncate-end">
      {line.map((s, i) => (
        <Tinted key={i} tone={s.tone}>
          {s.text}
        </Tinted>
      ))}
    </Text>
  );
}

export interface HopTraceProps {
  check: CheckView;
  width: number;
  /** Rows available; a longer trace scrolls, its last row saying where the view is and how to move. */
  maxLines?: number;
  /** First line shown (clamped to the last screenful). */
  scroll?: number;
}

/** The part of a trace of `total` lines shown in `rows` rows from `scroll` (one row goes to the scroll line). */
export function traceWindow(total: number, rows: number, scroll = 0): { from: number; to: number; scrolls: boolean } {
  if (total <= rows) return { from: 0, to: total, scrolls: false };
  const visible = Math.max(1, rows - 1);
  const from = Math.min(Math.max(0, scroll), Math.max(0, total - visible));
  return { from, to: Math.min(total, from + visible), scrolls: true };
}

export function HopTrace({ check, width, maxLines, scroll = 0 }: HopTraceProps) {
  const all = hopTraceLines(check, width);
  const { from, to, scrolls } = traceWindow(all.length, maxLines ?? all.length, scroll);
  const lines = all.slice(from, to);
  if (scrolls) {
    const where = `  lines ${from + 1}–${to} of ${all.length}`;
    const above = from > 0 ? ` · ↑ ${from} above` : '';
    const below = to < all.length ? ` · ↓ ${all.length - to} below` : '';
    lines.push([seg(truncate(`${where}${above}${below}`, width), 'dim')]);
  }
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((line, i) => (
        <LineView key={i} line={line} />
      ))}
    </Box>
  );
}
