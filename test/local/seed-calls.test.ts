/**
 * The "must show", over real sockets and with the tools a person would use: `demo up` exits 0
 * and says where the gateway is; `eval "$(demo env)"` then curl with the state's CA gives the seed's
 * expected results for calls 3–10 (6 against the local vLLM-compatible simulator); `up` a second time
 * changes nothing; `demo down` exits 0 and leaves no process and no listening port.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BIN, cliEnv, runCli } from '../helpers/run-cli.js';
import { DEFAULT_KEYS, expectNoSecrets, pidAlive, portOpen, readStateFile, useTopology } from '../helpers/topology.js';

const topo = useTopology({ label: 'seed', output: 'plain' });
const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-seed-curl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const secrets = () => ({ ...DEFAULT_KEYS, 'cluster token': topo.get().state.clusterToken, 'admin token': topo.get().state.adminToken });

/** Runs a bash script after `eval "$(node bin/demo.js env)"`, as the README tells a person to. */
function bash(script: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', `set -u\neval "$(node "$BIN" env)"\n${script}`], {
    env: cliEnv(topo.get().dir, { BIN, OUT: work }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CURL = 'curl -sS --cacert "$CA_FILE"';
const MINT = `TOKEN=$(${CURL} -H "Authorization: Bearer $CLUSTER_TOKEN" --json '{"expiration": "10m"}' "https://\${HOST}/maas-api/v1/tokens" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).token))')`;

/** One seed call: status on stdout, body and headers to files named after the call. */
const call = (id: string, args: string) => `echo "${id} $(${CURL} -o "$OUT/${id}.body" -D "$OUT/${id}.headers" -w '%{http_code}' ${args})"`;
const chat = (model: string, content: string, max: number) => `-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '{"model":"${model}","messages":[{"role":"user","content":"${content}"}],"max_tokens":${max}}'`;

function statuses(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.trim().split('\n')) {
    const [id, status] = line.split(' ');
    if (id && status) out[id] = Number(status);
  }
  return out;
}

const body = (id: string) => JSON.parse(readFileSync(join(work, `${id}.body`), 'utf8')) as Record<string, unknown>;
function headers(id: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(work, `${id}.headers`), 'utf8').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

describe('demo up', () => {
  test('exits 0 with every hop running and prints where the gateway is', () => {
    const t = topo.get();
    expect(t.up.code).toBe(0);
    expect(t.up.stdout).toContain('Local topology ready');
    expect(t.up.stdout).toContain(`MaaS gateway: https://${t.state.host}`);
    expect(t.up.stdout).toContain(`CA_FILE: ${t.state.caFile}`);
    expect(t.up.stdout).toMatch(/√ done\n$/);
    for (const step of ['platform', '1', '2', '3', '3a', '4', '5']) expect(t.up.stdout).toContain(`√ step ${step} ready`);
    expect(Object.keys(t.state.components).sort()).toEqual(['egress-gateway', 'maas-api', 'maas-gateway', 'onprem-sim', 'provider-anthropic', 'provider-openai', 'provider-vllm']);
    for (const pid of t.pids) expect(pidAlive(pid)).toBe(true);
    expect(t.state.steps).toEqual(['platform', '1', '2', '3', '3a', '4', '5']);
    expectNoSecrets(t.up.stdout + t.up.stderr, secrets(), 'up output');
  });

  test('state files holding secrets are 0600 and the state dir 0700', () => {
    const t = topo.get();
    const mode = (f: string) => (spawnSync('stat', ['-c', '%a', f], { encoding: 'utf8' }).stdout.trim());
    expect(mode(t.dir)).toBe('700');
    for (const f of ['state.json', 'config.json', 'tls/server-key.pem', 'tls/token-signing-key.json']) expect(mode(join(t.dir, f)), f).toBe('600');
  });

  test('a second up says it is already up and changes nothing', async () => {
    const t = topo.get();
    const before = readFileSync(join(t.dir, 'state.json'), 'utf8');
    const again = await runCli(['up'], { stateDir: t.dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already up');
    expect(again.stdout).toContain(`https://${t.state.host}`);
    expect(readFileSync(join(t.dir, 'state.json'), 'utf8')).toBe(before);
    expectNoSecrets(again.stdout + again.stderr, secrets(), 'second up output');
  });

  test('a second up with --output json is one document with ok true', async () => {
    const again = await runCli(['up', '--output', 'json'], { stateDir: topo.get().dir });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as { ok: boolean; exitCode: number; summaries: { title: string }[] };
    expect(doc).toMatchObject({ ok: true, exitCode: 0 });
    expect(doc.summaries[0]?.title).toBe('Local topology already up');
  });
});

describe('demo env', () => {
  test('prints shell exports for HOST, CA_FILE, CLUSTER_TOKEN, VLLM_URL and the MaaS generation that eval in bash', async () => {
    const t = topo.get();
    const env = await runCli(['env'], { stateDir: t.dir });
    expect(env.code).toBe(0);
    const names = env.stdout.trim().split('\n').map((l) => /^export ([A-Z_]+)='[^']*'$/.exec(l)?.[1]);
    expect(names).toEqual(['HOST', 'CA_FILE', 'CLUSTER_TOKEN', 'VLLM_URL', 'MAAS_GENERATION']);
    expect(env.stdout).toContain("export MAAS_GENERATION='tier'");
    const r = bash('printf "%s\\n" "$HOST" "$CA_FILE" "$VLLM_URL"; [ "$CLUSTER_TOKEN" = "$(node -e "process.stdout.write(require(process.argv[1]).clusterToken)" "$MAAS_EGRESS_DEMO_STATE_DIR/state.json")" ] && echo token-ok');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([t.state.host, t.state.caFile, `http://127.0.0.1:${t.state.components['provider-vllm']!.port}`, 'token-ok']);
  });
});

describe('the seed calls with curl and the state CA', () => {
  test('2: the token mint answers 201 with a token', () => {
    const r = bash(`${MINT}\n[ -n "$TOKEN" ] && echo minted`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('minted');
  });

  test('3–9: models, the four chats, no-auth 401s, the wrong vLLM key, and escaping paths', () => {
    const r = bash(
      [
        MINT,
        call('3', `-H "Authorization: Bearer $TOKEN" "https://\${HOST}/v1/models"`),
        call('4', `${chat('gpt-4', 'Hello from OpenAI', 10)} "https://\${HOST}/external/openai/v1/chat/completions"`),
        call('5', `${chat('claude-3-sonnet', 'Hello from Claude', 10)} "https://\${HOST}/external/anthropic/v1/chat/completions"`),
        call('6', `${chat('Qwen/Qwen3-0.6B', 'Say hi in one sentence.', 20)} "https://\${HOST}/external/vllm/v1/chat/completions"`),
        call('7', `${chat('facebook/opt-125m', 'Hello from on-prem', 10)} "https://\${HOST}/llm/facebook-opt-125m-simulated/v1/chat/completions"`),
        call('8a', `"https://\${HOST}/external/openai/v1/models"`),
        call('8b', `"https://\${HOST}/external/anthropic/v1/models"`),
        call('8c', `"https://\${HOST}/external/vllm/v1/models"`),
        call('esc1', `--path-as-is ${chat('claude-3-sonnet', 'Hello', 10)} "https://\${HOST}/external/openai/../anthropic/v1/chat/completions"`),
        call('esc2', `${chat('claude-3-sonnet', 'Hello', 10)} "https://\${HOST}/external/openai/%2e%2e/anthropic/v1/chat/completions"`),
        call('esc3', `${chat('claude-3-sonnet', 'Hello', 10)} "https://\${HOST}/external/openai%2F..%2Fanthropic/v1/chat/completions"`),
        `echo "9 $(curl -sS -o "$OUT/9.body" -w '%{http_code}' -H "Authorization: Bearer bogus-key" -H "Content-Type: application/json" -d '{"model":"Qwen/Qwen3-0.6B","messages":[{"role":"user","content":"Hello"}],"max_tokens":10}' "$VLLM_URL/v1/chat/completions")"`,
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(statuses(r.stdout)).toEqual({ '3': 200, '4': 200, '5': 200, '6': 200, '7': 200, '8a': 401, '8b': 401, '8c': 401, esc1: 400, esc2: 400, esc3: 400, '9': 401 });
    // a path escaping its provider prefix gets 400, never another provider's answer
    for (const id of ['esc1', 'esc2', 'esc3']) expect(headers(id)['x-sim-provider'], id).toBeUndefined();

    // 3: one listing with the local model and every external one
    const models = (body('3').data as { id: string; owned_by: string }[]).map((m) => [m.id, m.owned_by]);
    expect(models).toEqual([
      ['facebook/opt-125m', 'vllm'],
      ['gpt-4', 'openai'],
      ['claude-3-sonnet', 'anthropic'],
      ['Qwen/Qwen3-0.6B', 'vllm'],
    ]);
    // 4–7: a completion from the provider the route names, which received a clean /v1 path and its key
    for (const [id, provider, model] of [
      ['4', 'openai', 'gpt-4'],
      ['5', 'anthropic', 'claude-3-sonnet'],
      ['6', 'vllm', 'Qwen/Qwen3-0.6B'],
    ] as const) {
      expect(body(id), `call ${id}`).toMatchObject({ object: 'chat.completion', model });
      expect(headers(id), `call ${id}`).toMatchObject({ 'x-sim-provider': provider, 'x-sim-path': '/v1/chat/completions', 'x-sim-key-status': 'ok' });
    }
    expect(headers('4')['x-sim-authorization']).toBe('absent');
    expect(headers('5')['x-sim-authorization']).toBe('absent');
    expect(headers('6')['x-sim-authorization']).toBe('bearer');
    expect(body('7')).toMatchObject({ object: 'chat.completion', model: 'facebook/opt-125m' });
    expect((body('7').usage as { total_tokens: number }).total_tokens).toBeGreaterThan(0);
    // 8: Authorino's 401, empty body
    for (const id of ['8a', '8b', '8c']) {
      expect(headers(id)['www-authenticate'], id).toBe('Bearer realm="service-accounts"');
      expect(readFileSync(join(work, `${id}.body`), 'utf8'), id).toBe('');
    }
    // 9: vLLM's own answer to a wrong key
    expect(body('9')).toEqual({ error: 'Unauthorized' });
  });

  test('10: the free tier’s 100 tokens a minute: 200s, then only 429s', () => {
    const r = bash([MINT, `for i in $(seq 1 16); do ${CURL} -o /dev/null -w "%{http_code}\\n" ${chat('gpt-4', 'Hello', 10)} "https://\${HOST}/external/openai/v1/chat/completions"; done`].join('\n'));
    expect(r.stderr).toBe('');
    const codes = r.stdout.trim().split('\n').map(Number);
    expect(codes).toHaveLength(16);
    const first429 = codes.indexOf(429);
    expect(first429, codes.join(' ')).toBeGreaterThan(0);
    expect(codes.slice(0, first429).every((c) => c === 200), codes.join(' ')).toBe(true);
    expect(codes.slice(first429).every((c) => c === 429), codes.join(' ')).toBe(true);
  });
});

describe('demo down', () => {
  test('exits 0 and leaves no process, no listening port and no state behind', async () => {
    const t = topo.get();
    const down = await topo.teardown();
    expect(down?.code).toBe(0);
    const doc = JSON.parse(down!.stdout) as { ok: boolean; steps: { waits: { condition: string; state: string }[] }[] };
    expect(doc.ok).toBe(true);
    expect(doc.steps[0]?.waits).toEqual([expect.objectContaining({ condition: 'no process and no listening port left', state: 'met' })]);
    expect(t.pids.filter((pid) => pidAlive(pid))).toEqual([]);
    const open: number[] = [];
    for (const port of t.ports) if (await portOpen(port)) open.push(port);
    expect(open).toEqual([]);
    expect(existsSync(t.dir)).toBe(false);
    expect(readStateFile(t.dir)).toBeUndefined();
  });

  test('a second down says there is nothing to tear down and exits 0', async () => {
    const again = await runCli(['down'], { stateDir: topo.get().dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to tear down');
  });

  test('env after down: exit 2 with one error line and a hint', async () => {
    const env = await runCli(['env'], { stateDir: topo.get().dir });
    expect(env.code).toBe(2);
    expect(env.stdout).toBe('');
    expect(env.stderr).toMatch(/^error: the local topology is not running .*\nhint: start it with `npx maas-egress-demo up`\n$/);
  });
});
