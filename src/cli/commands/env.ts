/**
 * `demo env`: shell export lines for the running target, so the seed's curl lines run by hand.
 *
 * @example
 *   export HOST='127.0.0.1:41237'
 *   export CA_FILE='/home/me/.local/state/maas-egress-demo/tls/ca.pem'
 */
import type { CommandModule } from '../main.js';
import { EXIT, UserError } from '../../core/errors.js';

const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

const command: CommandModule = {
  kind: 'direct',
  async run(ctx) {
    if (ctx.target === 'cluster') {
      const { clusterEnv } = await import('../../targets/cluster/index.js');
      const facts = await clusterEnv(ctx);
      for (const [k, v] of Object.entries(facts)) ctx.io.stdout(`export ${k}=${quote(v)}\n`);
      return EXIT.ok;
    }
    const { readState, stateDir } = await import('../../targets/local/state.js');
    const { envFacts, health } = await import('../../targets/local/local-target.js');
    const dir = stateDir(ctx.io.env);
    const state = readState(dir);
    if (!state) throw new UserError(`the local topology is not running (no state in ${dir})`, 'start it with `demo up`');
    const h = await health(state);
    if (h.dead.length) throw new UserError(`the local topology is broken: ${h.dead.join(', ')} not running`, 'run `demo up` to restart the stopped hops, or `demo down` to clean up');
    for (const [k, v] of Object.entries(envFacts(state, ctx.cfg))) ctx.io.stdout(`export ${k}=${quote(v)}\n`);
    return EXIT.ok;
  },
};
export default command;
