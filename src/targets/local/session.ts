/**
 * The running local topology as validate and doctor see it: endpoint and CA from the state, the
 * cluster-user token, the hops' own trace records (every hop reports its part), the programmed route
 * objects and the rate-limit counters. A fix reprograms the hops that serve what it edits, as a
 * controller would.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { DemoConfig } from '../../core/config.js';
import { deserializeConfig, type SerializedConfig } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { Secret, fingerprint, useFingerprintKey } from '../../core/secret.js';
import type { BudgetRecord, Endpoint, FixProposal, FixRequest, RouteModel, TargetSession } from '../target.js';
import type { InstallFact } from '../../model/target-facts.js';
import type { EventInput, HopId } from '../../core/events.js';
import type { HopRecord } from '../../model/hop-record.js';
import { AdminClient } from './launcher.js';
import { envFacts, gatewayAgent, readFingerprintKey } from './local-target.js';
import { health } from './up-lifecycle.js';
import type { EgressSpec, MaasGatewaySpec, MaasApiSpec, TopologySpec } from '../../model/topology.js';
import { paths, readJson, readState, stateDir, type LocalState } from './state.js';
import type { K8sObject } from '../../model/k8s-object.js';
import { ObjectSet, type ObjectSource } from '../../model/object-source.js';
import { mintServiceAccountToken, type SigningKeyFile } from './tokens.js';
import type { GenerationId } from '../../generations/index.js';
import { reconcileStatuses } from '../../model/subscription-status.js';

/** The hop process serving each part of the topology. */
const PART_OBJECTS: Record<keyof TopologySpec, string> = { maasGateway: 'process/maas-gateway', egress: 'process/egress-gateway', maasApi: 'process/maas-api' };

export class LocalSession implements TargetSession {
  readonly kind = 'local' as const;
  readonly fixable = true;
  readonly apiServer = false;
  readonly cfg: DemoConfig;
  readonly state: LocalState;
  readonly dir: string;
  readonly generation: GenerationId;
  #agent: ReturnType<typeof gatewayAgent> | undefined;

  private constructor(dir: string, state: LocalState, cfg: DemoConfig) {
    this.dir = dir;
    this.state = state;
    this.cfg = cfg;
    this.generation = state.generation ?? 'tier';
  }

  /** Opens the running topology, or says how to start it. */
  static async open(env: NodeJS.ProcessEnv, opts: { allowBroken?: boolean } = {}): Promise<LocalSession> {
    const dir = stateDir(env);
    const state = readState(dir);
    if (!state) throw new UserError(`the local topology is not running (no state in ${dir})`, 'start it with `demo up`');
    const raw = JSON.parse(readFileSync(paths(dir).config, 'utf8')) as SerializedConfig;
    const cfg = deserializeConfig(raw);
    new Secret(state.clusterToken);
    new Secret(state.adminToken);
    // The hops and simulators key their fingerprints with the install's secret: compare with the same.
    const fpKey = readFingerprintKey(dir);
    if (fpKey) new Secret(fpKey);
    useFingerprintKey(fpKey);
    const h = await health(state);
    if (h.dead.length && !opts.allowBroken) {
      throw new UserError(`the local topology is broken: ${h.dead.join(', ')} not running`, 'run `demo up` to restart the stopped hops');
    }
    return new LocalSession(dir, state, cfg);
  }

  admin(name: string): AdminClient | undefined {
    const c = this.state.components[name];
    return c?.adminPort ? new AdminClient(c.adminPort, this.state.adminToken) : undefined;
  }

