/** `demo doctor` — placeholder until its issue lands: says so and exits 2. */
import type { CommandModule } from '../main.js';
import { UserError } from '../../core/errors.js';

const command: CommandModule = {
  kind: 'direct',
  run: async () => {
    throw new UserError('demo doctor is not implemented yet', 'see README.md#status for what works today');
  },
};
export default command;
