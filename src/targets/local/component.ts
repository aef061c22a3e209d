/**
 * Process entry of one local hop: `node component.js <maas-gateway|maas-api|egress-gateway|maas-api-subscription|payload-processing> <stateDir> [tier|subscription]`.
 * The third argument is the MaaS generation: in the subscription era `maas-gateway` and `maas-api` are that era's.
 * It reads its programmed spec from the state dir, serves on loopback, exposes an admin listener
 * (ready / config / traces / rate-limit counters) protected by the admin token from its environment,
 * and records its pid and ports in run/<name>.json. A restarted hop reuses its previous port.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { paths, readJson, writeJson, type ComponentState } from './state.js';
import { listen, type Server as HttpServer } from '../../sim/http-server.js';
import { startAdmin } from './admin-listener.js';
import { type TraceBuffer } from './trace-buffer.js';
import { useFingerprintKey } from '../../core/secret.js';
import type { EgressSpec, MaasApiSpec, MaasGatewaySpec } from '../../model/topology.js';
import type { SigningKeyFile } from './tokens.js';
import type { MaasGatewayStart } from './gateway-role.js';

export interface SpecFile<T> {
  generation: number;
  spec: T;
  /** Port to bind (kept across restarts so the gateway's address never changes). */
  port?: number;
  adminPort?: number;
  clusterTokenSha256?: string;
}

interface Running {
  server: Server;
  traces: TraceBuffer;
  setSpec(spec: unknown): void;
  close(): Promise<void>;
  extraAdmin?: Record<string, (req: unknown, body: Buffer, url: URL) => unknown>;
}

