/**
 * A child process hosting one hop for the benchmarks, so that every hop runs in its own process as it
 * does under `demo up` (and the load generator does not share an event loop with any of them).
 * Started with `fork()`; told what to run by the first IPC message; answers `ready` with its port.
 * Later messages: `set-spec` (MaaS gateway / egress), `mem` (RSS and heap, after a GC when the
 * process runs with --expose-gc), `limiter` (the MaaS gateway's counters).
 */
import type { Server } from 'node:http';
import { startProviderSim } from '../src/sim/provider-sim.js';
import { createEgressGateway } from '../src/targets/local/egress-gateway.js';
import { createMaasGateway, type MaasGatewayHop } from '../src/targets/local/maas-gateway.js';
import type { EgressSpec, MaasGatewaySpec } from '../src/model/topology.js';
import type { SigningKeyFile } from '../src/targets/local/tokens.js';
import { createRelay } from './relay.js';

export type HopInit =
  | { kind: 'provider'; apiKey: string; name: string; model: string; keyHeader: string }
  | { kind: 'relay'; upstream: string; tls?: { cert: string; key: string } }
  | { kind: 'egress'; spec: EgressSpec }
  | { kind: 'maas-gateway'; spec: MaasGatewaySpec; tls: { cert: string; key: string }; signingKey: SigningKeyFile; clusterTokenSha256: string };

export type HopMessage = { type: 'init'; init: HopInit } | { type: 'set-spec'; spec: unknown } | { type: 'mem' } | { type: 'limiter' };

export interface MemSample {
  rss: number;
  heapUsed: number;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

async function main(): Promise<void> {
  let setSpec: ((spec: unknown) => void) | undefined;
  let gateway: MaasGatewayHop | undefined;
  const send = (m: unknown) => process.send?.(m);
  const onMessage = async (msg: HopMessage): Promise<void> => {
    try {
      if (msg.type === 'init') {
        const init = msg.init;
        let port: number;
        if (init.kind === 'provider') {
          const sim = await startProviderSim({ apiKey: init.apiKey, name: init.name, model: init.model, keyHeader: init.keyHeader });
          port = sim.port;
        } else if (init.kind === 'relay') {
          port = await listen(createRelay(init.upstream, init.tls).server);
        } else if (init.kind === 'egress') {
          const hop = createEgressGateway(init.spec);
          setSpec = (s) => hop.setSpec(s as EgressSpec);
          port = await listen(hop.server);
        } else {
          gateway = createMaasGateway({ spec: init.spec, tls: init.tls, signingKey: init.signingKey, clusterTokenSha256: init.clusterTokenSha256 });
          const hop = gateway;
          port = await listen(hop.server as unknown as Server);
          // The listener's Host match needs the port we only know now.
          hop.setSpec({ ...init.spec, hostnames: [`127.0.0.1:${port}`, `localhost:${port}`] });
          setSpec = (s) => {
            const spec = s as MaasGatewaySpec;
            hop.setSpec({ ...spec, hostnames: [`127.0.0.1:${port}`, `localhost:${port}`] });
          };
        }
        send({ type: 'ready', port });
      } else if (msg.type === 'set-spec') {
        setSpec?.(msg.spec);
        send({ type: 'ok' });
      } else if (msg.type === 'mem') {
        (globalThis as { gc?: () => void }).gc?.();
        const m = process.memoryUsage();
        send({ type: 'mem', rss: m.rss, heapUsed: m.heapUsed } satisfies MemSample & { type: 'mem' });
      } else if (msg.type === 'limiter') {
        send({ type: 'limiter', counters: gateway?.limiter.snapshot() ?? {} });
      }
    } catch (err) {
      send({ type: 'error', message: (err as Error).message });
    }
  };
  process.on('message', (msg: HopMessage) => void onMessage(msg));
  // The parent going away ends this process: nothing is left behind.
  process.on('disconnect', () => process.exit(0));
}

void main();
