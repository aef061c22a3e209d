/**
 * `demo env`: shell export lines for the running target, so the seed's curl lines run by hand.
 *
 * @example
 *   export HOST='127.0.0.1:41237'
 *   export CA_FILE='/home/me/.local/state/maas-egress-demo/tls/ca.pem'
 */
import { EXIT } from '../../core/errors.js';
import { defineCommand } from '../define.js';
import { openTarget } from '../target-options.js';

const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

export default defineCommand({
  kind: 'direct',
  name: 'env',
  summary: 'print shell export lines (HOST, CA_FILE, CLUSTER_TOKEN, VLLM_URL) for the running target',
  usage: 'eval "$(demo env)"',
  examples: ['eval "$(demo env)"', 'demo env --output json'],
  flags: {},
  async run(ctx) {
    const facts = await (await openTarget(ctx)).env();
    // --output json: the same variables as one document (for tools); otherwise lines for `eval`.
    if (ctx.flags.output === 'json') ctx.io.stdout(`${JSON.stringify(facts, null, 2)}\n`);
    else for (const [k, v] of Object.entries(facts)) ctx.io.stdout(`export ${k}=${quote(v)}\n`);
    return EXIT.ok;
  },
});
