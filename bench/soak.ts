/**
 * `npm run soak`: a bounded soak of the real local topology. `demo up` (every hop a detached process,
 * exactly as a user runs it, with a config whose free tier never runs out of tokens), then a fixed
 * request rate through the gateway for SOAK_SECONDS (default 30) over every route — openai, anthropic
 * and vllm through the chain (MaaS gateway → egress gateway → provider) and the on-prem model — on
 * loopback only. Passes when there were zero errors, every hop's memory stayed stable (RSS sampled
 * from /proc each second), every hop is still running and `demo validate` (calls 1–9) passes
 * afterwards. `demo down` always runs. The result goes into the soak section of BENCHMARKS.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Pool, request } from 'undici';
import { defaultConfig, onpremPrefix } from '../src/core/config.js';
import { BIN, ROOT, cliEnv, timed, writeTempConfig } from './cli-timing.js';
import { median, ms, percentile, slope } from './stats.js';
import { table, writeSection } from './report.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const RATE = Number(process.env.SOAK_RATE ?? 200);
const CONNECTIONS = 16;
/** More than this many requests waiting means the chain cannot keep up with the rate: a failure. */
const MAX_IN_FLIGHT = 256;
const WARMUP_SECONDS = 5;
const NODE = process.execPath;
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

interface State {
  host: string;
  caFile: string;
  clusterToken: string;
  components: Record<string, { pid: number; port: number }>;
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return rssMb(pid) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Open-loop fixed rate: request i is sent at start + i/rate (late timers send the ones due at once, so
 * the average rate holds), never waiting for answers; stops sending after `seconds`, then waits for
 * what is in flight.
 */
async function paced(seconds: number, rate: number, send: () => Promise<{ status: number | string; ms: number }>) {
  const statuses: Record<string, number> = {};
  const samples: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let maxInFlight = 0;
  const start = performance.now();
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rate;
    if (due - start >= seconds * 1000) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight.size >= MAX_IN_FLIGHT) {
      statuses['not-sent (chain behind)'] = (statuses['not-sent (chain behind)'] ?? 0) + 1;
      continue;
    }
    const p: Promise<void> = send().then(({ status, ms: t }) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) samples.push(t);
      inFlight.delete(p);
    });
    inFlight.add(p);
    maxInFlight = Math.max(maxInFlight, inFlight.size);
  }
  await Promise.all(inFlight);
  return { statuses, samples, maxInFlight };
}

