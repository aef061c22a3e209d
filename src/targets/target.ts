/**
 * One lifecycle for every target. A `Target` says *where* the demo runs (loopback processes or a
 * cluster); commands and checks hold one without asking which: `up` runs the plan from step data,
 * `down` removes what `up` made, `env` prints what a shell needs, and `open` gives validate and doctor a
 * `TargetSession` on the running install (endpoint, tokens, hop records, the route model, budgets,
 * install facts and fixes). `createTarget` in ./index.ts is the only code that knows both kinds.
 */
import type { DemoConfig } from '../core/config.js';
import type { EventInput, TargetKind } from '../core/events.js';
import type { Secret } from '../core/secret.js';
import type { HopRecord } from '../model/hop-record.js';
import type { BudgetRecord, Endpoint, InstallFact, ObjectName, RouteModel } from '../model/target-facts.js';
import type { TopologySpec } from '../model/topology.js';
import type { K8sObject } from '../model/k8s-object.js';
import type { ObjectSource } from '../model/object-source.js';
import type { GenerationId } from '../generations/index.js';
import type { ProviderOverride } from '../generations/subscription/providers.js';

export type { BudgetRecord, Endpoint, RouteModel };

/** How to reach a target: parsed from flags and the environment by the CLI. */
export interface TargetOptions {
  kind: TargetKind;
  cfg: DemoConfig;
  /** The environment of this run (state dir, KUBECONFIG, DEMO_GATEWAY_URL, …); never process.env directly. */
  env: NodeJS.ProcessEnv;
  /** Warnings the user must see even under --output json (e.g. TLS verification off). */
  warn: (line: string) => void;
  /** Cluster: kubeconfig file and context. */
  kubeconfig?: string;
  context?: string;
  /** Cluster: the user's token (else kubeconfig user, else `oc whoami -t`). */
  token?: string;
  /** Cluster: CA bundle of the MaaS gateway, or no verification at all. */
  caFile?: string;
  insecure?: boolean;
  /** Cluster: the MaaS generation when the cluster's evidence does not decide it (`--maas`). */
  maas?: 'tier' | 'subscription';
}

export interface UpOptions {
  /** Step 3a (a vLLM provider); undefined: the target's default (on locally, off on a cluster). */
  vllm?: boolean;
  /** Local: a real vLLM instead of the simulator. */
  vllmUrl?: string;
  /** Cluster: the remote vLLM host of the XBackendDestination. */
  vllmHost?: string;
  /** Local: faults to plant once the healthy topology is ready. */
  faults: string[];
  /** Local: run these objects instead of the rendered steps (`--from FILE`). */
  from?: { source: string; objects: K8sObject[] };
  strictBudget: boolean;
  /** Local: close the tier era's exposures (see `harden` in model/topology.ts); a cluster refuses it. */
  hardened?: boolean;
  /** Cluster: validate every object on the server, change nothing. */
  dryRun: boolean;
  /** Per-wait readiness timeout; undefined: the target's default (10 s locally, each wait's own on a cluster). */
  timeoutMs?: number;
  /** Cluster: wg-ai-gateway checkout holding the XBackendDestination CRD. */
  wgDir?: string;
  skipCrds: boolean;
  simulatorImage?: string;
  /** The MaaS generation to run (`--maas`); undefined: what is running, else what `--from` holds, else the tier era. */
  maas?: GenerationId;
  /** Subscription era: an existing PostgreSQL for the API keys (upstream's DB_CONNECTION_URL). */
  databaseUrl?: string;
  /** Subscription era: providers pointed at real endpoints (`--provider NAME=URL`, `--provider-ca-file`). */
  providers?: ProviderOverride[];
  /** Cluster: take fields other field managers own (kubectl's --force-conflicts). */
  forceConflicts?: boolean;
}

export interface DownOptions {
  timeoutMs?: number;
}

export interface SessionOptions {
  /** Open a partly running install (doctor diagnoses it; validate refuses). */
  allowBroken?: boolean;
  /** How long a fix may wait for what it changed to be ready. */
  fixTimeoutMs?: number;
}

