// Seeds: CRDs read from the shared CRD directory, and the "OpenShift with MaaS" cluster the demo expects.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeApi } from './server.js';
import { crdsDir, CRDS_ENV, MissingPrerequisiteError } from '../helpers/prereq.js';
import type { KObj } from './util.js';
import { MAAS_API_IMAGES } from './maas-api.js';
export { MAAS_API_IMAGES };
import { subscriptionPlatformObjects } from './seed-subscription.js';

/**
 * Directory of upstream CRD YAMLs: MAAS_EGRESS_DEMO_CRDS_DIR, else ../shared/crds beside the repository.
 * Throws with how to get them when neither exists.
 */
export { crdsDir, MissingPrerequisiteError } from '../helpers/prereq.js';

/** Named groups of CRD files, or explicit CRD names / kinds / file names. */
export type CrdSelection = 'gateway-api' | 'kuadrant' | 'kserve' | 'wg-backends' | 'maas' | 'all' | string[];

const SETS: Record<Exclude<CrdSelection, string[]>, string[]> = {
  'gateway-api': ['gatewayclasses.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io'],
  kuadrant: ['authpolicies.kuadrant.io', 'ratelimitpolicies.kuadrant.io', 'tokenratelimitpolicies.kuadrant.io'],
  kserve: ['llminferenceservices.serving.kserve.io'],
  'wg-backends': ['xbackenddestinations.ainetworking.prototype.x-k8s.io', 'backends.ainetworking.prototype.x-k8s.io'],
  maas: [
    'maassubscriptions.maas.opendatahub.io',
    'maasauthpolicies.maas.opendatahub.io',
    'maasmodelrefs.maas.opendatahub.io',
    'externalmodels.maas.opendatahub.io',
    'externalmodels.inference.opendatahub.io',
    'externalproviders.inference.opendatahub.io',
  ],
  all: [],
};

const parsed = new Map<string, KObj[]>();

function readCrdFile(file: string): KObj[] {
  const hit = parsed.get(file);
  if (hit) return hit;
  // YAML parsing of the big CRDs takes seconds; keep a JSON copy per file version in the OS temp dir
  const st = statSync(file);
  const key = createHash('sha256').update(`${file}|${st.size}|${st.mtimeMs}`).digest('hex').slice(0, 24);
  const cacheDir = join(tmpdir(), 'maas-egress-demo-kube-api-crds');
  const cacheFile = join(cacheDir, `${key}.json`);
  let docs: KObj[] | undefined;
  try {
    docs = JSON.parse(readFileSync(cacheFile, 'utf8')) as KObj[];
  } catch {
    docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJSON() as KObj | null)
      .filter((d): d is KObj => !!d && d.kind === 'CustomResourceDefinition');
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify(docs));
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    } catch {
      // the cache is an optimisation only
    }
  }
  parsed.set(file, docs);
  return docs;
}

/** CRDs from the shared directory. File names follow `<group>_<plural>.yaml`, so only matching files are parsed. */
export function loadCrds(selection: CrdSelection, dir = crdsDir()): KObj[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  const wanted = Array.isArray(selection) ? selection : SETS[selection];
  const present = new Set(files.map((f) => { const [group, plural] = f.replace(/\.ya?ml$/, '').split('_'); return `${plural}.${group}`; }));
  const absent = (Array.isArray(selection) ? [] : wanted).filter((w) => !present.has(w));
  if (absent.length) {
    throw new MissingPrerequisiteError(`${dir} lacks the CRD${absent.length > 1 ? 's' : ''} ${absent.join(', ')}. To fix: copy the upstream file(s) <group>_<plural>.yaml there, or set ${CRDS_ENV} to a directory that has them`);
  }
  const pick = selection === 'all' ? files : files.filter((f) => {
    const [group, plural] = f.replace(/\.ya?ml$/, '').split('_');
    return wanted.some((w) => w === f || w === `${plural}.${group}`);
  });
  const out: KObj[] = [];
  for (const f of pick) out.push(...readCrdFile(join(dir, f)));
  if (Array.isArray(selection)) {
    // kinds (e.g. "AuthPolicy") need every file parsed; only done when asked for by kind
    const byKind = selection.filter((s) => !out.some((c) => c.metadata.name === s) && !files.includes(s));
    if (byKind.length) {
      for (const f of files) {
        for (const c of readCrdFile(join(dir, f))) {
          const kind = (c['spec'] as { names?: { kind?: string } }).names?.kind;
          if (kind && byKind.includes(kind) && !out.includes(c)) out.push(c);
        }
      }
    }
  }
  return out;
}

