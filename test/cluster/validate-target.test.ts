/** The cluster side of validate/doctor: endpoint, TLS, token discovery, route model and budget from the cluster. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TargetOptions } from '../../src/targets/target.js';
import { defaultConfig } from '../../src/core/config.js';
import { fingerprint } from '../../src/core/secret.js';
import { ClusterSession, celLiteral } from '../../src/targets/cluster/session.js';
import { servingCert } from '../kube-api/tls.js';
import { demo, startCluster, type Cluster } from './helpers.js';
import { runMain } from '../helpers/run-cli.js';

let c: Cluster;
let https: Server;
let httpsUrl: string;
let caFile: string;
let hits = 0;

beforeAll(async () => {
  c = await startCluster();
  const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--vllm-host', 'vllm.example.com:8001', '--timeout', '20']);
  expect(up.code, up.stdout).toBe(0);
  const cert = await servingCert();
  caFile = join(c.dir, 'ca.pem');
  writeFileSync(caFile, cert.certPem);
  https = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    hits++;
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="openshift-identities"' });
    res.end();
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  https?.close();
  await c?.close();
});

function ctx(flags: Partial<Pick<TargetOptions, 'token' | 'caFile' | 'insecure'>> = {}, env: Record<string, string> = {}): TargetOptions & { err: string[] } {
  const err: string[] = [];
  return { kind: 'cluster', cfg: defaultConfig(), env: { KUBECONFIG: c.kubeconfig, HOME: c.dir, ...env }, warn: (t) => void err.push(`${t}\n`), ...flags, err };
}

describe('ClusterSession', () => {
  test('reads the route model from the applied routes and policies', async () => {
    const t = await ClusterSession.open(ctx());
    const m = await t.routeModel();
    const openai = m.bridges.find((b) => b.provider === 'openai')!;
    expect(openai).toEqual({
      provider: 'openai',
      pathPrefix: '/external/openai/',
      rewritePrefix: '/openai/',
      removeHeaders: ['Authorization'],
      injectHeader: 'X-Provider-Api-Key',
      injectFingerprint: fingerprint('sk-openai-key-for-demo'),
      audiences: ['maas-default-gateway-sa'],
    });
    const vllm = m.bridges.find((b) => b.provider === 'vllm')!;
    expect(vllm.injectHeader).toBe('Authorization');
    expect(vllm.injectFingerprint).toBe(fingerprint('change-me-super-secret'));
    expect(vllm.removeHeaders).toEqual([]);
    expect(m.egress.find((e) => e.provider === 'anthropic')).toEqual({ provider: 'anthropic', pathPrefix: '/anthropic/', rewritePrefix: '/', backend: 'anthropic-backend', controllerFixed: true });
    expect(m.onprem).toEqual([{ pathPrefix: '/llm/facebook-opt-125m-simulated', rewritePrefix: '/' }]);
    expect(await t.hopRecords('any')).toEqual([]);
    await t.close();
  });

  test('budget is the tier limit of the TokenRateLimitPolicy, spent unknown (inferred)', async () => {
    const t = await ClusterSession.open(ctx());
    expect(await t.budget('kube-admin-1234', 'free')).toEqual({ tier: 'free', limit: 100, spent: 0, source: 'inferred' });
    expect(await t.budget('x', 'premium')).toMatchObject({ limit: 50000 });
    expect(await t.budget('x', 'gold')).toBeUndefined();
  });

  test('providers include vLLM when step 3a ran; its direct URL comes from the XBackendDestination', async () => {
    const t = await ClusterSession.open(ctx());
    expect(t.providers().map((p) => p.name)).toEqual(['openai', 'anthropic', 'vllm']);
    expect(await t.vllmDirectUrl()).toBe('http://vllm.example.com:8001');
    const o = await ClusterSession.open(ctx({}, { DEMO_VLLM_URL: 'http://10.0.0.5:8000/' }));
    expect(await o.vllmDirectUrl()).toBe('http://10.0.0.5:8000');
  });

  test('the gateway is maas.<cluster domain>, verified unless --insecure is asked for', async () => {
    const t = await ClusterSession.open(ctx());
    const ep = await t.endpoint();
    expect(ep.baseUrl).toBe('https://maas.apps.demo.example.com');
    expect(ep.insecure).toBe(false);
    // DEMO_GATEWAY_URL points at a local HTTPS server with a private CA
    const strict = await ClusterSession.open(ctx({}, { DEMO_GATEWAY_URL: httpsUrl }));
    const e1 = await strict.endpoint();
    await expect(request(`${e1.baseUrl}/v1/models`, { dispatcher: e1.dispatcher })).rejects.toThrow();
    const withCa = await ClusterSession.open(ctx({ caFile }, { DEMO_GATEWAY_URL: httpsUrl }));
    const e2 = await withCa.endpoint();
    expect((await request(`${e2.baseUrl}/v1/models`, { dispatcher: e2.dispatcher })).statusCode).toBe(401);
    const loose = ctx({ insecure: true }, { DEMO_GATEWAY_URL: httpsUrl });
    const insecure = await ClusterSession.open(loose);
    const e3 = await insecure.endpoint();
    expect(e3.insecure).toBe(true);
    expect((await request(`${e3.baseUrl}/v1/models`, { dispatcher: e3.dispatcher })).statusCode).toBe(401);
    expect(loose.err.join('')).toMatch(/TLS verification .* is OFF \(--insecure\)/);
    for (const x of [t, strict, withCa, insecure]) await x.close();
  });

  test('token: --token, else the kubeconfig user token, else oc whoami -t; all three named when none works', async () => {
    expect((await (await ClusterSession.open(ctx({ token: 'sha256~given' }))).clusterToken()).reveal()).toBe('sha256~given');
    expect((await (await ClusterSession.open(ctx())).clusterToken()).reveal()).toBe('demo-token');
    // a kubeconfig whose user has no token, and no oc on the PATH
    const dir = mkdtempSync(join(tmpdir(), 'demo-kc-'));
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, [
      'apiVersion: v1', 'kind: Config', 'current-context: x',
      'clusters: [{name: x, cluster: {server: "' + c.api.url + '", certificate-authority-data: "' + Buffer.from(c.api.caPem ?? '').toString('base64') + '"}}]',
      'users: [{name: certuser, user: {}}]',
      'contexts: [{name: x, context: {cluster: x, user: certuser}}]', '',
    ].join('\n'));
    const none = await ClusterSession.open(ctx({}, { KUBECONFIG: kc, PATH: dir, DEMO_GATEWAY_URL: httpsUrl }));
    await expect(none.clusterToken()).rejects.toThrow(/--token \(or DEMO_TOKEN\) not given, the kubeconfig user certuser has no token .*oc whoami -t/);
  });

  test('celLiteral reads quoted CEL strings only', () => {
    expect(celLiteral("'sk-a\\'b'")).toBe("sk-a'b");
    expect(celLiteral('"Bearer x"')).toBe('Bearer x');
    expect(celLiteral('auth.identity.userid')).toBeUndefined();
  });
});

describe('demo env and validate on the cluster target', () => {
  test('env prints the gateway host and the cluster token for eval', async () => {
    const r = await runMain(['env', '--target', 'cluster'], { KUBECONFIG: c.kubeconfig, HOME: c.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("export HOST='maas.apps.demo.example.com'");
    expect(r.stdout).toContain("export CLUSTER_TOKEN='demo-token'");
    expect(r.stdout).toContain("export VLLM_URL='http://vllm.example.com:8001'");
  });

  test('validate reaches the gateway through the target and never prints the token', async () => {
    const before = hits;
    const r = await runMain(['validate', '--target', 'cluster', '--only', '1', '--ca-file', caFile, '--output', 'plain'], { KUBECONFIG: c.kubeconfig, HOME: c.dir, DEMO_GATEWAY_URL: httpsUrl });
    expect(hits).toBeGreaterThan(before);
    expect(r.stdout + r.stderr).not.toContain('demo-token');
  });
});
