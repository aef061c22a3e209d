import { describe, expect, it } from 'vitest';

import { renderForDisplay } from '../../src/manifests/render.js';
import { planToYaml } from '../../src/targets/cluster/manifest-yaml.js';
import { makeCtx } from './helpers.js';

describe('golden plan', () => {
  it('prints the whole default plan (keys masked, placeholder simulator) as in the golden file', async () => {
    // A fixed, absent simulator directory keeps the output the same whether or not dist/ was built.
    const text = planToYaml(renderForDisplay(makeCtx({ simDir: '/nonexistent/sim', tokenRateLimit: true })));
    await expect(text).toMatchFileSnapshot('./__golden__/plan-default.yaml');
  });
});
