/**
 * Random single-field mutations of the subscription era's objects, for `doctor --self-test --maas
 * subscription --mutations N`: a Secret's label, data key or value; an ExternalModel's endpoint,
 * provider, target model, credential reference or TLS annotations; a MaaSModelRef's reference; a
 * MaaSAuthPolicy's subjects or models; a MaaSSubscription's owners, models, limits or windows; the
 * payload-processing plugin chain. Each says at which hop its symptom belongs. Seeded, as the tier
 * era's are.
 */
import type { DemoConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { IPP_MANAGED_LABEL, PLUGINS_CONFIGMAP, PLUGINS_MAIN_KEY, PORT_ANNOTATION, TLS_ANNOTATION } from '../../model/subscription.js';
import { parse, stringify } from 'yaml';
import { drawInTurn, getAt, type Mutation } from '../doctor/mutations.js';

interface Candidate {
  object: K8sObject;
  field: string;
  family: string;
  hops: HopId[];
  /** Each value is a function of the object copy: it changes the field and returns what it set (undefined: removed). */
  edits: ((o: K8sObject) => unknown)[];
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const typo = (s: string) => (s.length > 3 ? `${s.slice(0, -2)}${s.at(-1)}${s.at(-2)}` : `${s}x`);

function chainEdit(drop?: string, response?: unknown[]): (o: K8sObject) => unknown {
  return (o) => {
    const data = rec(o.data);
    const cfg = rec(parse(String(data[PLUGINS_MAIN_KEY] ?? '')));
    const chain = rec(rec((cfg.profiles as unknown[] | undefined)?.[0]).plugins);
    if (drop) chain.request = ((chain.request as { pluginRef: string }[] | undefined) ?? []).filter((p) => p.pluginRef !== drop);
    if (response) chain.response = response;
    o.data = { ...data, [PLUGINS_MAIN_KEY]: stringify(cfg) };
    return drop ? `request chain without ${drop}` : `response: ${JSON.stringify(response)}`;
  };
}

/** Every field the self-test may change in the era's objects. */
export function eraCandidates(objects: readonly K8sObject[]): Candidate[] {
  const out: Candidate[] = [];
  const add = (object: K8sObject, field: string, family: string, hops: HopId[], edits: Candidate['edits']) => out.push({ object, field, family, hops, edits });
  for (const o of objects) {
    const spec = rec(o.spec);
    if (o.kind === 'Secret' && o.metadata.labels?.[IPP_MANAGED_LABEL]) {
      add(o, `metadata.labels["${IPP_MANAGED_LABEL}"]`, 'secret label', ['payload-processing'], [(x) => void delete x.metadata.labels![IPP_MANAGED_LABEL]]);
      add(o, 'stringData', 'secret data', ['payload-processing'], [
        (x) => ((x.stringData = { apikey: rec(x.stringData)['api-key'] }), 'key under "apikey"'),
        (x) => ((x.stringData = { 'api-key': `${String(rec(x.stringData)['api-key'])}-rotated` }), 'another key'),
      ]);
    } else if (o.kind === 'ExternalModel') {
      add(o, 'spec.endpoint', 'endpoint', ['maas-gateway'], [(x) => (rec(x.spec).endpoint = typo(String(spec.endpoint)))]);
      add(o, 'spec.targetModel', 'target model', ['payload-processing', 'maas-api'], [(x) => (rec(x.spec).targetModel = `${String(spec.targetModel)}-typo`)]);
      add(o, 'spec.provider', 'provider', ['payload-processing'], [(x) => (rec(x.spec).provider = spec.provider === 'anthropic' ? 'openai' : 'anthropic')]);
      add(o, 'spec.credentialRef.name', 'credential reference', ['payload-processing'], [(x) => (rec(rec(x.spec).credentialRef).name = typo(String(rec(spec.credentialRef).name)))]);
      const tls = o.metadata.annotations?.[TLS_ANNOTATION];
      add(o, `metadata.annotations["${TLS_ANNOTATION}"]`, 'tls annotation', ['maas-gateway'], [
        (x) => {
          if (tls === 'false') {
            const { [TLS_ANNOTATION]: _t, ...rest } = x.metadata.annotations ?? {};
            x.metadata.annotations = rest;
            return undefined;
          }
          x.metadata.annotations = { ...(x.metadata.annotations ?? {}), [TLS_ANNOTATION]: 'false' };
          return 'false';
        },
      ]);
      add(o, `metadata.annotations["${PORT_ANNOTATION}"]`, 'port annotation', ['maas-gateway'], [
        (x) => {
          const port = String(Number(x.metadata.annotations?.[PORT_ANNOTATION] ?? '443') + 1);
          x.metadata.annotations = { ...(x.metadata.annotations ?? {}), [PORT_ANNOTATION]: port };
          return port;
        },
      ]);
    } else if (o.kind === 'MaaSModelRef') {
      add(o, 'spec.modelRef.name', 'model reference', ['maas-api'], [(x) => (rec(rec(x.spec).modelRef).name = typo(String(rec(spec.modelRef).name)))]);
    } else if (o.kind === 'MaaSAuthPolicy') {
      const refs = (spec.modelRefs as unknown[] | undefined) ?? [];
      add(o, 'spec.modelRefs', 'policy models', ['maas-api'], refs.map((_, i) => (x: K8sObject) => {
        const r = rec(x.spec).modelRefs as Obj[];
        const [gone] = r.splice(i, 1);
        return `without ${String(gone?.name)}`;
      }));
      add(o, 'spec.subjects.groups[0].name', 'policy subjects', ['maas-api'], [(x) => (rec(((rec(rec(x.spec).subjects).groups as unknown[]) ?? [])[0]).name = 'some-other-group')]);
    } else if (o.kind === 'MaaSSubscription') {
      const refs = (spec.modelRefs as unknown[] | undefined) ?? [];
      add(o, 'spec.owner.groups[0].name', 'subscription owner', ['maas-api'], [(x) => (rec(((rec(rec(x.spec).owner).groups as unknown[]) ?? [])[0]).name = 'some-other-group')]);
      add(o, 'spec.modelRefs', 'subscription models', ['maas-api'], refs.map((_, i) => (x: K8sObject) => {
        const r = rec(x.spec).modelRefs as Obj[];
        const [gone] = r.splice(i, 1);
        return `without ${String(gone?.name)}`;
      }));
      add(o, 'spec.modelRefs[0].tokenRateLimits[0]', 'limit', ['maas-gateway'], [
        (x) => ((rec(((rec(x.spec).modelRefs as Obj[])[0]!.tokenRateLimits as Obj[])[0]).limit = 1), 'limit 1'),
        (x) => ((rec(((rec(x.spec).modelRefs as Obj[])[0]!.tokenRateLimits as Obj[])[0]).window = '1h'), 'window 1h'),
      ]);
    } else if (o.kind === 'ConfigMap' && o.metadata.name === PLUGINS_CONFIGMAP) {
      add(o, `data["${PLUGINS_MAIN_KEY}"]`, 'plugin chain', ['payload-processing'], [
        chainEdit('maas-headers-guard'),
        chainEdit('stream-usage-enforcer'),
        chainEdit('apikey-injection'),
        chainEdit(undefined, []),
      ]);
    }
  }
  return out;
}

/** `n` mutations drawn with `seed`, families taken in turn so each is covered. */
export function drawEraMutations(objects: readonly K8sObject[], _cfg: DemoConfig, n: number, seed: number): Mutation[] {
  return drawInTurn(objects, eraCandidates(objects).filter((c) => c.edits.length), n, seed, (c, target, rand) => {
    const edit = c.edits[Math.floor(rand() * c.edits.length)]!;
    const before = getAt(target, c.field.replace(/\["([^"]+)"\]/g, '.$1'));
    return { before, after: edit(target) };
  });
}
