// The rehearsal cluster on the command line: `npm run kube-api -- --preset tier|subscription|bare --kubeconfig FILE`.
// Starts the Kubernetes API test server in the foreground with a preset seeded and settled, writes a kubeconfig for
// it once it is ready, and stops on Ctrl-C or SIGTERM. It is a stand-in for rehearsing the demo's flow (kubectl and
// the demo's cluster target talk to it as to a cluster), not a cluster: nothing runs in its pods.
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { crdsDir, isPresetName, MissingPrerequisiteError, PRESETS } from './seed.js';
import { defaultCrdsDirFromRepository } from './repository.js';
import { startKubeApi, type KubeApi } from './server.js';

const USAGE = `usage: npm run kube-api -- --preset tier|subscription|bare --kubeconfig FILE [options]

A stand-in Kubernetes API server for rehearsing the demo's cluster flow; it runs no workloads.

  --preset NAME            tier          OpenShift with tier-era MaaS (what the seed demo was written for)
                           subscription  OpenShift with current MaaS (API keys, subscriptions, MaaS CRDs)
                           bare          OpenShift without MaaS
  --kubeconfig FILE        where to write the kubeconfig once the server is ready (required)
  --context NAME           context name in that kubeconfig (default: rehearsal)
  --namespace NS           default namespace of that context (default: default)
  --port N                 port on 127.0.0.1 (default: any free port)
  --domain DOMAIN          the cluster's apps domain (default: apps.demo.example.com)
  --controller-delay-ms N  how long each simulated controller step takes (default: 60)
  --request-log FILE       append every request served as one JSON line (for counting requests)
  --log                    print every request to stderr
  -h, --help               this text

The upstream CRDs are read at start-up from $MAAS_EGRESS_DEMO_CRDS_DIR, else from shared/crds beside the repository.`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

interface Options {
  preset: keyof typeof PRESETS;
  kubeconfig: string;
  context: string;
  namespace: string;
  port: number;
  domain?: string;
  delayMs?: number;
  requestLog?: string;
  log: boolean;
}

function intOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}; got "${raw}"`, `e.g. --${name} ${min === 0 ? 0 : min}`);
  return n;
}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        preset: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string' },
        port: { type: 'string' },
        domain: { type: 'string' },
        'controller-delay-ms': { type: 'string' },
        'request-log': { type: 'string' },
        log: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!, 'run `npm run kube-api -- --help` for the options');
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!v.preset) throw new UsageError('--preset is required', 'e.g. --preset tier (or subscription, bare)');
  if (!isPresetName(v.preset)) throw new UsageError(`unknown preset "${v.preset}"`, `pick one of: ${Object.keys(PRESETS).join(', ')}`);
  if (!v.kubeconfig) throw new UsageError('--kubeconfig FILE is required: the server writes its kubeconfig there once ready', 'e.g. --kubeconfig /tmp/rehearsal.kubeconfig, then KUBECONFIG=/tmp/rehearsal.kubeconfig kubectl get ns');
  const kubeconfig = resolve(v.kubeconfig);
  if (existsSync(kubeconfig) && !readFileSync(kubeconfig, 'utf8').includes('name: kube-api-test')) {
    throw new UsageError(`${kubeconfig} exists and is not a kubeconfig this server wrote; refusing to overwrite it`, 'give a new file, e.g. --kubeconfig /tmp/rehearsal.kubeconfig');
  }
  return {
    preset: v.preset,
    kubeconfig,
    context: v.context ?? 'rehearsal',
    namespace: v.namespace ?? 'default',
    port: intOption('port', v.port, 0, 65535) ?? 0,
    ...(v.domain ? { domain: v.domain } : {}),
    ...(v['controller-delay-ms'] !== undefined ? { delayMs: intOption('controller-delay-ms', v['controller-delay-ms'], 0, 60_000) } : {}),
    ...(v['request-log'] ? { requestLog: resolve(v['request-log']) } : {}),
    log: Boolean(v.log),
  };
}

async function run(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  crdsDir(); // fail before starting anything when the CRDs are not there
  let requestLog: WriteStream | undefined;
  let api: KubeApi;
  try {
    api = await startKubeApi({
      port: o.port,
      log: o.log,
      ...(o.delayMs !== undefined ? { controllerDelayMs: o.delayMs } : {}),
      ...(o.domain ? { domain: o.domain } : {}),
      preset: o.domain ? { ...PRESETS[o.preset], domain: o.domain } : o.preset,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new UsageError(`port ${o.port} on 127.0.0.1 is in use`, 'pick another --port, or leave it out for any free port');
    throw err;
  }
  if (o.requestLog) {
    requestLog = createWriteStream(o.requestLog, { flags: 'a' });
    api.onRequest = (r) => requestLog!.write(`${JSON.stringify(r)}\n`);
  }
  await api.writeKubeconfig(o.kubeconfig, { context: o.context, namespace: o.namespace });
  process.stdout.write(
    [
      `rehearsal cluster (preset ${o.preset}) serving at ${api.url} — a stand-in API server for rehearsing the flow; no workload runs`,
      `kubeconfig: ${o.kubeconfig} (context ${o.context})`,
      `try: KUBECONFIG=${o.kubeconfig} kubectl get deployments -A`,
      ...(o.requestLog ? [`request log: ${o.requestLog}`] : []),
      'stop with Ctrl-C',
      '',
    ].join('\n'),
  );
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        done(signal === 'SIGINT' ? 130 : 143);
        return;
      }
      stopping = true;
      process.stdout.write(`${signal === 'SIGINT' ? '\n' : ''}stopping the rehearsal cluster\n`);
      void api
        .close()
        .then(() => new Promise<void>((r) => (requestLog ? requestLog.end(r) : r())))
        .then(() => done(0), () => done(1));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

defaultCrdsDirFromRepository();
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nhint: ${err.hint}\n`);
      process.exit(2);
    }
    if (err instanceof MissingPrerequisiteError) {
      const [what, how] = err.message.split('. To fix: ');
      process.stderr.write(`error: ${what}\n${how ? `hint: ${how}\n` : ''}`);
      process.exit(2);
    }
    process.stderr.write(`error: ${(err as Error).message ?? String(err)}\nhint: run again with KUBE_API_DEBUG=1 for the details\n`);
    if (process.env['KUBE_API_DEBUG']) console.error(err);
    process.exit(1);
  },
);
