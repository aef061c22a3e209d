/**
 * The simulators as programs, the way the cluster target runs them: the compiled JS files of src/sim/
 * copied alone into a directory (as from a ConfigMap) and started with `node provider-sim.js …`.
 * The files are compiled here from src/sim only, so the test neither depends on other parts of the
 * tree building nor runs a stale dist/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SIM_HEADERS } from '../../src/sim/headers.js';
import { post, send } from './http-client.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const simDir = join(root, 'src/sim');
let outDir: string;

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'sim-configmap-'));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const sources = readdirSync(simDir).filter((file) => file.endsWith('.ts')).map((file) => join(simDir, file));
  execFileSync(process.execPath, [
    tsc, '--outDir', outDir, '--rootDir', simDir, '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--strict', '--skipLibCheck', '--types', 'node', ...sources,
  ], { cwd: root, stdio: 'pipe' });
  // What the cluster target should ship beside the files, so node never has to guess the module format.
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
}, 60_000);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [join(outDir, program), ...args], {
    cwd: outDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exit = new Promise<Exit>((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
  return { child, exit };
}

async function waitForPortFile(file: string, exit: Promise<Exit>): Promise<number> {
  let exited: Exit | undefined;
  void exit.then((result) => { exited = result; });
  for (let i = 0; i < 200; i += 1) {
    if (exited) throw new Error(`exited early: ${exited.stderr}`);
    if (existsSync(file)) return Number(readFileSync(file, 'utf8').trim());
    await new Promise((done) => setTimeout(done, 25));
  }
  throw new Error('no port file');
}

describe('compiled simulators', () => {
  it('import nothing but node: built-ins and each other', () => {
    for (const file of readdirSync(outDir).filter((name) => name.endsWith('.js'))) {
      const text = readFileSync(join(outDir, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/gm)]
        .map((match) => match[1] ?? match[2] ?? '');
      if (file !== 'headers.js') expect(specifiers.length, file).toBeGreaterThan(0);
      for (const specifier of specifiers) expect(specifier, file).toMatch(/^(node:[a-z/_]+|\.\/[a-z-]+\.js)$/);
      for (const local of specifiers.filter((s) => s.startsWith('./'))) expect(existsSync(join(outDir, local))).toBe(true);
    }
  });
});

describe('provider-sim program', () => {
  it('refuses to start without a key: exit 2 and one line', async () => {
    const { exit } = run('provider-sim.js', ['--port', '0']);
    const result = await exit;
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^provider-sim: no API key/);
  });

  it('refuses a key passed as an argument without printing it', async () => {
    const { exit } = run('provider-sim.js', ['--api-key', 'sk-pasted-on-the-command-line'], { PROVIDER_API_KEY: 'k' });
    const result = await exit;
    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).not.toContain('pasted');
  });

  it('starts with PROVIDER_API_KEY, writes its port, serves, and exits 0 on SIGTERM', async () => {
    // Given
    const portFile = join(outDir, 'openai.port');
    const { child, exit } = run('provider-sim.js',
      ['--port', '0', '--name', 'openai', '--model', 'gpt-4', '--port-file', portFile], { PROVIDER_API_KEY: 'sk-openai-key-for-demo' });
    const port = await waitForPortFile(portFile, exit);
    // When
    const health = await send(port, { path: '/health' });
    const chat = await post(port, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] },
      { 'x-provider-api-key': 'sk-openai-key-for-demo' });
    child.kill('SIGTERM');
    const result = await exit;
    // Then
    expect(health.status).toBe(200);
    expect(chat.status).toBe(200);
    expect(chat.headers[SIM_HEADERS.provider]).toBe('openai');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`127.0.0.1:${port}`);
    expect(result.stdout).toMatch(/openai POST \/v1\/chat\/completions 200 key=ok/);
    expect(result.stdout + result.stderr).not.toContain('sk-openai-key-for-demo');
  });

  it('reads the key from --api-key-file in vllm style', async () => {
    // Given
    const keyFile = join(outDir, 'vllm.key');
    writeFileSync(keyFile, 'change-me-super-secret\n');
    const portFile = join(outDir, 'vllm.port');
    const { child, exit } = run('provider-sim.js',
      ['--style', 'vllm', '--model', 'Qwen/Qwen3-0.6B', '--api-key-file', keyFile, '--port-file', portFile, '--quiet']);
    const port = await waitForPortFile(portFile, exit);
    // When
    const ok = await send(port, { path: '/v1/models', headers: { authorization: 'Bearer change-me-super-secret' } });
    const bad = await send(port, { path: '/v1/models', headers: { authorization: 'Bearer invalid-key' } });
    child.kill('SIGINT');
    // Then
    expect(ok.status).toBe(200);
    expect(bad.json).toEqual({ error: 'Unauthorized' });
    expect((await exit).code).toBe(0);
  });
});

describe('inference-sim program', () => {
  it('refuses to start without --model', async () => {
    const result = await run('inference-sim.js', []).exit;
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('inference-sim: --model is required\n');
  });

  it('serves with POD_NAME/POD_NAMESPACE headers and exits 0 on SIGTERM', async () => {
    // Given
    const portFile = join(outDir, 'inference.port');
    const { child, exit } = run('inference-sim.js',
      ['--model', 'facebook/opt-125m', '--mode', 'echo', '--port-file', portFile],
      { POD_NAME: 'facebook-opt-125m-simulated-kserve-0', POD_NAMESPACE: 'llm' });
    const port = await waitForPortFile(portFile, exit);
    // When
    const res = await post(port, '/v1/chat/completions',
      { model: 'facebook/opt-125m', messages: [{ role: 'user', content: 'Hello from on-prem' }] });
    child.kill('SIGTERM');
    // Then
    expect(res.status).toBe(200);
    expect(res.headers['x-inference-pod']).toBe('facebook-opt-125m-simulated-kserve-0');
    expect(res.headers['x-inference-namespace']).toBe('llm');
    expect(res.headers['x-inference-port']).toBe(String(port));
    expect((await exit).code).toBe(0);
  });

  it('exits 1 with one line when the port is taken', async () => {
    // Given
    const portFile = join(outDir, 'first.port');
    const first = run('inference-sim.js', ['--model', 'm', '--port-file', portFile]);
    const port = await waitForPortFile(portFile, first.exit);
    // When
    const second = await run('inference-sim.js', ['--model', 'm', '--port', String(port)]).exit;
    // Then
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^inference-sim: .*EADDRINUSE.*\n$/);
  });
});
