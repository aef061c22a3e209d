/**
 * `demo manifests` leaves out the objects the platform owns (MaaS ships the gateway TokenRateLimitPolicy;
 * `up` creates it only where it is absent), so `demo manifests | kubectl apply -f -` cannot overwrite and
 * relabel them; `--include-platform` prints them marked as such.
 */
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runMain } from '../helpers/run-cli.js';

const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } } | null).filter((d) => d !== null);

describe("demo manifests and the platform's objects", () => {
  test('leaves the platform-owned TokenRateLimitPolicy out by default and says so', async () => {
    const r = await runMain(['manifests'], {});
    expect(r.code).toBe(0);
    expect(docs(r.stdout).map((d) => d.kind)).not.toContain('TokenRateLimitPolicy');
    expect(r.stdout).toMatch(/# left out, owned by the platform \(MaaS ships it; `demo up` creates it only where it is absent, and `kubectl apply` would overwrite and relabel it\): TokenRateLimitPolicy openshift-ingress\/gateway-token-rate-limits; --include-platform prints it/);
    expect(r.stdout).toMatch(/# \(TokenRateLimitPolicy openshift-ingress\/gateway-token-rate-limits left out: the platform owns it; --include-platform prints it\)/);
  });

  test('--include-platform prints it marked, without the internal apply-mode annotation', async () => {
    const r = await runMain(['manifests', '--include-platform'], {});
    expect(r.code).toBe(0);
    const trlp = docs(r.stdout).find((d) => d.kind === 'TokenRateLimitPolicy');
    expect(trlp?.metadata?.name).toBe('gateway-token-rate-limits');
    expect(trlp?.metadata?.annotations?.['maas-egress-demo/apply']).toBeUndefined();
    expect(r.stdout).toMatch(/# platform-owned: MaaS usually ships TokenRateLimitPolicy openshift-ingress\/gateway-token-rate-limits; `demo up` creates it only where it is absent\.\n# Create it with `kubectl create -f` where it is missing/);
  });
});
