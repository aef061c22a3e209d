/**
 * One formatter per event kind (exhaustive: adding a kind without a formatter fails to compile).
 * The plain renderer prints these lines as events arrive; asciicast export and replay reuse them.
 *
 * @example
 *   step 1  Egress gateway: controller, GatewayClass and Gateway
 *     + egress-gateway/poc-gateway started
 *     √ Gateway poc-gateway Programmed (41 ms)
 *   √ step 1 ready (0.2 s)
 */
import Table from 'cli-table3';
import type { DemoEvent, EventKind, HopEvent } from '../core/events.js';
import { docLink } from './doc-links.js';
import { type Palette, SYMBOL, formatMs } from './style.js';

type Formatter<K extends EventKind> = (e: Extract<DemoEvent, { kind: K }>, p: Palette, width: number) => string | null;
type FormatterMap = { [K in EventKind]: Formatter<K> };

export function formatHop(e: HopEvent, p: Palette): string {
  const path = e.pathIn !== undefined ? ` ${e.pathIn}${e.pathOut !== undefined && e.pathOut !== e.pathIn ? ` → ${e.pathOut}` : ''}` : '';
  const status = e.status !== undefined ? ` ${e.status}` : '';
  const ms = e.ms !== undefined ? ` ${formatMs(e.ms)}` : '';
  const detail = Object.entries(e.detail)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const source = e.source === 'inferred' ? p.dim(' (inferred)') : '';
  return `    ${p.dim(`${e.index}.`)} ${e.hop}${path}${status}${ms}${detail ? ` ${p.dim(detail)}` : ''}${source}`;
}

export const formatters: FormatterMap = {
  'run-start': (e, p) => p.bold(`maas-egress-demo ${e.command} · target ${e.target} · v${e.version}`),
  'step-start': (e, p) => `${p.bold(`step ${e.step}`)}  ${e.title}`,
  apply: (e, p) => `  ${p.dim('+')} ${e.object} ${p.dim(e.action)}`,
  wait: (e, p) => {
    const reason = e.reason ? ` ${p.dim(`(${e.reason})`)}` : '';
    if (e.state === 'pending') return `  ${p.dim(SYMBOL.wait)} waiting: ${e.condition}${reason}`;
    if (e.state === 'met') return `  ${p.green(SYMBOL.pass)} ${e.condition} ${p.dim(`(${formatMs(e.elapsedMs)})`)}`;
    return `  ${p.red(SYMBOL.fail)} ${e.condition}: ${e.state}${reason}`;
  },
  'step-end': (e, p) => {
    if (e.skipped) return `${p.dim(SYMBOL.skip)} step ${e.step} skipped${e.message ? `: ${e.message}` : ''}`;
    const head = e.ok ? `${p.green(SYMBOL.pass)} step ${e.step} ready (${formatMs(e.ms)})` : `${p.red(SYMBOL.fail)} step ${e.step} failed: ${e.message ?? ''}`;
    return e.ok ? head : `${head}${e.hint ? `\n    hint: ${docLink(e.hint)}` : ''}`;
  },
  'check-start': () => null,
  check: (e, p) => {
    const sym =
      e.outcome === 'pass' ? p.green(SYMBOL.pass) : e.outcome === 'fail' ? p.red(SYMBOL.fail) : e.outcome === 'warn' ? p.yellow(SYMBOL.warn) : p.dim(SYMBOL.skip);
    const lines = [`${sym} ${e.title}${e.outcome === 'skip' && e.message ? p.dim(` (skipped: ${e.message})`) : ''} ${p.dim(`[${e.id}]`)}`];
    if (e.outcome === 'fail' || e.outcome === 'warn') {
      if (e.expected !== undefined) lines.push(`    expected: ${e.expected}`);
      if (e.actual !== undefined) lines.push(`    actual:   ${e.actual}`);
      if (e.message) lines.push(`    ${e.message}`);
      if (e.hop) lines.push(`    broken hop: ${e.hop}`);
      if (e.object) lines.push(`    object: ${e.object}${e.field ? ` field ${e.field}` : ''}`);
      for (const ev of e.evidence ?? []) lines.push(`    ${p.dim('evidence:')} ${ev}`);
      if (e.fix) lines.push(...e.fix.split('\n').map((l, i) => `    ${i === 0 ? 'fix: ' : '     '}${l}`));
      if (e.hint) lines.push(`    hint: ${docLink(e.hint)}`);
    } else if (e.actual !== undefined && e.outcome === 'pass') {
      lines[0] += p.dim(` → ${e.actual}`);
    }
    return lines.join('\n');
  },
  hop: (e, p) => formatHop(e, p),
  log: (e, p) => {
    if (e.level === 'debug' && !process.env.MAAS_EGRESS_DEMO_DEBUG) return null;
    const tag = e.level === 'warn' ? p.yellow('warning: ') : e.level === 'error' ? p.red('error: ') : '';
    return `${tag}${e.message}`;
  },
  // A blank line, the heading, and a rule under it: `rewrites` / `--------`.
  section: (e, p) => `\n${p.bold(e.title)}\n${'-'.repeat(e.title.length)}`,
  summary: (e, p, width) => {
    const lines = [p.bold(e.title)];
    if (e.table) {
      const table = new Table({ head: e.table.head, style: { head: [], border: [] }, wordWrap: true, colWidths: fitColumns(e.table.head, e.table.rows, width) });
      for (const row of e.table.rows) table.push(row);
      lines.push(table.toString());
    }
    for (const [k, v] of Object.entries(e.facts)) lines.push(`  ${k}: ${String(v)}`);
    return lines.join('\n');
  },
  'run-end': (e, p) => {
    if (e.error) return `${p.red('error:')} ${e.error.message}${e.error.hint ? `\nhint: ${docLink(e.error.hint)}` : ''}`;
    return e.ok ? p.green(`${SYMBOL.pass} done`) : p.red(`${SYMBOL.fail} failed (exit ${e.exitCode})`);
  },
};

/**
 * Column widths (cli-table3 `colWidths`, padding included) that fit `width` with the borders: every
 * column that fits in an even share of the room keeps its natural width, the others split the rest
 * evenly (at least 5). Plain text and the TUI's summary share it, so both lay a table out alike.
 */
export function fitColumns(head: string[], rows: string[][], width: number): number[] {
  const natural = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)) + 2);
  let room = width - (natural.length + 1);
  if (natural.reduce((a, b) => a + b, 0) <= room) return natural;
  const out = [...natural];
  let open = natural.map((_, i) => i);
  for (;;) {
    const share = Math.floor(room / Math.max(1, open.length));
    const fits = open.filter((i) => natural[i]! <= share);
    if (fits.length === 0) {
      open.forEach((i, k) => (out[i] = Math.max(5, share + (k < room - share * open.length ? 1 : 0))));
      return out;
    }
    for (const i of fits) room -= natural[i]!;
    open = open.filter((i) => !fits.includes(i));
    if (open.length === 0) return out;
  }
}

export function formatEvent(e: DemoEvent, p: Palette, width = 100): string | null {
  return (formatters[e.kind] as Formatter<typeof e.kind>)(e as never, p, width);
}
