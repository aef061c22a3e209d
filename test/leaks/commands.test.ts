/**
 * Secret-leak scan of every command that works on a local topology, in every output format (plain,
 * json, ndjson) with `--junit` and `--record` files, and of the topology's logs/ (and run/) before
 * `down`: zero occurrences of the canary provider keys, any cluster token, admin token or
 * token-signing key of the topologies made here, and of anything JWT-shaped (minted MaaS tokens).
 *
 * `up` and `down` run in each format on a topology they create / remove (three up/down cycles), and
 * `up` also on a running and on a broken topology. `env` is the one exception by design: its job is
 * to print CLUSTER_TOKEN for `eval`, so only the cluster token is allowed in its output.
 * `doctor --self-test` is scanned in self-test.test.ts, `manifests` and `replay` in offline.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempStateDir, type CliResult } from '../helpers/run-cli.js';
import { pidAlive, readStateFile, stopTopology } from '../helpers/topology.js';
import { CANARY_CONFIG, addTopologySecrets, canarySecrets, expectNoLeaks, filesUnder, leaksInFiles } from './scan.js';

const FORMATS = ['plain', 'json', 'ndjson'] as const;
type Format = (typeof FORMATS)[number];

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-leaks-'));
const configFile = join(work, 'config.json');
// A short budget window: each full validate spends the budget (call 10), and the next one waits for the window.
writeFileSync(configFile, JSON.stringify({ ...CANARY_CONFIG, rateLimit: { windowSeconds: 4 } }));
const dir = tempStateDir('leaks');
const secrets = canarySecrets();
const seenPids = new Set<number>();

afterAll(async () => {
  await stopTopology(dir, [...seenPids]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** Runs one command in one format with a JUnit file and a recording, scans stdout, stderr and both files. */
async function scanned(args: string[], format: Format, label = args.join(' ')): Promise<CliResult> {
  const base = join(work, `${label.replace(/[^a-z0-9]+/gi, '-')}-${format}`);
  const files = [`${base}.xml`, `${base}.ndjson`];
  const r = await runCli([...args, '--output', format, '--junit', files[0]!, '--record', files[1]!], { stateDir: dir, timeoutMs: 60_000 });
  const state = readStateFile(dir);
  if (state) {
    addTopologySecrets(secrets, dir, ` (${state.startedAt})`);
    for (const c of Object.values(state.components)) seenPids.add(c.pid);
  }
  expectNoLeaks(r.stdout, secrets, `${label} --output ${format}: stdout`);
  expectNoLeaks(r.stderr, secrets, `${label} --output ${format}: stderr`);
  const written = files.filter((f) => existsSync(f));
  // every command scanned here runs through the event stream: both files exist, so their scan is not vacuous
  // (the output was scanned above, so showing its tail on failure shows no secret)
  expect(written, `${label} --output ${format}: --junit and --record written (exit ${r.code}: ${r.stderr.slice(-400)} ${r.stdout.slice(-400)})`).toEqual(files);
  expect(leaksInFiles(written, secrets), `${label} --output ${format}: --junit/--record files`).toEqual([]);
  return r;
}

function expectLogsClean(when: string): void {
  const files = [...filesUnder(join(dir, 'logs')), ...filesUnder(join(dir, 'run'))];
  expect(files.filter((f) => f.endsWith('.log')).length, 'hop logs exist').toBeGreaterThanOrEqual(7);
  expect(leaksInFiles(files, secrets), `topology logs ${when}`).toEqual([]);
}

