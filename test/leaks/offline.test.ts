/**
 * Secret-leak scan of the commands that need no topology: `manifests` (masked by default) in every
 * output format with JUnit and a recording, and `replay` of every recording in recordings/ in every
 * format, to JUnit and to asciicast; and of everything committed under recordings/.
 *
 * `manifests --reveal-keys` is the positive control: it must print the canary keys, which proves the
 * scan would see them anywhere else.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { DEFAULT_KEYS } from '../helpers/topology.js';
import { CANARY_CONFIG, CANARY_KEYS, canarySecrets, expectNoLeaks, filesUnder, leaksIn, leaksInFiles } from './scan.js';

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-leaks-offline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const configFile = join(work, 'config.json');
writeFileSync(configFile, JSON.stringify(CANARY_CONFIG));

const secrets = canarySecrets();
for (const [label, value] of Object.entries(DEFAULT_KEYS)) secrets.set(`default ${label}`, value);

const FORMATS = ['plain', 'json', 'ndjson'] as const;
const RECORDINGS_DIR = join(ROOT, 'recordings');
const recordings = readdirSync(RECORDINGS_DIR).filter((f) => f.endsWith('.ndjson'));

describe('manifests', () => {
  test.each(FORMATS)('--output %s, with --junit and --record: keys masked everywhere', async (format) => {
    const junit = join(work, `manifests-${format}.xml`);
    const record = join(work, `manifests-${format}.ndjson`);
    const r = await runCli(['manifests', '--vllm', '--config', configFile, '--output', format, '--junit', junit, '--record', record]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(format === 'json' ? '"kind": "AuthPolicy"' : 'kind: AuthPolicy');
    expectNoLeaks(r.stdout, secrets, `manifests --output ${format} stdout`);
    expectNoLeaks(r.stderr, secrets, `manifests --output ${format} stderr`);
    // manifests is a direct command: it writes neither file today; whatever it writes is scanned
    expect(leaksInFiles([junit, record].filter((f) => existsSync(f)), secrets)).toEqual([]);
  });

  test.each(['1', '2', '3', '3a', '4', '5'])('--step %s: keys masked', async (step) => {
    const r = await runCli(['manifests', '--vllm', '--config', configFile, '--step', step]);
    expect(r.code, r.stderr).toBe(0);
    expectNoLeaks(r.stdout + r.stderr, secrets, `manifests --step ${step}`);
  });

  test('control: --reveal-keys prints the canary keys, so the scan would find them', async () => {
    const r = await runCli(['manifests', '--vllm', '--config', configFile, '--reveal-keys']);
    expect(r.code, r.stderr).toBe(0);
    expect(leaksIn(r.stdout, secrets).sort()).toEqual(Object.keys(CANARY_KEYS).sort());
  });
});

describe('replay of every recording', () => {
  test('recordings/ holds recordings to replay', () => {
    expect(recordings.length).toBeGreaterThanOrEqual(4);
  });

  test.each(recordings.flatMap((f) => FORMATS.map((format) => [f, format] as const)))('%s --output %s, with --junit', async (file, format) => {
    const junit = join(work, `replay-${file}-${format}.xml`);
    const r = await runCli(['replay', join(RECORDINGS_DIR, file), '--speed', '0', '--output', format, '--junit', junit]);
    expect([0, 1], r.stderr).toContain(r.code);
    expect(r.stdout.length).toBeGreaterThan(0);
    expectNoLeaks(r.stdout, secrets, `replay ${file} --output ${format} stdout`);
    expectNoLeaks(r.stderr, secrets, `replay ${file} --output ${format} stderr`);
    expect(existsSync(junit), 'replay writes the JUnit file').toBe(true);
    expect(leaksInFiles([junit], secrets)).toEqual([]);
  });

  test.each(recordings)('%s --to-asciicast', async (file) => {
    const cast = join(work, `${file}.cast`);
    const r = await runCli(['replay', join(RECORDINGS_DIR, file), '--to-asciicast', cast]);
    expect(r.code, r.stderr).toBe(0);
    expectNoLeaks(r.stdout + r.stderr, secrets, `replay ${file} --to-asciicast output`);
    expect(leaksInFiles([cast], secrets)).toEqual([]);
  });
});

test('everything under recordings/ is free of keys, tokens and JWTs', () => {
  const files = filesUnder(RECORDINGS_DIR);
  expect(files.length).toBeGreaterThanOrEqual(recordings.length);
  expect(leaksInFiles(files, secrets)).toEqual([]);
});