async function main(): Promise<void> {
  if (!Number.isFinite(SECONDS) || SECONDS <= 0 || SECONDS > 600) throw new Error('SOAK_SECONDS must be in (0, 600]');
  if (!Number.isFinite(RATE) || RATE <= 0 || RATE > 5000) throw new Error('SOAK_RATE must be in (0, 5000]');
  const t0 = performance.now();
  const load0 = loadavg();
  const cfg = defaultConfig();
  // The free tier (the demo user's) gets a budget no soak can spend; everything else is the default.
  const config = writeTempConfig({ rateLimit: { tiers: cfg.rateLimit.tiers.map((t) => ({ ...t, tokensPerWindow: t.name === 'free' ? 1e12 : t.tokensPerWindow })) } });
  const base = mkdtempSync(join(tmpdir(), 'maas-egress-demo-soak-'));
  const dir = join(base, 'state');
  const env = cliEnv({ MAAS_EGRESS_DEMO_STATE_DIR: dir });
  let state: State | undefined;
  let agent: Agent | undefined;
  const failures: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  let body = '';
  try {
    const up = await timed(NODE, [BIN, 'up', '--output', 'json', '--config', config.file], { env, timeoutMs: 60_000 });
    if (up.code !== 0 || !existsSync(join(dir, 'state.json'))) throw new Error(`demo up failed (exit ${up.code}): ${up.stdout.slice(-500)} ${up.stderr.slice(-500)}`);
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
    log(`up in ${Math.round(up.ms)} ms; components: ${Object.keys(state.components).join(', ')}`);
    const ca = readFileSync(state.caFile, 'utf8');
    agent = new Agent({ connect: { ca } });
    const minted = await request(`https://${state.host}/maas-api/v1/tokens`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Bearer ${state.clusterToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ expiration: '10m' }),
    });
    const { token } = (await minted.body.json()) as { token: string };
    if (minted.statusCode !== 201 || !token) throw new Error(`token request answered ${minted.statusCode}`);

    const chat = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 });
    const routes = [
      ...cfg.providers.filter((p) => state!.components[`provider-${p.name}`]).map((p) => ({ name: p.name, path: `/external/${p.name}/v1/chat/completions`, body: chat(p.model) })),
      { name: 'on-prem', path: `${onpremPrefix(cfg)}/v1/chat/completions`, body: chat(cfg.onprem.model) },
    ];
    const pool = new Pool(`https://${state.host}`, { connections: CONNECTIONS, connect: { ca }, keepAliveTimeout: 4_000 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    let next = 0;
    const send = async (): Promise<{ status: number | string; ms: number }> => {
      const route = routes[next++ % routes.length]!;
      const start = performance.now();
      try {
        const res = await pool.request({ path: route.path, method: 'POST', headers, body: route.body, headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = await res.body.text();
        // A 200 counts only with a completion in it.
        return { status: res.statusCode === 200 && !text.includes('"usage"') ? 'no-completion' : res.statusCode, ms: performance.now() - start };
      } catch (err) {
        return { status: (err as { code?: string }).code ?? 'error', ms: performance.now() - start };
      }
    };
    closers.push(() => pool.close());

    log(`warm-up ${WARMUP_SECONDS} s at ${RATE} req/s`);
    const warm = await paced(WARMUP_SECONDS, RATE, send);
    const warmBad = Object.entries(warm.statuses).filter(([s]) => s !== '200');
    if (warmBad.length) failures.push(`warm-up: ${JSON.stringify(warm.statuses)}`);

    const pids = Object.fromEntries(Object.entries(state.components).map(([n, c]) => [n, c.pid]));
    const mem: Record<string, { t: number; mb: number }[]> = Object.fromEntries(Object.keys(pids).map((n) => [n, []]));
    const sampleMem = (t: number) => {
      for (const [n, pid] of Object.entries(pids)) {
        const mb = rssMb(pid);
        if (mb !== undefined) mem[n]!.push({ t, mb });
      }
    };
    log(`soak ${SECONDS} s at ${RATE} req/s over ${routes.map((r) => r.name).join(', ')} with ${CONNECTIONS} connections`);
    const start = performance.now();
    sampleMem(0);
    const timer = setInterval(() => sampleMem((performance.now() - start) / 1000), 1000);
    const soak = await paced(SECONDS, RATE, send);
    clearInterval(timer);
    sampleMem((performance.now() - start) / 1000);
    const elapsed = (performance.now() - start) / 1000;
    const total = Object.values(soak.statuses).reduce((a, b) => a + b, 0);
    const errors = total - (soak.statuses['200'] ?? 0);
    if (errors) failures.push(`${errors} errors during the soak (${JSON.stringify(soak.statuses)})`);
    if (soak.maxInFlight >= MAX_IN_FLIGHT) failures.push(`the chain fell behind the rate (${MAX_IN_FLIGHT} requests in flight)`);
    log(`${total} requests in ${elapsed.toFixed(1)} s, statuses ${JSON.stringify(soak.statuses)}, at most ${soak.maxInFlight} in flight`);

    const memRows: string[][] = [];
    for (const [n, points] of Object.entries(mem)) {
      const window = (from: number) => median(points.filter((p) => p.t >= from && p.t <= from + 5).map((p) => p.mb));
      const first = window(0);
      const middle = window(elapsed / 2 - 2.5);
      const last = window(elapsed - 5);
      const perMin = slope(points.filter((p) => p.t >= elapsed / 2).map((p) => ({ x: p.t / 60, y: p.mb })));
      // The heap grows to its working size early on; stable = no growth over the second half.
      const growth = last - middle;
      const stable = growth <= Math.max(5, 0.05 * middle);
      if (!stable) failures.push(`${n}: RSS grew ${growth.toFixed(1)} MB over the second half (${middle.toFixed(1)} → ${last.toFixed(1)} MB)`);
      const signed = (v: number, unit: string) => `${v >= 0 ? '+' : ''}${v.toFixed(1)} ${unit}`;
      memRows.push([n, `${first.toFixed(1)} MB`, `${middle.toFixed(1)} MB`, `${last.toFixed(1)} MB`, signed(growth, 'MB'), signed(perMin, 'MB/min'), stable ? 'yes' : '**no**']);
    }

    const dead = Object.entries(pids).filter(([, pid]) => !alive(pid)).map(([n]) => n);
    if (dead.length) failures.push(`not running after the soak: ${dead.join(', ')}`);
    const validate = await timed(NODE, [BIN, 'validate', '--skip', '10', '--output', 'json'], { env, timeoutMs: 60_000 });
    let validateOk = false;
    let calls = '';
    try {
      const doc = JSON.parse(validate.stdout) as { ok: boolean; checks: { id: string; outcome: string }[] };
      validateOk = doc.ok && validate.code === 0;
      calls = doc.checks.map((c) => `${c.id.replace(/^call-/, '')} ${c.outcome}`).join(', ');
    } catch {
      /* not JSON: failed */
    }
    if (!validateOk) failures.push(`validate after the soak failed (exit ${validate.code}): ${calls || validate.stderr.slice(-300)}`);

    const ok = failures.length === 0;
    const lines: string[] = [];
    const p = (s = '') => lines.push(s);
    p('## Soak');
    p();
    p(`Command: \`npm run build && npm run soak\` (\`node dist/bench/soak.js\`; SOAK_SECONDS=${SECONDS}, SOAK_RATE=${RATE}). Machine: ${cpus().length} cores, Node ${process.version}, load average ${load0.map((v) => v.toFixed(2)).join(' ')} at the start. Took ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
    p();
    p(`What: \`demo up\` as a user runs it (every hop a detached process, the free tier's budget raised so the soak never meets a 429), a ${WARMUP_SECONDS} s warm-up, then ${SECONDS} s at a fixed ${RATE} req/s — open loop, one request every ${(1000 / RATE).toFixed(1)} ms whatever the answers do, over a keep-alive undici pool of ${CONNECTIONS} connections verifying TLS with the install's CA (autocannon's rate limit releases each connection's quota in a burst at the start of every second, so it is not used here) — each answer counted only if it is a 200 holding a completion, cycling over ${routes.map((r) => `\`${r.path}\``).join(', ')} with one MaaS token; then every hop must still be running and \`demo validate --skip 10\` (calls 1–9) must pass; then \`demo down\`. Memory: each hop's RSS from /proc every second; stable = the median of the last 5 s within max(5 MB, 5%) of the median of the middle 5 s (the heap grows to its working size in the first seconds).`);
    p();
    p(`**Result: ${ok ? 'pass' : 'FAIL'}.** ${total.toLocaleString('en-US')} requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} req/s), ${errors} errors (answers: ${Object.entries(soak.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}), at most ${soak.maxInFlight} requests in flight; latency p50 ${ms(percentile(soak.samples, 50), 2)}, p99 ${ms(percentile(soak.samples, 99), 2)}, max ${ms(Math.max(...soak.samples), 2)}. Every hop running afterwards: ${dead.length ? `**no** (${dead.join(', ')})` : 'yes'}. Validate afterwards: ${validateOk ? 'passed' : '**failed**'} (${calls}).${failures.length ? ` Failures: ${failures.join('; ')}.` : ''}`);
    p();
    p(table(['hop', 'RSS first 5 s', 'RSS middle 5 s', 'RSS last 5 s', 'growth over the 2nd half', 'slope over the 2nd half', 'stable'], memRows));
    body = lines.join('\n');
  } catch (err) {
    failures.push((err as Error).message);
    body = `## Soak\n\n**Result: FAIL** — ${(err as Error).message}\n`;
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await agent?.close();
    const down = await timed(NODE, [BIN, 'down', '--output', 'json'], { env, timeoutMs: 60_000 });
    if (down.code !== 0) failures.push(`down exited ${down.code}`);
    for (const c of Object.values(state?.components ?? {})) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* stopped by down, as it should be */
      }
    }
    rmSync(base, { recursive: true, force: true });
    config.cleanup();
  }
  writeSection(join(ROOT, 'BENCHMARKS.md'), 'soak', body);
  log(`${failures.length ? `FAIL: ${failures.join('; ')}` : 'pass'}; wrote BENCHMARKS.md (soak section)`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`[soak] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