describe('up and down, each in every format', () => {
  test.each([{ format: 'plain' as const }, { format: 'json' as const }])('up --output $format on nothing, then down --output $format: no secret in output, recording, JUnit or logs', async ({ format }) => {
    const up = await scanned(['up', '--config', configFile], format, 'up-create');
    expect(up.code, up.stderr).toBe(0);
    expectLogsClean(`after up --output ${format}`);
    const down = await scanned(['down'], format, 'down');
    expect(down.code, down.stderr).toBe(0);
    expect(readStateFile(dir)).toBeUndefined();
  });

  test('up --output ndjson on nothing (the topology the rest of this file uses)', async () => {
    const up = await scanned(['up', '--config', configFile], 'ndjson', 'up-create');
    expect(up.code, up.stderr).toBe(0);
    expectLogsClean('after up --output ndjson');
  });

  test.each(FORMATS)('up --output %s on a running topology', async (format) => {
    const r = await scanned(['up'], format, 'up-again');
    expect(r.code, r.stderr).toBe(0);
  });

  test.each(FORMATS)('up --output %s repairing a killed provider', async (format) => {
    const pid = readStateFile(dir)!.components['provider-openai']!.pid;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const r = await scanned(['up'], format, 'up-repair');
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('validate and doctor in every format', () => {
  test.each(FORMATS)('validate --output %s', async (format) => {
    const r = await scanned(['validate'], format, 'validate');
    // the budget of earlier runs may still be spent; what matters here is what was printed
    expect([0, 1], r.stderr).toContain(r.code);
  });

  test.each(FORMATS)('validate --only 2,4,5,6,7 --output %s (token mint and completions only)', async (format) => {
    const r = await scanned(['validate', '--only', '2,4,5,6,7'], format, 'validate-only');
    expect([0, 1], r.stderr).toContain(r.code);
  });

  test.each(FORMATS)('doctor --output %s', async (format) => {
    const r = await scanned(['doctor'], format, 'doctor');
    expect([0, 1], r.stderr).toContain(r.code);
  });

  test('doctor --probe-rate-limit --output json', async () => {
    const r = await scanned(['doctor', '--category', 'rate-limits', '--probe-rate-limit'], 'json', 'doctor-probe');
    expect([0, 1], r.stderr).toContain(r.code);
  });

  test('commands that fail on bad input print no secret either', async () => {
    for (const args of [['validate', '--only', '99'], ['doctor', '--category', 'nonsense'], ['up', '--fault', 'no-such-fault']]) {
      for (const format of FORMATS) {
        const r = await runCli([...args, '--output', format], { stateDir: dir });
        expect(r.code, args.join(' ')).toBe(2);
        expectNoLeaks(r.stdout + r.stderr, secrets, `${args.join(' ')} --output ${format}`);
      }
    }
  });

  test('a --token given on the command line is never echoed (the local target ignores it)', async () => {
    const given = 'sha256~given-on-the-command-line-0123456789ab';
    const r = await runCli(['validate', '--only', '1,2', '--token', given, '--output', 'json'], { stateDir: dir });
    expectNoLeaks(r.stdout + r.stderr, new Map([...secrets, ['the --token given', given]]), 'validate --token');
  });
});

describe('env, the one command that prints a secret by design', () => {
  test.each(FORMATS)('env --output %s prints the cluster token and nothing else secret, and writes no recording or JUnit', async (format) => {
    const junit = join(work, `env-${format}.xml`);
    const record = join(work, `env-${format}.ndjson`);
    const r = await runCli(['env', '--output', format, '--junit', junit, '--record', record], { stateDir: dir });
    expect(r.code, r.stderr).toBe(0);
    const token = readStateFile(dir)!.clusterToken;
    if (format === 'json') expect((JSON.parse(r.stdout) as Record<string, string>).CLUSTER_TOKEN).toBe(token);
    else expect(r.stdout).toContain(`export CLUSTER_TOKEN='${token}'`);
    expectNoLeaks(r.stdout + r.stderr, secrets, `env --output ${format}`, { allowClusterToken: true });
    expect(leaksInFiles([junit, record].filter((f) => existsSync(f)), secrets)).toEqual([]);
  });
});

describe('the topology’s logs and the final down', () => {
  test('logs/ and run/ after every command above hold no key, token or JWT', () => {
    expectLogsClean('before down');
  });

  test('down --output ndjson', async () => {
    const r = await scanned(['down'], 'ndjson', 'down');
    expect(r.code, r.stderr).toBe(0);
    expect(readStateFile(dir)).toBeUndefined();
  });

  test('every file this file wrote, scanned once more together', () => {
    const files = filesUnder(work).filter((f) => f !== configFile);
    expect(files.length).toBeGreaterThan(10);
    expect(leaksInFiles(files, secrets)).toEqual([]);
    // three topologies were made here: their secrets were all in the scan
    expect([...secrets.keys()].filter((k) => k.startsWith('cluster token')).length).toBeGreaterThanOrEqual(3);
  });
});
