/**
 * Exposure: what an install lets a user or a reader of its objects get away with. The seed's own
 * (the user's token forwarded to a provider, keys as literals in policies, headers logged at trace
 * level, TLS verification off) and the tier era's budget and identity weaknesses, each judged from a
 * probe that shows the behaviour: streams whose tokens are never counted, a MaaS token minting another
 * for a fresh budget (token chaining), token lifetimes without a cap, bursts admitted past the budget,
 * tokens of no tier never limited. Each finding names the object change that closes it; `demo up
 * --hardened` makes all of them, so doctor on a hardened topology reports none.
 *
 * On the faithful default topology these are warnings the tier-era design raises (marked expected, so
 * they never fail a run): the local target behaves like the components it stands in for.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import { Secret } from '../../core/secret.js';
import { SIM_HEADERS } from '../../sim/headers.js';
import type { HopRecord } from '../../model/hop-record.js';
import { identityOf } from '../probe.js';
import { NO_LIVE, bridgeOf, diff, defineProviderCheck, specFix } from './findings.js';
import { defineCheck, type CheckDef, type DoctorContext, type Finding } from './types.js';

/** One request through the MaaS gateway with its own request id, and what the hops recorded of it. */
interface Probe {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The MaaS gateway's record of the request (local target; absent where hops keep no records). */
  gateway?: HopRecord;
}

