/**
 * `npm run bench:subscription`: the subscription era's figures, written into BENCHMARKS.md (its own
 * section). Three measurements, all on loopback, bounded, interleaved round by round:
 *
 * 1. The era's chain — the MaaS gateway (auth with the identity cache, ipp-pre, subscription
 *    selection, limits, ipp, TLS origination) in front of a provider simulator over HTTPS — against a
 *    bare TLS relay in front of the same provider (TLS in, TLS out verified, nothing else) and against
 *    the provider called directly over HTTPS: added latency one request at a time, throughput at 32.
 * 2. The key-validation cost: the same chain with the identity cache on (5 s, as `up` runs it) and off
 *    (every request calls maas-api's validate and select callbacks), paired round by round.
 * 3. `up --maas subscription` until ready (with the initdb template cached, as every up after the
 *    first), where its time goes, and the embedded PostgreSQL's start-up (initdb, from the template,
 *    reopened) from bench/postgres-start.ts.
 *
 * The topology is the real one (`demo up --maas subscription` in a temp state dir) with the demo
 * subscription's budget raised so it never runs out; the limiter still checks and counts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { BIN, ROOT, cliEnv, timed } from './cli-timing.js';
import { cannon, type Target } from './load.js';
import { measurePostgresStart } from './postgres-start.js';
import { createRelay } from './relay.js';
import { table, writeSection } from './report.js';
import { median, medianOfRounds, ms, rotate, roundStats, type RoundStats } from './stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const R = { warmup: QUICK ? 0.5 : 1.5, latencyRounds: QUICK ? 2 : 6, throughputRounds: QUICK ? 1 : 4, cacheRounds: QUICK ? 2 : 6, upRounds: QUICK ? 1 : 3, pgRounds: QUICK ? 1 : 3, concurrency: 32 };
const T0 = performance.now();
const log = (line: string) => process.stderr.write(`[bench:subscription +${((performance.now() - T0) / 1000).toFixed(0)}s] ${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'maas-egress-demo-bench-subscription-'));
const cacheDir = join(work, 'cache');
const configFile = join(work, 'config.json');
// The lowest tier's budget becomes the demo subscription's per model: raised so that load never meets a 429.
writeFileSync(configFile, JSON.stringify({ rateLimit: { tiers: [{ name: 'free', level: 0, groups: ['system:authenticated'], tokensPerWindow: 1_000_000_000 }] } }));
const env = (dir: string) => cliEnv({ MAAS_EGRESS_DEMO_STATE_DIR: dir, MAAS_EGRESS_DEMO_CACHE_DIR: cacheDir });

interface State {
  host: string;
  caFile: string;
  clusterToken: string;
  adminToken: string;
  components: Record<string, { pid: number; port: number; adminPort?: number }>;
  era: { providers: { name: string; endpoint: string; port: number; targetModel: string }[] };
}

async function demo(dir: string, args: string[], timeoutMs = 180_000) {
  const r = await timed(process.execPath, [BIN, ...args], { env: env(dir), timeoutMs });
  if (r.code !== 0) throw new Error(`demo ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-400)} ${r.stdout.slice(-800)}`);
  return r;
}

async function admin(state: State, name: string, method: 'GET' | 'PUT', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const c = state.components[name]!;
  const r = await request(`http://127.0.0.1:${c.adminPort}${path}`, { method, headers: { authorization: `Bearer ${state.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return (await r.body.json()) as Record<string, unknown>;
}

async function setCache(state: State, seconds: number): Promise<void> {
  const cfg = (await admin(state, 'maas-gateway', 'GET', '/config')).spec as Record<string, unknown>;
  await admin(state, 'maas-gateway', 'PUT', '/config', { spec: { ...cfg, identityCacheSeconds: seconds } });
}

async function chainFigures(dir: string) {
  await demo(dir, ['up', '--maas', 'subscription', '--config', configFile, '--output', 'plain']);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
  const ca = readFileSync(state.caFile, 'utf8');
  const openai = state.era.providers.find((p) => p.name === 'openai')!;
  const providerCa = readFileSync(join(dir, 'tls', 'providers', 'openai-ca.pem'), 'utf8');
  const provider = state.components['provider-openai']!;
  // An API key for the demo subscription, minted through the gateway as a user does.
  const agent = new Agent({ connect: { ca } });
  const minted = await request(`https://${state.host}/maas-api/v1/api-keys`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${state.clusterToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', subscription: 'demo-subscription' }) });
  const { key } = (await minted.body.json()) as { key: string };
  await agent.close();
  const { generateCerts } = await import('../src/targets/local/certificates.js');
  const relayCerts = await generateCerts(['localhost']);
  const { createSecureContext, rootCertificates } = await import('node:tls');
  // Trust as the gateway does: the system's CAs and the provider's, parsed once.
  const relay = createRelay(`https://127.0.0.1:${provider.port}`, { cert: relayCerts.certPem, key: relayCerts.keyPem }, { secureContext: createSecureContext({ ca: [...rootCertificates, providerCa] }), servername: openai.endpoint });
  const relayPort = await new Promise<number>((r) => relay.server.listen(0, '127.0.0.1', () => r((relay.server.address() as { port: number }).port)));
  const body = JSON.stringify({ model: openai.targetModel, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 });
  const providerAuth = { authorization: `Bearer ${JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).providers.find((p: { name: string }) => p.name === 'openai').key}` };
  const targets: Record<'direct' | 'relay' | 'chain', Target> = {
    direct: { name: 'direct', url: `https://127.0.0.1:${provider.port}`, path: '/v1/chat/completions', headers: providerAuth, body, ca: providerCa },
    relay: { name: 'relay', url: `https://127.0.0.1:${relayPort}`, path: '/v1/chat/completions', headers: providerAuth, body, ca: relayCerts.caPem },
    chain: { name: 'chain', url: `https://${state.host}`, path: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, body, ca },
  };
  // Each target answers one verified request first: 200 and the provider accepted the key.
  for (const t of Object.values(targets)) {
    const a = new Agent({ connect: { ca: t.ca!, ...(t.name === 'direct' ? { servername: openai.endpoint } : {}) } });
    const r = await request(`${t.url}${t.path}`, { method: 'POST', dispatcher: a, headers: { 'content-type': 'application/json', ...t.headers }, body: t.body });
    const text = await r.body.text();
    await a.close();
    if (r.statusCode !== 200 || r.headers['x-sim-key-status'] !== 'ok') throw new Error(`${t.name}: preflight ${r.statusCode} key ${String(r.headers['x-sim-key-status'])} ${text.slice(0, 200)}`);
  }
  const names = ['direct', 'relay', 'chain'] as const;
  for (const n of names) {
    await cannon(targets[n], { connections: R.concurrency, duration: R.warmup });
    await cannon(targets[n], { connections: 1, duration: 1 });
  }
  const lat: Record<string, RoundStats[]> = {};
  const failures: string[] = [];
  for (let r = 0; r < R.latencyRounds; r++) {
    for (const n of rotate([...names], r)) {
      const res = await cannon(targets[n], { connections: 1, duration: 1, skipFirst: 10 });
      if (res.bad || res.errors) failures.push(`latency ${n}: ${res.bad} non-2xx, ${res.errors} errors`);
      (lat[n] ??= []).push(roundStats(res.samples));
    }
    log(`latency round ${r + 1}: ${names.map((n) => `${n} ${lat[n]!.at(-1)!.p50.toFixed(3)}`).join(', ')}`);
  }
  const rps: Record<string, number[]> = {};
  for (let r = 0; r < R.throughputRounds; r++) {
    for (const n of rotate([...names], r)) {
      const res = await cannon(targets[n], { connections: R.concurrency, duration: 1, skipFirst: R.concurrency });
      if (res.bad || res.errors) failures.push(`throughput ${n}: ${res.bad} non-2xx, ${res.errors} errors`);
      (rps[n] ??= []).push(res.ok / res.seconds);
    }
    log(`throughput round ${r + 1}: ${names.map((n) => `${n} ${Math.round(rps[n]!.at(-1)!)}/s`).join(', ')}`);
  }
  // Key validation with and without the identity cache, paired round by round.
  const cache: Record<'on' | 'off', RoundStats[]> = { on: [], off: [] };
  for (let r = 0; r < R.cacheRounds; r++) {
    for (const mode of rotate(['on', 'off'] as const, r)) {
      await setCache(state, mode === 'on' ? 5 : 0);
      await cannon(targets.chain, { connections: 1, amount: 20 });
      const res = await cannon(targets.chain, { connections: 1, duration: 1, skipFirst: 5 });
      if (res.bad || res.errors) failures.push(`cache ${mode}: ${res.bad} non-2xx, ${res.errors} errors`);
      cache[mode].push(roundStats(res.samples));
    }
    log(`cache round ${r + 1}: on ${cache.on.at(-1)!.p50.toFixed(3)}, off ${cache.off.at(-1)!.p50.toFixed(3)}`);
  }
  await setCache(state, 5);
  await relay.close();
  await demo(dir, ['down', '--output', 'plain']);
  const added = (n: 'relay' | 'chain') => median(lat[n]!.map((x, i) => x.p50 - lat.direct![i]!.p50));
  const added99 = (n: 'relay' | 'chain') => median(lat[n]!.map((x, i) => x.p99 - lat.direct![i]!.p99));
  const ratio = (a: string, b: string) => median(rps[a]!.map((v, i) => v / rps[b]![i]!));
  return {
    lat: Object.fromEntries(names.map((n) => [n, medianOfRounds(lat[n]!)])) as Record<(typeof names)[number], RoundStats>,
    added: { relay: { p50: added('relay'), p99: added99('relay') }, chain: { p50: added('chain'), p99: added99('chain') } },
    rps: Object.fromEntries(names.map((n) => [n, median(rps[n]!)])) as Record<(typeof names)[number], number>,
    chainVsRelay: ratio('chain', 'relay'),
    relayVsDirect: ratio('relay', 'direct'),
    cache: { on: medianOfRounds(cache.on), off: medianOfRounds(cache.off), cost: median(cache.off.map((x, i) => x.p50 - cache.on[i]!.p50)) },
    failures,
  };
}

interface UpRun {
  ms: number;
  steps: Record<string, number>;
}

async function upFigures(): Promise<{ runs: UpRun[]; first: number }> {
  // The first up on an empty cache makes the initdb template; every later one unpacks it.
  const firstDir = join(work, 'up-first', 'state');
  const first = await demo(firstDir, ['up', '--maas', 'subscription', '--output', 'plain']);
  await demo(firstDir, ['down', '--output', 'plain']);
  const runs: UpRun[] = [];
  for (let r = 0; r < R.upRounds; r++) {
    const dir = join(work, `up-${r}`, 'state');
    const up = await demo(dir, ['up', '--maas', 'subscription', '--output', 'ndjson']);
    const steps: Record<string, number> = {};
    for (const line of up.stdout.split('\n')) {
      try {
        const e = JSON.parse(line) as { kind: string; step?: string; ms?: number };
        if (e.kind === 'step-end' && e.step && e.ms !== undefined) steps[e.step] = e.ms;
      } catch {
        /* not an event */
      }
    }
    runs.push({ ms: up.ms, steps });
    await demo(dir, ['down', '--output', 'plain']);
    log(`up --maas subscription ${Math.round(up.ms)} ms (${Object.entries(steps).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
  return { runs, first: first.ms };
}

async function main(): Promise<void> {
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    // up first: its first run meets an empty template cache, as a first `up` does.
    const up = await upFigures();
    const chain = await chainFigures(join(work, 'chain', 'state'));
    const pg = await measurePostgresStart(R.pgRounds);
    const load1 = loadavg().map((x) => x.toFixed(2)).join(' ');
    const upMs = median(up.runs.map((r) => r.ms));
    const step = (s: string) => median(up.runs.map((r) => r.steps[s] ?? 0));
    const body = [
      '## The subscription era',
      '',
      `Command: \`npm run build && npm run bench:subscription\` (\`node dist/bench/subscription.js\`); the run took ${Math.round((performance.now() - T0) / 1000)} s.`,
      '',
      `Machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}. Load average ${load0} at the start and ${load1} at the end (a shared machine: single figures move by 10–30% between runs).`,
      '',
      'Method: the real topology of `demo up --maas subscription` (every hop its own process), the demo subscription\'s budget raised so that no request meets a 429 (the limiter still checks and counts each); load from autocannon in this process, on 127.0.0.1; targets interleaved round by round with a rotating order; a figure is the median of the round medians, differences are paired within a round. The request is a chat (`max_tokens: 10`) answered by the OpenAI simulator with no added latency. Every target first answers one verified request (200, the provider accepted the key).',
      '',
      `### The chain against the bare TLS relay (${R.latencyRounds} rounds × 1 s, one request at a time; throughput: ${R.throughputRounds} rounds × 1 s at ${R.concurrency} concurrent)`,
      '',
      table(['target', 'path', 'p50', 'p99', 'added p50', 'added p99', 'req/s at 32'], [
        ['direct', 'client →TLS→ provider', ms(chain.lat.direct.p50), ms(chain.lat.direct.p99), '—', '—', Math.round(chain.rps.direct).toLocaleString('en')],
        ['relay', 'client →TLS→ bare relay →TLS (verified)→ provider', ms(chain.lat.relay.p50), ms(chain.lat.relay.p99), ms(chain.added.relay.p50), ms(chain.added.relay.p99), Math.round(chain.rps.relay).toLocaleString('en')],
        ['chain', 'client →TLS→ MaaS gateway (auth, ipp-pre, selection, limits, ipp, TLS origination) → provider', ms(chain.lat.chain.p50), ms(chain.lat.chain.p99), ms(chain.added.chain.p50), ms(chain.added.chain.p99), Math.round(chain.rps.chain).toLocaleString('en')],
      ]),
      '',
      `The chain adds ${ms(chain.added.chain.p50)} at p50 where the bare TLS relay adds ${ms(chain.added.relay.p50)} (${(chain.added.chain.p50 / chain.added.relay.p50).toFixed(2)}×); at 32 concurrent it reaches ${chain.chainVsRelay.toFixed(2)}× the relay's throughput (the relay ${chain.relayVsDirect.toFixed(2)}× direct's). Per request the gateway makes two exchanges with payload processing on the request (ipp-pre: headers and body; ipp: the same), one for the response headers and one per response chunk plus the last, each an HTTP/JSON round trip on loopback where Envoy would keep one gRPC stream open; with the identity cache warm, no call to maas-api.`,
      '',
      `### Key validation: the identity cache on and off (${R.cacheRounds} rounds × 1 s, one request at a time)`,
      '',
      table(['identity cache', 'p50', 'p99'], [
        ['on (5 s, as `up` runs it)', ms(chain.cache.on.p50), ms(chain.cache.on.p99)],
        ['off (every request calls maas-api: validate the key in PostgreSQL, select the subscription)', ms(chain.cache.off.p50), ms(chain.cache.off.p99)],
      ]),
      '',
      `Without the cache every request costs ${ms(chain.cache.cost)} more at p50 (paired per round): the two callbacks to maas-api, one of them a query of the \`api_keys\` table by hash (and a debounced \`last_used_at\` write). The cache's price is its consequence: a revoked key keeps working until its entry expires (5 s).`,
      '',
      `### \`up --maas subscription\` (${R.upRounds} runs with the initdb template cached; the first up on an empty cache took ${Math.round(up.first)} ms)`,
      '',
      table(['what', 'median'], [
        ['until ready (process exit)', `${Math.round(upMs)} ms`],
        ['platform: PostgreSQL, maas-api (migrations), payload processing, provider simulators and their CAs, the gateway', `${Math.round(step('platform'))} ms`],
        ['s1 provider credentials', `${Math.round(step('s1'))} ms`],
        ['s2 external models', `${Math.round(step('s2'))} ms`],
        ['s3 the catalog', `${Math.round(step('s3'))} ms`],
        ['s4 access and limits', `${Math.round(step('s4'))} ms`],
      ]),
      '',
      `The embedded PostgreSQL on its own (bench/postgres-start.ts, ${pg.rounds} fresh processes each): a new data directory by initdb ${Math.round(pg.initdbMs)} ms, one unpacked from the cached template ${Math.round(pg.templateMs)} ms, an existing one reopened ${Math.round(pg.reopenMs)} ms (making the template: ${Math.round(pg.templateCreateMs)} ms). PostgreSQL starts at once with payload processing and the simulators, so only what exceeds them delays \`up\`; \`down\` keeps the template, so only the first \`up\` of a state directory pays for initdb.`,
      ...(chain.failures.length ? ['', `Failures during load: ${chain.failures.join('; ')}`] : []),
    ].join('\n');
    writeSection(join(ROOT, 'BENCHMARKS.md'), 'subscription', body);
    log('BENCHMARKS.md written');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((err: Error) => {
  process.stderr.write(`bench:subscription failed: ${err.message}\n`);
  process.exitCode = 1;
});
