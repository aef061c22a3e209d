/**
 * The command registry. Each command module is a declaration (name, help, typed flags, handler) that
 * imports nothing heavy at load time, so listing them for `--help` stays fast.
 */
import type { AnyCommand } from './define.js';
import doctor from './commands/doctor.js';
import down from './commands/down.js';
import env from './commands/env.js';
import manifests from './commands/manifests.js';
import replay from './commands/replay.js';
import tour from './commands/tour.js';
import up from './commands/up.js';
import validate from './commands/validate.js';

export const commands: readonly AnyCommand[] = [up, validate, doctor, down, env, manifests, replay, tour];

export function findCommand(name: string): AnyCommand | undefined {
  return commands.find((c) => c.name === name);
}
