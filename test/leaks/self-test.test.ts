/**
 * Secret-leak scan of `doctor --self-test` (which starts a private topology with the configured keys
 * and plants every known fault, envoy-trace-logging and token-forwarded among them) in every output
 * format with `--junit` and `--record`. Its private topology's secrets are not known here: the canary
 * keys are, and its cluster token and minted tokens are caught by their shape.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { CANARY_CONFIG, canarySecrets, expectNoLeaks, leaksInFiles } from './scan.js';

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-leaks-self-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const configFile = join(work, 'config.json');
writeFileSync(configFile, JSON.stringify(CANARY_CONFIG));
const secrets = canarySecrets();

test.each(['plain', 'json', 'ndjson'] as const)(
  'doctor --self-test --output %s: output, JUnit and recording hold no key or token, and the private topology is gone after',
  async (format) => {
    const junit = join(work, `self-test-${format}.xml`);
    const record = join(work, `self-test-${format}.ndjson`);
    // its private topology goes under this TMPDIR, so what it leaves behind can be seen
    const tmp = join(work, `tmp-${format}`);
    mkdirSync(tmp);
    const r = await runCli(['doctor', '--self-test', '--config', configFile, '--output', format, '--junit', junit, '--record', record], {
      stateDir: join(work, `state-${format}`),
      env: { TMPDIR: tmp },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stdout.slice(-1500) + r.stderr).toBe(0);
    expectNoLeaks(r.stdout, secrets, `doctor --self-test --output ${format}: stdout`);
    expectNoLeaks(r.stderr, secrets, `doctor --self-test --output ${format}: stderr`);
    expect([junit, record].filter((f) => existsSync(f))).toEqual([junit, record]);
    expect(leaksInFiles([junit, record], secrets)).toEqual([]);
    expect(r.stdout, 'the private topology was made under TMPDIR').toContain(join(tmp, 'maas-egress-demo-self-test-'));
    expect(readdirSync(tmp).filter((f) => f.startsWith('maas-egress-demo-self-test-'))).toEqual([]);
  },
  60_000,
);