async function probe(ctx: DoctorContext, req: { method: 'GET' | 'POST'; path: string; token: Secret; body?: unknown }): Promise<Probe> {
  const ep = await ctx.target.endpoint();
  const requestId = randomUUID();
  const res = await request(`${ep.baseUrl}${req.path}`, {
    method: req.method,
    dispatcher: ep.dispatcher,
    headers: { 'x-request-id': requestId, authorization: `Bearer ${req.token.reveal()}`, ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  const records = await ctx.target.hopRecords(requestId).catch(() => []);
  const gateway = records.find((r) => r.hop === 'maas-gateway');
  return { status: res.statusCode, headers: res.headers, text, ...(gateway ? { gateway } : {}) };
}

/** The expected-warning marking of the tier era's exposures, with what closes them all at once. */
const TIER_ERA = { expectedWarning: true } as const;
const HARDENED = '`demo up --hardened` makes this change (locally); on a cluster, apply the patch';

/** Evidence line for a probe: status, who answered, the gateway's accounting. */
function seen(p: Probe): string {
  const d = p.gateway?.detail ?? {};
  const facts = [d.auth && `auth ${d.auth}`, d.authz && `authz ${d.authz}`, d.tier && `tier ${d.tier}`, d.budget && `budget ${d.budget}`, d.tokensCounted && `tokens counted ${d.tokensCounted}`].filter(Boolean);
  return `HTTP ${p.status}${facts.length ? ` (gateway: ${facts.join('; ')})` : ''}`;
}

export const exposure: CheckDef[] = [
  defineProviderCheck({
    id: 'exposure-user-token-forwarded',
    category: 'exposure',
    title: "the user's MaaS token never reaches an external provider",
    severity: 'error',
    hint: 'README.md#doctor-exposure',
    passes: 'no MaaS token leaves for a provider',
    each: async (ctx, p) => {
      const ex = await ctx.probe(p.name);
      const seen = ex?.headers[SIM_HEADERS.authorization];
      if (p.keyHeader === 'authorization') return ex ? { provider: p.name, ok: true, evidence: ['the key replaces Authorization'] } : { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the key is to replace Authorization, no probe confirmed it`] };
      const b = bridgeOf(ctx.spec, p.name);
      const removes = b?.removeHeaders.includes('authorization') ?? false;
      if (!removes || seen === 'jwt') {
        return {
          provider: p.name,
          ok: false,
          hop: 'maas-gateway',
          evidence: [seen === 'jwt' ? 'probe: the provider received the MaaS token (Authorization: Bearer <JWT>)' : 'the bridge does not remove Authorization', ...(b ? [`HTTPRoute ${b.name} removes: ${b.removeHeaders.join(', ') || '(nothing)'}`] : [])],
          fix: specFix('maasGateway', `remove Authorization in HTTPRoute ${p.name}-bridge before it leaves for ${p.name}`, diff(`HTTPRoute ${p.name}-bridge rules[0].filters`, [[null, '{type: RequestHeaderModifier, requestHeaderModifier: {remove: [Authorization]}}']]), (s) => {
            const x = bridgeOf(s, p.name);
            if (x && !x.removeHeaders.includes('authorization')) x.removeHeaders.push('authorization');
          }, [{ kind: 'HTTPRoute', name: `${p.name}-bridge` }]),
        };
      }
      if (seen === undefined) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: HTTPRoute ${b?.name ?? ''} removes Authorization, no probe reached the provider`] };
      return { provider: p.name, ok: true, evidence: [`Authorization removed; provider saw ${seen}`] };
    },
  }),
  defineCheck({
    id: 'exposure-keys-in-policies',
    category: 'exposure',
    title: 'provider keys are not stored as literals in plain objects',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const literal = (ctx.spec.maasGateway?.bridges ?? []).filter((b) => b.auth?.inject);
      if (!literal.length) return { outcome: 'pass', message: 'no key literals in bridge policies' };
      return {
        outcome: 'warn',
        expectedWarning: true,
        message: `${literal.length} AuthPolicies carry their provider key as a CEL literal (the seed design; readable by anyone who can read AuthPolicies)`,
        evidence: literal.map((b) => `${b.name}-auth injects ${b.auth!.inject!.header}`),
        fix: { summary: 'keep keys in Secrets and restrict who can read AuthPolicies; a key service (Authorino metadata) avoids literals', patch: 'kubectl auth can-i get authpolicies.kuadrant.io --as system:authenticated -n default   # should be "no"' },
      };
    },
  }),
  defineCheck({
    id: 'exposure-trace-logging',
    category: 'exposure',
    title: 'the egress Envoy does not log request headers (keys, tokens) at trace level',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const level = ctx.spec.egress?.logLevel;
      if (level === undefined) return { outcome: 'skip', message: 'log level not visible on this target' };
      if (level === 'trace') {
        const fix = specFix('egress', 'run the egress Envoy at --log-level info', diff('Deployment envoy-poc-gateway container envoy', [['args: [--log-level, trace]', 'args: [--log-level, info]']]), (s) => {
          if (s.egress) s.egress.logLevel = 'info';
        });
        const forcedBy = ctx.spec.egress?.logLevelForcedBy;
        if (forcedBy) {
          // The controller writes these args itself and force-applies the Deployment on each reconcile.
          const ns = ctx.target.cfg.egress.namespace;
          fix.patch = `# ${forcedBy} hard-codes --log-level trace and re-applies it on its next reconcile, so a patch does not last:\nkubectl auth can-i get pods/log -n ${ns} --as system:authenticated   # should be "no": restrict who reads the Envoy log\n# mask X-Provider-Api-Key and Authorization when collecting that log; a controller build with a log-level setting removes the warning`;
          return {
            outcome: 'warn',
            expectedWarning: true,
            hop: 'egress-gateway',
            message: `egress Envoy runs with --log-level trace, set by ${forcedBy} (upstream design): X-Provider-Api-Key and Authorization values land in its pod log`,
            fix,
          };
        }
        if (ctx.target.apiServer) {
          const ns = ctx.target.cfg.egress.namespace;
          fix.patch += `\nkubectl -n ${ns} patch deployment envoy-poc-gateway --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":["-c","/etc/envoy/envoy.yaml","--log-level","info"]}]'`;
        }
        return {
          outcome: 'warn',
          hop: 'egress-gateway',
          message: 'egress Envoy runs with --log-level trace: X-Provider-Api-Key and Authorization values land in its pod log',
          fix,
        };
      }
      return { outcome: 'pass', message: `log level ${level}` };
    },
  }),
  defineCheck({
    id: 'exposure-tls-verification',
    category: 'exposure',
    title: 'TLS to the MaaS gateway is verified',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const ep = await ctx.target.endpoint();
      if (ep.insecure) return { outcome: 'warn', message: 'verification is off (--insecure)', fix: { summary: 'pass the ingress CA instead', patch: '--ca-file <ingress CA bundle>' } };
      // Verified means a handshake that checked the certificate happened; a gateway that does not answer proves nothing.
      try {
        const r = await request(`${ep.baseUrl}/`, { dispatcher: ep.dispatcher, headersTimeout: 5_000 });
        await r.body.dump();
        if (ep.baseUrl.startsWith('http:')) return { outcome: 'warn', hop: 'maas-gateway', message: `${ep.baseUrl} is plain HTTP: tokens and keys travel unencrypted`, fix: { summary: 'use the gateway\'s https listener', patch: ep.baseUrl.replace(/^http:/, 'https:') } };
        return { outcome: 'pass', message: `verified against the CA in use (the gateway answered ${r.statusCode})` };
      } catch (err) {
        const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? 'error';
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|DEPTH_ZERO/.test(code)) {
          return { outcome: 'fail', hop: 'maas-gateway', message: `the gateway's certificate is not trusted by the CA in use (${code})`, fix: { summary: 'pass the CA that signed the gateway certificate', patch: '--ca-file <ingress CA bundle>' } };
        }
        return { outcome: 'skip', message: `the gateway did not answer (${code}): whether its certificate verifies could not be tested` };
      }
    },
  }),
  defineCheck({
    id: 'exposure-token-chaining',
    category: 'exposure',
    title: 'a MaaS token cannot mint another token (a new identity with a fresh budget)',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      if (!ctx.token) return { outcome: 'skip', message: `${NO_LIVE}: no MaaS token to try minting with` };
      const before = identityOf(ctx.token);
      const p = await probe(ctx, { method: 'POST', path: '/maas-api/v1/tokens', token: ctx.token, body: { expiration: '10m' } });
      if (p.status === 401 || p.status === 403) return { outcome: 'pass', message: `the tokens route refused the MaaS token (HTTP ${p.status}${p.headers['x-ext-auth-reason'] ? `, ${String(p.headers['x-ext-auth-reason'])}` : ''})` };
      if (p.status !== 201) return { outcome: 'skip', message: `the mint probe answered HTTP ${p.status}: neither refused nor minted` };
      let minted: string | undefined;
      try {
        const token = new Secret((JSON.parse(p.text) as { token: string }).token);
        minted = decodeJwt(token.reveal()).sub;
      } catch {
        minted = undefined;
      }
      const ns = ctx.target.cfg.maas.apiNamespace;
      return {
        outcome: 'warn',
        ...TIER_ERA,
        hop: 'maas-gateway',
        message: `a MaaS token minted another token${minted ? ` for ${minted}` : ''}: a new service account, so a budget that starts at zero (maas-api-auth-policy accepts MaaS tokens on /v1/tokens)`,
        evidence: [`probe: POST /maas-api/v1/tokens with the MaaS token of ${before?.sub ?? 'the user'} → ${seen(p)}`, ...(minted && before && minted !== before.sub ? [`the new token belongs to ${minted}, not ${before.sub}: another rate-limit counter`] : [])],
        fix: specFix(
          'maasGateway',
          `let only the user's own identity mint tokens: an authorization rule in AuthPolicy ${ns}/maas-api-auth-policy denying service accounts on the tokens path; ${HARDENED}`,
          diff(`AuthPolicy ${ns}/maas-api-auth-policy spec.rules.authorization`, [
            [null, 'user-identity-only:'],
            [null, '  when: [{predicate: "request.path.endsWith(\'/v1/tokens\')"}]'],
            [null, '  patternMatching: {patterns: [{predicate: "!auth.identity.user.username.startsWith(\'system:serviceaccount:\')"}]}'],
          ]),
          (s) => {
            if (s.maasGateway) s.maasGateway.tokensRequireUserIdentity = true;
          },
        ),
      };
    },
  }),
  defineCheck({
    id: 'exposure-token-lifetime',
    category: 'exposure',
    title: 'maas-api caps the lifetime of the tokens it mints',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const cap = ctx.spec.maasApi?.maxTokenSeconds;
      // Past any cap configured here, and a year when there is none: a lifetime no install should grant.
      const askHours = cap ? Math.ceil(cap / 3600) + 1 : 365 * 24;
      const p = await probe(ctx, { method: 'POST', path: '/maas-api/v1/tokens', token: await ctx.target.clusterToken(), body: { expiration: `${askHours}h` } });
      if (p.status === 400) {
        let reason = '';
        try {
          reason = (JSON.parse(p.text) as { error?: string }).error ?? '';
        } catch {
          /* not JSON */
        }
        return { outcome: 'pass', message: `a ${askHours}h token was refused (HTTP 400${reason ? `: ${reason}` : ''})` };
      }
      if (p.status !== 201) return { outcome: 'skip', message: `the mint probe answered HTTP ${p.status}` };
      let until = '';
      try {
        const json = JSON.parse(p.text) as { token: string; expiresAt?: number };
        new Secret(json.token);
        if (json.expiresAt) until = new Date(json.expiresAt * 1000).toISOString().slice(0, 10);
      } catch {
        /* the status is the evidence */
      }
      const hours = Math.round(ctx.target.cfg.maas.maxTokenSeconds / 3600);
      return {
        outcome: 'warn',
        ...TIER_ERA,
        hop: 'maas-api',
        message: `maas-api minted a ${askHours}h token${until ? ` (valid until ${until})` : ''}: no lifetime cap, so a leaked token stays good for as long as its holder asked`,
        evidence: [`probe: POST /maas-api/v1/tokens {"expiration":"${askHours}h"} with the cluster user's token → ${seen(p)}`],
        fix: specFix(
          'maasApi',
          `cap token lifetimes in maas-api at ${hours}h (config maas.maxTokenSeconds; the tier-era maas-api has no such setting — the subscription era caps API keys with API_KEY_MAX_EXPIRATION_DAYS); ${HARDENED}`,
          diff(`maas-api token settings (Deployment ${ctx.target.cfg.maas.apiNamespace}/maas-api)`, [['maxTokenSeconds: (none)', `maxTokenSeconds: ${ctx.target.cfg.maas.maxTokenSeconds}   # ${hours}h; longer requests get 400`]]),
          (s) => {
            if (s.maasApi) s.maasApi.maxTokenSeconds = ctx.target.cfg.maas.maxTokenSeconds;
          },
        ),
      };
    },
  }),
  defineCheck({
    id: 'exposure-tierless-tokens',
    category: 'exposure',
    title: 'a token whose namespace maps to no tier is refused, not left unlimited',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const first = ctx.target.providers()[0];
      if (!first || !bridgeOf(ctx.spec, first.name)) return { outcome: 'skip', message: 'no bridge route to probe' };
      if (!ctx.target.serviceAccountToken) return { outcome: 'skip', message: `${NO_LIVE}: this target cannot request a token for a service account outside the tier namespaces` };
      const sa = { namespace: 'default', name: 'demo-doctor-tierless' };
      const token = await ctx.target.serviceAccountToken(sa.namespace, sa.name);
      const p = await probe(ctx, { method: 'POST', path: `/external/${first.name}/v1/chat/completions`, token, body: { model: first.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 } });
      if (p.status === 403) return { outcome: 'pass', message: `a token of ${sa.namespace}/${sa.name} (no tier) was refused with 403`, evidence: [seen(p)] };
      if (p.status === 429) return { outcome: 'pass', message: 'a token of no tier was rate limited', evidence: [seen(p)] };
      if (p.status !== 200) return { outcome: 'skip', message: `the probe answered HTTP ${p.status} (see the other categories)` };
      const accounted = Boolean(p.gateway?.detail.budget);
      if (accounted) return { outcome: 'pass', message: 'a token of no tier is accounted against a budget', evidence: [seen(p)] };
      if (!p.gateway) return { outcome: 'skip', message: `${NO_LIVE}: a token of no tier got 200; the gateway keeps no record of whether it was accounted`, evidence: [seen(p)] };
      const tiers = ctx.target.cfg.rateLimit.tiers.map((t) => t.name);
      const instance = ctx.target.cfg.maas.gatewayName;
      return {
        outcome: 'warn',
        ...TIER_ERA,
        hop: 'maas-gateway',
        message: `a token of service account ${sa.namespace}/${sa.name} (a namespace of no tier) got 200 and was counted against no budget: the TokenRateLimitPolicy has no limit for it, so it is never limited`,
        evidence: [`probe: a chat through /external/${first.name} with that token → ${seen(p)}`, 'any service account can request a token with the gateway audience (TokenRequest)'],
        fix: specFix(
          'maasGateway',
          `refuse identities of no tier: an authorization rule in each bridge AuthPolicy; ${HARDENED}`,
          diff(`AuthPolicy <provider>-bridge-auth spec.rules.authorization (each bridge)`, [
            [null, 'known-tier:'],
            [null, `  patternMatching: {patterns: [{selector: auth.identity.user.username, operator: matches, value: "^system:serviceaccount:${instance}-tier-(${tiers.join('|')}):"}]}`],
          ]),
          (s) => {
            for (const b of s.maasGateway?.bridges ?? []) if (b.auth) b.auth.allowedTiers = tiers;
          },
        ),
      };
    },
  }),
  defineCheck({
    id: 'exposure-stream-usage',
    category: 'exposure',
    title: 'streamed completions are counted against the budget, whether or not the client asks for usage',
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const first = ctx.target.providers()[0];
      const user = ctx.token ? identityOf(ctx.token) : undefined;
      if (!ctx.token || !user || !first) return { outcome: 'skip', message: `${NO_LIVE}: no MaaS token to stream with` };
      // A probe identity of the user's tier has a budget of its own: the user's may be spent already
      // (validate's call 10), and this probe does not spend it. Where doctor cannot make one (a
      // cluster), the gateway's accounting of a stream is not observable either.
      if (!ctx.target.serviceAccountToken) return { outcome: 'skip', message: `${NO_LIVE}: what the gateway counts for a stream is not observable on this target` };
      const probeToken = await ctx.target.serviceAccountToken(user.sub.split(':')[2] ?? '', 'demo-doctor-stream-probe');
      const p = await probe(ctx, { method: 'POST', path: `/external/${first.name}/v1/chat/completions`, token: probeToken, body: { model: first.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: true } });
      if (p.status === 429) return { outcome: 'skip', message: 'the budget is spent (429): whether streams are counted cannot be seen now', evidence: [seen(p)] };
      if (p.status !== 200) return { outcome: 'skip', message: `the streamed probe answered HTTP ${p.status} (see the other categories)` };
      const counted = p.gateway?.detail.tokensCounted;
      if (counted === undefined) return { outcome: 'skip', message: `${NO_LIVE}: the gateway keeps no record of what it counted here`, evidence: [seen(p)] };
      if (/^\d+/.test(counted)) return { outcome: 'pass', message: `a stream without stream_options.include_usage was counted (tokens counted: ${counted})`, evidence: [seen(p), ...(p.gateway?.detail.streamUsage ? [p.gateway.detail.streamUsage] : [])] };
      const gwNs = ctx.target.cfg.maas.gatewayNamespace;
      return {
        outcome: 'warn',
        ...TIER_ERA,
        hop: 'maas-gateway',
        message: 'a streamed completion without stream_options.include_usage was not counted: the stream carries no usage, so the TokenRateLimitPolicy has nothing to report and streams spend no budget',
        evidence: [`probe: a streamed chat through /external/${first.name} → ${seen(p)}`, 'Limitador is told usage.total_tokens of the response; a stream only has it when the client asked'],
        fix: specFix(
          'maasGateway',
          `force usage into streamed requests before the rate limit: the payload processor's stream-usage-enforcer; ${HARDENED}`,
          diff(`ConfigMap ${gwNs}/payload-processing-plugins data.custom-ipp-config.yaml (payload processor on the MaaS gateway)`, [
            [null, 'plugins: [{type: stream-usage-enforcer}]'],
            [null, 'profiles[default].plugins.request: [{pluginRef: stream-usage-enforcer}]   # before the rate-limit report'],
          ]),
          (s) => {
            if (s.maasGateway) s.maasGateway.streamUsageEnforcer = true;
          },
        ),
      };
    },
  }),
  defineCheck({
    id: 'exposure-burst-overshoot',
    category: 'exposure',
    title: "requests admitted at once cannot spend past the budget (tokens reserved at admission)",
    severity: 'warning',
    hint: 'README.md#doctor-exposure',
    run: async (ctx): Promise<Finding> => {
      const ex = await ctx.chat();
      const gw = ex?.records.find((r) => r.hop === 'maas-gateway');
      if (!ex || !gw) return { outcome: 'skip', message: `${NO_LIVE}: the gateway keeps no record of how it admitted the probe` };
      const budget = gw.detail.budget;
      if (!budget) return { outcome: 'skip', message: `the probe was not accounted (${ex.answer.summary}); see rate-limits` };
      const evidence = [`probe: ${ex.answer.summary}, gateway budget ${budget}`];
      if (/reserved\)/.test(budget)) return { outcome: 'pass', message: "admission reserves each request's estimate (prompt + max_tokens) until its usage is known", evidence };
      const gwNs = ctx.target.cfg.maas.gatewayNamespace;
      return {
        outcome: 'warn',
        ...TIER_ERA,
        hop: 'maas-gateway',
        message: 'admission only checks that the counter is below the limit and counts tokens after the response (Limitador): every request in flight when the budget runs out is admitted, so a burst spends several times the budget',
        evidence: [...evidence, 'no reservation at admission: the counter moves only when a response reports usage'],
        fix: specFix(
          'maasGateway',
          `reserve each request's prompt + max_tokens at admission and settle on the response (Limitador has no such mode: this is the gateway's --strict-budget; on a cluster, bound the burst with a per-user request RateLimitPolicy); ${HARDENED}`,
          diff(`RateLimitPolicy ${gwNs}/gateway-request-burst (next to TokenRateLimitPolicy gateway-token-rate-limits)`, [
            [null, 'limits: {per-user-burst: {rates: [{limit: 5, window: 1s}], counters: [{expression: auth.identity.userid}]}}'],
          ]),
          (s) => {
            if (s.maasGateway) s.maasGateway.rateLimit.strictBudget = true;
          },
        ),
      };
    },
  }),
];
