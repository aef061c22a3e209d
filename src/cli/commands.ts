/**
 * The command table: names, summaries, examples and flags as data. Only this table and the flag
 * parser load for `--help`; each command's implementation is imported when it runs.
 */

export interface FlagDef {
  name: string;
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. FILE. */
  arg?: string;
  describe: string;
  /** Environment twin, e.g. DEMO_TARGET. */
  env?: string;
  choices?: readonly string[];
}

export interface CommandDef {
  name: string;
  summary: string;
  usage: string;
  examples: string[];
  flags: FlagDef[];
  /** Positional arguments allowed (replay takes FILE). */
  positionals?: { name: string; required: boolean };
}

export const globalFlags: FlagDef[] = [
  { name: 'target', type: 'string', arg: 'local|cluster', describe: 'where the demo runs (default local)', env: 'DEMO_TARGET', choices: ['local', 'cluster'] },
  {
    name: 'output',
    short: 'o',
    type: 'string',
    arg: 'MODE',
    describe: 'auto|tui|plain|json|ndjson (auto: TUI on a terminal outside CI, plain otherwise)',
    env: 'DEMO_OUTPUT',
    choices: ['auto', 'tui', 'plain', 'json', 'ndjson'],
  },
  { name: 'record', type: 'string', arg: 'FILE', describe: 'write the event stream (masked) to FILE for replay', env: 'DEMO_RECORD' },
  { name: 'junit', type: 'string', arg: 'FILE', describe: 'also write JUnit XML results to FILE' },
  { name: 'config', type: 'string', arg: 'FILE', describe: 'JSON or YAML file overriding names, keys, models, tiers and limits', env: 'DEMO_CONFIG' },
  { name: 'context', type: 'string', arg: 'NAME', describe: 'kubeconfig context (cluster target)', env: 'DEMO_CONTEXT' },
  { name: 'kubeconfig', type: 'string', arg: 'FILE', describe: 'kubeconfig file (cluster target; KUBECONFIG is honoured)' },
  { name: 'interactive', type: 'boolean', describe: 'keep the TUI open after the run to browse traces (q quits)' },
  { name: 'no-color', type: 'boolean', describe: 'no colour (NO_COLOR is honoured too)' },
  { name: 'debug', type: 'boolean', describe: 'show stack traces of unexpected errors' },
  { name: 'help', short: 'h', type: 'boolean', describe: 'show help' },
  { name: 'version', short: 'v', type: 'boolean', describe: 'print the version' },
];

const tlsFlags: FlagDef[] = [
  { name: 'ca-file', type: 'string', arg: 'FILE', describe: 'CA bundle to verify the MaaS gateway (cluster target)' },
  { name: 'insecure', type: 'boolean', describe: 'skip TLS verification of the MaaS gateway (cluster target; said loudly)' },
];

