/**
 * `demo doctor --target cluster` against the kube-api test server after `up`: the configuration read
 * from the objects, the controllers' status (policies Accepted/Enforced, routes, Deployments), and no
 * data plane. The MaaS gateway is a local HTTPS stand-in (DEMO_GATEWAY_URL) that answers as Authorino
 * does to a token it does not accept (401 with a Bearer challenge), so no MaaS token can be minted: every
 * check that needs a live probe must skip with "no live evidence", and every configuration fault planted
 * on the server must fail exactly its check, at the right hop, with the right fix, exit code 1.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../src/targets/cluster/client.js';
import { demo, ofKind, plant as plantIn, refusingGateway, startCluster, type Cluster, type Run } from './helpers.js';

interface Check {
  id: string;
  category: string;
  outcome: 'pass' | 'fail' | 'warn' | 'skip';
  hop?: string;
  message?: string;
  fix?: string;
  evidence?: string[];
  data?: { expectedWarning?: boolean };
}

let c: Cluster;
let kube: Kube;
let gateway: { close(): void };
let gatewayUrl: string;
let caFile: string;

beforeAll(async () => {
  c = await startCluster();
  const up = await demo(c, ['up', '--wg-dir', c.wgDir, '--timeout', '20']);
  expect(up.code, up.stdout + up.stderr).toBe(0);
  const gw = await refusingGateway(c);
  gateway = gw;
  gatewayUrl = gw.url;
  caFile = gw.caFile;
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  kube = new Kube(kc);
}, 90_000);

afterAll(async () => {
  gateway?.close();
  await c?.close();
});

const doctor = (extra: string[] = [], env: Record<string, string> = {}) => demo(c, ['doctor', '--ca-file', caFile, ...extra], { DEMO_GATEWAY_URL: gatewayUrl, ...env });
const checks = (r: Run) => ofKind(r.events, 'check') as unknown as Check[];
const check = (r: Run, id: string) => {
  const x = checks(r).find((k) => k.id === id);
  expect(x, `check ${id} ran`).toBeDefined();
  return x!;
};
const failed = (r: Run) => checks(r).filter((k) => k.outcome === 'fail');

/** Doctor fails exactly `id`, at `hop`, with a fix matching `fix`, and exits 1. */
function expectOnly(r: Run, id: string, hop: string, fix: RegExp): Check {
  expect(failed(r).map((k) => `${k.id}@${k.hop ?? ''}`), r.stdout.slice(-3000)).toEqual([`${id}@${hop}`]);
  const k = check(r, id);
  expect(k.fix).toMatch(fix);
  expect(k.evidence?.length ?? 0).toBeGreaterThan(0);
  expect(r.code).toBe(1);
  return k;
}

/** The parts of the objects the tests change. */
interface RouteObj {
  spec: { rules: { filters?: { type: string }[]; backendRefs: { kind: string }[] }[] };
}
interface AuthObj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { rules: { headers?: unknown; response: { success: { headers?: Record<string, { plain: { expression: string } }> } } } };
}
interface DeploymentObj {
  metadata: { labels: Record<string, string> };
  spec: { template: { spec: { containers: { image?: string; args?: string[] }[] } } };
  status?: { conditions?: { type: string; status: string }[] };
}
interface ConfigMapObj {
  data: { models: string };
}

/** Replaces an object by a changed copy; returns the restore. */
const plant = <T,>(apiVersion: string, kind: string, ns: string | undefined, name: string, change: (o: T) => void) => plantIn<T>(c, apiVersion, kind, ns, name, change);

async function withFault(planted: Promise<() => Promise<void>>, body: () => Promise<void>): Promise<void> {
  const restore = await planted;
  try {
    await body();
  } finally {
    await restore();
  }
}

const GW = 'gateway.networking.k8s.io/v1';