async function start(name: string, dir: string, era: string): Promise<void> {
  const p = paths(dir);
  const adminToken = process.env.MAAS_EGRESS_DEMO_ADMIN_TOKEN;
  if (!adminToken) throw new Error('MAAS_EGRESS_DEMO_ADMIN_TOKEN is not set');
  const file = readJson<SpecFile<unknown>>(p.specFile(name));
  if (!file) throw new Error(`no spec for ${name} in ${p.spec}`);
  let generation = file.generation;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const signingKey = (): SigningKeyFile => JSON.parse(readFileSync(p.signingKey, 'utf8')) as SigningKeyFile;
  // Key fingerprints in this hop's traces are HMACs under the install's key (an older install has none).
  try {
    useFingerprintKey(readFileSync(p.fingerprintKey, 'utf8').trim());
  } catch {
    useFingerprintKey(undefined);
  }

  // Either era's MaaS gateway: its spec, the install's serving certificate, how it checks tokens.
  const gatewayStart = <S>(spec: S): MaasGatewayStart<S> => ({
    spec,
    tls: { cert: readFileSync(p.serverCert, 'utf8'), key: readFileSync(p.serverKey, 'utf8') },
    signingKey: signingKey(),
    clusterTokenSha256: file.clusterTokenSha256 ?? '',
    log,
  });

  let running: Running;
  if (name === 'maas-gateway' && era === 'subscription') {
    const { createSubscriptionGateway } = await import('./subscription-gateway.js');
    const hop = createSubscriptionGateway(gatewayStart(file.spec as import('./subscription-gateway.js').SubscriptionGatewaySpec));
    running = {
      ...hop,
      setSpec: (s) => hop.setSpec(s as import('./subscription-gateway.js').SubscriptionGatewaySpec),
      extraAdmin: {
        'GET /ratelimit': () => ({ counters: hop.counters(), now: Date.now() }),
        'POST /ratelimit/reset': () => (hop.resetCounters(), { ok: true }),
        'POST /cache/reset': () => (hop.resetCache(), { ok: true }),
      },
    };
  } else if (name === 'maas-gateway') {
    const { createMaasGateway } = await import('./maas-gateway.js');
    const hop = createMaasGateway(gatewayStart(file.spec as MaasGatewaySpec));
    running = {
      ...hop,
      setSpec: (s) => hop.setSpec(s as MaasGatewaySpec),
      extraAdmin: {
        'GET /ratelimit': () => ({ counters: hop.limiter.snapshot(), now: Date.now() }),
        'POST /ratelimit/reset': () => (hop.limiter.reset(), { ok: true }),
      },
    };
  } else if (name === 'egress-gateway') {
    const { createEgressGateway } = await import('./egress-gateway.js');
    const hop = createEgressGateway(file.spec as EgressSpec, log);
    running = { ...hop, setSpec: (s) => hop.setSpec(s as EgressSpec) };
  } else if (name === 'maas-api' && era !== 'subscription') {
    const { createMaasApi } = await import('./maas-api.js');
    const hop = createMaasApi(file.spec as MaasApiSpec, signingKey());
    running = { ...hop, setSpec: (s) => hop.setSpec(s as MaasApiSpec) };
  } else if (name === 'maas-api-subscription' || (name === 'maas-api' && era === 'subscription')) {
    // The subscription-era maas-api: keys in PostgreSQL at DB_CONNECTION_URL (env, as upstream; never argv).
    const { createMaasApiKeys } = await import('./maas-api-keys.js');
    const { ApiKeyStore } = await import('./api-keys.js');
    const { checkDatabaseUrl } = await import('./postgres.js');
    const { subscriptionSpecs } = await import('../../model/subscription-read.js');
    const spec = subscriptionSpecs(file.spec).maasApi;
    const store = new ApiKeyStore(checkDatabaseUrl(process.env.DB_CONNECTION_URL ?? ''), spec.tenant);
    const migrated = await store.open();
    log(`maas-api: api_keys schema at version ${migrated.to}${migrated.applied.length ? ` (applied ${migrated.applied.join(', ')})` : ''}`);
    const hop = createMaasApiKeys({ spec, store, log });
    running = { ...hop, setSpec: (s) => hop.setSpec(subscriptionSpecs(s).maasApi) };
  } else if (name === 'payload-processing') {
    const { createPayloadProcessing } = await import('./payload-processor.js');
    const { subscriptionSpecs } = await import('../../model/subscription-read.js');
    const hop = createPayloadProcessing(subscriptionSpecs(file.spec).payloadProcessing);
    running = { ...hop, setSpec: (s) => hop.setSpec(subscriptionSpecs(s).payloadProcessing) };
  } else {
    throw new Error(`unknown component ${name}`);
  }

  const port = await listen(running.server as HttpServer, file.port ?? 0, '127.0.0.1', { orAnyPort: true });
  const admin = await startAdmin(
    adminToken,
    {
      'GET /ready': () => ({ name, generation, pid: process.pid }),
      'GET /config': () => ({ generation, spec: readJson<SpecFile<unknown>>(p.specFile(name))?.spec }),
      'PUT /config': (_req, body) => {
        const next = JSON.parse(body.toString('utf8')) as { spec: unknown };
        if (!next || typeof next !== 'object' || !('spec' in next)) throw new Error('body must be {"spec": …}');
        generation += 1;
        running.setSpec(next.spec);
        const current = readJson<SpecFile<unknown>>(p.specFile(name)) ?? file;
        writeJson(p.specFile(name), { ...current, generation, spec: next.spec });
        return { generation };
      },
      'GET /traces': (_req, _body, url) => {
        const id = url.searchParams.get('id');
        return { records: id ? running.traces.find(id) : running.traces.recent(Number(url.searchParams.get('n') ?? 50)) };
      },
      ...(running.extraAdmin ?? {}),
    },
    file.adminPort ?? 0,
  ).catch(() => startAdmin(adminToken, {}, 0));
  const adminPort = (admin.address() as { port: number }).port;
  const state: ComponentState = { pid: process.pid, port, adminPort };
  const current = readJson<SpecFile<unknown>>(p.specFile(name)) ?? file;
  writeJson(p.specFile(name), { ...current, port, adminPort });
  writeJson(p.runFile(name), state);
  log(`${name} listening on 127.0.0.1:${port} (admin ${adminPort}), pid ${process.pid}`);

  const stop = async () => {
    // Idle keep-alive connections would hold close() open; drop them and give in-flight replies a moment.
    (running.server as import('node:http').Server).closeIdleConnections?.();
    admin.closeAllConnections();
    await Promise.race([Promise.all([running.close(), new Promise<void>((r) => admin.close(() => r()))]), new Promise((r) => setTimeout(r, 300))]);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

// Request handlers answer their own errors (`answering` in src/sim/http-server.ts); anything else that escapes costs a log line,
// never the hop: log (no headers, no bodies) and go on.
process.on('unhandledRejection', (err) => process.stderr.write(`unhandled error in a request handler: ${(err as Error)?.message ?? String(err)}\n`));

const [, , name, dir, era = 'tier'] = process.argv;
if (name && dir) {
  start(name, dir, era).catch((err: Error) => {
    process.stderr.write(`${name}: failed to start: ${err.message}\n`);
    process.exit(1);
  });
}
