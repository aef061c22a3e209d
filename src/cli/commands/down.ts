/** `demo down`: stops and removes everything `up` created, and only that. */
import type { CommandModule } from '../main.js';

const command: CommandModule = {
  kind: 'stream',
  async *run(ctx) {
    if (ctx.target === 'cluster') {
      const { clusterDown } = await import('../../targets/cluster/index.js');
      yield* clusterDown(ctx);
      return;
    }
    const { localDown } = await import('../../targets/local/local-target.js');
    const { stateDir } = await import('../../targets/local/state.js');
    yield* localDown(stateDir(ctx.io.env));
  },
};
export default command;
