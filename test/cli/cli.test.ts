/**
 * The CLI's surface, in-process through `main(argv, io)` (fast) and once through `bin/demo.js`: help,
 * version, usage errors as exactly one `error:` line plus a `hint:` (exit 2, no stack), JSON output of
 * a failing command, NDJSON as the event stream, NO_COLOR, and output-mode selection.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Io } from '../../src/cli/main.js';
import { chooseOutput, colorEnabled } from '../../src/cli/output.js';
import { commands } from '../../src/cli/commands.js';
import { parseEvent } from '../../src/core/events.js';
import { ROOT, ndjsonLines, runCli, runMain } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'maas-egress-demo-cli-'));
const stateDir = join(dir, 'state');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const env = { MAAS_EGRESS_DEMO_STATE_DIR: stateDir };

/** The usage-error contract: exit 2, nothing on stdout, one error line and one hint line, no stack. */
function expectUsageError(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: \S/);
  expect(lines[2]).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('help and version', () => {
  test('--help lists every command and the exit codes, exit 0', async () => {
    const r = await runMain(['--help'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const name of ['up', 'validate', 'doctor', 'down', 'env', 'manifests', 'replay', 'tour']) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(commands.map((c) => c.name).sort()).toEqual(['doctor', 'down', 'env', 'manifests', 'replay', 'tour', 'up', 'validate']);
    expect(r.stdout).toContain('Exit codes: 0 success, 1 a step or check failed, 2 bad usage or configuration, 130 interrupted.');
    for (const flag of ['--target', '--output', '--record', '--junit', '--config', '--no-color', '--debug']) expect(r.stdout).toContain(flag);
  });

  test('-h is --help; no command prints the help and exits 2', async () => {
    expect((await runMain(['-h'], env)).code).toBe(0);
    const bare = await runMain([], env);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Commands:');
  });

  test('<command> --help lists that command’s flags and the global ones', async () => {
    const r = await runMain(['up', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deploy steps 1–5/);
    for (const flag of ['--no-vllm', '--vllm-url', '--fault', '--strict-budget', '--timeout', '--output']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('Examples:');
    const down = await runMain(['down', '--help'], env);
    expect(down.stdout).toContain('Usage: demo down');
    expect(down.stdout).not.toContain('--fault');
  });

  test('--version and -v print the package version', async () => {
    expect(await runMain(['--version'], env)).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect((await runMain(['-v'], env)).stdout).toBe(`${pkg.version}\n`);
  });
});

describe('usage errors: exit 2, one error line, a hint, no stack trace', () => {
  test.each<[string, string[], Record<string, string>, RegExp]>([
    ['unknown command', ['bogus'], {}, /^error: unknown command "bogus"$/],
    ['unknown flag', ['up', '--bogus'], {}, /^error: unknown flag --bogus for npx maas-egress-demo up$/],
    ['unknown flag with a likely one', ['up', '--frob'], {}, /^error: unknown flag --frob for npx maas-egress-demo up \(did you mean "--from"\?\)$/],
    ['unknown global flag before the command', ['--frobnicate', 'down'], {}, /^error: unknown flag --frobnicate for npx maas-egress-demo down$/],
    ['a misspelt command', ['valdate'], {}, /^error: unknown command "valdate" \(did you mean "validate"\?\)$/],
    ['an unknown fault, with the likely one', ['up', '--fault', 'wrong-kye'], {}, /^error: unknown fault "wrong-kye" \(did you mean "wrong-key"\?\)$/],
    ['bad --output value', ['up', '--output', 'yaml'], {}, /^error: --output must be one of auto, tui, plain, json, ndjson; got "yaml"$/],
    ['bad -o value', ['down', '-o', 'xml'], {}, /--output must be one of/],
    ['bad DEMO_OUTPUT', ['down'], { DEMO_OUTPUT: 'yaml' }, /--output must be one of/],
    ['bad --target', ['down', '--target', 'moon'], {}, /^error: --target must be one of local, cluster; got "moon"$/],
    ['a flag missing its value', ['up', '--timeout'], {}, /--timeout/],
    ['a boolean flag given a value', ['up', '--no-vllm=yes'], {}, /no-vllm/],
    ['an unexpected argument', ['down', 'now'], {}, /^error: unexpected argument "now"$/],
    ['replay without FILE', ['replay'], {}, /^error: replay needs FILE$/],
    ['a config file that does not exist', ['down', '--config', '/nonexistent/demo.yaml'], {}, /^error: cannot read config file/],
    ['env with nothing running', ['env'], {}, /^error: the local topology is not running/],
    ['an unknown fault', ['up', '--fault', 'no-such-fault', '--output', 'plain'], {}, /^error: unknown fault "no-such-fault"$/],
    ['a bad --timeout', ['up', '--timeout', 'soon'], {}, /^error: --timeout must be a positive number of seconds; got "soon"$/],
    ['a bad --vllm-url', ['up', '--vllm-url', 'ftp://x'], {}, /^error: --vllm-url must be an http\(s\) URL/],
  ])('%s', async (_name, argv, extra, message) => {
    const r = await runMain(argv, { ...env, ...extra });
    if (r.stdout !== '') {
      // an error raised inside a streamed command comes after the run's header line, from the plain sink
      expect(r.code).toBe(2);
      const all = `${r.stdout}${r.stderr}`;
      expect(all).toMatch(new RegExp(message.source, 'm'));
      expect(all).toMatch(/^error: .*\nhint: \S/m);
      expect(all.match(/^error: /gm)).toHaveLength(1);
      expect(all).not.toMatch(/\n\s+at /);
      return;
    }
    expectUsageError(r, message);
  });

  test('config files: invalid YAML and a non-object are exit 2 with a hint', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'providers: [unclosed\n');
    expectUsageError(await runMain(['down', '--config', bad], env), /is not valid YAML or JSON/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expectUsageError(await runMain(['down', '--config', list], env), /must hold an object/);
  });

  test('a config whose shape the merge cannot follow is bad configuration (exit 2), not a bug', async () => {
    const bad = join(dir, 'cfg.json');
    writeFileSync(bad, JSON.stringify({ providers: [null] }));
    expectUsageError(await runMain(['down', '--config', bad], env), /providers\[0\]: expected a mapping, got null/);
  });

  test('an unexpected error is exit 70 with one line and a hint; --debug adds the stack', async () => {
    const { main } = await import('../../src/cli/main.js');
    let stderr = '';
    const io = (debug: boolean): Io => ({
      stdout: () => {
        throw new TypeError('stdout went away');
      },
      stderr: (t) => void (stderr += t),
      env: debug ? { MAAS_EGRESS_DEMO_DEBUG: '1' } : {},
      isTTY: false,
    });
    expect(await main(['--version'], io(false))).toBe(70);
    expect(stderr).toBe('error: stdout went away\nhint: re-run with --debug for the stack trace\n');
    stderr = '';
    expect(await main(['--version', '--debug'], io(true))).toBe(70);
    expect(stderr).toMatch(/^error: stdout went away\nhint: .*\nTypeError: stdout went away\n\s+at /);
  });
});

describe('--output json', () => {
  test('a usage error still prints exactly one JSON document, ok false, nothing on stderr', async () => {
    const r = await runMain(['env', '--output', 'json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { message: string; hint: string } };
    expect(doc).toEqual({ ok: false, exitCode: 2, error: { message: `the local topology is not running (no state in ${stateDir})`, hint: 'start it with `npx maas-egress-demo up`' } });
    const flag = await runMain(['up', '--output', 'json', '--bogus'], env);
    expect(flag.code).toBe(2);
    expect(JSON.parse(flag.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { message: expect.stringContaining('--bogus'), hint: expect.any(String) } });
    expect(flag.stderr).toBe('');
    const viaEnv = await runMain(['down', '--bogus'], { ...env, DEMO_OUTPUT: 'json' });
    expect(viaEnv.code).toBe(2);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    const overridden = await runMain(['down', '--bogus', '-o', 'plain'], { ...env, DEMO_OUTPUT: 'json' });
    expect(overridden.stdout).toBe('');
    expect(overridden.stderr).toMatch(/^error: /);
  });

  test('an error raised inside the stream: one document whose ok and exitCode agree with the exit code', async () => {
    const r = await runMain(['up', '--fault', 'no-such-fault', '--output', 'json'], env);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { message: string } };
    expect(doc).toMatchObject({ ok: false, exitCode: 2, error: { message: 'unknown fault "no-such-fault"' } });
  });

  test('a successful command: one document, ok true', async () => {
    const r = await runMain(['down', '-o', 'json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, exitCode: 0, command: 'down', target: 'local' });
  });
});

describe('--output ndjson', () => {
  test('is the event stream: every line an event, run-start first, run-end last', async () => {
    const r = await runMain(['down', '--output', 'ndjson'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const events = lines.map((l) => parseEvent(l));
    expect(events[0]).toMatchObject({ kind: 'run-start', command: 'down', target: 'local' });
    expect(events.at(-1)).toMatchObject({ kind: 'run-end', ok: true, exitCode: 0 });
    expect(events.map((e) => e.kind)).toContain('step-end');
    expect(ndjsonLines(r.stdout)).toHaveLength(lines.length);
  });
});

describe('--junit and --record', () => {
  test('write JUnit XML and a replayable recording next to the chosen output', async () => {
    const junit = join(dir, 'down.xml');
    const record = join(dir, 'down.ndjson');
    const r = await runMain(['down', '--junit', junit, '--record', record], env);
    expect(r.code).toBe(0);
    expect(readFileSync(junit, 'utf8')).toMatch(/<testcase classname="down.steps" name="step down: [^"]+"/);
    const recorded = readFileSync(record, 'utf8');
    expect(recorded).toContain('"kind":"run-end"');
  });
});

describe('colour', () => {
  const normalize = (s: string) => s.replace(/\d+ ms/g, 'N ms').replace(/\d+\.\d s/g, 'N s');

  test('FORCE_COLOR colours plain output; NO_COLOR and --no-color remove every escape and change nothing else', async () => {
    const colored = await runMain(['down'], { ...env, FORCE_COLOR: '1' });
    expect(colored.stdout).toMatch(/\u001b\[/);
    const noColor = await runMain(['down'], { ...env, FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(noColor.stdout).not.toMatch(/\u001b\[/);
    const flag = await runMain(['down', '--no-color'], { ...env, FORCE_COLOR: '1' });
    expect(flag.stdout).not.toMatch(/\u001b\[/);
    const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
    expect(normalize(noColor.stdout)).toBe(normalize(strip(colored.stdout)));
    expect(normalize(flag.stdout)).toBe(normalize(noColor.stdout));
  });

  test('colorEnabled: --no-color and NO_COLOR win; an empty NO_COLOR does not count; a TTY colours by default', () => {
    const io = (e: Record<string, string>, isTTY: boolean): Io => ({ stdout: () => undefined, stderr: () => undefined, env: e, isTTY });
    expect(colorEnabled({}, io({}, true))).toBe(true);
    expect(colorEnabled({}, io({}, false))).toBe(false);
    expect(colorEnabled({ 'no-color': true }, io({}, true))).toBe(false);
    expect(colorEnabled({}, io({ NO_COLOR: '1' }, true))).toBe(false);
    expect(colorEnabled({}, io({ NO_COLOR: '' }, true))).toBe(true);
    expect(colorEnabled({}, io({ FORCE_COLOR: '1' }, false))).toBe(true);
    expect(colorEnabled({}, io({ FORCE_COLOR: '0' }, false))).toBe(false);
    expect(colorEnabled({}, io({ FORCE_COLOR: '1', NO_COLOR: 'x' }, true))).toBe(false);
  });

  test('chooseOutput: auto is the TUI on a terminal outside CI, plain otherwise; explicit modes win', () => {
    const io = (e: Record<string, string>, isTTY: boolean): Io => ({ stdout: () => undefined, stderr: () => undefined, env: e, isTTY });
    expect(chooseOutput(undefined, io({}, true))).toBe('tui');
    expect(chooseOutput('auto', io({}, true))).toBe('tui');
    expect(chooseOutput(undefined, io({ CI: '1' }, true))).toBe('plain');
    expect(chooseOutput(undefined, io({}, false))).toBe('plain');
    expect(chooseOutput('json', io({}, true))).toBe('json');
    expect(chooseOutput('ndjson', io({ CI: '1' }, false))).toBe('ndjson');
  });
});

describe('bin/demo.js', () => {
  test('the shim runs the compiled CLI: --help exits 0, an unknown command exits 2 without a stack', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Commands:');
    const bad = await runCli(['bogus', '--output', 'plain'], { stateDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown command "bogus"\nhint: .*\n$/);
  });
});

describe('--output json where a command prints something else by default', () => {
  test('manifests --output json is one List of the objects, keys masked', async () => {
    const r = await runMain(['manifests', '--output', 'json'], env);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { apiVersion: string; kind: string; items: { kind: string; metadata: { name: string } }[] };
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items.map((o) => o.kind)).toEqual(expect.arrayContaining(['Gateway', 'HTTPRoute', 'AuthPolicy', 'XBackendDestination', 'ConfigMap']));
    expect(r.stdout).not.toContain('sk-openai-key-for-demo');
    expect(r.stdout).toContain('sk-o…demo');
    // the platform's gateway TokenRateLimitPolicy only when asked for, and never with our internal apply-mode annotation
    expect(list.items.map((o) => o.kind)).not.toContain('TokenRateLimitPolicy');
    const withPlatform = await runMain(['manifests', '--output', 'json', '--include-platform'], env);
    const items = (JSON.parse(withPlatform.stdout) as typeof list).items;
    expect(items.map((o) => o.kind)).toContain('TokenRateLimitPolicy');
    expect(withPlatform.stdout).not.toContain('maas-egress-demo/apply');
  });
});

describe('hints print commands as the tool was run', () => {
  test('`demo` only where demo is what the user typed from PATH; otherwise npx maas-egress-demo', async () => {
    const { asInstalled, invocation } = await import('../../src/cli/invocation.js');
    expect(invocation({ PATH: '/usr/local/bin:/usr/bin' }, '/usr/local/bin/demo')).toBe('demo');
    expect(invocation({ PATH: '/usr/local/bin:/usr/bin' }, '/usr/local/bin/maas-egress-demo')).toBe('maas-egress-demo');
    expect(invocation({ PATH: '/usr/bin' }, '/home/me/clone/bin/demo.js')).toBe('npx maas-egress-demo');
    expect(invocation({ PATH: '/root/.npm/_npx/abc/node_modules/.bin:/usr/bin' }, '/root/.npm/_npx/abc/node_modules/.bin/maas-egress-demo')).toBe('npx maas-egress-demo');
    expect(asInstalled('next: eval "$(demo env)"  then  demo validate; see `demo up --help` and the demo users', 'npx maas-egress-demo')).toBe('next: eval "$(npx maas-egress-demo env)"  then  npx maas-egress-demo validate; see `npx maas-egress-demo up --help` and the demo users');
  });

  test('a hint printed from a clone runs as printed', async () => {
    const r = await runCli(['env'], { stateDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: start it with `npx maas-egress-demo up`');
  });
});

