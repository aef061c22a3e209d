/**
 * `npm run soak`: a bounded soak of the real local topology. `demo up` (every hop a detached process,
 * exactly as a user runs it, with a config whose free tier never runs out of tokens), then a fixed
 * request rate through the gateway for SOAK_SECONDS (default 30) over every route of the gateway —
 * chats through openai, anthropic and vllm (MaaS gateway → egress gateway → provider) and to the
 * on-prem model, the same four streamed, the unified model list and the token mint (maas-api) — on
 * loopback only. Passes when there were zero errors, every hop's memory stayed stable (RSS sampled
 * from /proc each second), every hop is still running and `demo validate` (calls 1–9) passes
 * afterwards. `demo down` always runs. The result goes into the soak section of BENCHMARKS.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/** RSS is compared over windows of this many seconds (5 s in a 30 s soak, 30 s in a 10-minute one). */
const WINDOW = Math.max(5, Math.round(SECONDS / 20));
/** Every hop runs a full collection and reports its live heap this often (the preloaded probe). */
const PROBE_MS = 5_000;
/** The live heap is compared over windows holding a few probes. */
const PROBE_WINDOW = Math.max(16, WINDOW);

/**
 * The memory probe every hop process preloads (NODE_OPTIONS, which `up` passes on to what it starts):
 * with --expose-gc, every PROBE_MS it runs a full collection and appends the live heap and RSS to a
 * file. RSS alone cannot tell a leak from V8 growing its heap to the allocation rate (it does not give
 * pages back when idle); the heap right after a full collection is the data the process still holds.
 */
