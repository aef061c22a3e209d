import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { AnyCommand, CommandContext, Io } from '../../src/cli/define.js';
import { globalFlags, resolveFlags } from '../../src/cli/flags.js';
import { PHASES, runTour, type Phase } from '../../src/cli/commands/tour.js';
import { defaultConfig } from '../../src/core/config.js';
import type { EventInput } from '../../src/core/events.js';
import { readRecording, recordedExitCode } from '../../src/record/replay.js';

function fakeModule(name: string, ok: boolean, ran: string[]): AnyCommand {
  return {
    kind: 'stream',
    name: name as AnyCommand['name'],
    summary: name,
    usage: name,
    examples: [],
    flags: {},
    async *run(): AsyncIterable<EventInput> {
      ran.push(name);
      if (name === 'up' || name === 'down') {
        yield { kind: 'step-start', step: '1', title: `${name} step` };
        yield { kind: 'step-end', step: '1', ok, ms: 3, ...(ok ? {} : { message: 'broke' }) };
      } else {
        yield { kind: 'check', id: `${name}-1`, category: name, title: `${name} check`, outcome: ok ? 'pass' : 'fail', ms: 1 };
      }
    },
  };
}

function context(flags: Partial<CommandContext['flags']> = {}): { ctx: CommandContext; out: () => string } {
  let out = '';
  const io: Io = { stdout: (t) => void (out += t), stderr: () => undefined, env: {}, isTTY: false, columns: 80 };
  const ctx: CommandContext = { command: 'tour', flags: { ...resolveFlags(globalFlags, {}, {}), output: 'plain', ...flags }, positionals: [], cfg: defaultConfig(), signal: new AbortController().signal, io, version: '0.1.0' };
  return { ctx, out: () => out };
}

describe('demo tour', () => {
  test('explains and runs up, validate, doctor and down in order, for each MaaS generation, without pausing when there is no terminal', async () => {
    // Given fake commands where one validate call fails
    const ran: string[] = [];
    const { ctx, out } = context();
    // When
    const code = await runTour(ctx, { load: async (name) => fakeModule(name, name !== 'validate', ran) });
    // Then every phase ran, each after its explanation, and the exit code reports the failure
    expect(ran).toEqual(['up', 'validate', 'doctor', 'down', 'up', 'validate', 'doctor', 'down']);
    expect(code).toBe(1);
    const text = out();
    let at = 0;
    for (const phase of PHASES) {
      const next = text.indexOf(`Step ${PHASES.indexOf(phase) + 1} of 8 · ${phase.title}`, at);
      expect(next).toBeGreaterThanOrEqual(at);
      at = next;
    }
    expect(text).toContain('× validate check [validate-1]');
  });

  test('when up fails, validate is skipped but doctor and down still run, and the next generation still comes up', async () => {
    const ran: string[] = [];
    const { ctx } = context();
    const code = await runTour(ctx, { load: async (name) => fakeModule(name, name !== 'up', ran) });
    expect(ran).toEqual(['up', 'doctor', 'down', 'up', 'doctor', 'down']);
    expect(code).toBe(1);
  });

  test('the subscription phases run up with --maas subscription; --maas walks one generation', async () => {
    const seen: unknown[] = [];
    const { ctx } = context();
    const load = async (name: Phase['command']): Promise<AnyCommand> => ({ ...fakeModule(name, true, []), async *run(c: CommandContext) { seen.push(`${name}:${String(c.flags.maas ?? '-')}`); yield { kind: 'log' as const, level: 'info' as const, message: name }; } }) as AnyCommand;
    await runTour(ctx, { load, maas: 'subscription' });
    expect(seen).toEqual(['up:subscription', 'validate:-', 'doctor:-', 'down:-']);
  });

  test('every phase explanation is two to four sentences', () => {
    for (const p of PHASES) {
      const sentences = p.text.split(/(?<=[.!?])\s+/).filter(Boolean);
      expect(sentences.length, p.command).toBeGreaterThanOrEqual(2);
      expect(sentences.length, p.command).toBeLessThanOrEqual(4);
    }
  });

  test('--record keeps the whole tour in one recording that replays with its exit code', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'demo-tour-')), 'tour.ndjson');
    const { ctx } = context({ record: file });
    const phases: Phase[] = PHASES.filter((p) => p.command !== 'doctor' && p.maas === 'tier');
    await runTour(ctx, { phases, load: async (name) => fakeModule(name, name !== 'validate', []) });
    const rec = readRecording(file);
    expect(rec.header.command).toBe('tour');
    expect(rec.events.filter((e) => e.kind === 'run-start').map((e) => e.kind === 'run-start' && e.command)).toEqual(['up', 'validate', 'down']);
    expect(recordedExitCode(rec.events)).toBe(1);
  });
});
