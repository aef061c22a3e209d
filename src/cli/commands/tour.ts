/**
 * `demo tour`: up, validate, doctor and down in one session, with a short explanation before each
 * phase and a pause (enter continues, q stops). Without a keyboard (pipes, CI) it continues on its
 * own. Each phase is the real command module, loaded when its turn comes and driven like
 * `cli/main.ts` drives it; the TUI, the recorder and JUnit see one stream of several runs.
 *
 * @example
 *   Step 1 of 4 · demo up
 *   Deploy the demo. …
 *   enter run demo up · q stop the tour
 */
import { EXIT } from '../../core/errors.js';
import type { CommandName, EventInput } from '../../core/events.js';
import type { EventSink } from '../../core/run.js';
import { defineCommand, type AnyCommand, type CommandContext, type DirectCommand } from '../define.js';
import { flag, resolveFlags } from '../flags.js';
import { createOutputSinks, inCi } from '../output.js';

export interface Phase {
  command: Extract<CommandName, 'up' | 'validate' | 'doctor' | 'down'>;
  title: string;
  /** What the phase does and why, in a few sentences of our own. */
  text: string;
  /** Runs even when an earlier phase failed (doctor explains failures; down cleans up). */
  always: boolean;
  /** The MaaS generation the phase belongs to: a failed `up` skips only its own generation's phases. */
  maas: 'tier' | 'subscription';
  /** Flags of the phase's command beyond its defaults (`up --maas subscription`). */
  flags?: Record<string, unknown>;
}

export const PHASES: Phase[] = [
  {
    command: 'up',
    maas: 'tier',
    title: 'demo up: deploy the pieces, one step at a time',
    text:
      'The egress gateway comes first: every call to an outside model provider leaves through it. Then an on-prem model, ' +
      'simulators standing in for the hosted providers, and the MaaS routes that put each provider’s key on the request. ' +
      'Each step waits until what it started reports ready, so a failure names the step that caused it.',
    always: false,
  },
  {
    command: 'validate',
    maas: 'tier',
    title: 'demo validate: send real calls and follow each one',
    text:
      'A user token is minted, then each call goes in through the MaaS gateway with a named expected result: ' +
      'a completion, a 401 without a token, a 429 once the budget is spent. Every hop reports the path it saw and what it changed, ' +
      'so a wrong answer is pinned on the hop that made it. Use ↑/↓ and enter to open any call’s trace.',
    always: false,
  },
  {
    command: 'doctor',
    maas: 'tier',
    title: 'demo doctor: look for the usual faults',
    text:
      'Doctor checks the install, the URL rewrites on both gateways, that the provider key is injected exactly once, ' +
      'and the rate limits. Each finding comes with its evidence and the concrete fix, so you can repair it and run doctor again.',
    always: true,
  },
  {
    command: 'down',
    maas: 'tier',
    title: 'demo down: leave nothing behind',
    text:
      'Down removes only what the demo created, found by its labels, and waits until all of it is gone. ' +
      'Nothing else on your laptop or cluster is touched.',
    always: true,
  },
  {
    command: 'up',
    maas: 'subscription',
    flags: { maas: 'subscription' },
    title: 'demo up --maas subscription: the same idea in current MaaS',
    text:
      'Upstream MaaS replaced tokens and tiers with API keys kept as hashes in PostgreSQL, and subscriptions that give each model a token budget. ' +
      'External models are upstream now: provider keys sit in Secrets, payload processing injects them and translates for Anthropic, and the gateway originates TLS to each provider. ' +
      'The steps follow upstream’s external-model setup: credentials, external models, the catalog, access and limits.',
    always: false,
  },
  {
    command: 'validate',
    maas: 'subscription',
    title: 'demo validate: an API key, every model, every way in',
    text:
      'An sk-oai- key is minted for the subscription, then every model is called by the model name in the body and by its path. ' +
      'The calls also show a bogus key refused with 403, a revoked key refused once the identity cache lets go of it, and a stream counted against the budget. ' +
      'Every hop, payload processing included, reports what it did.',
    always: false,
  },
  {
    command: 'doctor',
    maas: 'subscription',
    title: 'demo doctor: the pitfalls of the current generation',
    text:
      'Doctor looks for what upstream’s troubleshooting warns about: a Secret payload processing cannot see, a TLS setting that does not match the endpoint, a model that is not Ready, a subscription without the model. ' +
      'Each finding names the object and field, and the fix is a patch of that object.',
    always: true,
  },
  {
    command: 'down',
    maas: 'subscription',
    title: 'demo down: the keys go with it',
    text: 'Down stops every process and removes the PostgreSQL data, and with it every API key. The prepared database template stays cached, so the next up is quick.',
    always: true,
  },
];

export type ModuleLoader = (name: Phase['command']) => Promise<AnyCommand>;

const loadModule: ModuleLoader = async (name) => {
  switch (name) {
    case 'up':
      return (await import('./up.js')).default;
    case 'validate':
      return (await import('./validate.js')).default;
    case 'doctor':
      return (await import('./doctor.js')).default;
    case 'down':
      return (await import('./down.js')).default;
  }
};