export function installCrds(api: KubeApi, crds: KObj[]): KObj[] {
  return api.seed(crds.map((c) => ({ ...c, metadata: { ...c.metadata, creationTimestamp: undefined } })));
}

/** A small hand-written CRD (no upstream file needed): preserve-unknown spec and status, optional typed spec fields. */
export function simpleCrd(group: string, kind: string, plural: string, scope: 'Namespaced' | 'Cluster', version = 'v1'): KObj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

export interface MaasPresetOptions {
  /** Apps domain of the cluster (ingresses.config.openshift.io/cluster spec.domain). Default apps.demo.example.com. */
  domain?: string;
  /** Namespace of maas-api: `opendatahub` (ODH, default) or `redhat-ods-applications` (RHOAI). */
  maasNamespace?: 'opendatahub' | 'redhat-ods-applications' | string;
  /** Install MaaS itself (maas-api, its route, policies, tier ConfigMap, the MaaS Gateway). Default true. */
  maas?: boolean;
  /** Install Kuadrant (CRDs, kuadrant-system, gateway policies). Default true. */
  kuadrant?: boolean;
  /** Install the KServe LLMInferenceService CRD. Default true. */
  kserve?: boolean;
  /**
   * `tier` (default): the tier era the seed demo needs (ConfigMap tier-to-group-mapping, maas-api image tag from
   * Jan 2026, route-level maas-api-auth-policy, gateway-auth-policy, gateway-token-rate-limits).
   * `subscription` (alias `api-key`): current MaaS (contracts-subscription-era): the upstream MaaS CRDs, maas-api
   * on a floating `odh-stable` tag, maas-controller, payload-processing, the gateway's maas-gateway-auth and
   * gateway-default-deny, the models-as-a-service namespace; no tier ConfigMap.
   */
  generation?: 'tier' | 'subscription' | 'api-key';
  /** Also create the on-prem model llm/facebook-opt-125m-simulated (contracts §7). Default false. */
  onpremModel?: boolean;
}

/** The rehearsal cluster's presets: `npm run kube-api -- --preset <name>`. */
export type PresetName = 'tier' | 'subscription' | 'bare';

export const PRESETS: Record<PresetName, MaasPresetOptions> = {
  tier: { generation: 'tier' },
  subscription: { generation: 'subscription' },
  bare: { maas: false, kuadrant: false, kserve: false },
};

export function isPresetName(v: string): v is PresetName {
  return Object.hasOwn(PRESETS, v);
}

export function presetOptions(p: PresetName | MaasPresetOptions): MaasPresetOptions {
  return typeof p === 'string' ? { ...PRESETS[p] } : p;
}

const TIERS_YAML = `- name: free
  description: Free tier for basic users
  level: 0
  groups:
  - tier-free-users
  - system:authenticated
- name: premium
  description: Premium tier
  level: 1
  groups:
  - tier-premium-users
  - premium-group
- name: enterprise
  description: Enterprise tier
  level: 2
  groups:
  - tier-enterprise-users
  - enterprise-group
  - admin-group
`;

