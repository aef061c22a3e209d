/**
 * A new user's first minutes with a broken install, in a real terminal (tmux 80×24): `up --fault
 * rewrite-double-slash`, `validate --interactive`, open call 4's trace, scroll to the broken hop,
 * resize the terminal on the way, quit; then `doctor`. Asserted as a person sees the screen:
 * the broken hop is reachable and stays on screen after q, nothing is left over from the live area,
 * doctor shows one heading per category and no title cut inside a word. Also: JUnit from this failing
 * run is read by a strict XML parser. Needs tmux and a build; skipped when tmux is missing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseXml } from '../helpers/xml.js';
import { requireTool } from '../helpers/prereq.js';
import { tmux, useDemoTerminal } from '../helpers/tmux.js';

requireTool('tmux');

const root = fileURLToPath(new URL('../../', import.meta.url));
const { term: terminal, base, stateDir } = useDemoTerminal('fault');

/** The end of the latest run: its own EXIT line on screen (not the previous run's, not the typed command). */
let ended: (screen: string) => boolean = () => false;
/** Starts a command on a cleared screen with no scrollback, so the history holds this command only. */
const run = (command: string): void => {
  ended = terminal().run(command, { clearHistory: true });
};

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

describe('first contact with a broken install, in a real terminal (tmux 80×24)', () => {
  test('up --fault rewrite-double-slash: each step with its time, what a step said indented under it, the fault named', async () => {
    run('node bin/demo.js up --fault rewrite-double-slash');
    const s = await terminal().waitFor(ended, 'up to finish', 60_000);
    expect(s).toContain('EXIT=0');
    const all = terminal().history();
    // Between the first and the last step every line is a step line or indented under one: no bare line
    const lines = all.split('\n');
    const first = lines.findIndex((l) => /^√ step /.test(l));
    const last = lines.findLastIndex((l) => /^√ step /.test(l));
    expect(last).toBeGreaterThan(first);
    for (const line of lines.slice(first, last + 1)) expect(line, line).toMatch(/^(√ step | {4,}\S)/);
    // What the run said after its steps is marked as part of the view too
    expect(all).toMatch(/^‼ planted fault rewrite-double-slash/m);
    expect(all).toMatch(/^· local topology ready in \d+ ms$/m);
    for (const line of all.split('\n')) {
      expect(line.length).toBeLessThanOrEqual(80);
      // a step's time is never cut
      if (/^√ step /.test(line)) expect(line).toMatch(/ (\d+ ms|\d+\.\d s)$|· /);
    }
  }, 90_000);

  test('validate --interactive: open call 4, scroll to the broken hop, resize on the way, quit: the hop stays, nothing else is left', async () => {
    run('node bin/demo.js validate --interactive');
    // The browser opens on the first failed call
    await terminal().waitFor((x) => x.includes('q quit') && x.includes('› × 4 openai chat'), 'the browser on call 4');
    terminal().keys('Enter');
    const open = await terminal().waitFor((x) => x.includes('trace of call-4'), 'the trace of call 4');
    expect(open).toMatch(/lines 1–\d+ of \d+ · ↓ \d+ below/);
    expect(open).toContain('↑/↓ PgUp/PgDn Home/End scroll · esc close · q quit');

    // A narrower, shorter terminal while the trace is open: redrawn whole, no line wider than it
    tmux('resize-window', '-t', terminal().session, '-x', '60', '-y', '20');
    const narrow = await terminal().waitFor((x) => x.split('\n').some((l) => /^› × 4 openai chat.*\[call-4\]$/.test(l.trimEnd()) && l.trimEnd().length <= 60) && x.includes('esc close'), 'the trace at 60 columns');
    for (const line of narrow.split('\n')) expect(line.trimEnd().length).toBeLessThanOrEqual(60);
    expect(count(narrow, /esc close/)).toBe(1);
    expect(count(narrow, /validate failed/)).toBe(1);
    tmux('resize-window', '-t', terminal().session, '-x', '80', '-y', '24');
    await terminal().waitFor((x) => x.split('\n').some((l) => /^› × 4 openai chat.*\[call-4\]$/.test(l.trimEnd()) && l.trimEnd().length > 60), 'the trace back at 80 columns');

    // Scroll down a page at a time until the broken hop is on screen
    let seen = terminal().screen();
    for (let i = 0; i < 6 && !seen.includes('├ 2 egress-gateway  × broken here'); i++) {
      terminal().keys('PageDown');
      await new Promise((r) => setTimeout(r, 250));
      seen = terminal().screen();
    }
    expect(seen).toContain('├ 2 egress-gateway  × broken here');
    expect(seen).toContain('/openai/v1/chat/completions → //v1/chat/completions');
    expect(seen).not.toContain('sk-openai-key-for-demo');

    // Quit: the trace the user was reading stays, the live area's extras are gone, the prompt follows
    terminal().keys('q');
    const after = await terminal().waitFor(ended, 'the TUI to quit');
    expect(after).toContain('EXIT=1');
    expect(after).toContain('├ 2 egress-gateway  × broken here');
    expect(after).not.toMatch(/q quit|esc close|enter trace/);
    expect(count(after, /× validate failed · \d+ passed · \d+ failed/)).toBe(1);
    expect(after).toMatch(/× validate failed .*\nEXIT=1 #\d+\nREADY\$/);
    for (const line of after.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // The scrollback holds one drawing of the run (the resize redrew it once, from a cleared screen)
    const all = terminal().history();
    expect(count(all, /^maas-egress-demo validate · target local/)).toBe(1);
    expect(count(all, /^× validate failed/)).toBe(1);
    // The terminal is usable: a typed command runs
    run('echo typed-ok');
    await terminal().waitFor((x) => ended(x) && x.includes('typed-ok') && x.includes('EXIT=0'), 'the shell to answer');
  }, 90_000);

  test('doctor: one heading per category, no title cut inside a word, the broken hop named', async () => {
    run('node bin/demo.js doctor');
    await terminal().waitFor(ended, 'doctor to finish', 60_000);
    const all = terminal().history();
    for (const category of ['install', 'rewrites', 'key-injection', 'rate-limits', 'model-listing', 'exposure']) {
      expect(count(all, new RegExp(`^${category}$`)), category).toBe(1);
    }
    expect(all).not.toMatch(/^-{5,}$/m);
    // A check's line ends with its id; its title wraps instead of being cut (no "…" on those lines)
    const heads = all.split('\n').filter((l) => /\[[a-z0-9-]+\]$/.test(l.trimEnd()));
    expect(heads.length).toBeGreaterThan(10);
    for (const line of heads) expect(line, line).not.toContain('…');
    expect(all).toMatch(/× the egress gateway strips/);
    expect(all).toContain('broken hop: egress-gateway');
    expect(all).toContain('hint: docs/doctor.md#doctor-rewrites');
    for (const line of all.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  }, 90_000);

  test('JUnit of the failing validate run is well-formed XML, its tests named by their titles', () => {
    const file = join(base, 'validate.xml');
    const r = spawnSync('node', ['bin/demo.js', 'validate', '--output', 'plain', '--skip', '10', '--junit', file], { cwd: root, env: { ...process.env, MAAS_EGRESS_DEMO_STATE_DIR: stateDir, FORCE_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    const xml = readFileSync(file, 'utf8');
    const suite = parseXml(xml).children[0]!.children.find((c) => c.name === 'testsuite')!;
    const cases = suite.children.filter((c) => c.name === 'testcase');
    expect(cases.map((c) => c.attributes.name)).toContain('4 openai chat through both gateways');
    expect(Number(suite.attributes.failures)).toBeGreaterThanOrEqual(1);
    const call4 = cases.find((c) => c.attributes.name === '4 openai chat through both gateways')!;
    expect(call4.children.find((c) => c.name === 'failure')!.text).toContain('broken hop: egress-gateway');
    expect(xml).not.toContain('sk-openai-key-for-demo');
  }, 90_000);
});
