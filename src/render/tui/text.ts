/** Small text helpers that keep every line inside the terminal width. */

/** `a very long title…` — cuts the end, keeping the first `width - 1` characters. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width === 1) return '…';
  return `${text.slice(0, width - 1)}…`;
}

/**
 * `the egress gateway strips…` — shortens at a word boundary, so no word is cut in half; only a first
 * word longer than the room (a path, an id) is cut inside.
 */
export function shorten(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width === 1) return '…';
  const room = width - 1;
  // A space at index `room` means the word before it ends exactly at the edge.
  const space = text.slice(0, room + 1).lastIndexOf(' ');
  if (space > 0) {
    const kept = text.slice(0, space).replace(/[\s,;:·(–—-]+$/, '');
    if (kept.length > 0) return `${kept}…`;
  }
  return `${text.slice(0, room)}…`;
}

/**
 * Where to break one line of text (no newlines) into lines of at most `width` characters: at spaces,
 * the space itself dropped, so no line starts or ends with the break; a word longer than a line is
 * broken inside. Returns [start, end) ranges into `text`.
 */
export function wrapRanges(text: string, width: number): [number, number][] {
  const w = Math.max(1, width);
  const out: [number, number][] = [];
  let i = 0;
  while (i < text.length) {
    if (text.length - i <= w) {
      out.push([i, text.length]);
      break;
    }
    // A space at i + w means the word before it ends exactly at the edge.
    const space = text.lastIndexOf(' ', i + w);
    if (space > i) {
      out.push([i, space]);
      i = space + 1;
    } else {
      out.push([i, i + w]);
      i += w;
    }
  }
  return out.length ? out : [[0, 0]];
}

/**
 * Lines of at most `width` characters, broken at spaces (a word longer than a line is broken inside),
 * given line breaks kept; used where the number of lines must be known up front.
 */
export function wrapWords(text: string, width: number): string[] {
  return text.split('\n').flatMap((para) => wrapRanges(para, width).map(([a, b]) => para.slice(a, b)));
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