/** The OpenShift + MaaS cluster the demo is installed into (contracts §1.2). */
export function maasPresetObjects(o: MaasPresetOptions = {}): { crds: KObj[]; objects: KObj[] } {
  const domain = o.domain ?? 'apps.demo.example.com';
  const maasNs = o.maasNamespace ?? 'opendatahub';
  const generation = o.generation === 'api-key' ? 'subscription' : (o.generation ?? 'tier');
  const crds: KObj[] = [simpleCrd('config.openshift.io', 'Ingress', 'ingresses', 'Cluster'), ...loadCrds('gateway-api')];
  if (o.kuadrant !== false) crds.push(...loadCrds('kuadrant'));
  if (o.kserve !== false) crds.push(...loadCrds('kserve'));
  if (o.maas !== false && generation === 'subscription') crds.push(...loadCrds('maas'));
  const ns = (name: string): KObj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const objects: KObj[] = [
    { apiVersion: 'config.openshift.io/v1', kind: 'Ingress', metadata: { name: 'cluster' }, spec: { domain } },
    ns('openshift-ingress'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'openshift-default' },
      spec: { controllerName: 'openshift.io/gateway-controller/v1' },
    },
  ];
  if (o.kuadrant !== false) objects.push(ns('kuadrant-system'));
  if (o.maas !== false) {
    const labels = { 'app.kubernetes.io/name': 'maas-api', 'app.kubernetes.io/component': 'api', 'app.kubernetes.io/part-of': 'models-as-a-service' };
    objects.push(
      ns(maasNs),
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: {
          name: 'maas-default-gateway',
          namespace: 'openshift-ingress',
          annotations: { 'opendatahub.io/managed': 'false', 'security.opendatahub.io/authorino-tls-bootstrap': 'true' },
        },
        spec: {
          gatewayClassName: 'openshift-default',
          listeners: [
            { name: 'http', port: 80, protocol: 'HTTP', hostname: `maas.${domain}`, allowedRoutes: { namespaces: { from: 'All' } } },
            {
              name: 'https',
              port: 443,
              protocol: 'HTTPS',
              hostname: `maas.${domain}`,
              allowedRoutes: { namespaces: { from: 'All' } },
              tls: { mode: 'Terminate', certificateRefs: [{ group: '', kind: 'Secret', name: 'maas-gateway-tls' }] },
            },
          ],
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'maas-api', namespace: maasNs, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'maas-api' } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'maas-api',
              containers: [
                {
                  name: 'maas-api',
                  image: generation === 'tier' ? MAAS_API_IMAGES.tier : MAAS_API_IMAGES.subscription,
                  ports: [{ name: 'https', containerPort: 8443, protocol: 'TCP' }],
                  env: [
                    { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'GATEWAY_NAME', value: 'maas-default-gateway' },
                    { name: 'GATEWAY_NAMESPACE', value: 'openshift-ingress' },
                    ...(generation === 'subscription'
                      ? [
                          { name: 'DB_CONNECTION_URL', valueFrom: { secretKeyRef: { name: 'maas-db-config', key: 'DB_CONNECTION_URL' } } },
                          { name: 'API_KEY_MAX_EXPIRATION_DAYS', value: '90' },
                        ]
                      : []),
                  ],
                },
              ],
            },
          },
        },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'maas-api', namespace: maasNs, labels } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'maas-api', namespace: maasNs, labels },
        spec: { selector: { 'app.kubernetes.io/name': 'maas-api' }, ports: [{ name: 'https', port: 8443, targetPort: 8443, protocol: 'TCP' }] },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'maas-api-route', namespace: maasNs, labels },
        spec: {
          parentRefs: [{ name: 'maas-default-gateway', namespace: 'openshift-ingress' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/v1/models' } }], backendRefs: [{ name: 'maas-api', port: 8443 }] },
            {
              matches: [{ path: { type: 'PathPrefix', value: '/maas-api' } }],
              filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
              backendRefs: [{ name: 'maas-api', port: 8443 }],
            },
          ],
        },
      },
    );
    if (generation === 'subscription') {
      objects.push(...subscriptionPlatformObjects({ maasNamespace: maasNs, kuadrant: o.kuadrant !== false }));
    } else {
      objects.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'tier-to-group-mapping', namespace: maasNs, labels },
        data: { tiers: TIERS_YAML },
      });
    }
    if (o.kuadrant !== false && generation === 'tier') {
      objects.push(
        {
          apiVersion: 'kuadrant.io/v1',
          kind: 'AuthPolicy',
          metadata: { name: 'maas-api-auth-policy', namespace: maasNs },
          spec: {
            targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'maas-api-route' },
            rules: {
              authentication: {
                'openshift-identities': {
                  kubernetesTokenReview: { audiences: ['https://kubernetes.default.svc', 'maas-default-gateway-sa'] },
                },
              },
              response: {
                success: {
                  headers: {
                    'X-MaaS-Username': { plain: { selector: 'auth.identity.user.username' } },
                    'X-MaaS-Group': { plain: { expression: 'auth.identity.user.groups.toString()' } },
                  },
                },
              },
            },
          },
        },
        {
          apiVersion: 'kuadrant.io/v1',
          kind: 'AuthPolicy',
          metadata: { name: 'gateway-auth-policy', namespace: 'openshift-ingress' },
          spec: {
            targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'maas-default-gateway' },
            rules: {
              authentication: {
                'service-accounts': {
                  kubernetesTokenReview: { audiences: ['maas-default-gateway-sa'] },
                  cache: { key: { selector: 'context.request.http.headers.authorization.@case:lower' }, ttl: 600 },
                },
              },
            },
          },
        },
        {
          apiVersion: 'kuadrant.io/v1alpha1',
          kind: 'TokenRateLimitPolicy',
          metadata: { name: 'gateway-token-rate-limits', namespace: 'openshift-ingress' },
          spec: {
            targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'maas-default-gateway' },
            limits: {
              'free-user-tokens': {
                rates: [{ limit: 100, window: '1m' }],
                when: [{ predicate: 'auth.identity.tier == "free" && !request.path.endsWith("/v1/models")' }],
                counters: [{ expression: 'auth.identity.userid' }],
              },
              'premium-user-tokens': {
                rates: [{ limit: 50000, window: '1m' }],
                when: [{ predicate: 'auth.identity.tier == "premium" && !request.path.endsWith("/v1/models")' }],
                counters: [{ expression: 'auth.identity.userid' }],
              },
            },
          },
        },
      );
    }
  }
  if (o.onpremModel && o.kserve !== false) {
    objects.push(ns('llm'), {
      apiVersion: 'serving.kserve.io/v1alpha1',
      kind: 'LLMInferenceService',
      metadata: { name: 'facebook-opt-125m-simulated', namespace: 'llm', annotations: { 'alpha.maas.opendatahub.io/tiers': '[]' } },
      spec: {
        model: { uri: 'hf://sshleifer/tiny-gpt2', name: 'facebook/opt-125m' },
        replicas: 1,
        router: { route: {}, gateway: { refs: [{ name: 'maas-default-gateway', namespace: 'openshift-ingress' }] } },
        template: {
          containers: [
            {
              name: 'main',
              image: 'ghcr.io/llm-d/llm-d-inference-sim:v0.6.1',
              command: ['/app/llm-d-inference-sim'],
              args: ['--port', '8000', '--model', 'facebook/opt-125m', '--mode', 'random'],
              ports: [{ name: 'https', containerPort: 8000, protocol: 'TCP' }],
            },
          ],
        },
      },
    });
  }
  return { crds, objects };
}

export function seedOpenShiftMaas(api: KubeApi, o: MaasPresetOptions = {}): void {
  const { crds, objects } = maasPresetObjects(o);
  installCrds(api, crds);
  api.seed(objects);
}
