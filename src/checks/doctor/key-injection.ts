/**
 * Key injection: each bridge's AuthPolicy must be enforced (no token → Authorino's 401), accept MaaS
 * tokens (audience), and inject the provider's key under the header the provider reads. Evidence:
 * the policy as configured, and what the provider saw (key status and key fingerprint, never the key).
 */
import { fingerprint } from '../../core/secret.js';
import { SIM_HEADERS, timesReceived } from '../../sim/headers.js';
import { NO_LIVE, bridgeOf, diff, factFailure, factsFor, defineProviderCheck, specFix } from './findings.js';
import { WASM_SHIM_FACT, type CheckDef } from './types.js';

const injectedValue = (header: string, value: string) => (header.toLowerCase() === 'authorization' ? value.replace(/^Bearer\s+/i, '') : value);

export const keyInjection: CheckDef[] = [
  defineProviderCheck({
    id: 'key-policy-enforced',
    category: 'key-injection',
    title: 'each bridge has an enforced AuthPolicy (no token → 401)',
    severity: 'error',
    hint: 'README.md#doctor-key-injection',
    passes: 'bridges refuse requests without a MaaS token',
    each: async (ctx, p) => {
      const b = bridgeOf(ctx.spec, p.name);
      const ex = await ctx.probeNoAuth(p.name);
      const ok = ex?.answer.kind === 'auth-401';
      // Accepted and enforced, as Kuadrant reports it (cluster): not, whatever a probe says, is a failure.
      const status = b?.auth ? await factFailure(ctx, 'key-policy-enforced', p.name) : undefined;
      if (status) return { ...status, evidence: [...status.evidence, ...(ex ? [`probe without a token: ${ex.answer.summary}`] : [])] };
      // Only a request that got past the MaaS gateway without a token shows the policy is not enforced.
      const passed = ex && !ex.error && (ex.answer.hop !== 'maas-gateway' || (ex.status >= 200 && ex.status < 300));
      if (b?.auth && !ok && !passed) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: ${ex ? `the probe without a token got ${ex.answer.summary}` : 'no probe'}`] };
      if (!b?.auth || !ok) {
        return {
          provider: p.name,
          ok: false,
          hop: 'maas-gateway',
          field: 'spec.targetRef',
          evidence: [b?.auth ? 'policy configured but not enforced' : `no AuthPolicy targets ${b?.name ?? `${p.name}-bridge`}`, ...(ex ? [`probe without a token: ${ex.answer.summary}`] : [])],
          fix: { summary: `apply AuthPolicy ${p.name}-bridge-auth targeting HTTPRoute ${p.name}-bridge`, patch: `demo manifests --step 4 | kubectl apply --server-side -f -`, objects: [{ kind: 'AuthPolicy', name: `${p.name}-bridge-auth` }] },
        };
      }
      return { provider: p.name, ok: true, evidence: [`no token → ${ex.answer.summary}`] };
    },
  }),
  defineProviderCheck({
    id: 'key-auth-accepts-maas-token',
    category: 'key-injection',
    title: 'each bridge accepts a valid MaaS token (audience maas-default-gateway-sa)',
    severity: 'error',
    hint: 'README.md#doctor-key-injection',
    passes: 'MaaS tokens pass every bridge',
    each: async (ctx, p) => {
      const b = bridgeOf(ctx.spec, p.name);
      const aud = ctx.target.cfg.maas.audience;
      const ex = await ctx.probe(p.name);
      const missingAud = b?.auth && !b.auth.audiences.includes(aud);
      // A missing audience is a configuration fault; without it only a probe can tell.
      if (!ex && !missingAud) return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: no MaaS token to probe with`] };
      const refused = ex?.answer.kind === 'auth-401';
      if (refused || missingAud) {
        return {
          provider: p.name,
          ok: false,
          hop: 'maas-gateway',
          field: 'spec.rules.authentication.service-accounts.kubernetesTokenReview.audiences',
          evidence: [...(ex ? [`probe with a valid MaaS token: ${ex.answer.summary}`] : []), ...(b?.auth ? [`AuthPolicy audiences: ${b.auth.audiences.join(', ') || '(none: Authorino uses the Host)'}`] : [])],
          fix: specFix('maasGateway', `set kubernetesTokenReview.audiences to [${aud}] in AuthPolicy ${p.name}-bridge-auth`, diff(`AuthPolicy ${p.name}-bridge-auth`, [[`audiences: [${b?.auth?.audiences.join(', ') ?? ''}]`, `audiences: [${aud}]`]]), (s) => {
            const x = bridgeOf(s, p.name);
            if (x?.auth) x.auth.audiences = [aud];
          }, [{ kind: 'AuthPolicy', name: `${p.name}-bridge-auth` }]),
        };
      }
      return { provider: p.name, ok: true, evidence: [`MaaS token accepted (${ex!.answer.summary})`] };
    },
  }),
  defineProviderCheck({
    id: 'key-injected',
    category: 'key-injection',
    title: "each provider receives its own key in the header it reads",
    severity: 'error',
    hint: 'README.md#doctor-key-injection',
    passes: 'every provider gets its own key',
    each: async (ctx, p) => {
      const b = bridgeOf(ctx.spec, p.name);
      const wantHeader = p.keyHeader;
      const wantFp = p.key.fingerprint;
      const inject = b?.auth?.inject ?? null;
      // A key computed at request time (cluster: a Secret lookup in CEL) has no fingerprint to compare.
      const computed = inject?.expression !== undefined;
      const gotFp = inject && !computed ? fingerprint(injectedValue(inject.header, inject.value)) : undefined;
      const ex = await ctx.probe(p.name);
      const status = ex?.headers[SIM_HEADERS.keyStatus];
      const seenFp = ex?.headers[SIM_HEADERS.keyFingerprint];
      // Fields the API server pruned from the policy (cluster), which explain a missing key.
      const facts = (await factsFor(ctx, 'key-injected', p.name)).filter((f) => !f.ok);
      const appends = facts.filter((f) => f.name === WASM_SHIM_FACT);
      const pruned = facts.filter((f) => f.name !== WASM_SHIM_FACT);
      // The header names the provider received, in order: a name twice is a duplicated header.
      const received = ex?.headers[SIM_HEADERS.headerNames] ?? '';
      const twice = timesReceived(received, wantHeader) > 1;
      const evidence = [
        `policy injects: ${inject ? `${inject.header} (${computed ? `computed by the CEL expression ${inject.expression}` : `key fingerprint ${gotFp}`})` : 'nothing'}; the provider reads ${wantHeader} (expected fingerprint ${wantFp})`,
        ...(status ? [`probe: the provider saw key ${status}${seenFp ? ` (fingerprint ${seenFp})` : ''}`] : []),
        ...pruned.map((f) => f.detail),
      ];
      const headerValue = wantHeader === 'authorization' ? `Bearer ${p.key.masked}` : p.key.masked;
      const fixFor = (what: string) =>
        specFix('maasGateway', `${what} in AuthPolicy ${p.name}-bridge-auth`, diff(`AuthPolicy ${p.name}-bridge-auth spec.rules.response.success.headers`, [[inject ? `${inject.header}: {plain: {expression: ${computed ? JSON.stringify(inject.expression) : `"'${injectedValue(inject.header, inject.value) === p.key.reveal() ? p.key.masked : '<other key>'}'"`}}}` : '(no headers)', `${wantHeader === 'authorization' ? 'Authorization' : 'X-Provider-Api-Key'}: {plain: {expression: "'${headerValue}'"}}`]]), (s) => {
          const x = bridgeOf(s, p.name);
          if (x?.auth) x.auth.inject = { header: wantHeader, value: wantHeader === 'authorization' ? `Bearer ${p.key.reveal()}` : p.key.reveal() };
        }, [{ kind: 'AuthPolicy', name: `${p.name}-bridge-auth` }]);
      const field = 'spec.rules.response.success.headers';
      // The provider accepting the key it received, once, is the evidence: the header and the key are right.
      if (status === 'ok' && !twice && !appends.length) return { provider: p.name, ok: true, evidence: [`${wantHeader} fingerprint ${seenFp} accepted by the provider`] };
      if (inject && inject.header.toLowerCase() !== wantHeader) return { provider: p.name, ok: false, hop: 'maas-gateway', field, evidence: [`key injected as ${inject.header}; the provider reads ${wantHeader}`, ...evidence], fix: fixFor(`rename the injected header to ${wantHeader}`) };
      if (inject && (twice || appends.length)) {
        // wasm-shim v0.12.0 appends instead of replacing (§9.8): the provider reads the first header, the MaaS token.
        const fix = specFix('maasGateway', 'run a wasm-shim that replaces injected headers (v0.11.x or v0.12.1 and later)', diff(`WasmPlugin kuadrant-${ctx.target.cfg.maas.gatewayName} spec.url (Kuadrant's wasm-shim)`, [['…/wasm-shim:v0.12.0 (appends injected headers)', '…/wasm-shim:v0.12.1 or later (replaces them)']]), (s) => {
          if (s.maasGateway) s.maasGateway.injectMode = 'replace';
        });
        if (ctx.target.apiServer) fix.patch += `\nkubectl -n ${ctx.target.cfg.maas.gatewayNamespace} get wasmplugin kuadrant-${ctx.target.cfg.maas.gatewayName} -o jsonpath='{.spec.url}'\n# upgrade Red Hat Connectivity Link / Kuadrant to a release whose wasm-shim is v0.12.1 or later; the operator owns the WasmPlugin`;
        return {
          provider: p.name,
          ok: false,
          hop: 'maas-gateway',
          evidence: [
            ...(twice ? [`probe: the provider received ${wantHeader} twice (${received.split(',').join(', ')}): the MaaS token and the key; it reads the first`] : []),
            ...appends.map((f) => f.detail),
            ...evidence,
          ],
          fix,
        };
      }
      if (!inject || status === 'missing') {
        const fix = fixFor('inject the provider key');
        for (const f of pruned) if (f.fix) fix.patch += `\n${f.fix.patch}`;
        return { provider: p.name, ok: false, hop: 'maas-gateway', field, evidence: ['no key reached the provider (policy injects none, or its fields were pruned)', ...evidence], fix };
      }
      if (computed && status !== 'invalid') {
        if (status === 'ok') return { provider: p.name, ok: true, evidence: [`${wantHeader} fingerprint ${seenFp} accepted (computed by the policy's CEL expression)`] };
        return { provider: p.name, ok: 'skip', evidence: [`${NO_LIVE}: the key is computed at request time by ${inject.expression}, so only a probe can tell whether it is right`] };
      }
      if (status === 'invalid' || (status === undefined && !computed && gotFp !== wantFp)) return { provider: p.name, ok: false, hop: 'maas-gateway', field: `${field}.${inject.header}.plain.expression`, evidence: [`wrong key: fingerprint ${seenFp ?? gotFp} is not the provider's ${wantFp}`, ...evidence], fix: fixFor('inject the right key') };
      if (status !== 'ok') return { provider: p.name, ok: 'skip', evidence: [ex ? 'the probe did not reach the provider (see rewrites)' : `${NO_LIVE}: the policy injects the right key under the right header, no probe confirmed it`] };
      return { provider: p.name, ok: true, evidence: [`${wantHeader} fingerprint ${seenFp} accepted`] };
    },
  }),
];
