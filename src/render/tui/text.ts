/** Small text helpers that keep every line inside the terminal width. */

/** `a very long title…` — cuts the end, keeping the first `width - 1` characters. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width === 1) return '…';
  return `${text.slice(0, width - 1)}…`;
}

/** `/openai/…/completions` — cuts the middle of a path, where the least telling part usually is. */
export function truncateMiddle(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width < 5) return truncate(text, width);
  const keepEnd = Math.floor((width - 1) / 2);
  const keepStart = width - 1 - keepEnd;
  return `${text.slice(0, keepStart)}…${text.slice(text.length - keepEnd)}`;
}

/** Pads or cuts to exactly `width` characters. */
export function fit(text: string, width: number): string {
  return truncate(text, width).padEnd(Math.max(0, width));
}

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

export function spinnerFrame(clockMs: number): string {
  return SPINNER[Math.floor(clockMs / 80) % SPINNER.length]!;
}
