/**
 * Faults in a running local topology, filling the gaps test/local/lifecycle.test.ts and
 * test/cli/exit-codes.test.ts leave: hops killed in the middle of a `validate` run (the failing calls
 * name the dead hop, not the gateway that reported it), validate/env refusing the broken topology and
 * doctor's install category naming the stopped components, `up` restarting exactly those, `down`
 * after a hop was killed and `down` of a stale state (every hop dead), two `up` at once on a fresh
 * state dir, and Ctrl-C late in `up` (every process already started).
 */
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ndjsonLines, runCli, spawnCli, tempStateDir } from '../helpers/run-cli.js';
import { pidAlive, portOpen, readStateFile, useStateDirs, useTopology, waitDead } from '../helpers/topology.js';

const topo = useTopology({ label: 'faults' });

/** Stops `pid` (SIGSTOP) while `fn` runs, so what `fn` does happens between two of its steps. */
async function whilePaused(pid: number, fn: () => Promise<void>): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

async function kill(component: string): Promise<void> {
  const pid = readStateFile(topo.get().dir)!.components[component]!.pid;
  process.kill(pid, 'SIGKILL');
  expect(await waitDead([pid]), `${component} dead`).toEqual([]);
}

interface CheckEv {
  kind: 'check';
  id: string;
  outcome: string;
  hop?: string;
  message?: string;
  actual?: string;
}
interface HopEv {
  kind: 'hop';
  check: string;
  hop: string;
  source: string;
  status?: number;
  detail?: Record<string, string>;
}

