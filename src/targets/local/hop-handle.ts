/** What every local hop hands back to the component that started it. */
import { closeServer, type Server } from '../../sim/http-server.js';
import type { TraceBuffer } from './trace-buffer.js';

/** A hop's server, its traces, accessors of the spec it runs, and a close that ends every connection at once. */
export function hopHandle<S, T extends Server>(server: T, traces: TraceBuffer, get: () => S, set: (s: S) => void, pools?: { close(): Promise<void> }) {
  return {
    server,
    traces,
    setSpec: set,
    spec: get,
    close: async () => {
      await closeServer(server, 0);
      await pools?.close();
    },
  };
}