export interface Target {
  readonly kind: TargetKind;
  /** The steps `up` runs with these options, for a UI to draw up front. */
  plan(opts: UpOptions): { id: string; title: string }[] | Promise<{ id: string; title: string }[]>;
  up(opts: UpOptions, signal: AbortSignal): AsyncIterable<EventInput>;
  down(opts: DownOptions, signal: AbortSignal): AsyncIterable<EventInput>;
  /** What a shell needs to run the seed's curl lines by hand (HOST, CA_FILE, CLUSTER_TOKEN, VLLM_URL). */
  env(): Promise<Record<string, string>>;
  /** The MaaS generation the running install is (absent: this target only runs the tier era). */
  generation?(): Promise<GenerationId>;
  open(opts?: SessionOptions): Promise<TargetSession>;
}

/**
 * A fix as a target can carry it out: the reviewable patch, how many objects it changes (0: nothing to
 * do, already as proposed), and the change itself as steps, returning what is still not ready.
 */
export interface FixProposal {
  patch: string;
  changes: number;
  apply(signal: AbortSignal): AsyncGenerator<EventInput, string[]>;
}

/** A change a fix proposes, in the two forms targets act on. */
export interface FixRequest {
  summary: string;
  /** The objects to put back as `demo up` renders them (a cluster). */
  objects?: ObjectName[];
  /** Edits of the topology model (a local topology reprograms the hops that serve the edited parts). */
  edits?: SpecEdit[];
  /** The objects as they should be (the subscription era's fixes are object patches): applied over the install's. */
  apply?: K8sObject[];
}

export interface SpecEdit {
  part: keyof TopologySpec;
  edit: (spec: Partial<TopologySpec>) => void;
}

/** The running install as validate and doctor see it. */
export interface TargetSession {
  readonly kind: TargetKind;
  readonly cfg: DemoConfig;
  /** The MaaS generation the install runs (absent: the tier era); validate and doctor pick their catalog by it. */
  readonly generation?: GenerationId;
  endpoint(): Promise<Endpoint>;
  /** The cluster user's token (`oc whoami -t`, or the local stand-in). */
  clusterToken(): Promise<Secret>;
  /** Providers deployed (vLLM only with step 3a). */
  providers(): DemoConfig['providers'];
  /** Direct URL of the vLLM server for call 9, when known. */
  vllmDirectUrl(): Promise<string | undefined>;
  /** What each hop reported for a request id; empty where hops cannot be asked (a cluster). */
  hopRecords(requestId: string): Promise<HopRecord[]>;
  routeModel(): Promise<RouteModel>;
  budget(userid: string, tier: string): Promise<BudgetRecord | undefined>;
  /** The configuration objects in the topology model's shape (a cluster: read from its objects). */
  topology(): Promise<Partial<TopologySpec>>;
  /** Install-level facts: running hops, controller image, policy status, … */
  installFacts(): Promise<InstallFact[]>;
  /** The objects the install runs, read as a cluster serves them (doctor names the object and field at fault). */
  objects(): ObjectSource;
  /**
   * The objects live in a Kubernetes API server that kubectl reaches (fixes then also print the kubectl
   * lines); false where a state directory stands in for it.
   */
  readonly apiServer: boolean;
  /** True when this target can carry out fixes (doctor offers `--fix`); otherwise they are printed. */
  readonly fixable: boolean;
  /** What carrying out a fix would change here; undefined when this target cannot act on its form. */
  proposeFix(fix: FixRequest): Promise<FixProposal | undefined>;
  /**
   * A private install only (the doctor self-test): run exactly this topology and forget every counter.
   * Absent where the install is shared or not ours to rewrite.
   */
  rehearse?: {
    program(spec: TopologySpec): Promise<void>;
    /** Runs exactly these objects (processes included), waiting for nothing; resolves whether anything changed. */
    apply(objects: K8sObject[]): Promise<boolean>;
    /** The objects it runs now. */
    objects(): K8sObject[];
    resetCounters(): Promise<void>;
  };
  /**
   * A token for any service account with the gateway's audience, as a TokenRequest gives one (doctor's
   * probes of tier-less tokens and of streams, with identities of their own). Absent where doctor
   * cannot make one.
   */
  serviceAccountToken?(namespace: string, name: string): Promise<Secret>;
  close(): Promise<void>;
}
