import { test } from 'vitest';
import { startCluster } from './helpers.js';
import { runMain } from '../helpers/run-cli.js';
test('peek', async () => {
  const c = await startCluster({ generation: 'subscription' });
  const r = await runMain(['up', '--target', 'cluster', '--output', 'plain'], { KUBECONFIG: c.kubeconfig, HOME: c.dir });
  console.log(r.stdout, r.stderr);
  const e = await runMain(['env', '--target', 'cluster'], { KUBECONFIG: c.kubeconfig, HOME: c.dir });
  console.log(e.stdout, e.stderr);
  const d = await runMain(['doctor', '--target', 'cluster', '--output', 'plain'], { KUBECONFIG: c.kubeconfig, HOME: c.dir, DEMO_GATEWAY_URL: 'https://127.0.0.1:9' });
  console.log(d.code, d.stdout, d.stderr);
  const dn = await runMain(['down', '--target', 'cluster', '--output', 'plain'], { KUBECONFIG: c.kubeconfig, HOME: c.dir });
  console.log(dn.code, dn.stdout, dn.stderr);
  await c.close();
}, 120000);
