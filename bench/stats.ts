/**
 * Small statistics for the benchmarks: percentiles of raw samples (linear interpolation between
 * closest ranks), the median of round medians, and number formatting for BENCHMARKS.md.
 */

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** Per round, the p50 and p99 of that round's samples; the figure is the median over rounds of each. */
export interface RoundStats {
  p50: number;
  p99: number;
  n: number;
}

export function roundStats(samples: readonly number[]): RoundStats {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), n: samples.length };
}

export function medianOfRounds(rounds: readonly RoundStats[]): RoundStats {
  return { p50: median(rounds.map((r) => r.p50)), p99: median(rounds.map((r) => r.p99)), n: rounds.reduce((a, r) => a + r.n, 0) };
}

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export const ms = (v: number, digits = 3): string => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');
export const x = (v: number, digits = 2): string => (Number.isFinite(v) ? `${v.toFixed(digits)}×` : 'n/a');
export const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** Rotates a list by `round`, so that no target always runs first (or last) in its round. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
