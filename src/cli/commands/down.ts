/** `demo down`: stops and removes everything `up` created, and only that. */
import { defineCommand } from '../define.js';
import { flag, generationFlags } from '../flags.js';
import { openTarget } from '../target-options.js';

export default defineCommand({
  kind: 'stream',
  name: 'down',
  summary: 'tear everything down; nothing left behind, nothing else touched',
  usage: 'demo down [flags]',
  examples: ['demo down', 'demo down --target cluster'],
  flags: { timeout: flag.seconds('how long to wait for objects to be gone'), ...generationFlags },
  async *run(ctx) {
    const target = await openTarget(ctx);
    yield* target.down(ctx.flags.timeout !== undefined ? { timeoutMs: ctx.flags.timeout } : {}, ctx.signal);
  },
});