/** A direct command (one that prints for itself) run inside the stream, so its error still reaches the screen. */
async function* asStream(mod: DirectCommand, ctx: CommandContext): AsyncIterable<EventInput> {
  const code = await mod.run(ctx);
  if (code !== EXIT.ok) yield { kind: 'log', level: 'error', message: `demo ${ctx.command} exited with ${code}` };
}

/** Keeps a sink open across the phases: drive() closes its sinks after every run. */
function keepOpen(sink: EventSink): EventSink {
  return { write: (e) => sink.write(e) };
}

export interface TourOptions {
  phases?: Phase[];
  load?: ModuleLoader;
  /** Only this generation's phases (`demo tour --maas subscription`). */
  maas?: Phase['maas'];
}

export async function runTour(ctx: CommandContext, opts: TourOptions = {}): Promise<number> {
  const phases = (opts.phases ?? PHASES).filter((p) => !opts.maas || p.maas === opts.maas);
  const load = opts.load ?? loadModule;
  const { drive } = await import('../../core/run.js');
  const out = await createOutputSinks(ctx);
  const auto = inCi(ctx.io.env) || (out.tui ? !out.tui.keyboard : !ctx.io.isTTY);

  /** Shows the explanation; resolves false when the user stops the tour. */
  const intro = async (phase: Phase, index: number): Promise<boolean> => {
    const title = `Step ${index + 1} of ${phases.length} · ${phase.title}`;
    if (out.tui) {
      const go = auto ? true : await out.tui.pause({ title, text: phase.text, next: `run demo ${phase.command}` });
      if (go) out.tui.note(title, phase.text);
      return go;
    }
    if (out.mode === 'plain') ctx.io.stdout(`\n${title}\n${phase.text}\n\n`);
    if (auto || out.mode !== 'plain') return true;
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`press enter to run demo ${phase.command}, q to stop `);
      return answer.trim().toLowerCase() !== 'q';
    } catch {
      return false;
    } finally {
      rl.close();
    }
  };

  let exitCode: number = EXIT.ok;
  const upFailed = new Set<Phase['maas']>();
  let stopped = false;
  try {
    for (const [index, phase] of phases.entries()) {
      if (ctx.signal.aborted) break;
      if (upFailed.has(phase.maas) && !phase.always) continue;
      if (!(await intro(phase, index))) {
        stopped = true;
        break;
      }
      const mod = await load(phase.command);
      // The phase's own flags at their defaults (and environment twins), the tour's global flags on top.
      const phaseCtx: CommandContext = { ...ctx, command: phase.command, flags: { ...resolveFlags(mod.flags, {}, ctx.io.env), ...ctx.flags, ...(phase.flags ?? {}) } };
      // json prints one document per run; the other sinks stay open for the whole tour.
      const view = out.mode === 'json' ? (await import('../../render/json.js')).createJsonSink({ write: ctx.io.stdout }) : keepOpen(out.view);
      const sinks = [view, ...out.extra.map(keepOpen)];
      const plan = mod.kind === 'stream' && mod.plan ? await mod.plan(phaseCtx) : undefined;
      const result = await drive(mod.kind === 'stream' ? mod.run(phaseCtx) : asStream(mod, phaseCtx), {
        command: phase.command,
        target: ctx.flags.target ?? 'local',
        version: ctx.version,
        sinks,
        signal: ctx.signal,
        ...(plan ? { plan } : {}),
        failOnWarning: mod.kind === 'stream' ? (mod.failOnWarning?.(phaseCtx) ?? false) : false,
      });
      if (result.exitCode !== EXIT.ok && exitCode === EXIT.ok) exitCode = result.exitCode;
      if (phase.command === 'up' && result.exitCode !== EXIT.ok) upFailed.add(phase.maas);
      if (result.exitCode === EXIT.interrupted) break;
    }
    if (stopped) {
      const text = 'Stopped before the end. Whatever `demo up` started is still running; `demo down` removes it.';
      if (out.tui) out.tui.note('Tour stopped', text);
      else if (out.mode === 'plain') ctx.io.stdout(`\n${text}\n`);
    }
  } finally {
    if (out.mode === 'json') {
      for (const sink of out.extra) await sink.close?.();
    } else {
      for (const sink of out.all) await sink.close?.();
    }
  }
  return ctx.signal.aborted ? EXIT.interrupted : exitCode;
}

export default defineCommand({
  kind: 'direct',
  name: 'tour',
  summary: 'walk through up, validate, doctor and down, explaining each step, in both MaaS generations',
  usage: 'demo tour [--maas tier|subscription]',
  examples: ['demo tour', 'demo tour --maas subscription'],
  flags: { maas: flag.choice(['tier', 'subscription'] as const, 'GEN', 'walk only this MaaS generation (default: the tier era, then the subscription era)') },
  run: (ctx) => runTour(ctx, ctx.flags.maas ? { maas: ctx.flags.maas } : {}),
});