  async endpoint(): Promise<Endpoint> {
    this.#agent ??= gatewayAgent(this.state.caFile);
    return { baseUrl: `https://${this.state.host}`, dispatcher: this.#agent, insecure: false };
  }

  async clusterToken(): Promise<Secret> {
    return new Secret(this.state.clusterToken);
  }

  providers(): DemoConfig['providers'] {
    return this.cfg.providers.filter((p) => !p.optional || this.state.vllm.enabled);
  }

  async vllmDirectUrl(): Promise<string | undefined> {
    return this.state.vllm.enabled ? envFacts(this.state, this.cfg).VLLM_URL : undefined;
  }

  async hopRecords(requestId: string): Promise<HopRecord[]> {
    const out: HopRecord[] = [];
    for (const name of ['maas-gateway', 'maas-api', 'egress-gateway', 'payload-processing']) {
      try {
        const r = await this.admin(name)?.call<{ records: HopRecord[] }>('GET', `/traces?id=${encodeURIComponent(requestId)}`);
        out.push(...(r?.records ?? []));
      } catch {
        /* a hop that is down reports nothing; the trace says so */
      }
    }
    return out;
  }

  async topology(): Promise<Partial<TopologySpec>> {
    const get = async <T>(name: string) => (await this.admin(name)?.call<{ spec: T }>('GET', '/config').catch(() => undefined))?.spec;
    const maasGateway = await get<MaasGatewaySpec>('maas-gateway');
    const egress = await get<EgressSpec>('egress-gateway');
    const maasApi = await get<MaasApiSpec>('maas-api');
    return { ...(maasGateway ? { maasGateway } : {}), ...(egress ? { egress } : {}), ...(maasApi ? { maasApi } : {}) };
  }

  async routeModel(): Promise<RouteModel> {
    const t = await this.topology();
    return {
      bridges: (t.maasGateway?.bridges ?? []).map((b) => ({
        provider: b.provider,
        pathPrefix: b.pathPrefix,
        rewritePrefix: b.rewritePrefix,
        removeHeaders: b.removeHeaders,
        injectHeader: b.auth?.inject?.header ?? null,
        injectFingerprint: b.auth?.inject ? fingerprint(b.auth.inject.header.toLowerCase() === 'authorization' ? b.auth.inject.value.replace(/^Bearer\s+/i, '') : b.auth.inject.value) : null,
        audiences: b.auth?.audiences ?? null,
      })),
      egress: (t.egress?.routes ?? []).map((r) => ({ provider: r.provider, pathPrefix: r.pathPrefix, rewritePrefix: r.rewritePrefix, backend: r.backendRef.name, controllerFixed: t.egress?.controllerFixed ?? null })),
      onprem: (t.maasGateway?.onprem ?? []).map((o) => ({ pathPrefix: o.pathPrefix, rewritePrefix: o.rewritePrefix })),
    };
  }

  async budget(userid: string, tier: string): Promise<BudgetRecord | undefined> {
    if (this.generation === 'subscription') return this.#eraBudget(userid, tier);
    const t = await this.topology();
    const rl = t.maasGateway?.rateLimit;
    const limit = rl?.limits.find((l) => l.tier === tier)?.tokens;
    if (!rl || limit === undefined) return undefined;
    const r = await this.admin('maas-gateway')?.call<{ counters: Record<string, { spent: number; resetAt: number }> }>('GET', '/ratelimit');
    const c = r?.counters[`${tier}-user-tokens/${userid}`];
    return { tier, limit, spent: c?.spent ?? 0, ...(c ? { resetAt: c.resetAt } : {}), source: 'observed' };
  }

  /**
   * The subscription era's budget: `limitKey` is the limit's name in `maas-trlp-<model>`
   * (`<subNs>-<sub>-<model>-tokens`), counted per user.
   */
  async #eraBudget(userid: string, limitKey: string): Promise<BudgetRecord | undefined> {
    const { readSubscriptionGateway } = await import('../../model/subscription-gateway.js');
    const gw = (await this.admin('maas-gateway')?.call<{ spec: { objects?: K8sObject[] } }>('GET', '/config').catch(() => undefined))?.spec;
    const limit = readSubscriptionGateway(gw?.objects ?? []).limits.find((l) => l.key === limitKey);
    if (!limit) return undefined;
    const r = await this.admin('maas-gateway')?.call<{ counters: Record<string, { spent: number; resetAt: number }> }>('GET', '/ratelimit');
    const c = r?.counters[`${limitKey}/${userid}`];
    return { tier: limitKey, limit: limit.limit, spent: c?.spent ?? 0, ...(c ? { resetAt: c.resetAt } : {}), source: 'observed' };
  }

  /** Reprograms one hop with its part of the topology, as a controller would (fixes, the self-test). */
  async reprogram(part: keyof TopologySpec, spec: unknown): Promise<void> {
    const name = part === 'maasGateway' ? 'maas-gateway' : part === 'egress' ? 'egress-gateway' : 'maas-api';
    const admin = this.admin(name);
    if (!admin) throw new Error(`${name} is not running`);
    await admin.program(spec);
  }

