/**
 * `up --fault envoy-trace-logging` (with token-forwarded too, so the user's MaaS token reaches the
 * egress gateway as well): the egress log prints request headers at trace level, as the real Envoy
 * does, but every value masked. Traffic with keys, a forwarded token and client-sent key headers
 * through every route must leave no key, token or JWT in any hop's log, and doctor must report the
 * setting at the egress gateway.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mask } from '../../src/core/secret.js';
import { runCli } from '../helpers/run-cli.js';
import { CHAT, gateway, mintToken, useTopology } from '../helpers/topology.js';
import { CANARY_CONFIG, CANARY_KEYS, addTopologySecrets, canarySecrets, expectNoLeaks, filesUnder, leaksInFiles } from './scan.js';

const topo = useTopology({ label: 'trace-log', config: { ...CANARY_CONFIG, user: { name: 'trace-user', groups: ['premium-group'] } }, args: ['--fault', 'envoy-trace-logging', '--fault', 'token-forwarded'] });

describe('egress gateway at trace level', () => {
  test('headers are logged with masked values only: no key, token or JWT in any hop log after traffic on every route', async () => {
    const t = topo.get();
    const secrets = canarySecrets();
    addTopologySecrets(secrets, t.dir);
    const token = await mintToken(t);
    secrets.set('the minted MaaS token', token);
    const client = { authorization: `Bearer ${token}`, 'x-provider-api-key': 'sk-client-sent-key-0123456789', 'x-api-key': 'sk-client-sent-key-0123456789' };
    for (const [path, model] of [
      ['/external/openai/v1/chat/completions', 'gpt-4'],
      ['/external/anthropic/v1/chat/completions', 'claude-3-sonnet'],
      ['/external/vllm/v1/chat/completions', 'Qwen/Qwen3-0.6B'],
      ['/llm/facebook-opt-125m-simulated/v1/chat/completions', 'facebook/opt-125m'],
    ] as const) {
      const res = await gateway(t, { path, headers: client, body: CHAT(model) });
      expect([200, 401], path).toContain(res.status);
      expectNoLeaks(JSON.stringify(res.headers) + res.text, secrets, `response of ${path}`);
    }
    for (const path of ['/external/openai/v1/models', '/external/vllm/v1/models']) await gateway(t, { path, headers: client, method: 'GET' });
    const v = await runCli(['validate', '--output', 'json'], { stateDir: t.dir });
    expectNoLeaks(v.stdout + v.stderr, secrets, 'validate output');

    const egressLog = readFileSync(join(t.dir, 'logs', 'egress-gateway.log'), 'utf8');
    const traceLines = egressLog.split('\n').filter((l) => l.startsWith('[trace] request headers:'));
    expect(traceLines.length).toBeGreaterThanOrEqual(5);
    // the injected keys are there, masked: the log shows what Envoy would print, minus the values
    expect(egressLog).toContain(`x-provider-api-key=${mask(CANARY_KEYS['openai key'])}`);
    expect(egressLog).toContain(`x-provider-api-key=${mask(CANARY_KEYS['anthropic key'])}`);
    expect(egressLog).toContain(`authorization=${mask(`Bearer ${CANARY_KEYS['vllm key']}`)}`);
    // token-forwarded: the user's token reached the egress gateway on the openai route, and is masked too
    expect(egressLog).toContain(`authorization=${mask(`Bearer ${token}`)}`);
    expect(leaksInFiles(filesUnder(join(t.dir, 'logs')), secrets)).toEqual([]);
  });

  test('doctor reports the trace level at the egress gateway, and prints no secret doing so', async () => {
    const t = topo.get();
    const secrets = canarySecrets();
    addTopologySecrets(secrets, t.dir);
    const r = await runCli(['doctor', '--category', 'exposure', '--output', 'json'], { stateDir: t.dir });
    expectNoLeaks(r.stdout + r.stderr, secrets, 'doctor --category exposure');
    const doc = JSON.parse(r.stdout) as { checks: { id: string; outcome: string; hop?: string; message?: string }[] };
    const trace = doc.checks.find((c) => c.id === 'exposure-trace-logging');
    expect(trace).toMatchObject({ outcome: 'warn', hop: 'egress-gateway' });
    expect(trace!.message).toMatch(/log-level trace/);
    expect(doc.checks.find((c) => c.id === 'exposure-user-token-forwarded')?.outcome).toBe('fail');
  });
});