export const commands: CommandDef[] = [
  {
    name: 'up',
    summary: 'deploy steps 1–5 (and 3a) and wait until each is ready',
    usage: 'demo up [flags]',
    examples: ['demo up', 'demo up --no-vllm', 'demo up --target cluster --vllm-host vllm.example.com', 'demo up --fault wrong-key'],
    flags: [
      { name: 'vllm', type: 'boolean', describe: 'include step 3a, the vLLM provider (default: on locally, off on a cluster)' },
      { name: 'no-vllm', type: 'boolean', describe: 'leave step 3a out' },
      { name: 'vllm-url', type: 'string', arg: 'URL', describe: 'point the vllm provider at a real vLLM (local target)' },
      { name: 'vllm-host', type: 'string', arg: 'HOST', describe: 'remote vLLM host for the XBackendDestination (cluster target)' },
      { name: 'vllm-key-file', type: 'string', arg: 'FILE', describe: 'file holding the vLLM API key (or env VLLM_API_KEY)' },
      { name: 'fault', type: 'string', multiple: true, arg: 'NAME', describe: 'plant a known fault in the local topology (see `demo doctor --self-test`)' },
      { name: 'strict-budget', type: 'boolean', describe: 'reserve max_tokens at admission (local; not what Limitador does)' },
      { name: 'dry-run', type: 'boolean', describe: 'print what would be applied, change nothing (cluster target)' },
      { name: 'wg-dir', type: 'string', arg: 'DIR', describe: 'wg-ai-gateway clone (prototypes/backend-control-plane) for the XBackendDestination CRD', env: 'WG_DIR' },
      { name: 'skip-crds', type: 'boolean', describe: 'do not install the XBackendDestination CRD (it is installed already; cluster target)' },
      { name: 'simulator-image', type: 'string', arg: 'IMAGE', describe: 'prebuilt provider simulator image instead of node + ConfigMap' },
      { name: 'timeout', type: 'string', arg: 'SECONDS', describe: 'readiness timeout per wait (default 120 on a cluster, 10 locally)' },
    ],
  },
  {
    name: 'validate',
    summary: 'mint a token and run validation calls 1–10 with a per-hop trace of each',
    usage: 'demo validate [flags]',
    examples: ['demo validate', 'demo validate --skip 10', 'demo validate --only 4,5 --output json', 'demo validate --junit results.xml'],
    flags: [
      { name: 'only', type: 'string', arg: 'IDS', describe: 'run only these calls, e.g. 4,5' },
      { name: 'skip', type: 'string', arg: 'IDS', describe: 'skip these calls, e.g. 10' },
      { name: 'token', type: 'string', arg: 'TOKEN', describe: 'cluster user token (else kubeconfig user, else `oc whoami -t`)', env: 'DEMO_TOKEN' },
      ...tlsFlags,
    ],
  },
  {
    name: 'doctor',
    summary: 'diagnose URL rewrites, key injection, rate limits and the install under them',
    usage: 'demo doctor [flags]',
    examples: ['demo doctor', 'demo doctor --category rewrites', 'demo doctor --probe-rate-limit', 'demo doctor --self-test', 'demo doctor --fix'],
    flags: [
      { name: 'category', type: 'string', multiple: true, arg: 'NAME', describe: 'install|rewrites|key-injection|rate-limits|model-listing|exposure' },
      { name: 'probe-rate-limit', type: 'boolean', describe: 'spend the token budget on purpose to confirm 429s arrive' },
      { name: 'fix', type: 'boolean', describe: 'apply the proposed fixes after confirmation, then re-run the failed checks' },
      { name: 'yes', short: 'y', type: 'boolean', describe: 'answer yes to --fix confirmations' },
      { name: 'timeout', type: 'string', arg: 'SECONDS', describe: 'cluster --fix: how long to wait for a restored object to be ready (default 60)' },
      { name: 'fail-on', type: 'string', arg: 'LEVEL', describe: 'error (default) or warning', choices: ['error', 'warning'] },
      { name: 'self-test', type: 'boolean', describe: 'plant each known fault locally, run doctor, print the score' },
      { name: 'token', type: 'string', arg: 'TOKEN', describe: 'cluster user token', env: 'DEMO_TOKEN' },
      ...tlsFlags,
    ],
  },
  {
    name: 'down',
    summary: 'tear everything down; nothing left behind, nothing else touched',
    usage: 'demo down [flags]',
    examples: ['demo down', 'demo down --target cluster'],
    flags: [{ name: 'timeout', type: 'string', arg: 'SECONDS', describe: 'how long to wait for objects to be gone' }],
  },
  {
    name: 'env',
    summary: 'print shell export lines (HOST, CA_FILE, CLUSTER_TOKEN, VLLM_URL) for the running target',
    usage: 'eval "$(demo env)"',
    examples: ['eval "$(demo env)"'],
    flags: [],
  },
  {
    name: 'manifests',
    summary: "render every step's objects as multi-document YAML (no cluster needed; keys masked unless --reveal-keys)",
    usage: 'demo manifests [flags]',
    examples: ['demo manifests', 'demo manifests --vllm-host vllm.example.com > demo.yaml'],
    flags: [
      { name: 'vllm', type: 'boolean', describe: 'include step 3a' },
      { name: 'vllm-host', type: 'string', arg: 'HOST', describe: 'remote vLLM host' },
      { name: 'step', type: 'string', arg: 'ID', describe: 'only this step (1, 2, 3, 3a, 4, 5)' },
      { name: 'reveal-keys', type: 'boolean', describe: 'print real provider keys (for piping to kubectl)' },
      { name: 'simulator-image', type: 'string', arg: 'IMAGE', describe: 'prebuilt provider simulator image' },
    ],
  },
  {
    name: 'replay',
    summary: 'replay a recording in the same renderers, with no cluster and no local topology',
    usage: 'demo replay FILE [--speed N] [--to-asciicast OUT.cast]',
    examples: ['demo replay recordings/validate.ndjson', 'demo replay recordings/up.ndjson --speed 4', 'demo replay run.ndjson --to-asciicast run.cast'],
    flags: [
      { name: 'speed', type: 'string', arg: 'N', describe: 'replay N times faster (0 = no delays)' },
      { name: 'to-asciicast', type: 'string', arg: 'FILE', describe: 'export asciicast v2 instead of replaying' },
    ],
    positionals: { name: 'FILE', required: true },
  },
  {
    name: 'tour',
    summary: 'walk through up, validate, doctor and down, explaining each step',
    usage: 'demo tour',
    examples: ['demo tour'],
    flags: [],
  },
];

export function findCommand(name: string): CommandDef | undefined {
  return commands.find((c) => c.name === name);
}
