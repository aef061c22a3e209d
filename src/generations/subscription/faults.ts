/**
 * Named faults of the subscription era: each is one edit of the era's objects, a pitfall upstream's
 * troubleshooting and external-model documents warn about (a Secret payload processing cannot see,
 * a TLS setting that does not match the endpoint, a MaaSModelRef that never gets Ready, a subscription
 * or policy without the model, response translation or the stream-usage enforcer left off, identity
 * headers forwarded, two models claiming one name). Planted over a healthy install, as a person would
 * break it; doctor must name each at the right hop.
 */
import type { DemoConfig } from '../../core/config.js';
import type { HopId } from '../../core/events.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { IPP_MANAGED_LABEL, PLUGINS_CONFIGMAP, PLUGINS_MAIN_KEY, PORT_ANNOTATION, PROVIDER_SECRET_KEY, TLS_ANNOTATION } from '../../model/subscription.js';
import { parse, stringify } from 'yaml';
import { k8sName } from './providers.js';
import { DEMO_SUBSCRIPTION } from './plan.js';

export interface EraFault {
  name: string;
  description: string;
  /** The hop whose behaviour the mistake changes. */
  hop: HopId | 'provider';
  /** The doctor check expected to name it. */
  check: string;
  /** The provider it targets when none is given (`name:provider` picks another). */
  provider: string;
  /** Changes the objects (copies) in place; returns false when there was nothing to change. */
  apply(objects: K8sObject[], ctx: { provider: string; cfg: DemoConfig }): boolean;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** The ExternalModel (and MaaSModelRef) name of a configured provider. */
export function modelOf(cfg: DemoConfig, provider: string): string {
  const p = cfg.providers.find((x) => x.name === provider);
  return k8sName(p?.model ?? provider);
}

const byKind = (objects: K8sObject[], kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

/** Takes a model out of the object's `spec.modelRefs`; false when there is no object or it did not list the model. */
function withoutModelRef(o: K8sObject | undefined, model: string): boolean {
  const spec = rec(o?.spec);
  const refs = (spec.modelRefs as { name: string }[] | undefined) ?? [];
  const kept = refs.filter((r) => r.name !== model);
  if (!o || kept.length === refs.length) return false;
  spec.modelRefs = kept;
  return true;
}

function editPlugins(objects: K8sObject[], edit: (cfg: Obj) => void): boolean {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === PLUGINS_CONFIGMAP);
  const text = rec(cm?.data)[PLUGINS_MAIN_KEY];
  if (!cm || typeof text !== 'string') return false;
  const cfg = rec(parse(text));
  edit(cfg);
  cm.data = { ...rec(cm.data), [PLUGINS_MAIN_KEY]: stringify(cfg) };
  return true;
}

const dropRequestPlugin = (plugin: string) => (cfg: Obj) => {
  const profile = rec((cfg.profiles as unknown[])[0]);
  const chain = rec(profile.plugins);
  chain.request = (chain.request as { pluginRef: string }[]).filter((p) => p.pluginRef !== plugin);
};

export const ERA_FAULTS: EraFault[] = [
  {
    name: 'secret-unlabelled',
    description: `the provider's Secret lacks the label ${IPP_MANAGED_LABEL}=true: payload processing never sees it`,
    hop: 'payload-processing',
    check: 'sub-secrets-readable',
    provider: 'openai',
    apply: (objects, { provider, cfg }) => {
      const s = byKind(objects, 'Secret', `${modelOf(cfg, provider)}-api-key`);
      if (!s?.metadata.labels?.[IPP_MANAGED_LABEL]) return false;
      delete s.metadata.labels[IPP_MANAGED_LABEL];
      return true;
    },
  },
  {
    name: 'secret-key-renamed',
    description: `the provider's Secret holds the key under "apikey" instead of "${PROVIDER_SECRET_KEY}"`,
    hop: 'payload-processing',
    check: 'sub-secrets-readable',
    provider: 'openai',
    apply: (objects, { provider, cfg }) => {
      const s = byKind(objects, 'Secret', `${modelOf(cfg, provider)}-api-key`);
      const data = rec(s?.stringData);
      if (!s || data[PROVIDER_SECRET_KEY] === undefined) return false;
      s.stringData = { apikey: data[PROVIDER_SECRET_KEY] };
      return true;
    },
  },
  {
    name: 'provider-key-wrong',
    description: "the provider's Secret holds a key the provider does not accept",
    hop: 'payload-processing',
    check: 'sub-provider-accepts-key',
    provider: 'openai',
    apply: (objects, { provider, cfg }) => {
      const s = byKind(objects, 'Secret', `${modelOf(cfg, provider)}-api-key`);
      const wrong = 'sk-not-the-provider-key-planted-by-fault';
      if (!s || rec(s.stringData)[PROVIDER_SECRET_KEY] === wrong) return false;
      s.stringData = { ...rec(s.stringData), [PROVIDER_SECRET_KEY]: wrong };
      return true;
    },
  },
  {
    name: 'tls-off-public',
    description: 'an ExternalModel of a public provider says maas.opendatahub.io/tls: "false": plain HTTP goes to its TLS port',
    hop: 'maas-gateway',
    check: 'sub-tls-matches-endpoint',
    provider: 'openai',
    apply: (objects, { provider, cfg }) => {
      const em = byKind(objects, 'ExternalModel', modelOf(cfg, provider));
      if (!em || em.metadata.annotations?.[TLS_ANNOTATION] === 'false') return false;
      em.metadata.annotations = { ...(em.metadata.annotations ?? {}), [TLS_ANNOTATION]: 'false', [PORT_ANNOTATION]: '443' };
      return true;
    },
  },
  {
    name: 'tls-on-plain',
    description: 'the plain-HTTP vLLM ExternalModel lost maas.opendatahub.io/tls: "false": TLS origination meets a server that speaks plain HTTP',
    hop: 'maas-gateway',
    check: 'sub-tls-matches-endpoint',
    provider: 'vllm',
    apply: (objects, { provider, cfg }) => {
      const em = byKind(objects, 'ExternalModel', modelOf(cfg, provider));
      if (!em || em.metadata.annotations?.[TLS_ANNOTATION] !== 'false') return false;
      const { [TLS_ANNOTATION]: _tls, ...rest } = em.metadata.annotations;
      em.metadata.annotations = rest;
      return true;
    },
  },
  {
    name: 'modelref-broken',
    description: 'a MaaSModelRef names an ExternalModel that does not exist: it stays Pending, unlisted and unroutable',
    hop: 'maas-api',
    check: 'sub-modelrefs-ready',
    provider: 'openai',
    apply: (objects, { provider, cfg }) => {
      const m = byKind(objects, 'MaaSModelRef', modelOf(cfg, provider));
      const ref = rec(rec(m?.spec).modelRef);
      if (!m || typeof ref.name !== 'string') return false;
      ref.name = `${ref.name}-typo`;
      return true;
    },
  },
  {
    name: 'subscription-missing-model',
    description: `the MaaSSubscription ${DEMO_SUBSCRIPTION} no longer lists the model: its keys get 403 for it`,
    hop: 'maas-api',
    check: 'sub-subscription-covers-models',
    provider: 'anthropic',
    apply: (objects, { provider, cfg }) => withoutModelRef(byKind(objects, 'MaaSSubscription', DEMO_SUBSCRIPTION), modelOf(cfg, provider)),
  },
  {
    name: 'authpolicy-missing-model',
    description: 'the MaaSAuthPolicy no longer grants the model: the subscription covers it, access is denied',
    hop: 'maas-api',
    check: 'sub-access-granted',
    provider: 'anthropic',
    apply: (objects, { provider, cfg }) => withoutModelRef(byKind(objects, 'MaaSAuthPolicy'), modelOf(cfg, provider)),
  },
  {
    name: 'response-translation-off',
    description: 'response translation left off (upstream\'s default): Anthropic answers reach OpenAI clients in Messages shape',
    hop: 'payload-processing',
    check: 'sub-anthropic-translated',
    provider: 'anthropic',
    apply: (objects) =>
      editPlugins(objects, (c) => {
        const chain = rec(rec((c.profiles as unknown[])[0]).plugins);
        chain.response = [];
      }),
  },
  {
    name: 'stream-usage-off',
    description: 'payload processing runs without the stream-usage-enforcer: a stream without include_usage is never counted',
    hop: 'payload-processing',
    check: 'sub-streams-counted',
    provider: 'openai',
    apply: (objects) => editPlugins(objects, dropRequestPlugin('stream-usage-enforcer')),
  },
  {
    name: 'headers-guard-off',
    description: 'payload processing runs without maas-headers-guard: the X-MaaS-* identity headers reach the provider',
    hop: 'payload-processing',
    check: 'sub-identity-headers-stripped',
    provider: 'openai',
    apply: (objects) => editPlugins(objects, dropRequestPlugin('maas-headers-guard')),
  },
  {
    name: 'model-name-collision',
    description: "one ExternalModel claims another's model name: the second MaaSModelRef fails ModelIdentityUnique",
    hop: 'maas-api',
    check: 'sub-model-names-unique',
    provider: 'vllm',
    apply: (objects, { provider, cfg }) => {
      const em = byKind(objects, 'ExternalModel', modelOf(cfg, provider));
      const other = objects.find((o) => o.kind === 'ExternalModel' && o !== em);
      const spec = rec(em?.spec);
      if (!em || !other || typeof rec(other.spec).targetModel !== 'string') return false;
      spec.targetModel = rec(other.spec).targetModel;
      return true;
    },
  },
];

export function findEraFault(name: string): EraFault | undefined {
  return ERA_FAULTS.find((f) => f.name === name);
}

/** The objects with the faults planted (`name` or `name:provider`), and which were. */
export function applyEraFaults(objects: readonly K8sObject[], faults: readonly string[], cfg: DemoConfig): { objects: K8sObject[]; planted: EraFault[] } {
  const copy = objects.map((o) => structuredClone(o));
  const planted: EraFault[] = [];
  for (const spec of faults) {
    const [name, provider] = spec.split(':');
    const fault = findEraFault(name ?? '');
    if (!fault) throw new Error(`unknown fault ${spec}`);
    if (fault.apply(copy, { provider: provider ?? fault.provider, cfg })) planted.push(fault);
  }
  return { objects: copy, planted };
}
