/** `demo manifests`: every step's objects as multi-document YAML, with no cluster at all. */
import type { CommandModule } from '../main.js';
import { EXIT } from '../../core/errors.js';

const command: CommandModule = {
  kind: 'direct',
  async run(ctx) {
    const { printManifests } = await import('../../targets/cluster/print-manifests.js');
    ctx.io.stdout(await printManifests(ctx));
    return EXIT.ok;
  },
};
export default command;
