/** `demo up`: steps 1–5 (and 3a) with readiness waits, on the local target or a cluster. */
import { readFileSync } from 'node:fs';
import type { CommandContext, CommandModule } from '../main.js';
import { UserError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { selectSteps } from '../../../steps/index.js';

export function timeoutMs(ctx: CommandContext, fallbackSeconds: number): number {
  const raw = ctx.flags.timeout;
  if (raw === undefined) return fallbackSeconds * 1000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`--timeout must be a positive number of seconds; got "${String(raw)}"`, 'e.g. --timeout 120');
  return n * 1000;
}

export function wantVllm(ctx: CommandContext): boolean {
  if (ctx.flags['no-vllm']) return false;
  if (ctx.flags.vllm || ctx.flags['vllm-host'] || ctx.flags['vllm-url']) return true;
  return ctx.target === 'local';
}

/** The vLLM key: --vllm-key-file, else VLLM_API_KEY, else the configured default. Never a plain flag. */
export function applyVllmKey(ctx: CommandContext): void {
  const vllm = ctx.cfg.providers.find((p) => p.name === 'vllm');
  if (!vllm) return;
  const file = ctx.flags['vllm-key-file'];
  if (typeof file === 'string') {
    try {
      vllm.key = new Secret(readFileSync(file, 'utf8').trim());
    } catch {
      throw new UserError(`cannot read --vllm-key-file ${file}`, 'give a file holding only the key');
    }
  } else if (ctx.io.env.VLLM_API_KEY) {
    vllm.key = new Secret(ctx.io.env.VLLM_API_KEY);
  }
}

const command: CommandModule = {
  kind: 'stream',
  plan: (ctx) => [
    ...(ctx.target === 'local' ? [{ id: 'platform', title: 'MaaS platform: gateway (TLS, policies) and maas-api' }] : []),
    ...selectSteps({ vllm: wantVllm(ctx) }).map((s) => ({ id: s.id, title: s.title })),
  ],
  async *run(ctx) {
    applyVllmKey(ctx);
    if (ctx.target === 'cluster') {
      const { clusterUp } = await import('../../targets/cluster/index.js');
      yield* clusterUp(ctx);
      return;
    }
    const vllmUrl = ctx.flags['vllm-url'];
    if (typeof vllmUrl === 'string') {
      try {
        const u = new URL(vllmUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      } catch {
        throw new UserError(`--vllm-url must be an http(s) URL; got "${vllmUrl}"`, 'e.g. --vllm-url http://vllm.example.com:8000');
      }
    }
    const { localUp } = await import('../../targets/local/local-target.js');
    const { stateDir } = await import('../../targets/local/state.js');
    yield* localUp(
      ctx.cfg,
      {
        vllm: wantVllm(ctx),
        ...(typeof vllmUrl === 'string' ? { vllmUrl } : {}),
        faults: (ctx.flags.fault as string[] | undefined) ?? [],
        strictBudget: Boolean(ctx.flags['strict-budget']),
        timeoutMs: timeoutMs(ctx, 10),
      },
      stateDir(ctx.io.env),
      ctx.signal,
    );
  },
};
export default command;
