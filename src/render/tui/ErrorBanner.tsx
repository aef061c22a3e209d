/**
 * The error that ended a run, with what to try next: the same text `cli/main.ts` prints in plain
 * mode (message, hint), framed so it stands out at the bottom of the screen.
 *
 * @example
 *   ╭──────────────────────────────────────────────────────────────────────────────╮
 *   │ error: step 1 did not become ready                                           │
 *   │ try:   check the image pull secret, then resume with `demo up`               │
 *   ╰──────────────────────────────────────────────────────────────────────────────╯
 */
import { Box, Text } from 'ink';
import type { EndView } from '../state.js';
import { docLink } from '../doc-links.js';
import { Tinted } from './theme.js';

const NEXT: Record<number, string> = {
  2: 'fix the flag or configuration, then run the command again',
  70: 're-run with --debug for the stack trace',
  130: 'interrupted: run the command again when ready; `demo down` cleans up',
};

export function ErrorBanner({ end, width }: { end: EndView; width: number }) {
  if (!end.error) return null;
  const hint = end.error.hint === undefined ? undefined : docLink(end.error.hint);
  const next = hint ? undefined : NEXT[end.exitCode];
  return (
    <Box flexDirection="column" borderStyle="round" width={width} paddingX={1}>
      <Text wrap="wrap">
        <Tinted tone="red">error:</Tinted> {end.error.message}
      </Text>
      {hint ? (
        <Text wrap="wrap">
          <Tinted tone="cyan">try:</Tinted>
          {'   '}
          {hint}
        </Text>
      ) : null}
      {next ? (
        <Text wrap="wrap">
          <Tinted tone="dim">next:</Tinted>
          {'  '}
          {next}
        </Text>
      ) : null}
    </Box>
  );
}
