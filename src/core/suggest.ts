/** "Did you mean": the known word closest to what was typed, when it is close enough to be a typo. */

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest of `known` to `typed` (case-insensitive), or undefined when none is within a third of its length. */
export function closest(typed: string, known: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  let best: { word: string; d: number } | undefined;
  for (const word of known) {
    const d = distance(t, word.toLowerCase());
    if (!best || d < best.d) best = { word, d };
  }
  return best && best.d <= Math.max(1, Math.floor(typed.length / 3)) ? best.word : undefined;
}

/** ` (did you mean "x"?)`, or nothing. */
export function didYouMean(typed: string, known: readonly string[]): string {
  const c = closest(typed, known);
  return c ? ` (did you mean "${c}"?)` : '';
}
