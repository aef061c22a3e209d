/** BENCHMARKS.md sections and the benchmark statistics (no timing is asserted anywhere). */
import { describe, expect, it } from 'vitest';
import { replaceSection, table } from '../../bench/report.js';
import { median, medianOfRounds, percentile, rotate, roundStats, slope } from '../../bench/stats.js';

describe('BENCHMARKS.md sections', () => {
  it('creates the document with both sections', () => {
    const doc = replaceSection(undefined, 'bench', '## Benchmarks\n\nfigures\n');
    expect(doc).toContain('<!-- bench:start -->\n## Benchmarks\n\nfigures\n<!-- bench:end -->');
    expect(doc).toContain('<!-- soak:start -->\n## Soak\n\nNot run yet');
  });

  it('replacing one section keeps the other', () => {
    const first = replaceSection(undefined, 'soak', '## Soak\n\nzero errors\n');
    const second = replaceSection(first, 'bench', '## Benchmarks\n\nnew\n');
    expect(second).toContain('zero errors');
    expect(second).toContain('new');
    const third = replaceSection(second, 'bench', '## Benchmarks\n\nnewer\n');
    expect(third).toContain('newer');
    expect(third).not.toContain('\nnew\n');
    expect(third.match(/bench:start/g)).toHaveLength(1);
    expect(third).toContain('zero errors');
  });

  it('each program replaces only its own section: bench, soak and package size survive each other', () => {
    let doc = replaceSection(undefined, 'package', '## Package size\n\n201 KiB\n');
    doc = replaceSection(doc, 'bench', '## Benchmarks\n\nfast\n');
    doc = replaceSection(doc, 'soak', '## Soak\n\nstable\n');
    expect(doc).toContain('<!-- package:start -->\n## Package size\n\n201 KiB\n<!-- package:end -->');
    expect(doc).toContain('fast');
    expect(doc).toContain('stable');
    expect(replaceSection(doc, 'package', '## Package size\n\n202 KiB\n')).not.toContain('201 KiB');
  });

  it('the cluster-requests section (npm run bench:cluster) is kept by the other programs and keeps theirs', () => {
    const withBoth = replaceSection(replaceSection(undefined, 'soak', '## Soak\n\nzero errors\n'), 'bench', '## Benchmarks\n\nfigures\n');
    expect(withBoth).toContain('<!-- cluster-requests:start -->\n## Cluster target: requests to the API server\n\nNot run yet');
    const cluster = replaceSection(withBoth, 'cluster-requests', '## Cluster target: requests to the API server\n\n187 requests\n');
    const again = replaceSection(cluster, 'bench', '## Benchmarks\n\nnewer\n');
    expect(again).toContain('187 requests');
    expect(again).toContain('zero errors');
    expect(again).toContain('newer');
    expect(again.match(/cluster-requests:start/g)).toHaveLength(1);
  });

  it('renders a markdown table', () => {
    expect(table(['a', 'b'], [[1, 'x']])).toBe('| a | b |\n| --- | --- |\n| 1 | x |');
  });
});

describe('statistics', () => {
  it('percentiles interpolate between closest ranks', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([0, 10], 99)).toBeCloseTo(9.9);
    expect(percentile([], 50)).toBeNaN();
    expect(median([5, 1, 3])).toBe(3);
  });

  it('the figure is the median of the round medians (and of the round p99s)', () => {
    const rounds = [roundStats([1, 1, 1, 9]), roundStats([2, 2, 2, 2]), roundStats([3, 3, 3, 100])];
    const m = medianOfRounds(rounds);
    expect(m.p50).toBe(2);
    expect(m.n).toBe(12);
    expect(m.p99).toBeCloseTo(roundStats([1, 1, 1, 9]).p99);
  });

  it('rotates targets by round and fits a slope', () => {
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 3)).toEqual(['a', 'b', 'c']);
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
  });
});
