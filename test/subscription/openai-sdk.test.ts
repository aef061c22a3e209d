/**
 * The official OpenAI SDK against the subscription era (base URL https://$HOST/v1, an API key):
 * every listed model answers, plain and streamed — including the Anthropic one, translated both ways.
 * The openai provider is pointed at "a real endpoint" the way a user points it at api.openai.com
 * (`--provider openai=https://…`, `--provider-key-file`), here an HTTPS server on loopback whose
 * private CA is passed the way a user passes one (`--provider-ca-file`): the gateway verifies it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startProviderSim } from '../../src/sim/provider-sim.js';
import { createProviderPki } from '../../src/targets/local/certificates.js';
import type { RunningSim } from '../../src/sim/sim-program.js';
import { runCli, tempStateDir } from '../helpers/run-cli.js';
import { pidAlive, readStateFile } from '../helpers/topology.js';
import { SHARED_CACHE } from './helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

const REAL_KEY = 'sk-proj-a-real-looking-key-from-a-file-0042';

interface Install {
  dir: string;
  env: Record<string, string>;
}

async function up(label: string, args: string[]): Promise<Install> {
  const dir = tempStateDir(label);
  const r = await runCli(['up', '--maas', 'subscription', '--output', 'plain', ...args], { stateDir: dir, timeoutMs: 170_000, env: { MAAS_EGRESS_DEMO_CACHE_DIR: SHARED_CACHE } });
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout + r.stderr).not.toContain(REAL_KEY);
  const env = await runCli(['env'], { stateDir: dir });
  return { dir, env: Object.fromEntries(env.stdout.trim().split('\n').map((l) => /^export (\w+)='(.*)'$/.exec(l)!.slice(1, 3) as [string, string])) };
}

async function down(i: Install | undefined): Promise<void> {
  if (!i) return;
  const state = readStateFile(i.dir);
  await runCli(['down', '--output', 'plain'], { stateDir: i.dir, timeoutMs: 60_000 });
  for (const c of Object.values(state?.components ?? {})) if (pidAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
}

let sim: RunningSim;
let files: { key: string; ca: string; wrongCa: string };

beforeAll(async () => {
  // A provider on loopback with a certificate for `localhost` from a private CA, as a user's own provider could be.
  const pki = await createProviderPki('openai', ['localhost']);
  const other = await createProviderPki('someone-else', ['localhost']);
  const d = mkdtempSync(join(tmpdir(), 'maas-egress-demo-test-provider-'));
  files = { key: join(d, 'key.txt'), ca: join(d, 'ca.pem'), wrongCa: join(d, 'other-ca.pem') };
  writeFileSync(files.key, `${REAL_KEY}\n`, { mode: 0o600 });
  writeFileSync(files.ca, pki.caPem);
  writeFileSync(files.wrongCa, other.caPem);
  sim = await startProviderSim({ apiKey: REAL_KEY, name: 'openai', model: 'gpt-4', keyHeader: 'authorization', tls: { cert: pki.certPem, key: pki.keyPem }, host: '127.0.0.1', latencyMs: 0 });
});

afterAll(async () => {
  await sim?.close();
});

describe('the OpenAI SDK, every model, plain and streamed', () => {
  let install: Install | undefined;
  let client: OpenAI;
  let agent: Agent;

  beforeAll(async () => {
    install = await up('sdk', ['--provider', `openai=https://localhost:${sim.port}`, '--provider-key-file', `openai=${files.key}`, '--provider-ca-file', `openai=${files.ca}`]);
    const { HOST, CA_FILE, CLUSTER_TOKEN, MAAS_SUBSCRIPTION } = install.env;
    const { readFileSync } = await import('node:fs');
    agent = new Agent({ connect: { ca: readFileSync(CA_FILE!, 'utf8') } });
    const minted = await undiciFetch(`https://${HOST}/maas-api/v1/api-keys`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${CLUSTER_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sdk', subscription: MAAS_SUBSCRIPTION }) });
    expect(minted.status).toBe(201);
    const { key } = (await minted.json()) as { key: string };
    client = new OpenAI({ baseURL: `https://${HOST}/v1`, apiKey: key, maxRetries: 0, fetch: ((url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch });
  });

  afterAll(async () => {
    await agent?.close();
    await down(install);
  });

  test('models.list() gives every model; each answers chat.completions.create, streamed or not', async () => {
    // When
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    // Then
    expect(models.sort()).toEqual(['claude-3-sonnet', 'gpt-4', 'qwen-qwen3-0.6b']);
    for (const model of models) {
      const done = await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Hello ${model}` }], max_tokens: 8 });
      expect(done.object, model).toBe('chat.completion');
      expect(done.choices[0]!.message.content, model).toMatch(/\w/);
      expect(done.usage!.total_tokens, model).toBeGreaterThan(0);
      const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `Stream, ${model}` }], max_tokens: 8, stream: true });
      let text = '';
      let finish: string | null = null;
      let usage: number | undefined;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage?.total_tokens ?? usage;
      }
      expect(text, model).toMatch(/\w/);
      expect(finish, model).toMatch(/^(stop|length)$/);
      // The stream-usage enforcer adds the usage the limiter counts, also to this client's stream.
      expect(usage, model).toBeGreaterThan(0);
    }
  });

  test('the openai model is the "real" endpoint: its certificate verified with the given CA, the key from the file', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'who answers?' }], max_tokens: 4 }).withResponse();
    expect(r.response.headers.get('x-sim-provider')).toBe('openai');
    expect(r.response.headers.get('x-sim-key-status')).toBe('ok');
    const validate = await runCli(['validate', '--output', 'plain', '--only', '4,6'], { stateDir: install!.dir, timeoutMs: 60_000 });
    expect(validate.code, validate.stdout).toBe(0);
    expect(validate.stdout).not.toContain(REAL_KEY);
  });
});

describe('a provider whose certificate the gateway cannot verify', () => {
  let install: Install | undefined;
  afterAll(() => down(install));

  test('is refused by TLS origination, and doctor names the certificate and how to trust a private CA', async () => {
    // Given the same endpoint with the wrong CA passed for it
    install = await up('sdk-wrong-ca', ['--provider', `openai=https://localhost:${sim.port}`, '--provider-key-file', `openai=${files.key}`, '--provider-ca-file', `openai=${files.wrongCa}`]);
    // When
    const doctor = await runCli(['doctor', '--output', 'json', '--category', 'key-injection'], { stateDir: install.dir, timeoutMs: 90_000 });
    // Then
    expect(doctor.code).toBe(1);
    const doc = JSON.parse(doctor.stdout) as { checks: { id: string; outcome: string; message?: string; hop?: string; object?: string }[] };
    const tls = doc.checks.find((c) => c.id === 'sub-tls-matches-endpoint')!;
    expect(tls.outcome).toBe('fail');
    expect(tls.hop).toBe('maas-gateway');
    expect(tls.object).toBe('ExternalModel/llm/gpt-4');
    expect(tls.message).toMatch(/did not verify .*--provider-ca-file openai=FILE/);
    expect(doctor.stdout).not.toContain(REAL_KEY);
  });
});
