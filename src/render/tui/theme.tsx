/**
 * Colour in one place: components ask for a tone, and with colour off (NO_COLOR, --no-color) every
 * tone renders as plain text. Nothing else changes between the two, in line with NO_COLOR.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { Text } from 'ink';
import type { Outcome } from '../../core/events.js';
import { SYMBOL } from '../style.js';

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