describe('hops killed in the middle of a validate run', () => {
  let events: Record<string, unknown>[] = [];
  let code: number | null = null;

  test('the egress gateway dies before the provider calls and the on-prem model before call 7: validate exits 1 and blames each dead hop', async () => {
    const t = topo.get();
    const { child, result } = spawnCli(['validate', '--output', 'ndjson'], { stateDir: t.dir });
    let seen = '';
    const done = { egress: false, onprem: false };
    // The CLI is paused while the hop is killed, so the kill lands between two calls whatever the load:
    // the egress gateway before call 1 (calls 1–3 never use it), the on-prem model before call 4
    // (call 3's model listing asked it; calls 4–6 do not).
    const pending: Promise<void>[] = [];
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      if (!done.egress && /"kind":"check-start","id":"call-1"/.test(seen)) {
        done.egress = true;
        pending.push(whilePaused(child.pid!, () => kill('egress-gateway')));
      }
      if (!done.onprem && /"kind":"check-start","id":"call-4"/.test(seen)) {
        done.onprem = true;
        pending.push(whilePaused(child.pid!, () => kill('onprem-sim')));
      }
    });
    const r = await result;
    await Promise.all(pending);
    expect(done).toEqual({ egress: true, onprem: true });
    events = ndjsonLines(r.stdout);
    code = r.code;
    expect(code, r.stderr).toBe(1);

    const checks = Object.fromEntries(events.filter((e): e is CheckEv & Record<string, unknown> => e.kind === 'check').map((e) => [e.id, e]));
    for (const id of ['call-1', 'call-2', 'call-3', 'call-8', 'call-9']) expect(checks[id]?.outcome, id).toBe('pass');
    for (const id of ['call-4', 'call-5', 'call-6']) {
      expect(checks[id], id).toMatchObject({ outcome: 'fail', hop: 'egress-gateway' });
      expect(checks[id]!.message, id).toMatch(/^egress-gateway down or unreachable: the MaaS gateway could not get an answer from it \(503 upstream (connect error \(UF: nothing listening\)|reset \(UC\))\)$/);
      expect(checks[id]!.actual, id).toMatch(/^503 maas-gateway 503 upstream/);
    }
    expect(checks['call-7']).toMatchObject({ outcome: 'fail', hop: 'onprem' });
    expect(checks['call-7']!.message).toMatch(/^onprem down or unreachable: .*\(503 upstream (connect error|reset)/);
    expect(checks['call-10']).toMatchObject({ outcome: 'fail', hop: 'egress-gateway' });
    expect(events.at(-1)).toMatchObject({ kind: 'run-end', ok: false, exitCode: 1 });
  });

  test('the trace shows the MaaS gateway’s own 503 (UF/UC) toward the dead hop and nothing behind it', () => {
    const hops = events.filter((e): e is HopEv & Record<string, unknown> => e.kind === 'hop');
    for (const [check, upstream] of [
      ['call-5', 'egress'],
      ['call-6', 'egress'],
      ['call-7', 'onprem'],
    ] as const) {
      const of = hops.filter((h) => h.check === check);
      const gw = of.find((h) => h.hop === 'maas-gateway');
      expect(gw, check).toMatchObject({ source: 'observed', status: 503 });
      expect(gw!.detail!.upstream, check).toBe(upstream);
      // UF: nothing listening; UC: a pooled connection the kill reset
      expect(['UF', 'UC'], check).toContain(gw!.detail!.flags);
      expect(of.filter((h) => h.hop.startsWith('provider:') || (h.hop === 'onprem' && h.source === 'observed')), check).toEqual([]);
      expect(of.filter((h) => h.hop === 'egress-gateway' && h.source === 'observed'), check).toEqual([]);
    }
  });

  test('validate and env now refuse the broken topology naming both dead hops; doctor’s install category names them and says demo up', async () => {
    const t = topo.get();
    const v = await runCli(['validate', '--output', 'json'], { stateDir: t.dir });
    expect(v.code).toBe(2);
    const doc = JSON.parse(v.stdout) as { ok: boolean; error: { message: string; hint: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error.message).toMatch(/^the local topology is broken: (egress-gateway, onprem-sim|onprem-sim, egress-gateway) not running$/);
    expect(doc.error.hint).toMatch(/demo up/);

    const env = await runCli(['env'], { stateDir: t.dir });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/the local topology is broken: .*egress-gateway/);

    const d = await runCli(['doctor', '--category', 'install', '--output', 'json'], { stateDir: t.dir });
    expect(d.code).toBe(1);
    const dr = JSON.parse(d.stdout) as { checks: { id: string; outcome: string; hop?: string; message?: string; evidence?: string[]; fix?: string }[] };
    const comp = dr.checks.find((c) => c.id === 'install-components')!;
    expect(comp.outcome).toBe('fail');
    expect(['egress-gateway', 'onprem']).toContain(comp.hop);
    expect(comp.message).toMatch(/egress-gateway: not running/);
    expect(comp.message).toMatch(/onprem-sim: not running/);
    expect(comp.evidence!.filter((e) => e.startsWith('NOT OK')).length).toBe(2);
    expect(comp.evidence!.filter((e) => e.startsWith('ok ')).length).toBe(Object.keys(t.state.components).length - 2);
    expect(JSON.stringify(comp.fix)).toMatch(/demo up/);

    const plain = await runCli(['doctor', '--category', 'install', '--output', 'plain'], { stateDir: t.dir });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/egress-gateway: not running/);
  });

  test('up detects the broken topology and restarts exactly the dead hops on their ports; validate passes again', async () => {
    const t = topo.get();
    const before = readStateFile(t.dir)!;
    const up = await runCli(['up', '--output', 'json'], { stateDir: t.dir });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/Restart stopped hops: (egress-gateway, onprem-sim|onprem-sim, egress-gateway)/);
    const after = readStateFile(t.dir)!;
    for (const [name, c] of Object.entries(before.components)) {
      expect(after.components[name]!.port, name).toBe(c.port);
      if (name === 'egress-gateway' || name === 'onprem-sim') {
        expect(after.components[name]!.pid, name).not.toBe(c.pid);
        t.pids.push(after.components[name]!.pid);
      } else expect(after.components[name]!.pid, name).toBe(c.pid);
      expect(pidAlive(after.components[name]!.pid), name).toBe(true);
    }
    const v = await runCli(['validate', '--output', 'json'], { stateDir: t.dir });
    const doc = JSON.parse(v.stdout) as { checks: { id: string; outcome: string; message?: string }[] };
    expect(doc.checks.filter((c) => c.outcome !== 'pass'), v.stdout.slice(0, 3000)).toEqual([]);
    expect(v.code).toBe(0);
  });
});