function probeSource(out: string): string {
  return `'use strict';
const script = process.argv[1] || '';
if (typeof gc === 'function' && /(component|provider-sim|inference-sim)\\.js$/.test(script)) {
  const { appendFileSync } = require('node:fs');
  setInterval(() => {
    gc();
    const m = process.memoryUsage();
    appendFileSync(${JSON.stringify(out)}, JSON.stringify({ pid: process.pid, at: Date.now(), heap: m.heapUsed, reserved: m.heapTotal, rss: m.rss }) + '\\n');
  }, ${PROBE_MS}).unref();
}
`;
}
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
  const probeFile = join(base, 'memory.ndjson');
  const probeScript = join(base, 'memory-probe.cjs');
  writeFileSync(probeScript, probeSource(probeFile));
  try {
    const up = await timed(NODE, [BIN, 'up', '--output', 'json', '--config', config.file], { env: { ...env, NODE_OPTIONS: `--expose-gc --require ${probeScript}` }, timeoutMs: 60_000 });
    if (up.code !== 0 || !existsSync(join(dir, 'state.json'))) throw new Error(`demo up failed (exit ${up.code}): ${up.stdout.slice(-500)} ${up.stderr.slice(-500)}`);
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
    log(`up in ${Math.round(up.ms)} ms; components: ${Object.keys(state.components).join(', ')}`);
    const ca = readFileSync(state.caFile, 'utf8');
    agent = new Agent({ connect: { ca } });
    const minted = await request(`https://${state.host}/maas-api/v1/tokens`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Bearer ${state.clusterToken}`, 'content-type': 'application/json' },
      // Valid for the whole soak: a 10-minute token ran out before a 10-minute soak ended (401s at the end).
      body: JSON.stringify({ expiration: `${Math.max(10, Math.ceil((WARMUP_SECONDS + SECONDS + 120) / 60))}m` }),
    });
    const { token } = (await minted.body.json()) as { token: string };
    if (minted.statusCode !== 201 || !token) throw new Error(`token request answered ${minted.statusCode}`);

    const chat = (model: string, stream = false) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, ...(stream ? { stream: true } : {}) });
    const chats = [
      ...cfg.providers.filter((p) => state!.components[`provider-${p.name}`]).map((p) => ({ name: p.name, path: `/external/${p.name}/v1/chat/completions`, model: p.model })),
      { name: 'on-prem', path: `${onpremPrefix(cfg)}/v1/chat/completions`, model: cfg.onprem.model },
    ];
    type Route = { name: string; method: 'GET' | 'POST'; path: string; body?: string; auth: 'maas' | 'cluster'; ok: (status: number, text: string) => boolean };
    const routes: Route[] = [
      ...chats.map((c): Route => ({ name: c.name, method: 'POST', path: c.path, body: chat(c.model), auth: 'maas', ok: (st, text) => st === 200 && text.includes('"usage"') })),
      // streams whose client asks for no usage (the case the tier era never counts)
      ...chats.map((c): Route => ({ name: `${c.name} stream`, method: 'POST', path: c.path, body: chat(c.model, true), auth: 'maas', ok: (st, text) => st === 200 && text.includes('chat.completion.chunk') && text.trimEnd().endsWith('data: [DONE]') })),
      { name: 'models', method: 'GET', path: '/v1/models', auth: 'maas', ok: (st, text) => st === 200 && text.includes('"object":"list"') },
      { name: 'token mint', method: 'POST', path: '/maas-api/v1/tokens', body: JSON.stringify({ expiration: '10m' }), auth: 'cluster', ok: (st, text) => st === 201 && text.includes('"token"') },
    ];
    const pool = new Pool(`https://${state.host}`, { connections: CONNECTIONS, connect: { ca }, keepAliveTimeout: 4_000 });
    const authOf = { maas: `Bearer ${token}`, cluster: `Bearer ${state.clusterToken}` };
    let next = 0;
    const send = async (): Promise<{ status: number | string; ms: number }> => {
      const route = routes[next++ % routes.length]!;
      const start = performance.now();
      try {
        const res = await pool.request({ path: route.path, method: route.method, headers: { authorization: authOf[route.auth], ...(route.body ? { 'content-type': 'application/json' } : {}) }, ...(route.body ? { body: route.body } : {}), headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = await res.body.text();
        // An answer counts only when it is what the route serves (a completion, a whole stream, a list, a token).
        return { status: route.ok(res.statusCode, text) ? 200 : `${route.name} ${res.statusCode} (not a valid answer)`, ms: performance.now() - start };
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
    const startWall = Date.now();
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

    // The probes of the soak itself (the warm-up's are left out).
    const probes = new Map<number, { at: number; heap: number; reserved: number; rss: number }[]>();
    for (const line of (existsSync(probeFile) ? readFileSync(probeFile, 'utf8') : '').split('\n')) {
      if (!line) continue;
      const p = JSON.parse(line) as { pid: number; at: number; heap: number; reserved: number; rss: number };
      if (p.at < startWall) continue;
      probes.set(p.pid, [...(probes.get(p.pid) ?? []), p]);
    }
    const memRows: string[][] = [];
    for (const [n, points] of Object.entries(mem)) {
      const window = (from: number) => median(points.filter((p) => p.t >= from && p.t <= from + WINDOW).map((p) => p.mb));
      const first = window(0);
      const middle = window(elapsed / 2 - WINDOW / 2);
      const last = window(elapsed - WINDOW);
      // The live heap: heapUsed right after a full collection (the probe), median of each window; and
      // the heap V8 reserves (heapTotal), which it grows to the allocation rate and keeps.
      const probed = (probes.get(pids[n]!) ?? []).map((p) => ({ t: (p.at - startWall) / 1000, live: p.heap / 2 ** 20, reserved: p.reserved / 2 ** 20 }));
      const probedAt = (from: number, key: 'live' | 'reserved') => median(probed.filter((p) => p.t >= from && p.t <= from + PROBE_WINDOW).map((p) => p[key]));
      const liveFirst = probedAt(0, 'live');
      const liveMiddle = probedAt(elapsed / 2 - PROBE_WINDOW / 2, 'live');
      const liveLast = probedAt(elapsed - PROBE_WINDOW, 'live');
      const liveGrowth = liveLast - liveMiddle;
      const reservedGrowth = probedAt(elapsed - PROBE_WINDOW, 'reserved') - probedAt(elapsed / 2 - PROBE_WINDOW / 2, 'reserved');
      const growth = last - middle;
      // Stable: the data held does not grow, and RSS either does not grow or grows no more than the heap V8 reserved for the same load.
      const liveStable = probed.length > 0 && liveGrowth <= Math.max(1, 0.05 * liveMiddle);
      const rssStable = growth <= Math.max(5, 0.05 * middle) || growth <= reservedGrowth + 5;
      if (!liveStable) failures.push(`${n}: live heap grew ${liveGrowth.toFixed(1)} MB over the second half (${liveMiddle.toFixed(1)} → ${liveLast.toFixed(1)} MB)`);
      if (!rssStable) failures.push(`${n}: RSS grew ${growth.toFixed(1)} MB over the second half (${middle.toFixed(1)} → ${last.toFixed(1)} MB), the reserved heap ${reservedGrowth.toFixed(1)} MB`);
      const perMin = slope(points.filter((p) => p.t >= elapsed / 2).map((p) => ({ x: p.t / 60, y: p.mb })));
      const signed = (v: number, unit: string) => `${v >= 0 ? '+' : ''}${v.toFixed(1)} ${unit}`;
      memRows.push([
        n,
        `${first.toFixed(1)} / ${middle.toFixed(1)} / ${last.toFixed(1)} MB`,
        `${signed(growth, 'MB')} (${signed(perMin, 'MB/min')})`,
        probed.length ? signed(reservedGrowth, 'MB') : '(no probe)',
        probed.length ? `${liveFirst.toFixed(1)} / ${liveMiddle.toFixed(1)} / ${liveLast.toFixed(1)} MB` : '(no probe)',
        probed.length ? signed(liveGrowth, 'MB') : '(no probe)',
        liveStable && rssStable ? 'yes' : '**no**',
      ]);
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
    p(`What: \`demo up\` as a user runs it (every hop a detached process, the free tier's budget raised so the soak never meets a 429), a ${WARMUP_SECONDS} s warm-up, then ${SECONDS} s at a fixed ${RATE} req/s — open loop, one request every ${(1000 / RATE).toFixed(1)} ms whatever the answers do, over a keep-alive undici pool of ${CONNECTIONS} connections verifying TLS with the install's CA (autocannon's rate limit releases each connection's quota in a burst at the start of every second, so it is not used here) — each answer counted only if it is what the route serves (a 200 holding a completion, a stream ending in \`[DONE]\`, the model list, a 201 with a token), cycling over ${routes.map((r) => `${r.name} (\`${r.method} ${r.path}\`)`).join(', ')} — the streams without \`stream_options\`, the mint with the cluster user's token, the rest with one MaaS token; then every hop must still be running and \`demo validate --skip 10\` (calls 1–9) must pass; then \`demo down\`. Memory: each hop's RSS from /proc every second, and its live heap — every hop process preloads a probe (\`NODE_OPTIONS=--expose-gc --require …\`, which \`up\` passes on) that runs a full collection every ${PROBE_MS / 1000} s and records \`heapUsed\` right after it; stable = the live heap median of the last ${PROBE_WINDOW} s within max(1 MB, 5%) of that of the middle ${PROBE_WINDOW} s (the data a process holds does not grow), and the RSS median of the last ${WINDOW} s within max(5 MB, 5%) of the median of the middle ${WINDOW} s — or grown by no more than the heap V8 reserved (\`heapTotal\`) over the same time, plus 5 MB: V8 sizes its heap to the allocation rate, slowly at a low rate, and does not give the pages back.`);
    p();
    p(`**Result: ${ok ? 'pass' : 'FAIL'}.** ${total.toLocaleString('en-US')} requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} req/s), ${errors} errors (answers: ${Object.entries(soak.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}), at most ${soak.maxInFlight} requests in flight; latency p50 ${ms(percentile(soak.samples, 50), 2)}, p99 ${ms(percentile(soak.samples, 99), 2)}, max ${ms(Math.max(...soak.samples), 2)}. Every hop running afterwards: ${dead.length ? `**no** (${dead.join(', ')})` : 'yes'}. Validate afterwards: ${validateOk ? 'passed' : '**failed**'} (${calls}).${failures.length ? ` Failures: ${failures.join('; ')}.` : ''}`);
    p();
    p(table(['hop', `RSS (first / middle / last ${WINDOW} s)`, 'RSS growth over the 2nd half (slope)', 'heap reserved by V8: growth over the 2nd half', `live heap after a full GC (first / middle / last ${PROBE_WINDOW} s)`, 'live heap growth over the 2nd half', 'stable'], memRows));
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
