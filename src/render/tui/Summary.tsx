/**
 * End-of-command blocks: the facts and, for validate, the expected-results table (cli-table3, like the
 * plain output, with columns fitted to the terminal so long cells wrap), and the final status line.
 *
 * @example
 *   Expected results
 *   ┌──────┬──────────────────┬──────────────────┬───┐
 *   │ call │ expected         │ actual           │   │
 *   ...
 *   × validate failed · 3 passed · 1 failed · 1 skipped · exit 1
 */
import { Box, Text } from 'ink';
import type { SummaryEvent } from '../../core/events.js';
import type { EndView, ViewState } from '../state.js';
import { checksOfLastRun, tally } from '../state.js';
import Table from 'cli-table3';
import { fitColumns } from '../formatters.js';
import { palette } from '../style.js';
import { Tinted } from './theme.js';

export function SummaryBlock({ summary, width, color }: { summary: Omit<SummaryEvent, 'kind'>; width: number; color: boolean }) {
  const p = palette(color);
  const lines = [p.bold(summary.title)];
  if (summary.table) {
    const { head, rows } = summary.table;
    const table = new Table({ head, style: { head: [], border: [] }, wordWrap: true, colWidths: fitColumns(head, rows, width) });
    for (const row of rows) table.push(row);
    lines.push(...table.toString().split('\n'));
  }
  for (const [k, v] of Object.entries(summary.facts)) lines.push(`  ${k}: ${String(v)}`);
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}

/** The last line: how the run ended, with counts when there were checks. */
export function StatusLine({ state, end, width }: { state: ViewState; end: EndView; width: number }) {
  const t = tally(state);
  const parts: string[] = [];
  if (checksOfLastRun(state).length > 0) {
    parts.push(`${t.pass} passed`);
    if (t.fail) parts.push(`${t.fail} failed`);
    if (t.warn) parts.push(`${t.warn} warning${t.warn > 1 ? 's' : ''}`);
    if (t.skip) parts.push(`${t.skip} skipped`);
  }
  const command = state.run?.command ?? 'run';
  const head = end.ok ? `√ ${command} done` : end.exitCode === 130 ? `× ${command} interrupted` : `× ${command} failed`;
  const text = [head, ...parts, `exit ${end.exitCode}`].join(' · ');
  return (
    <Box width={width}>
      <Text wrap="truncate-end">
        <Tinted tone={end.ok ? 'green' : 'red'}>{text}</Tinted>
      </Text>
    </Box>
  );
}
