/** `demo manifests`: every step's objects as multi-document YAML, with no cluster at all. */
import { EXIT } from '../../core/errors.js';
import { defineCommand } from '../define.js';
import { flag } from '../flags.js';

export default defineCommand({
  kind: 'direct',
  name: 'manifests',
  summary: "render every step's objects as multi-document YAML, or a List with --output json (no cluster needed; keys masked unless --reveal-keys)",
  usage: 'demo manifests [flags]',
  examples: ['demo manifests', 'demo manifests --vllm-host vllm.example.com > demo.yaml', 'demo manifests --maas subscription'],
  flags: {
    vllm: flag.boolean('include step 3a'),
    'vllm-host': flag.string('HOST', 'remote vLLM host'),
    step: flag.string('ID', 'only this step (1, 2, 3, 3a, 4, 5; s1–s4 with --maas subscription)'),
    maas: flag.choice(['tier', 'subscription'] as const, 'GEN', "which MaaS generation's objects: tier (default, the seed demo) or subscription (current MaaS)", { env: 'DEMO_MAAS' }),
    'reveal-keys': flag.boolean('print real provider keys (for piping to kubectl)'),
    'simulator-image': flag.string('IMAGE', 'prebuilt provider simulator image'),
    'include-platform': flag.boolean('also print the objects the platform owns (the gateway TokenRateLimitPolicy MaaS ships), marked as such'),
  },
  async run(ctx) {
    const { renderManifests } = await import('../../targets/index.js');
    const f = ctx.flags;
    ctx.io.stdout(
      await renderManifests({
        cfg: ctx.cfg,
        env: ctx.io.env,
        vllm: f.vllm,
        revealKeys: f['reveal-keys'],
        json: f.output === 'json',
        includePlatform: f['include-platform'],
        ...(f['vllm-host'] !== undefined ? { vllmHost: f['vllm-host'] } : {}),
        ...(f['simulator-image'] !== undefined ? { simulatorImage: f['simulator-image'] } : {}),
        ...(f.step !== undefined ? { step: f.step } : {}),
        ...(f.maas !== undefined ? { maas: f.maas } : {}),
      }),
    );
    return EXIT.ok;
  },
});
