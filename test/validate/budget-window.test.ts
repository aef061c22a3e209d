/**
 * A validate run never fails because an earlier run spent the token budget (call 10 spends it on
 * purpose): where the target shows the budget, the run waits for the window before the first chat
 * and says so; where it does not, the first 429 makes it wait one window and ask again.
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { useTopology } from '../helpers/topology.js';
import { defaultConfig } from '../../src/core/config.js';
import { createTarget } from '../../src/targets/index.js';
import { runValidate, selectCalls } from '../../src/checks/run-validate.js';
import { validationCalls } from '../../src/checks/validate.js';
import type { EventInput } from '../../src/core/events.js';

const WINDOW = 6;

interface Doc {
  ok: boolean;
  checks: { id: string; outcome: string; message?: string }[];
  logs: { level: string; message: string }[];
  summaries: { title: string; facts: Record<string, unknown> }[];
}

describe('validate twice in a row on the free tier (budget 100 tokens)', () => {
  const topo = useTopology({ label: 'budget-window', config: { rateLimit: { windowSeconds: WINDOW } } });
  // useTopology writes the config beside the state dir and passes it to `up`.
  const configFile = () => join(dirname(topo.get().dir), 'config.json');

  it('the second run waits for the window an earlier run spent, says so, and passes', async () => {
    const args = ['validate', '--output', 'json', '--config', configFile()];
    // Given a first run that ends with call 10 spending the budget
    const first = await runCli(args, { stateDir: topo.get().dir });
    expect(first.code, first.stdout).toBe(0);
    // When validate runs again at once
    const second = await runCli(args, { stateDir: topo.get().dir });
    const doc = JSON.parse(second.stdout) as Doc;
    // Then it passes, and said it waited for the window (not a broken hop)
    expect(second.code, second.stdout).toBe(0);
    expect(doc.checks.filter((c) => c.outcome !== 'pass')).toEqual([]);
    const wait = doc.logs.find((l) => /^budget: user \S+ \(tier free\) has \d+ of 100 tokens left/.test(l.message));
    expect(wait?.message).toMatch(/waiting \d+ s for the window to reset/);
    expect(doc.summaries.find((s) => s.title === 'Expected results')?.facts['budget wait']).toMatch(/^\d+ s for the window an earlier run had spent$/);
  }, 120_000);

  it('where the budget cannot be read, the first 429 waits one window and the call is asked again', async () => {
    // Given a spent budget and a session that cannot show it (as on a cluster without Limitador's counters)
    const spend = await runCli(['validate', '--only', '10', '--output', 'json', '--config', configFile()], { stateDir: topo.get().dir });
    expect(spend.code, spend.stdout).toBe(0);
    const cfg = { ...defaultConfig(), rateLimit: { ...defaultConfig().rateLimit, windowSeconds: WINDOW } };
    const target = await createTarget({ kind: 'local', cfg, env: { MAAS_EGRESS_DEMO_STATE_DIR: topo.get().dir }, warn: () => undefined });
    const session = await target.open();
    const blind = new Proxy(session, {
      get: (t, p) => {
        if (p === 'budget') return () => Promise.resolve(undefined);
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    try {
      // When calls 2 and 4 run
      const events: EventInput[] = [];
      for await (const e of runValidate(blind, selectCalls(validationCalls(cfg, session.providers()), '2,4'), new AbortController().signal)) events.push(e);
      // Then call 4 met the spent budget, waited one window, and passed when asked again
      const log = events.find((e) => e.kind === 'log' && /^budget: call 4 met 429 before call 10, .*waiting one window \(6 s\)/.test(e.message));
      expect(log).toBeDefined();
      const call4 = events.find((e) => e.kind === 'check' && e.id === 'call-4');
      expect(call4 && call4.kind === 'check' ? call4.outcome : undefined).toBe('pass');
    } finally {
      await session.close();
    }
  }, 120_000);
});
