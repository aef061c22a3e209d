// The platform objects of the current MaaS generation (contracts-subscription-era.md §2–§6): what a cluster
// installed from 2026 ODH/RHOAI has before anyone registers a model. maas-api itself, the MaaS Gateway and the
// maas-api route come from seed.ts (shared with the tier era).
import { gatewayAuthPolicy, MAAS_GATEWAY, SUBSCRIPTION_NAMESPACE } from './maas-controllers.js';
import type { KObj } from './util.js';

export const SUBSCRIPTION_IMAGES = {
  controller: 'quay.io/opendatahub/maas-controller:odh-stable',
  payloadProcessing: 'quay.io/opendatahub/odh-ai-gateway-payload-processing:odh-stable',
  postgres: 'registry.redhat.io/rhel9/postgresql-16:latest',
} as const;

function deployment(name: string, namespace: string, labels: Record<string, string>, image: string, port: { name: string; containerPort: number }, extra: Record<string, unknown> = {}): KObj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { serviceAccountName: name, containers: [{ name: name === 'postgres' ? 'postgres' : 'manager', image, ports: [{ ...port, protocol: 'TCP' }], ...extra }] },
      },
    },
  };
}

function service(name: string, namespace: string, selector: Record<string, string>, port: { name: string; port: number }): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: selector },
    spec: { selector, ports: [{ ...port, targetPort: port.port, protocol: 'TCP' }] },
  };
}

const serviceAccount = (name: string, namespace: string): KObj => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });

export function subscriptionPlatformObjects(o: { maasNamespace: string; kuadrant: boolean }): KObj[] {
  const ns = o.maasNamespace;
  const gwNs = MAAS_GATEWAY.namespace;
  const controller = { 'app.kubernetes.io/name': 'maas-controller', 'control-plane': 'maas-controller' };
  const postgres = { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/part-of': 'models-as-a-service' };
  const ipp = { app: 'payload-processing' };
  const ippPre = { app: 'payload-pre-processing' };
  const out: KObj[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SUBSCRIPTION_NAMESPACE } },
    serviceAccount('maas-controller', ns),
    deployment('maas-controller', ns, controller, SUBSCRIPTION_IMAGES.controller, { name: 'metrics', containerPort: 8080 }, { args: ['--leader-elect', `--gateway-name=${MAAS_GATEWAY.name}`, `--gateway-namespace=${gwNs}`] }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'maas-db-config', namespace: ns },
      type: 'Opaque',
      stringData: { DB_CONNECTION_URL: `postgresql://maas:rehearsal-only@postgres.${ns}.svc:5432/maas?sslmode=disable` },
    },
    serviceAccount('postgres', ns),
    deployment('postgres', ns, postgres, SUBSCRIPTION_IMAGES.postgres, { name: 'postgres', containerPort: 5432 }),
    service('postgres', ns, postgres, { name: 'postgres', port: 5432 }),
    serviceAccount('payload-processing', gwNs),
    deployment('payload-processing', gwNs, ipp, SUBSCRIPTION_IMAGES.payloadProcessing, { name: 'grpc', containerPort: 9004 }, { args: ['--config-file=/etc/ipp/custom-ipp-config.yaml'] }),
    service('payload-processing', gwNs, ipp, { name: 'grpc', port: 9004 }),
    serviceAccount('payload-pre-processing', gwNs),
    deployment('payload-pre-processing', gwNs, ippPre, SUBSCRIPTION_IMAGES.payloadProcessing, { name: 'grpc', containerPort: 9004 }, { args: ['--config-file=/etc/ipp/custom-pre-processing-ipp-config.yaml'] }),
    service('payload-pre-processing', gwNs, ippPre, { name: 'grpc', port: 9004 }),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'payload-processing-plugins', namespace: gwNs, annotations: { 'opendatahub.io/managed': 'false' } },
      data: {
        'custom-pre-processing-ipp-config.yaml': 'plugins: [body-field-to-header (model -> X-Gateway-Model-Name), model-provider-resolver]\n',
        'custom-ipp-config.yaml': 'plugins: [maas-headers-guard, stream-usage-enforcer, model-provider-resolver, api-translation, apikey-injection]\n',
      },
    },
  ];
  if (o.kuadrant) {
    out.push(gatewayAuthPolicy(ns), {
      apiVersion: 'kuadrant.io/v1alpha1',
      kind: 'TokenRateLimitPolicy',
      metadata: {
        name: 'gateway-default-deny',
        namespace: gwNs,
        labels: { 'app.kubernetes.io/managed-by': 'maas-controller', 'app.kubernetes.io/part-of': 'maas-controller', 'app.kubernetes.io/component': 'default-policy' },
      },
      spec: {
        targetRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: MAAS_GATEWAY.name },
        defaults: {
          limits: {
            'deny-all-by-default': {
              // everything but maas-api and its /v1 management paths gets no tokens unless a per-route policy says otherwise
              when: [{ predicate: ['/maas-api', '/v1/models', '/v1/subscriptions', '/v1/api-keys'].map((p) => `!request.path.startsWith("${p}")`).join(' && ') }],
              rates: [{ limit: 0, window: '1m' }],
              counters: [{ expression: 'auth.identity.userid' }],
            },
          },
        },
      },
    });
  }
  return out;
}
