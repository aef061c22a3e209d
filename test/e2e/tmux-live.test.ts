/**
 * The live commands in a real terminal (tmux 80×24): `up`, `validate --interactive`, `doctor` and
 * `down` on the local target, driven with send-keys and read with capture-pane, as a person sees them.
 * Needs tmux: without it the suite fails saying how to get it (test/helpers/prereq.ts).
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_KEYS } from '../helpers/topology.js';
import { requireTool } from '../helpers/prereq.js';
import { useDemoTerminal } from '../helpers/tmux.js';

requireTool('tmux');
const { term: terminal } = useDemoTerminal('live');

const run = (command: string): ((screen: string) => boolean) => terminal().run(command);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live commands in a real terminal (tmux 80×24)', () => {
  test('up shows every step ready and where the gateway is', async () => {
    const ended = run('tmux clear-history; node bin/demo.js up');
    await terminal().waitFor(ended, 'up to finish');
    // The whole output, scrollback included (steps wrap their titles at 80 columns)
    const s = terminal().history();
    for (const step of ['platform', '1', '2', '3', '3a', '4', '5']) expect(s).toMatch(new RegExp(`√ step ${step} `));
    expect(s).toContain('MaaS gateway: https://127.0.0.1:');
    expect(s).toContain('EXIT=0');
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  }, 60_000);

  test('validate --interactive: every result, ↓ selects a call, enter opens its hop trace, q restores the prompt', async () => {
    const ended = run('node bin/demo.js validate --interactive');
    const done = await terminal().waitFor((x) => x.includes('validate done'), 'validate to finish');
    expect(done).toContain('√ validate done · 10 passed · exit 0');
    expect(done).toContain('↑/↓ select · enter trace · q quit');
    terminal().keys('Down');
    await pause(200);
    terminal().keys('Down');
    await pause(200);
    terminal().keys('Down');
    await pause(200);
    terminal().keys('Enter');
    const trace = await terminal().waitFor((x) => x.includes('trace of call-4'), 'the trace of call 4');
    expect(trace).toContain('maas-gateway');
    expect(trace).toContain('/external/openai/v1/chat/completions → /openai/v1/chat/completions');
    expect(trace).toContain('sk-o…demo');
    expect(trace).not.toContain('sk-openai-key-for-demo');
    terminal().keys('q');
    const after = await terminal().waitFor(ended, 'the TUI to quit');
    expect(after).toContain('EXIT=0');
    // The terminal is back in canonical mode: a typed command runs.
    const answered = await terminal().waitFor(run('echo typed-ok'), 'the shell to answer');
    expect(answered).toMatch(/^typed-ok$/m);
    expect(answered).toMatch(/^EXIT=0 #\d+$/m);
  }, 60_000);

  test('doctor shows each category with its checks, no failure, the expected warnings, and a summary that agrees', async () => {
    // call 10 spends the free tier's budget first (whatever the tests before did), so the budget warning is certain
    await terminal().waitFor(run('node bin/demo.js validate --only 10 --output plain > /dev/null; node bin/demo.js doctor'), 'doctor to finish');
    const all = terminal().history();
    const s = all.slice(all.lastIndexOf('maas-egress-demo doctor · target local'));
    const lines = s.split('\n').map((l) => l.trimEnd());
    expect(s).toContain('EXIT=0');
    // the six categories, in order, each with a line per check: mark, description, [id]
    const categories = ['install', 'rewrites', 'key-injection', 'rate-limits', 'model-listing', 'exposure'];
    const where = categories.map((c) => lines.indexOf(c));
    expect(where.filter((i) => i < 0), `categories missing from the screen:\n${s}`).toEqual([]);
    expect(where).toEqual([...where].sort((a, b) => a - b));
    const results = lines.filter((l) => /^[√×‼-] .*\[[a-z0-9-]+\]$/.test(l));
    const ids = results.map((l) => /\[([a-z0-9-]+)\]$/.exec(l)![1]);
    expect(ids).toEqual(expect.arrayContaining(['install-target-reachable', 'rewrite-egress-strips-prefix', 'key-injected', 'ratelimit-counts-tokens', 'models-listed-routable', 'exposure-user-token-forwarded']));
    expect(results.filter((l) => l.startsWith('× ')), 'failed checks').toEqual([]);
    // the warnings, all expected: the seed design's keys as literals, the tier era's five exposures (each with a
    // fix), and the free tier's budget, which call 10 has just spent (its window lasts a minute)
    expect(results.filter((l) => l.startsWith('‼ ')).map((l) => /\[([a-z0-9-]+)\]$/.exec(l)![1]).sort()).toEqual(['exposure-burst-overshoot', 'exposure-keys-in-policies', 'exposure-stream-usage', 'exposure-tierless-tokens', 'exposure-token-chaining', 'exposure-token-lifetime', 'ratelimit-budget']);
    expect(s).toMatch(/tier free: \d+ of 100 tokens spent, window resets in \d+ s/);
    expect(s).toContain('warnings: 7 (7 expected for the seed design)');
    expect(s).toContain('hint: docs/doctor.md#doctor-exposure');
    for (const key of Object.values(DEFAULT_KEYS)) expect(s).not.toContain(key);
    // the summary counts what the screen listed
    const count = (mark: string) => results.filter((l) => l.startsWith(`${mark} `)).length;
    expect(s).toContain('failed: 0');
    expect(s).toContain(`√ doctor done · ${count('√')} passed · 7 warnings · ${count('-')} skipped · exit 0`);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
  }, 60_000);

  test('down leaves nothing running', async () => {
    const s = await terminal().waitFor(run('node bin/demo.js down'), 'down to finish');
    expect(s).toContain('EXIT=0');
    expect(s).toMatch(/√ step down/);
  }, 60_000);
});
