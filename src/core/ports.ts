/** Loopback port helpers shared by the local target and the doctor self-test. */
import { createServer } from 'node:net';

/** A loopback port nothing listens on (a backend that is down points there). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
