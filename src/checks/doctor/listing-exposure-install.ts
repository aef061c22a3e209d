/**
 * Two small categories: install (the target and its hops are up) and model listing (what /v1/models
 * lists is what is routable, and the reverse). The exposure category lives in exposure.ts.
 */
import { request } from 'undici';
import { NO_LIVE, bridgeOf, diff, factsFor, installFactsOf, mergeObjects, specFix } from './findings.js';
import { defineCheck, type CheckDef, type Finding, type Fix } from './types.js';
import type { TopologySpec } from '../../model/topology.js';

/** A fix with one more line of patch (a command that goes with the object change). */
const withPatch = (line: string | undefined, fix: Fix): Fix => (line ? { ...fix, patch: `${fix.patch}\n${line}` } : fix);

const withObjects = (fixes: Parameters<typeof mergeObjects>[0]) => {
  const objects = mergeObjects(fixes);
  return objects ? { objects } : {};
};

export const install: CheckDef[] = [
  defineCheck({
    id: 'install-target-reachable',
    category: 'install',
    title: 'the MaaS gateway answers over verified TLS',
    severity: 'error',
    hint: 'README.md#doctor-install',
    run: async (ctx): Promise<Finding> => {
      const ep = await ctx.target.endpoint();
      try {
        const r = await request(`${ep.baseUrl}/`, { dispatcher: ep.dispatcher, headersTimeout: 5_000 });
        await r.body.dump();
        return { outcome: 'pass', message: `${ep.baseUrl} answered ${r.statusCode} (${String(r.headers.server ?? 'no server header')})${ep.insecure ? ' — TLS NOT verified' : ''}` };
      } catch (err) {
        const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? 'error';
        return { outcome: 'fail', hop: 'maas-gateway', message: `${ep.baseUrl} did not answer (${code})`, fix: { summary: !ctx.target.apiServer ? 'start the topology' : 'check the cluster domain and the CA', patch: !ctx.target.apiServer ? 'demo up' : 'demo doctor --target cluster --ca-file <ingress CA bundle>' } };
      }
    },
  }),
  defineCheck({
    id: 'install-components',
    category: 'install',
    title: 'every component of the chain is running',
    severity: 'error',
    hint: 'README.md#doctor-install',
    run: async (ctx): Promise<Finding> => {
      // Facts another check reports (policy status, controller image, …) are left to it.
      const facts = (await installFactsOf(ctx)).filter((f) => !f.check);
      if (!facts.length) return { outcome: 'skip', message: 'no install facts on this target' };
      const bad = facts.filter((f) => !f.ok);
      if (bad.length) {
        return { outcome: 'fail', message: bad.map((f) => `${f.name}: ${f.detail}`).join('; '), ...(bad[0]!.hop ? { hop: bad[0]!.hop } : {}), evidence: facts.map((f) => `${f.ok ? 'ok' : 'NOT OK'} ${f.name}: ${f.detail}`), fix: { summary: bad[0]!.fix?.summary ?? bad[0]!.hint ?? 'restart the stopped components', patch: bad.map((f) => f.fix?.patch ?? f.hint ?? '').filter(Boolean).join('\n') || 'demo up', ...withObjects(bad.map((f) => f.fix ?? {})) } };
      }
      return { outcome: 'pass', message: facts.map((f) => f.name).join(', '), evidence: facts.map((f) => `${f.name}: ${f.detail}`) };
    },
  }),
  defineCheck({
    id: 'install-controller-rewrite-fix',
    category: 'install',
    title: 'the wg-ai-gateway controller is a build with the prefix-rewrite fix (PR #38)',
    severity: 'error',
    hint: 'README.md#doctor-install',
    run: async (ctx): Promise<Finding> => {
      const [f] = await factsFor(ctx, 'install-controller-rewrite-fix');
      if (!f) return { outcome: 'skip', message: 'no controller image on this target (rewrite-egress-strips-prefix probes the behaviour)' };
      if (!f.ok) return { outcome: 'fail', hop: f.hop ?? 'egress-gateway', message: f.detail, evidence: [f.detail], ...(f.fix ? { fix: f.fix } : {}) };
      // An image we cannot vouch for: the live probe of rewrite-egress-strips-prefix decides.
      if (ctx.spec.egress?.controllerFixed !== true) return { outcome: 'skip', message: f.detail };
      return { outcome: 'pass', message: f.detail };
    },
  }),
  defineCheck({
    id: 'install-no-foreign-reconcile',
    category: 'install',
    title: 'the wg-ai-gateway controller does not reconcile the MaaS gateway or its routes',
    severity: 'error',
    hint: 'README.md#doctor-install',
    run: async (ctx): Promise<Finding> => {
      const [f] = await factsFor(ctx, 'install-no-foreign-reconcile');
      if (!f) return { outcome: 'skip', message: 'no wg-ai-gateway controller on this target' };
      if (!f.ok) return { outcome: 'fail', hop: f.hop ?? 'maas-gateway', message: f.detail, evidence: f.detail.split('; '), ...(f.fix ? { fix: f.fix } : {}) };
      return { outcome: 'pass', message: f.detail };
    },
  }),
];