describe('down after a hop was killed', () => {
  test('stops the rest, reports the dead hop as already gone, and leaves no process, no port and no state; a second down is a no-op', async () => {
    const t = topo.get();
    const state = readStateFile(t.dir)!;
    await kill('maas-api');
    const down = await runCli(['down', '--output', 'json'], { stateDir: t.dir });
    expect(down.code, down.stderr).toBe(0);
    const doc = JSON.parse(down.stdout) as { ok: boolean; steps: { applied: { object: string; action: string }[] }[] };
    expect(doc.ok).toBe(true);
    const applied = doc.steps.flatMap((s) => s.applied);
    expect(applied.find((a) => a.object.startsWith('process/maas-api '))?.action).toBe('unchanged');
    expect(applied.filter((a) => a.object.startsWith('process/') && a.action === 'stopped').length).toBe(Object.keys(state.components).length - 1);
    const pids = Object.values(state.components).map((c) => c.pid);
    expect(await waitDead(pids)).toEqual([]);
    for (const c of Object.values(state.components)) {
      expect(await portOpen(c.port), `port ${c.port}`).toBe(false);
      if (c.adminPort) expect(await portOpen(c.adminPort), `admin port ${c.adminPort}`).toBe(false);
    }
    expect(readStateFile(t.dir)).toBeUndefined();

    const again = await runCli(['down', '--output', 'json'], { stateDir: t.dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to tear down');
  });
});

describe('on a fresh state dir', () => {
  const { dirs, started } = useStateDirs();

  test('two up at once: one builds the topology, the other says the lock is taken (or finds it up); then a stale state is cleaned by down', async () => {
    const dir = tempStateDir('twin-up');
    dirs.push(dir);
    const [a, b] = await Promise.all([runCli(['up', '--output', 'plain'], { stateDir: dir }), runCli(['up', '--output', 'plain'], { stateDir: dir })]);
    const results = [a, b];
    const winner = results.find((r) => r.stdout.includes('Local topology ready'));
    expect(winner, results.map((r) => `exit ${r.code}: ${r.stdout.slice(-300)} ${r.stderr}`).join(' | ')).toBeDefined();
    expect(winner!.code).toBe(0);
    const loser = results.find((r) => r !== winner)!;
    if (loser.code === 2) expect(loser.stdout + loser.stderr).toMatch(/^error: another demo command is already working on .*\nhint: /m);
    else {
      expect(loser.code).toBe(0);
      expect(loser.stdout).toContain('already up');
    }
    const state = readStateFile(dir)!;
    const pids = Object.values(state.components).map((c) => c.pid);
    started.push(...pids);
    // every component came from the winner: one process per component, all alive
    expect(pids.filter((p) => pidAlive(p))).toHaveLength(pids.length);

    // every hop dies: the state is stale, and down cleans it without complaint
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    expect(await waitDead(pids)).toEqual([]);
    const down = await runCli(['down', '--output', 'json'], { stateDir: dir });
    expect(down.code, down.stderr).toBe(0);
    const doc = JSON.parse(down.stdout) as { ok: boolean; steps: { applied: { object: string; action: string }[] }[] };
    expect(doc.ok).toBe(true);
    expect(doc.steps.flatMap((s) => s.applied).filter((x) => x.object.startsWith('process/')).map((x) => x.action)).toEqual(pids.map(() => 'unchanged'));
    expect(existsSync(dir) && readStateFile(dir) !== undefined).toBe(false);
  });

  test('Ctrl-C late in up (every process started, policies being programmed): exit 130 and nothing half-started', async () => {
    const dir = tempStateDir('late-sigint');
    dirs.push(dir);
    const { child, result } = spawnCli(['up', '--output', 'ndjson'], { stateDir: dir });
    let seen = '';
    let sent = false;
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      if (!sent && /"kind":"step-start","step":"4"/.test(seen)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const r = await result;
    const pids = [...new Set([...r.stdout.matchAll(/\bpid (\d+)/g)].map((m) => Number(m[1])))];
    started.push(...pids);
    expect(sent).toBe(true);
    expect(r.code, r.stdout.slice(-500)).toBe(130);
    // all seven processes had been started before the interrupt
    expect(pids.length).toBeGreaterThanOrEqual(7);
    expect(ndjsonLines(r.stdout).at(-1)).toMatchObject({ kind: 'run-end', ok: false, exitCode: 130 });
    expect(await waitDead(pids)).toEqual([]);
    expect(readStateFile(dir)).toBeUndefined();
    const env = await runCli(['env'], { stateDir: dir });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/not running/);
  });
});
