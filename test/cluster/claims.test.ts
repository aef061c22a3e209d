/**
 * What the cluster target says must be what it saw: TLS verification is only called verified after a
 * verified handshake, and a gateway that does not answer is never blamed on a missing AuthPolicy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demo, ofKind, refusingGateway, startCluster, type Cluster } from './helpers.js';

let c: Cluster;
let gateway: { url: string; caFile: string; close(): void };

beforeAll(async () => {
  c = await startCluster({}, { delayMs: 5 });
  const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
  expect(up.code, up.stdout + up.stderr).toBe(0);
  gateway = await refusingGateway(c);
}, 90_000);

afterAll(async () => {
  gateway?.close();
  await c?.close();
});

const UNREACHABLE = 'https://127.0.0.1:9';
const checkOf = (events: Record<string, unknown>[], id: string) => ofKind(events, 'check').filter((e) => e.id === id).at(-1) as { outcome: string; message?: string; actual?: string } | undefined;

describe('claims the cluster target makes', () => {
  test('exposure-tls-verification does not pass when the gateway cannot be reached', async () => {
    const r = await demo(c, ['doctor', '--category', 'exposure'], { DEMO_GATEWAY_URL: UNREACHABLE });
    const k = checkOf(r.events, 'exposure-tls-verification');
    expect(k?.outcome).toBe('skip');
    expect(k?.message).toMatch(/the gateway did not answer \(ECONNREFUSED\): whether its certificate verifies could not be tested/);
  }, 60_000);

  test('exposure-tls-verification fails on a certificate the CA in use does not trust, and passes with the right CA', async () => {
    const untrusted = await demo(c, ['doctor', '--category', 'exposure'], { DEMO_GATEWAY_URL: gateway.url });
    // a warning-severity check: its failure is reported as a warning
    expect(checkOf(untrusted.events, 'exposure-tls-verification')).toMatchObject({ outcome: 'warn', message: expect.stringMatching(/not trusted by the CA in use \((SELF_SIGNED|DEPTH_ZERO|UNABLE_TO_VERIFY)\w*\)/) });
    const trusted = await demo(c, ['doctor', '--category', 'exposure', '--ca-file', gateway.caFile], { DEMO_GATEWAY_URL: gateway.url });
    expect(checkOf(trusted.events, 'exposure-tls-verification')).toMatchObject({ outcome: 'pass', message: 'verified against the CA in use (the gateway answered 404)' });
  }, 60_000);

  test('validate call 8 says the gateway did not answer instead of blaming the AuthPolicy', async () => {
    const r = await demo(c, ['validate', '--only', '8', '--token', 'demo-token'], { DEMO_GATEWAY_URL: UNREACHABLE });
    const k = checkOf(r.events, 'call-8');
    expect(k?.outcome).toBe('fail');
    expect(k?.message).toMatch(/no answer from the MaaS gateway .*whether its bridge enforces an AuthPolicy cannot be told/);
    expect(k?.message).not.toMatch(/has no enforced AuthPolicy/);
  }, 60_000);
});