export const modelListing: CheckDef[] = [
  defineCheck({
    id: 'models-listed-routable',
    category: 'model-listing',
    title: 'every routable model is listed by /v1/models, and every listed model is routable',
    severity: 'error',
    hint: 'README.md#doctor-model-listing',
    run: async (ctx): Promise<Finding> => {
      const providers = ctx.target.providers();
      const routable = providers.filter((p) => bridgeOf(ctx.spec, p.name));
      const registry = ctx.spec.maasApi?.registry;
      const cfg = ctx.target.cfg;
      const problem = ctx.spec.maasApi?.registryProblem;
      const elsewhere = ctx.spec.maasApi?.registryElsewhere;
      const entry = (p: (typeof routable)[number]) => `- {id: ${p.model}, provider: ${p.ownedBy}, backend: ${p.backend}}`;
      const addTo = (unlisted: typeof routable) => (s: Partial<TopologySpec>) => {
        if (!s.maasApi) return;
        s.maasApi.registry = [...(s.maasApi.registry ?? []), ...unlisted.map((p) => ({ id: p.model, provider: p.ownedBy, backend: p.backend }))];
      };
      const registryRef = [{ kind: 'ConfigMap', name: cfg.maas.registryName, namespace: cfg.maas.apiNamespace }];
      // In another namespace the ConfigMap maas-api reads does not exist: the fix creates it there and removes the stray copy.
      const createHere = (unlisted: typeof routable): Fix => {
        const models = routable.map(entry).join('\n');
        return specFix(
          'maasApi',
          `create ConfigMap ${cfg.maas.registryName} in ${cfg.maas.apiNamespace}, where maas-api reads it, and delete the copy in ${elsewhere}`,
          [
            `# create ConfigMap ${cfg.maas.apiNamespace}/${cfg.maas.registryName} (it does not exist)`,
            `+ data.models:`,
            ...routable.map((p) => `+   ${entry(p)}`),
            `kubectl -n ${cfg.maas.apiNamespace} create configmap ${cfg.maas.registryName} --from-literal=models='${models}'`,
            `kubectl -n ${cfg.maas.apiNamespace} label configmap ${cfg.maas.registryName} app=maas-api`,
            `kubectl -n ${elsewhere} delete configmap ${cfg.maas.registryName}   # the copy maas-api never reads`,
          ].join('\n'),
          addTo(unlisted),
          registryRef,
        );
      };
      const notListed = (unlisted: typeof routable, evidence: string[]): Finding => ({
        outcome: 'fail',
        hop: 'maas-api',
        message: `routable but not listed: ${unlisted.map((p) => p.model).join(', ')}${problem ? ` — ${problem}` : ''}`,
        evidence: [...evidence, registry === null ? `ConfigMap ${cfg.maas.registryName} absent from ${cfg.maas.apiNamespace}` : `registry lists: ${(registry ?? []).map((m) => m.id).join(', ') || '(nothing)'}`, ...(problem ? [problem] : [])],
        fix: elsewhere && registry === null
          ? createHere(unlisted)
          : withPatch(elsewhere ? `kubectl -n ${elsewhere} delete configmap ${cfg.maas.registryName}   # the copy maas-api never reads` : undefined, specFix('maasApi', `add ${unlisted.map((p) => p.model).join(', ')} to ConfigMap ${cfg.maas.apiNamespace}/${cfg.maas.registryName}`, diff(`ConfigMap ${cfg.maas.apiNamespace}/${cfg.maas.registryName} data.models`, unlisted.map((p) => [null, entry(p)] as [null, string])), addTo(unlisted), registryRef)),
      });
      // A routable model the registry lacks is never listed: a configuration fault, no probe needed.
      const missing = registry !== undefined ? routable.filter((p) => !(registry ?? []).some((m) => m.id === p.model)) : [];
      if (missing.length) return notListed(missing, [`routable external models: ${routable.map((p) => p.model).join(', ')}`]);
      if (!ctx.token) return { outcome: 'skip', message: `${NO_LIVE}: no MaaS token to list models with` };
      const ep = await ctx.target.endpoint();
      const r = await request(`${ep.baseUrl}/v1/models`, { dispatcher: ep.dispatcher, headers: { authorization: `Bearer ${ctx.token.reveal()}` } });
      const text = await r.body.text();
      if (r.statusCode !== 200) return { outcome: 'fail', hop: 'maas-api', message: `/v1/models answered ${r.statusCode}` };
      const ids = ((JSON.parse(text) as { data?: { id: string }[] }).data ?? []).map((m) => m.id);
      const unlisted = routable.filter((p) => !ids.includes(p.model));
      const unroutable = (registry ?? []).filter((m) => !providers.some((p) => p.model === m.id && bridgeOf(ctx.spec, p.name)));
      const evidence = [`listed: ${ids.join(', ') || '(none)'}`, `routable external models: ${routable.map((p) => p.model).join(', ')}`];
      if (unlisted.length) return notListed(unlisted, evidence);
      if (unroutable.length) return { outcome: 'fail', hop: 'maas-gateway', message: `listed but not routable: ${unroutable.map((m) => m.id).join(', ')}`, evidence };
      return { outcome: 'pass', message: `${ids.length} models, all routable`, evidence };
    },
  }),
];
