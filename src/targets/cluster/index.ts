/** Cluster target entry points (placeholder until the cluster target issue lands). */
import type { CommandContext } from '../../cli/main.js';
import type { EventInput } from '../../core/events.js';
import { UserError } from '../../core/errors.js';

const notYet = () => new UserError('the cluster target is not implemented yet', 'use the local target (the default) for now; see README.md#status');

// eslint-disable-next-line require-yield
export async function* clusterUp(_ctx: CommandContext): AsyncGenerator<EventInput> {
  throw notYet();
}
// eslint-disable-next-line require-yield
export async function* clusterDown(_ctx: CommandContext): AsyncGenerator<EventInput> {
  throw notYet();
}
export async function clusterEnv(_ctx: CommandContext): Promise<Record<string, string>> {
  throw notYet();
}