describe('doctor --target cluster on a healthy install', () => {
  test('configuration and controller status pass; live checks skip with "no live evidence"; exit 0', async () => {
    const r = await doctor();
    expect(failed(r), r.stdout.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    for (const id of ['install-target-reachable', 'install-components', 'install-controller-rewrite-fix', 'install-no-foreign-reconcile', 'exposure-tls-verification']) {
      expect(check(r, id).outcome, `${id}: ${check(r, id).message}`).toBe('pass');
    }
    // The only live evidence: a request without a token is refused with Authorino's 401.
    expect(check(r, 'key-policy-enforced').outcome).toBe('pass');
    for (const id of ['rewrite-bridge-prefix', 'rewrite-egress-route-present', 'rewrite-egress-strips-prefix', 'rewrite-backend-reachable', 'key-auth-accepts-maas-token', 'key-injected', 'ratelimit-policy-present', 'models-listed-routable', 'exposure-user-token-forwarded']) {
      const k = check(r, id);
      expect(k.outcome, `${id}: ${k.message}`).toBe('skip');
      expect(k.message, id).toMatch(/no live evidence/);
    }
    expect(check(r, 'install-components').message).toMatch(/MaaS generation.*Kuadrant.*XBackendDestination CRD.*wg-ai-gateway controller.*egress Gateway.*egress Envoy.*maas-api/);
    expect(check(r, 'install-controller-rewrite-fix').message).toMatch(/prefix-rewrite-fix carries the prefix-rewrite fix/);
    // The keys as literals are the seed design; the upstream controller always runs Envoy at trace level.
    const warns = checks(r).filter((k) => k.outcome === 'warn');
    expect(warns.map((k) => k.id).sort()).toEqual(['exposure-keys-in-policies', 'exposure-trace-logging']);
    expect(warns.every((k) => k.data?.expectedWarning)).toBe(true);
    const stderr = r.stderr;
    expect(stderr).toMatch(/could not mint a MaaS token|^$/m);
  }, 30_000);

  test('without a reachable gateway only install-target-reachable fails; nothing passes on configuration alone', async () => {
    const r = await doctor([], { DEMO_GATEWAY_URL: 'https://127.0.0.1:9' });
    expect(failed(r).map((k) => k.id)).toEqual(['install-target-reachable']);
    expect(check(r, 'install-target-reachable').hop).toBe('maas-gateway');
    expect(check(r, 'key-policy-enforced').outcome).toBe('skip');
    expect(check(r, 'key-policy-enforced').message).toMatch(/no live evidence/);
    expect(r.code).toBe(1);
  }, 30_000);
});

describe('doctor --target cluster names each planted configuration fault', () => {
  test('bridge without its URLRewrite → rewrite-bridge-prefix at maas-gateway', async () => {
    await withFault(
      plant<RouteObj>(GW, 'HTTPRoute', 'default', 'openai-bridge', (o) => {
        o.spec.rules[0]!.filters = o.spec.rules[0]!.filters!.filter((f) => f.type !== 'URLRewrite');
      }),
      async () => {
        const k = expectOnly(await doctor(), 'rewrite-bridge-prefix', 'maas-gateway', /add URLRewrite ReplacePrefixMatch \/openai\/ to HTTPRoute openai-bridge\n# HTTPRoute openai-bridge\n- \(no URLRewrite filter\)\n\+ filters: \[\{type: URLRewrite/);
        expect(k.message).toMatch(/^openai: the egress gateway receives \/external\/openai\/v1\/models, expected \/openai\/v1\/models/);
      },
    );
  });

  test('egress route without its URLRewrite → rewrite-egress-strips-prefix at egress-gateway', async () => {
    await withFault(
      plant<RouteObj>(GW, 'HTTPRoute', 'default', 'anthropic-route', (o) => {
        delete o.spec.rules[0]!.filters;
      }),
      async () => {
        const k = expectOnly(await doctor(), 'rewrite-egress-strips-prefix', 'egress-gateway', /add URLRewrite ReplacePrefixMatch \/ to HTTPRoute anthropic-route/);
        expect(k.message).toMatch(/^anthropic: prefix not stripped: the provider receives \/anthropic\/v1\/models/);
      },
    );
  });

  test('AuthPolicy injects the key under another header → key-injected at maas-gateway', async () => {
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth', (o) => {
        const h = o.spec.rules.response.success.headers!;
        h['X-Api-Key'] = h['X-Provider-Api-Key']!;
        delete h['X-Provider-Api-Key'];
      }),
      async () => {
        const k = expectOnly(await doctor(), 'key-injected', 'maas-gateway', /rename the injected header to x-provider-api-key in AuthPolicy openai-bridge-auth/);
        expect(k.message).toMatch(/key injected as X-Api-Key; the provider reads x-provider-api-key/);
      },
    );
  });

  test('AuthPolicy injects a wrong key → key-injected, compared by fingerprint, key never printed', async () => {
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'anthropic-bridge-auth', (o) => {
        o.spec.rules.response.success.headers!['X-Provider-Api-Key']!.plain.expression = "'sk-ant-wrong-key-0000'";
      }),
      async () => {
        const r = await doctor();
        const k = expectOnly(r, 'key-injected', 'maas-gateway', /inject the right key in AuthPolicy anthropic-bridge-auth/);
        expect(k.message).toMatch(/wrong key: fingerprint [0-9a-f]+ is not the provider's [0-9a-f]+/);
        expect(r.stdout).not.toContain('sk-ant-wrong-key-0000');
        expect(r.stdout).not.toContain('sk-ant-claude-key-for-demo');
      },
    );
  });

  test('AuthPolicy key built from literals by CEL (+) is compared like a literal; a key read at request time is left to a probe', async () => {
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth', (o) => {
        const e = o.spec.rules.response.success.headers!['X-Provider-Api-Key']!.plain;
        const key = e.expression.slice(1, -1);
        e.expression = `'${key.slice(0, 6)}' + '${key.slice(6)}'`;
      }),
      async () => {
        const r = await doctor(['--category', 'key-injection']);
        expect(failed(r)).toEqual([]);
        expect(check(r, 'key-injected').outcome).toBe('skip');
        expect(check(r, 'key-injected').message).toMatch(/the policy injects the right key under the right header/);
      },
    );
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth', (o) => {
        o.spec.rules.response.success.headers!['X-Provider-Api-Key']!.plain.expression = 'auth.metadata.vault.data.openai_key';
      }),
      async () => {
        const r = await doctor(['--category', 'key-injection']);
        expect(failed(r)).toEqual([]);
        const k = check(r, 'key-injected');
        expect(k.outcome).toBe('skip');
        expect(k.message).toMatch(/no live evidence: the key is computed at request time by auth\.metadata\.vault\.data\.openai_key/);
      },
    );
    // A constant that is the wrong key is still a wrong key.
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth', (o) => {
        o.spec.rules.response.success.headers!['X-Provider-Api-Key']!.plain.expression = "'sk-oai-' + 'not-the-key'";
      }),
      async () => {
        const k = expectOnly(await doctor(['--category', 'key-injection']), 'key-injected', 'maas-gateway', /inject the right key in AuthPolicy openai-bridge-auth/);
        expect(k.message).toMatch(/wrong key/);
      },
    );
  });

  test('AuthPolicy headers at the wrong level, pruned by the API server → key-injected says what was dropped', async () => {
    await withFault(
      plant<AuthObj>('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth', (o) => {
        // What `kubectl apply` of a policy with `headers` under `rules` leaves: the field dropped, the annotation kept.
        const headers = o.spec.rules.response.success.headers;
        delete o.spec.rules.response.success.headers;
        o.spec.rules.headers = headers;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: 'default' }, spec: o.spec }) };
      }),
      async () => {
        const stored = c.api.get('kuadrant.io/v1', 'AuthPolicy', 'default', 'openai-bridge-auth') as unknown as AuthObj;
        expect(stored.spec.rules.headers).toBeUndefined();
        const k = expectOnly(await doctor(), 'key-injected', 'maas-gateway', /inject the provider key in AuthPolicy openai-bridge-auth[\s\S]*--field-validation=Strict/);
        expect(k.evidence!.join('\n')).toMatch(/the API server dropped spec\.rules\.headers/);
      },
    );
  });

  test('bridge keeps Authorization → exposure-user-token-forwarded at maas-gateway', async () => {
    await withFault(
      plant<RouteObj>(GW, 'HTTPRoute', 'default', 'openai-bridge', (o) => {
        o.spec.rules[0]!.filters = o.spec.rules[0]!.filters!.filter((f) => f.type !== 'RequestHeaderModifier');
      }),
      async () => {
        expectOnly(await doctor(), 'exposure-user-token-forwarded', 'maas-gateway', /remove Authorization in HTTPRoute openai-bridge[\s\S]*RequestHeaderModifier, requestHeaderModifier: \{remove: \[Authorization\]\}/);
      },
    );
  });

  test('TokenRateLimitPolicy deleted → ratelimit-policy-present at maas-gateway', async () => {
    const original = c.api.get('kuadrant.io/v1alpha1', 'TokenRateLimitPolicy', 'openshift-ingress', 'gateway-token-rate-limits')!;
    expect(await kube.remove({ apiVersion: 'kuadrant.io/v1alpha1', kind: 'TokenRateLimitPolicy', namespace: 'openshift-ingress', name: 'gateway-token-rate-limits' })).toBe(true);
    try {
      const k = expectOnly(await doctor(), 'ratelimit-policy-present', 'maas-gateway', /apply the gateway-level TokenRateLimitPolicy gateway-token-rate-limits[\s\S]*free-user-tokens: \{rates: \[\{limit: 100, window: 1m\}\], when: \[\{predicate: 'auth\.identity\.tier == "free"'\}\]/);
      expect(k.message).toBe('no TokenRateLimitPolicy: requests are never limited');
    } finally {
      const back = structuredClone(original);
      delete back.metadata.managedFields;
      c.api.seed([back]);
      await c.api.settle();
    }
  });

  test('TokenRateLimitPolicy not enforced → ratelimit-policy-present with the reason', async () => {
    const h = c.api.faults.conditionFalse({ kind: 'TokenRateLimitPolicy', type: 'Enforced', reason: 'MissingDependency', message: 'Limitador is not installed' });
    try {
      await c.api.settle();
      const k = expectOnly(await doctor(), 'ratelimit-policy-present', 'maas-gateway', /Kuadrant lacks a component[\s\S]*kubectl -n kuadrant-system get kuadrant,authorino,limitador/);
      expect(k.message).toMatch(/TokenRateLimitPolicy openshift-ingress\/gateway-token-rate-limits: Accepted=True \(Accepted.*\), Enforced=False \(MissingDependency: Limitador is not installed\)/);
    } finally {
      h.clear();
      await c.api.settle();
    }
  });

  test('registry ConfigMap lacks a model → models-listed-routable at maas-api', async () => {
    await withFault(
      plant<ConfigMapObj>('v1', 'ConfigMap', 'opendatahub', 'external-model-registry', (o) => {
        o.data.models = o.data.models.split('\n- ').filter((m) => !/gpt-4/.test(m)).join('\n- ').replace(/^(?!- )/, '- ').replace(/^- - /, '- ');
      }),
      async () => {
        const k = expectOnly(await doctor(), 'models-listed-routable', 'maas-api', /add gpt-4 to ConfigMap opendatahub\/external-model-registry\n# ConfigMap opendatahub\/external-model-registry data.models\n\+ - \{id: gpt-4, provider: openai, backend: openai-backend\}/);
        expect(k.message).toBe('routable but not listed: gpt-4');
        expect(k.evidence!.join('\n')).toMatch(/registry lists: claude-3-sonnet/);
      },
    );
  });

  test('registry ConfigMap in the other MaaS namespace (§9.15) → models-listed-routable names both namespaces; the fix creates it where maas-api reads and deletes the copy', async () => {
    const original = c.api.get('v1', 'ConfigMap', 'opendatahub', 'external-model-registry')!;
    const moved = structuredClone(original);
    delete moved.metadata.managedFields;
    moved.metadata.namespace = 'redhat-ods-applications';
    delete moved.metadata.resourceVersion;
    delete moved.metadata.uid;
    c.api.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'redhat-ods-applications' } }, moved]);
    expect(await kube.remove({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'opendatahub', name: 'external-model-registry' })).toBe(true);
    await c.api.settle();
    try {
      const k = expectOnly(await doctor(), 'models-listed-routable', 'maas-api', /create ConfigMap external-model-registry in opendatahub, where maas-api reads it, and delete the copy in redhat-ods-applications/);
      expect(k.message).toMatch(/ConfigMap external-model-registry is in namespace redhat-ods-applications, but maas-api runs in opendatahub/);
      // no diff against the ConfigMap that does not exist: a create, then the delete
      expect(k.fix).not.toMatch(/^# ConfigMap opendatahub\/external-model-registry data\.models$/m);
      expect(k.fix).toMatch(/# create ConfigMap opendatahub\/external-model-registry \(it does not exist\)\n\+ data\.models:\n\+ {3}- \{id: gpt-4, provider: openai, backend: openai-backend\}/);
      expect(k.fix).toMatch(/kubectl -n opendatahub create configmap external-model-registry --from-literal=models='- \{id: gpt-4[^']*'\n[\s\S]*kubectl -n redhat-ods-applications delete configmap external-model-registry/);
    } finally {
      await kube.remove({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'redhat-ods-applications', name: 'external-model-registry' });
      const back = structuredClone(original);
      delete back.metadata.managedFields;
      c.api.seed([back]);
      await c.api.settle();
    }
  });

  test('registry ConfigMap whose models do not parse → models-listed-routable says maas-api lists none', async () => {
    await withFault(
      plant<ConfigMapObj>('v1', 'ConfigMap', 'opendatahub', 'external-model-registry', (o) => {
        o.data.models = '- id: gpt-4\n  provider: [openai\n';
      }),
      async () => {
        const k = expectOnly(await doctor(), 'models-listed-routable', 'maas-api', /add gpt-4, claude-3-sonnet/);
        expect(k.message).toMatch(/data\.models of ConfigMap opendatahub\/external-model-registry is not valid YAML .*maas-api logs the error and lists no external model/);
      },
    );
  });

  test('controller image known to predate the prefix-rewrite fix → install-controller-rewrite-fix at egress-gateway', async () => {
    await withFault(
      plant<DeploymentObj>('apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller', (o) => {
        o.spec.template.spec.containers[0]!.image = 'registry.example.com/wg-ai-gateway:before-pr38';
      }),
      async () => {
        const k = expectOnly(await doctor([], { DEMO_PRE_FIX_CONTROLLER_IMAGES: 'registry.example.com/wg-ai-gateway:before-pr38' }), 'install-controller-rewrite-fix', 'egress-gateway', /- image: registry\.example\.com\/wg-ai-gateway:before-pr38\n\+ image: ghcr\.io\/nerdalert\/wg-ai-gateway:prefix-rewrite-fix\nkubectl -n ai-gateway-system set image deployment\/ai-gateway-controller manager=ghcr\.io\/nerdalert\/wg-ai-gateway:prefix-rewrite-fix/);
        expect(k.message).toMatch(/predates the prefix-rewrite fix.*\/\/v1\//);
      },
    );
  });

  test("the fork's :latest is the build the seed demo names as carrying the fix: not called pre-fix", async () => {
    await withFault(
      plant<DeploymentObj>('apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller', (o) => {
        o.spec.template.spec.containers[0]!.image = 'ghcr.io/nerdalert/wg-ai-gateway:latest';
      }),
      async () => {
        const r = await doctor();
        expect(check(r, 'install-controller-rewrite-fix').outcome).toBe('pass');
        expect(check(r, 'install-controller-rewrite-fix').message).toMatch(/ghcr\.io\/nerdalert\/wg-ai-gateway:latest carries the prefix-rewrite fix/);
        expect(r.stdout).not.toMatch(/predates/);
      },
    );
  });

  test('controller image of unknown build → the rewrite is left to a live probe (skip, not pass)', async () => {
    await withFault(
      plant<DeploymentObj>('apps/v1', 'Deployment', 'ai-gateway-system', 'ai-gateway-controller', (o) => {
        o.spec.template.spec.containers[0]!.image = 'localhost:5000/wg-ai-gateway:latest';
      }),
      async () => {
        const r = await doctor();
        expect(failed(r)).toEqual([]);
        expect(check(r, 'install-controller-rewrite-fix').outcome).toBe('skip');
        expect(check(r, 'install-controller-rewrite-fix').message).toMatch(/not a build known to carry the prefix-rewrite fix/);
        expect(check(r, 'rewrite-egress-strips-prefix').outcome).toBe('skip');
      },
    );
  });

  test('Envoy at trace level set by the wg controller → an expected warning (--fail-on warning still exits 0); set by someone else → a real one; info passes', async () => {
    const r = await doctor(['--category', 'exposure', '--fail-on', 'warning']);
    const k = check(r, 'exposure-trace-logging');
    expect(k.outcome).toBe('warn');
    expect(k.hop).toBe('egress-gateway');
    expect(k.data?.expectedWarning).toBe(true);
    expect(k.message).toMatch(/set by sigs\.k8s\.io\/wg-ai-gateway-envoy-controller \(upstream design\)/);
    expect(k.fix).toMatch(/hard-codes --log-level trace and re-applies it[\s\S]*kubectl auth can-i get pods\/log -n default/);
    expect(r.code).toBe(0);
    // The controller force-applies its Envoy Deployment; one without its label it leaves alone.
    await withFault(
      plant<DeploymentObj>('apps/v1', 'Deployment', 'default', 'envoy-poc-gateway', (o) => {
        delete o.metadata.labels['aigateway.networking.k8s.io/managed'];
      }),
      async () => {
        const bad = await doctor(['--category', 'exposure', '--fail-on', 'warning']);
        const w = check(bad, 'exposure-trace-logging');
        expect(w.outcome).toBe('warn');
        expect(w.data?.expectedWarning).toBeUndefined();
        expect(w.fix).toMatch(/run the egress Envoy at --log-level info[\s\S]*kubectl -n default patch deployment envoy-poc-gateway/);
        expect(bad.code).toBe(1);
      },
    );
    await withFault(
      plant<DeploymentObj>('apps/v1', 'Deployment', 'default', 'envoy-poc-gateway', (o) => {
        delete o.metadata.labels['aigateway.networking.k8s.io/managed'];
        o.spec.template.spec.containers[0]!.args = ['-c', '/etc/envoy/envoy.yaml', '--log-level', 'info'];
      }),
      async () => {
        const ok = await doctor(['--category', 'exposure', '--fail-on', 'warning']);
        expect(check(ok, 'exposure-trace-logging').outcome).toBe('pass');
        expect(ok.code).toBe(0);
      },
    );
  });

  test('bridge AuthPolicy Enforced=False → key-policy-enforced at maas-gateway, though a probe got a 401', async () => {
    const h = c.api.faults.conditionFalse({ kind: 'AuthPolicy', type: 'Enforced', namespace: 'default', name: 'openai-bridge-auth', reason: 'Overridden', message: 'AuthPolicy is overridden by [openshift-ingress/gateway-auth-policy]' });
    try {
      await c.api.settle();
      const k = expectOnly(await doctor(), 'key-policy-enforced', 'maas-gateway', /overridden by a policy with overrides on the gateway[\s\S]*kubectl -n default get authpolicy openai-bridge-auth -o jsonpath='\{\.status\.conditions\}'/);
      expect(k.message).toMatch(/^openai: AuthPolicy default\/openai-bridge-auth: Accepted=True .*Enforced=False \(Overridden: AuthPolicy is overridden by/);
    } finally {
      h.clear();
      await c.api.settle();
    }
  });

  test('the wg controller reconciled the MaaS gateway (contracts §6) → install-no-foreign-reconcile at maas-gateway', async () => {
    c.api.seed([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'envoy-openshift-ingress-maas-default-gateway', namespace: 'openshift-ingress', labels: { 'aigateway.networking.k8s.io/managed': 'sigs.k8s.io-wg-ai-gateway-envoy-controller' } },
        spec: { replicas: 1, selector: { matchLabels: { app: 'envoy-openshift-ingress-maas-default-gateway' } }, template: { metadata: { labels: { app: 'envoy-openshift-ingress-maas-default-gateway' } }, spec: { containers: [{ name: 'envoy', image: 'docker.io/envoyproxy/envoy:v1.37-latest' }] } } },
      },
    ]);
    try {
      await c.api.settle();
      const k = expectOnly(await doctor(), 'install-no-foreign-reconcile', 'maas-gateway', /kubectl -n openshift-ingress delete deployment,service,configmap,serviceaccount envoy-openshift-ingress-maas-default-gateway/);
      expect(k.message).toMatch(/Deployment openshift-ingress\/envoy-openshift-ingress-maas-default-gateway exists \(created by the wg-ai-gateway controller\)/);
    } finally {
      await kube.remove({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'openshift-ingress', name: 'envoy-openshift-ingress-maas-default-gateway' });
      await c.api.settle();
    }
  });

  test('a route on the MaaS gateway carries a parent status from the wg controller → install-no-foreign-reconcile', async () => {
    const original = c.api.get(GW, 'HTTPRoute', 'default', 'anthropic-bridge')!;
    const copy = structuredClone(original);
    delete copy.metadata.managedFields;
    const parent = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'openshift-ingress', name: 'maas-default-gateway' }, controllerName: 'sigs.k8s.io/wg-ai-gateway-envoy-controller', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] };
    (copy as { status?: unknown }).status = { parents: [parent] };
    // As the wg controller writes it: no other controller rewrites this status while planted.
    c.api.seed([copy], { unmanaged: true });
    try {
      await c.api.settle();
      const k = expectOnly(await doctor(), 'install-no-foreign-reconcile', 'maas-gateway', /build that checks the class[\s\S]*set image deployment\/ai-gateway-controller/);
      expect(k.message).toBe('HTTPRoute default/anthropic-bridge has a parent status written by sigs.k8s.io/wg-ai-gateway-envoy-controller');
    } finally {
      c.api.controllers.unmanaged.clear();
      const back = structuredClone(original);
      delete back.metadata.managedFields;
      c.api.seed([back]);
      await c.api.settle();
    }
  });

  test('egress route backendRef of the wrong kind → rewrite-egress-route-present: ResolvedRefs=False', async () => {
    await withFault(
      plant<RouteObj>(GW, 'HTTPRoute', 'default', 'openai-route', (o) => {
        o.spec.rules[0]!.backendRefs[0]!.kind = 'XBackendDestination';
      }),
      async () => {
        const k = expectOnly(await doctor(), 'rewrite-egress-route-present', 'egress-gateway', /backendRef kind must be Backend[\s\S]*- kind: XBackendDestination\n\+ kind: Backend/);
        expect(k.message).toMatch(/ResolvedRefs=False/);
      },
    );
  });

  test('Gateway Programmed but its Envoy cannot be scheduled → install-components at egress-gateway', async () => {
    const h = c.api.faults.failedScheduling({ deployment: 'envoy-poc-gateway' });
    try {
      await kube.remove({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: c.api.list('v1', 'Pod', 'default').find((p) => p.metadata.name?.startsWith('envoy-poc-gateway-'))!.metadata.name! });
      await c.api.waitFor(() => (c.api.get('apps/v1', 'Deployment', 'default', 'envoy-poc-gateway') as unknown as DeploymentObj | undefined)?.status?.conditions?.some((x) => x.type === 'Available' && x.status === 'False'), 5000).catch(() => undefined);
      await c.api.settle();
      const k = expectOnly(await doctor(), 'install-components', 'egress-gateway', /no node can run the pod/);
      expect(k.message).toMatch(/egress Envoy: Deployment default\/envoy-poc-gateway not available.*FailedScheduling.*Insufficient cpu/);
      expect(k.evidence!.join('\n')).toMatch(/ok egress Gateway: Gateway default\/poc-gateway Programmed/);
    } finally {
      h.clear();
      await c.api.settle();
    }
  });
});
