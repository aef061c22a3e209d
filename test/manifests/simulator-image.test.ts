/**
 * `--simulator-image` with the vLLM provider: the seed's provider-sim image reads its key from
 * X-Provider-Api-Key only (contracts §3.4), while the vLLM bridge injects `Authorization: Bearer <key>`
 * as a real vLLM needs. Checked on the rendered manifests: every simulator reads the header its bridge
 * injects, and the vLLM simulator, started with exactly the rendered arguments and Secret, accepts what
 * the bridge sends (validate's call 6).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { parseProviderSimArgs, startProviderSim } from '../../src/sim/provider-sim.js';
import type { RunningSim } from '../../src/sim/sim-program.js';
import { PREBUILT_SIM_KEY_HEADER, renderAll } from '../../src/manifests/render.js';
import type { K8sObject } from '../../src/model/k8s-object.js';
import { post } from '../sim/http-client.js';
import { allObjects, at, find, makeCtx } from './helpers.js';

const IMAGE = 'ghcr.io/nerdalert/provider-sim:latest';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
}

function container(objs: K8sObject[], simulator: string): Container {
  return at(find(objs, 'Deployment', simulator), 'spec.template.spec.containers[0]') as Container;
}

/** The CEL string literal of a rendered AuthPolicy header, as the value Authorino sends. */
function celLiteral(expr: string): string {
  const m = /^'((?:[^'\\]|\\.)*)'$/s.exec(expr);
  if (!m) throw new Error(`not a CEL string literal: ${expr}`);
  return m[1]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
}

/** The header (lower-cased) and value the bridge policy of `provider` injects. */
function injected(objs: K8sObject[], provider: string): { header: string; value: string } {
  const headers = at(find(objs, 'AuthPolicy', `${provider}-bridge-auth`), 'spec.rules.response.success.headers') as Record<string, { plain: { expression: string } }>;
  const entries = Object.entries(headers);
  expect(entries, `${provider}-bridge-auth injects one header`).toHaveLength(1);
  const [name, spec] = entries[0]!;
  return { header: name.toLowerCase(), value: celLiteral(spec.plain.expression) };
}

/** The header a rendered simulator container reads the key from. */
function reads(c: Container): string {
  if (c.image === IMAGE) return PREBUILT_SIM_KEY_HEADER; // the seed image: X-Provider-Api-Key, no flag to change it
  const parsed = parseProviderSimArgs(c.args, { PROVIDER_API_KEY: 'k' });
  return parsed.style === 'vllm' ? 'authorization' : (parsed.keyHeader ?? 'x-provider-api-key').toLowerCase();
}

const started: RunningSim[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

describe('--simulator-image with the vLLM provider', () => {
  const plan = renderAll(makeCtx({ simulatorImage: IMAGE }));
  const objs = allObjects(plan);
  const simulated = defaultConfig().providers.filter((p) => p.simulator);

  it('renders a simulator for every provider, each reading the header its bridge injects', () => {
    expect(simulated.map((p) => p.name)).toEqual(['openai', 'anthropic', 'vllm']);
    for (const p of simulated) {
      const c = container(objs, p.simulator!);
      expect(reads(c), `${p.simulator} reads what ${p.name}-bridge-auth injects`).toBe(injected(objs, p.name).header);
    }
  });

  it('runs the prebuilt image for openai and anthropic, and our simulator on the stock image for vLLM (keyed on Authorization)', () => {
    for (const name of ['openai-simulator', 'anthropic-simulator']) {
      const c = container(objs, name);
      expect(c.image).toBe(IMAGE);
      expect(c.args).toContain('$(PROVIDER_API_KEY)');
      expect(objs.some((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-code`)).toBe(false);
    }
    const vllm = container(objs, 'vllm-simulator');
    expect(vllm.image).toBe(defaultConfig().simulatorImage);
    expect(vllm.command?.[0]).toBe('node');
    expect(vllm.args).toEqual(expect.arrayContaining(['--style', 'vllm', '--key-header', 'authorization']));
    const code = find(objs, 'ConfigMap', 'vllm-simulator-code');
    expect(at(find(objs, 'Deployment', 'vllm-simulator'), 'spec.template.spec.volumes[0].configMap.name')).toBe(code.metadata.name);
    // the vLLM bridge is the seed's: the key replaces Authorization (so the route must not strip it)
    expect(injected(objs, 'vllm')).toEqual({ header: 'authorization', value: 'Bearer change-me-super-secret' });
    const filters = at(find(objs, 'HTTPRoute', 'vllm-bridge'), 'spec.rules[0].filters') as { type: string }[];
    expect(filters.map((f) => f.type)).toEqual(['URLRewrite']);
  });

  it('says why the vLLM simulator does not run the prebuilt image', () => {
    const notes = plan.flatMap((r) => r.notes);
    expect(notes).toContainEqual(expect.stringMatching(/^vllm-simulator keeps our simulator instead of ghcr\.io\/nerdalert\/provider-sim:latest: its bridge injects Authorization, and the prebuilt image reads only X-Provider-Api-Key$/));
    expect(notes.join('\n')).not.toContain('change-me-super-secret');
  });

  it('the vLLM simulator, started with the rendered arguments and Secret, answers what the vllm bridge sends (call 6)', async () => {
    // Given the rendered container arguments, on a free loopback port, and the key from the rendered Secret
    const c = container(objs, 'vllm-simulator');
    const args = c.args.map((a, i) => (c.args[i - 1] === '--port' ? '0' : c.args[i - 1] === '--host' ? '127.0.0.1' : a));
    const key = (at(find(objs, 'Secret', 'vllm-simulator-api-key'), 'stringData') as Record<string, string>)['api-key']!;
    const sim = await startProviderSim(parseProviderSimArgs(args, { PROVIDER_API_KEY: key }));
    started.push(sim);
    const chat = { model: 'Qwen/Qwen3-0.6B', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 };
    // When the request arrives as the bridge policy leaves it
    const { header, value } = injected(objs, 'vllm');
    const ok = await post(sim.port, '/v1/chat/completions', chat, { [header]: value });
    // Then it is a completion, not the 401 the prebuilt image gave
    expect(ok.status, ok.text).toBe(200);
    expect((ok.json as { model: string }).model).toBe('Qwen/Qwen3-0.6B');
    // and the header the prebuilt image would have wanted is not a way in
    const other = await post(sim.port, '/v1/chat/completions', chat, { 'x-provider-api-key': key });
    expect(other.status).toBe(401);
    expect(other.json).toEqual({ error: 'Unauthorized' });
  });

  it('needs no code ConfigMap when every simulated provider runs the prebuilt image (no vLLM, or a remote one)', () => {
    for (const ctx of [makeCtx({ simulatorImage: IMAGE }, { vllm: false }), makeCtx({ simulatorImage: IMAGE, vllmHost: 'vllm.example.com' })]) {
      const rendered = renderAll(ctx);
      expect(allObjects(rendered).filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-code'))).toEqual([]);
      expect(rendered.flatMap((r) => r.notes).filter((n) => n.includes('keeps our simulator'))).toEqual([]);
    }
  });
});
