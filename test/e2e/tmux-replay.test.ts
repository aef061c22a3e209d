/**
 * A real terminal: `demo replay` of the fixture streams inside tmux at 80×24, asserting what the
 * screen shows, that keys work, and that q hands back a sane shell (canonical mode, cursor shown).
 * Needs tmux (without it the suite fails saying how to get it) and a build (`npm run build`, run here in beforeAll).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { requireTool } from '../helpers/prereq.js';
import { Terminal, tmux } from '../helpers/tmux.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
requireTool('tmux');
const terminals: Terminal[] = [];

/** A fresh 80×24 shell with a known prompt (closed after each test). */
async function shell(): Promise<Terminal> {
  const term = await Terminal.open(`demo-e2e-${process.pid}-${terminals.length}`, root);
  terminals.push(term);
  return term;
}

const fixture = (name: string) => `test/fixtures/streams/${name}.ndjson`;

describe('demo replay in a real terminal (tmux 80×24)', () => {
  beforeAll(() => {
    // The run's global setup built dist/ from the current sources.
    if (!existsSync(`${root}dist/src/cli/commands/replay.js`)) throw new Error('build failed: dist/src/cli/commands/replay.js is missing');
  }, 120_000);

  afterEach(() => {
    for (const t of terminals.splice(0)) t.close();
  });

  test('leaves the final screen in place and exits with the recorded code', async () => {
    const s = await shell();
    const ended = s.run(`node bin/demo.js replay ${fixture('validate')} --speed 0`);
    const final = await s.waitFor(ended, 'the replay to end');
    expect(final).toContain('× validate failed · 3 passed · 1 failed · 1 skipped · exit 1');
    expect(final).toContain('│ 5    │ 200 message from claude   │ 404 from anthropic-sim    │ × │');
    expect(final).toContain('EXIT=1');
    expect(final).not.toContain('q quit');
    for (const line of final.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  test('an error ends in the banner with its hint', async () => {
    const s = await shell();
    const ended = s.run(`node bin/demo.js replay ${fixture('up-failed')} --speed 0`);
    const final = await s.waitFor(ended, 'the replay to end');
    expect(final).toContain('│ error: step 1 did not become ready');
    expect(final).toContain('│ try:   check the image pull secret, then resume with `npx maas-egress-demo   │');
    expect(final).toContain('EXIT=1');
  });

  test('--interactive: ↓ and enter open a trace, q quits and restores the terminal', async () => {
    const s = await shell();
    s.run(`node bin/demo.js replay ${fixture('validate')} --speed 0 --interactive`);
    await s.waitFor((x) => x.includes('↑/↓ select · enter trace · q quit'), 'the browser');
    expect(s.screen()).toContain('› × 5 Anthropic messages through both gateways');
    s.keys('Down');
    await s.waitFor((x) => x.includes('› √ 8 no token'), 'the selection to move');
    s.keys('Enter');
    const open = await s.waitFor((x) => x.includes('trace of call-8'), 'the trace of call 8');
    expect(open).toContain('└ 1 maas-gateway  answered');
    s.keys('q');
    const after = await s.waitFor((x) => x.includes('EXIT=1') && /READY\$ *$/m.test(x.split('EXIT=1')[1] ?? ''), 'the prompt after q');
    expect(after).toContain('× validate failed');
    // The trace the user was reading stays on screen, the key help does not
    expect(after).toContain('trace of call-8');
    expect(after).not.toMatch(/q quit|esc close/);
    // The terminal is back in canonical mode with the cursor shown.
    s.keys("stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon", 'Enter');
    await s.waitFor((x) => /^-?icanon$/m.test(x), 'stty');
    expect(s.screen()).toMatch(/^icanon$/m);
    expect(tmux('display-message', '-p', '-t', s.session, '#{cursor_flag}').trim()).toBe('1');
  });

  test('with a long trace open the live area stays shorter than the screen, so the final screen ends cleanly', async () => {
    // Given the recording of a real local validate run, with the trace of call 5 open
    const s = await shell();
    const ended = s.run('node bin/demo.js replay recordings/validate.ndjson --speed 0 --interactive');
    await s.waitFor((x) => x.includes('q quit'), 'the browser');
    for (const key of ['Down', 'Down', 'Down', 'Down']) s.keys(key);
    await s.waitFor((x) => x.includes('› √ 5 anthropic'), 'call 5 selected');
    s.keys('Enter');
    const open = await s.waitFor((x) => x.includes('trace of call-5'), 'the trace');
    // Then the whole live area is on screen (list, trace, status, key help)
    expect(open).toContain('  ├ 1 maas-gateway');
    expect(open).toMatch(/keyInjected=x-provider-api-key: sk-a…demo/i);
    expect(open).not.toContain('sk-ant-claude-key-for-demo');
    expect(open.trimEnd().split('\n').at(-1)).toContain('q quit');
    s.keys('q');
    const after = await s.waitFor(ended, 'exit');
    expect(after).toMatch(/^√ validate done · 10 passed · exit 0\s*\nEXIT=0 #\d+$/m);
  });

  test('the live area reflows when the terminal gets narrower', async () => {
    const s = await shell();
    s.run(`node bin/demo.js replay ${fixture('validate')} --speed 0 --interactive`);
    await s.waitFor((x) => x.includes('q quit'), 'the browser');
    tmux('resize-window', '-t', s.session, '-x', '60', '-y', '24');
    const narrow = await s.waitFor((x) => x.split('\n').some((l) => /^› × 5 Anthropic.*\[call-5\]$/.test(l.trimEnd()) && l.trimEnd().length <= 60), 'the list at 60 columns');
    expect(narrow).toContain('q quit');
    s.keys('q');
    await s.waitFor((x) => x.includes('EXIT=1'), 'exit');
  });
});
