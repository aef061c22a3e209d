/**
 * inference-sim: the on-prem model server in the role of llm-d-inference-sim (the image the MaaS sample
 * LLMInferenceService runs). No authentication (the MaaS gateway does it), exact paths, vLLM-style
 * errors, `random` or `echo` completions, optional TLS like the KServe-mounted certificate.
 *
 * Program: `node inference-sim.js --port 8000 --model facebook/opt-125m --mode random`; with env
 * POD_NAME / POD_NAMESPACE set, responses say which pod answered (`x-inference-*` headers).
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { INFERENCE_HEADERS, SIM_HEADERS } from './headers.js';
import { answerGeneration, randomInt, readGenerationRequest, takeWords, usageOf, type Generation, type GenerationKind } from './completions.js';
import {
  MAX_BODY_BYTES,
  answering,
  hardenServer,
  headerString,
  jsonInternalError,
  listen,
  matchRoute,
  replyAfterBody,
  safeText,
  sendJson,
  type Server,
} from './http-server.js';
import { SIM_SERVER_LIMITS, UsageError, intFlag, isMain, parseFlags, readFlagFile, runCli, runningSim, stringFlag, type RunningSim } from './sim-program.js';

export type InferenceMode = 'random' | 'echo';

export interface InferenceSimOptions {
  /** The model served (`--model`, required). */
  model: string;
  /** Further names the same model answers to (`--served-model-name`). */
  servedModelNames?: string[];
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 in a pod. */
  host?: string;
  /** `random` (default): canned words; `echo`: the last user message. */
  mode?: InferenceMode;
  /** Delay before the first token (stream) or part of the total delay (non-stream). */
  timeToFirstTokenMs?: number;
  /** Delay between tokens. */
  interTokenLatencyMs?: number;
  /** Defaults to env POD_NAME; with it or `podNamespace`, responses carry the `x-inference-*` headers. */
  podName?: string;
  /** Defaults to env POD_NAMESPACE. */
  podNamespace?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Access log sink, one line per response. */
  log?: (line: string) => void;
}

export const INFERENCE_SIM_DEFAULTS = {
  host: '127.0.0.1',
  mode: 'random',
  timeToFirstTokenMs: 0,
  interTokenLatencyMs: 0,
} as const satisfies Partial<InferenceSimOptions>;

/** Upper bound of a random completion when the request sets no `max_tokens`. */
const DEFAULT_RANDOM_TOKENS = 24;

const SENTENCES = [
  'The on-prem simulator wrote these words without loading any model weights.',
  'Tokens here are drawn from a short list of fixed sentences for testing.',
  'Requests to this model pass the MaaS gateway only, never the egress gateway.',
  'A real deployment would run vLLM on a GPU instead of this simulator.',
] as const;

interface Config {
  model: string;
  names: string[];
  mode: InferenceMode;
  ttftMs: number;
  itlMs: number;
  created: number;
  whoHeaders: Record<string, string>;
  log: ((line: string) => void) | undefined;
}

type RouteKind = 'health' | 'models' | 'chat' | 'completion';
const ROUTES = new Map<string, { kind: RouteKind; method: 'GET' | 'POST' }>([
  ['/health', { kind: 'health', method: 'GET' }],
  ['/ready', { kind: 'health', method: 'GET' }],
  ['/v1/models', { kind: 'models', method: 'GET' }],
  ['/v1/chat/completions', { kind: 'chat', method: 'POST' }],
  ['/v1/completions', { kind: 'completion', method: 'POST' }],
]);

function vllmError(status: number, type: string, message: string): unknown {
  return { error: { message, type, code: status } };
}