  readonly rehearse = {
    program: async (spec: TopologySpec): Promise<void> => {
      await this.reprogram('maasGateway', spec.maasGateway);
      await this.reprogram('egress', spec.egress);
      await this.reprogram('maasApi', spec.maasApi);
    },
    apply: async (objects: K8sObject[]): Promise<boolean> => {
      const { applyObjects } = await import('./local-target.js');
      const { eraApplyObjects } = await import('./subscription-up.js');
      const run = this.generation === 'subscription' ? eraApplyObjects(this.dir, readState(this.dir) ?? this.state, this.cfg, objects, new AbortController().signal) : applyObjects(this.dir, this.cfg, objects, new AbortController().signal);
      let step = await run.next();
      while (!step.done) step = await run.next();
      // Processes may have restarted on new ports: read the state again.
      const fresh = readState(this.dir);
      if (fresh) Object.assign(this.state, fresh);
      return step.value;
    },
    objects: (): K8sObject[] => readJson<K8sObject[]>(paths(this.dir).objects) ?? [],
    resetCounters: async (): Promise<void> => {
      await this.admin('maas-gateway')?.call('POST', '/ratelimit/reset');
      // The subscription era's gateway also forgets what its identity cache holds.
      if (this.generation === 'subscription') await this.admin('maas-gateway')?.call('POST', '/cache/reset');
    },
  };

  objects(): ObjectSource {
    const objects = readJson<K8sObject[]>(paths(this.dir).objects) ?? [];
    if (this.generation !== 'subscription') return new ObjectSet(objects);
    // As a cluster serves them: with the statuses the era's controllers set.
    return new ObjectSet(reconcileStatuses(objects, { gatewayHost: this.state.host, gatewayName: this.cfg.maas.gatewayName, gatewayNamespace: this.cfg.maas.gatewayNamespace, now: new Date(this.state.startedAt) }));
  }

  /** A fix edits parts of the running topology; only the parts that really change are reprogrammed. */
  async proposeFix(fix: FixRequest): Promise<FixProposal | undefined> {
    if (fix.apply?.length) return this.#proposeObjects(fix.apply);
    if (!fix.edits?.length) return undefined;
    const current = await this.topology();
    const edited = structuredClone(current);
    for (const e of fix.edits) e.edit(edited);
    const parts = (Object.keys(edited) as (keyof TopologySpec)[]).filter((p) => !isDeepStrictEqual(edited[p], current[p]));
    const objects = parts.map((p) => PART_OBJECTS[p]);
    return {
      patch: parts.length ? `reprogram ${objects.join(', ')}` : 'nothing to change',
      changes: parts.length,
      apply: async function* (this: LocalSession): AsyncGenerator<EventInput, string[]> {
        for (const p of parts) {
          await this.reprogram(p, edited[p]);
          yield { kind: 'apply', step: 'fix', object: PART_OBJECTS[p], action: 'configured' };
        }
        return [];
      }.bind(this),
    };
  }

  /** An object patch (the subscription era): the objects that differ from the running ones are applied. */
  #proposeObjects(objects: K8sObject[]): FixProposal {
    const current = this.rehearse.objects();
    const key = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const changed = objects.filter((o) => !isDeepStrictEqual(current.find((c) => key(c) === key(o)), o));
    const next = [...current.filter((c) => !changed.some((o) => key(o) === key(c))), ...changed];
    return {
      patch: changed.length ? `apply ${changed.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).join(', ')}` : 'nothing to change',
      changes: changed.length,
      apply: async function* (this: LocalSession): AsyncGenerator<EventInput, string[]> {
        await this.rehearse.apply(next);
        for (const o of changed) yield { kind: 'apply', step: 'fix', object: `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, action: 'configured' };
        return [];
      }.bind(this),
    };
  }

  async installFacts(): Promise<InstallFact[]> {
    const h = await health(this.state);
    const hopOf = (name: string): HopId => (name.startsWith('provider-') ? `provider:${name.slice(9)}` : name === 'onprem-sim' ? 'onprem' : name === 'postgres' ? 'maas-api' : (name as HopId));
    return Object.entries(this.state.components).map(([name, c]) => ({
      name,
      ok: h.alive.includes(name),
      detail: h.alive.includes(name) ? `pid ${c.pid}, 127.0.0.1:${c.port}` : `not running (pid ${c.pid} gone or port ${c.port} closed)`,
      hop: hopOf(name),
      ...(h.alive.includes(name) ? {} : { hint: 'demo up   # restarts the stopped hops on their ports' }),
    }));
  }

  /** A TokenRequest for any service account, signed with the install's key (doctor's tier-less probe). */
  async serviceAccountToken(namespace: string, name: string): Promise<Secret> {
    const key = JSON.parse(readFileSync(paths(this.dir).signingKey, 'utf8')) as SigningKeyFile;
    const minted = await mintServiceAccountToken(key, { namespace, serviceAccount: name, audience: this.cfg.maas.audience, issuer: this.cfg.maas.issuer, seconds: 600 });
    return new Secret(minted.token);
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }
}
