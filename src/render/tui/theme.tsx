/**
 * Colour in one place: components ask for a tone, and with colour off (NO_COLOR, --no-color) every
 * tone renders as plain text. Nothing else changes between the two, in line with NO_COLOR.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { Box, Text } from 'ink';
import type { Outcome } from '../../core/events.js';
import { SYMBOL } from '../style.js';
import { wrapRanges } from './text.js';

export const ColorContext = createContext(true);

export type Tone = 'green' | 'red' | 'yellow' | 'cyan' | 'dim' | 'bold' | 'plain';

export function Tinted({ tone, children }: { tone: Tone; children: ReactNode }) {
  const color = useContext(ColorContext);
  if (!color || tone === 'plain') return <Text>{children}</Text>;
  if (tone === 'dim') return <Text dimColor>{children}</Text>;
  if (tone === 'bold') return <Text bold>{children}</Text>;
  return <Text color={tone}>{children}</Text>;
}

export function outcomeSymbol(status: Outcome | 'running' | 'pending'): { symbol: string; tone: Tone } {
  switch (status) {
    case 'pass':
      return { symbol: SYMBOL.pass, tone: 'green' };
    case 'fail':
      return { symbol: SYMBOL.fail, tone: 'red' };
    case 'warn':
      return { symbol: SYMBOL.warn, tone: 'yellow' };
    case 'skip':
      return { symbol: SYMBOL.skip, tone: 'dim' };
    default:
      return { symbol: '·', tone: 'dim' };
  }
}

export interface Segment {
  text: string;
  tone: Tone;
}

/**
 * Toned segments laid out as one text wrapped to `width` at word boundaries (our own breaking, so a
 * continuation line never starts with the space it broke at, and the line count is known). Given
 * line breaks in a segment start a new line.
 */
export function Wrapped({ segments, width }: { segments: Segment[]; width: number }) {
  const paragraphs: Segment[][] = [[]];
  for (const seg of segments) {
    seg.text.split('\n').forEach((part, i) => {
      if (i > 0) paragraphs.push([]);
      if (part) paragraphs.at(-1)!.push({ text: part, tone: seg.tone });
    });
  }
  const lines: Segment[][] = [];
  for (const para of paragraphs) {
    const text = para.map((s) => s.text).join('');
    for (const [from, to] of wrapRanges(text, width)) {
      const line: Segment[] = [];
      let at = 0;
      for (const s of para) {
        const a = Math.max(from, at);
        const b = Math.min(to, at + s.text.length);
        if (b > a) line.push({ text: text.slice(a, b), tone: s.tone });
        at += s.text.length;
      }
      lines.push(line);
    }
  }
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.length === 0 ? ' ' : line.map((s, j) => (
            <Tinted key={j} tone={s.tone}>
              {s.text}
            </Tinted>
          ))}
        </Text>
      ))}
    </Box>
  );
}