async function generate(req: IncomingMessage, res: ServerResponse, cfg: Config, kind: GenerationKind): Promise<void> {
  const request = await readGenerationRequest(req, res, kind, {
    tooLarge: vllmError(413, 'BadRequestError', `Request body too large: the limit is ${MAX_BODY_BYTES} bytes.`),
    invalid: (message) => vllmError(400, 'BadRequestError', message),
  });
  if (request === undefined) return;
  const model = request.model ?? cfg.model;
  if (!cfg.names.includes(model)) {
    sendJson(res, 404, vllmError(404, 'NotFoundError', `The model \`${safeText(model, 200)}\` does not exist.`));
    return;
  }

  const max = request.maxTokens;
  let words: string[];
  if (cfg.mode === 'echo') {
    const all = request.lastUserText.split(/\s+/).filter((word) => word !== '');
    words = max === undefined ? all : all.slice(0, max);
  } else {
    words = takeWords(SENTENCES, randomInt(1, max ?? DEFAULT_RANDOM_TOKENS), randomInt(0, SENTENCES.length - 1));
  }
  const generation: Generation = {
    kind,
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    words,
    finishReason: max !== undefined && words.length >= max ? 'length' : 'stop',
    usage: usageOf(request.promptTokens, words.length),
  };
  await answerGeneration(res, generation, request, {
    firstMs: cfg.ttftMs,
    betweenMs: cfg.itlMs,
    wholeDelayMs: cfg.ttftMs + cfg.itlMs * Math.max(0, words.length - 1),
  }, { kv_transfer_params: null });
}

async function handle(req: IncomingMessage, res: ServerResponse, cfg: Config): Promise<void> {
  const started = Date.now();
  const target = req.url ?? '';
  const method = req.method ?? 'GET';
  const { route, methodOk, allow } = matchRoute(ROUTES, target, method);

  for (const [name, value] of Object.entries(cfg.whoHeaders)) res.setHeader(name, value);
  res.setHeader(SIM_HEADERS.path, safeText(target));
  res.setHeader(SIM_HEADERS.requestId, safeText(headerString(req, 'x-request-id') ?? '', 200));
  if (cfg.log) {
    const log = cfg.log;
    res.once('finish', () => {
      log(`inference-sim ${safeText(method, 20)} ${safeText(target, 200)} ${res.statusCode} ${Date.now() - started}ms`);
    });
  }

  if (route === undefined) {
    return replyAfterBody(req, res, 404, vllmError(404, 'NotFoundError', `Route ${safeText(method, 20)} ${safeText(target, 200)} not found.`));
  }
  if (!methodOk) {
    res.setHeader('allow', allow);
    return replyAfterBody(req, res, 405, vllmError(405, 'MethodNotAllowed', 'Method Not Allowed'));
  }
  switch (route.kind) {
    case 'health':
      return replyAfterBody(req, res, 200, {});
    case 'models':
      return replyAfterBody(req, res, 200, {
        object: 'list',
        data: cfg.names.map((id) => ({ id, object: 'model', created: cfg.created, owned_by: 'vllm', root: cfg.model, parent: null })),
      });
    case 'chat':
    case 'completion':
      return generate(req, res, cfg, route.kind);
  }
}

/** Starts inference-sim in this process. */
export async function startInferenceSim(options: InferenceSimOptions): Promise<RunningSim> {
  if (!options.model) throw new UsageError('--model is required');
  const mode = options.mode ?? INFERENCE_SIM_DEFAULTS.mode;
  if (mode !== 'random' && mode !== 'echo') throw new UsageError('--mode must be random or echo');
  const ttftMs = options.timeToFirstTokenMs ?? INFERENCE_SIM_DEFAULTS.timeToFirstTokenMs;
  const itlMs = options.interTokenLatencyMs ?? INFERENCE_SIM_DEFAULTS.interTokenLatencyMs;
  if (!(ttftMs >= 0) || !(itlMs >= 0)) throw new UsageError('latencies must not be negative');

  const cfg: Config = {
    model: options.model,
    names: [...new Set([options.model, ...(options.servedModelNames ?? [])])],
    mode,
    ttftMs,
    itlMs,
    created: Math.floor(Date.now() / 1000),
    whoHeaders: {},
    log: options.log,
  };
  const handler = answering((req, res) => handle(req, res, cfg), jsonInternalError(vllmError(500, 'InternalServerError', 'Internal simulator error.'), { connection: 'close' }));
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : createHttpServer(handler);
  hardenServer(server, SIM_SERVER_LIMITS);
  const port = await listen(server, options.port ?? 0, options.host ?? INFERENCE_SIM_DEFAULTS.host);

  const pod = options.podName ?? process.env.POD_NAME;
  const namespace = options.podNamespace ?? process.env.POD_NAMESPACE;
  if (pod) cfg.whoHeaders[INFERENCE_HEADERS.pod] = safeText(pod, 253);
  if (namespace) cfg.whoHeaders[INFERENCE_HEADERS.namespace] = safeText(namespace, 253);
  if (pod || namespace) cfg.whoHeaders[INFERENCE_HEADERS.port] = String(port);
  return runningSim(server, port);
}

// ---------------------------------------------------------------------------------------------------
// Program

const USAGE = `usage: inference-sim --model MODEL [--served-model-name NAME]... [--port N] [--host ADDR]
                     [--mode random|echo] [--time-to-first-token MS] [--inter-token-latency MS]
                     [--ssl-certfile FILE --ssl-keyfile FILE] [--port-file FILE] [--quiet]`;

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  model: { type: 'string' },
  'served-model-name': { type: 'string', multiple: true },
  mode: { type: 'string' },
  'time-to-first-token': { type: 'string' },
  'inter-token-latency': { type: 'string' },
  'ssl-certfile': { type: 'string' },
  'ssl-keyfile': { type: 'string' },
  'port-file': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface InferenceSimArgs extends InferenceSimOptions {
  portFile?: string;
  quiet: boolean;
  help: boolean;
}

/** Parses the command line; `--served-model-name` may repeat or hold comma-separated names. */
export function parseInferenceSimArgs(argv: readonly string[]): InferenceSimArgs {
  const values = parseFlags(argv, FLAGS);
  const help = values.help === true;
  const model = stringFlag(values.model) ?? '';
  if (model === '' && !help) throw new UsageError('--model is required');
  const mode = stringFlag(values.mode) ?? INFERENCE_SIM_DEFAULTS.mode;
  if (mode !== 'random' && mode !== 'echo') throw new UsageError('--mode must be random or echo');
  const served = (Array.isArray(values['served-model-name']) ? values['served-model-name'] : [])
    .flatMap((item) => item.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const args: InferenceSimArgs = {
    model,
    servedModelNames: served,
    port: intFlag(values.port, 'port', 0, 0, 65535),
    host: stringFlag(values.host) ?? INFERENCE_SIM_DEFAULTS.host,
    mode,
    timeToFirstTokenMs: intFlag(values['time-to-first-token'], 'time-to-first-token', 0, 0, 600_000),
    interTokenLatencyMs: intFlag(values['inter-token-latency'], 'inter-token-latency', 0, 0, 60_000),
    quiet: values.quiet === true,
    help,
  };
  const certFile = stringFlag(values['ssl-certfile']);
  const keyFile = stringFlag(values['ssl-keyfile']);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--ssl-certfile and --ssl-keyfile go together');
  }
  if (certFile !== undefined && keyFile !== undefined) {
    args.tls = { cert: readFlagFile(certFile, '--ssl-certfile'), key: readFlagFile(keyFile, '--ssl-keyfile') };
  }
  const portFile = stringFlag(values['port-file']);
  if (portFile !== undefined) args.portFile = portFile;
  return args;
}

/** The program: parse, start, report the port, run until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  await runCli('inference-sim', async () => {
    const args = parseInferenceSimArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const log = args.quiet ? undefined : (line: string) => process.stdout.write(`${line}\n`);
    const sim = await startInferenceSim({ ...args, ...(log ? { log } : {}) });
    return {
      sim,
      ...(args.portFile !== undefined ? { portFile: args.portFile } : {}),
      banner: (port: number) =>
        `inference-sim serving ${[args.model, ...(args.servedModelNames ?? [])].join(', ')} (${args.mode}) on ${
          args.tls ? 'https' : 'http'}://${args.host}:${port}`,
    };
  });
}

if (isMain(import.meta.url)) void main();
