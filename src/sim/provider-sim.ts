/**
 * provider-sim: a stand-in for an external model provider behind the egress gateway.
 *
 * Two styles: `provider` answers like OpenAI (key in a configurable header, default X-Provider-Api-Key,
 * OpenAI error shapes) and `vllm` like a vLLM server started with `--api-key` (`Authorization: Bearer`,
 * FastAPI/vLLM error shapes). Unlike the seed demo's simulator it matches paths exactly, so a prefix the
 * gateways failed to strip or a double slash left by a rewrite gets the same 404 a real provider gives.
 * Every response carries the echo headers of `headers.ts`, which show what arrived without showing a key.
 *
 * A third style, `anthropic`, speaks Anthropic's own Messages API (`POST /v1/messages` with
 * `x-api-key` and `anthropic-version`, Anthropic's error envelope and its SSE event sequence), so a
 * gateway must translate an OpenAI request for it. Any style can serve HTTPS with a certificate its
 * own CA signed (`--tls-cert/--tls-key`), as a public provider does; without them it serves plain HTTP
 * (the remote-vLLM case).
 *
 * Program: `node provider-sim.js --port 8000 --name openai --model gpt-4` with the key in env
 * PROVIDER_API_KEY or in the file named by `--api-key-file` (never on the command line).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { handleAnthropic } from './anthropic-sim.js';
import { type KeyStatus } from './headers.js';
import { answerGeneration, randomInt, readGenerationRequest, takeWords, usageOf, type Generation, type GenerationKind } from './completions.js';
import { FINGERPRINT_KEY_ENV, echoReceived } from './echo-headers.js';
import {
  MAX_BODY_BYTES,
  answering,
  hardenServer,
  headerString,
  jsonInternalError,
  keysEqual,
  listen,
  matchRoute,
  replyAfterBody,
  responseClosedSignal,
  safeText,
  sendJson,
  sleep,
} from './http-server.js';
import { SIM_SERVER_LIMITS, UsageError, intFlag, isMain, parseFlags, readFlagFile, rejectFlag, runCli, runningSim, stringFlag, type RunningSim } from './sim-program.js';

export type ProviderStyle = 'provider' | 'vllm' | 'anthropic';

const STYLES: readonly ProviderStyle[] = ['provider', 'vllm', 'anthropic'];

export interface ProviderSimOptions {
  /** The key requests must carry. A `Secret` (anything with `reveal()`) is accepted as well as a string. */
  apiKey: string | { reveal(): string };
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 in a pod. */
  host?: string;
  /** Provider name shown in `x-sim-provider` and `/v1/models` `owned_by`. Default `provider-sim`. */
  name?: string;
  /** The one model served. Default `gpt-4`. */
  model?: string;
  /**
   * Header carrying the key in `provider` style (default `x-provider-api-key`). With `authorization`
   * the value may be `Bearer <key>`. The `vllm` style always reads `Authorization: Bearer <key>`.
   */
  keyHeader?: string;
  style?: ProviderStyle;
  /** Added before every `/v1/...` answer; streams wait this long before the first chunk. */
  latencyMs?: number;
  /** An outage: every model and generation request is answered with this status (500, 502, 503, 529). */
  failStatus?: number;
  /** Access log sink, one line per response (never contains keys or Authorization values). */
  log?: (line: string) => void;
  /** Serve HTTPS with this PEM certificate chain and key (e.g. signed by the simulator's own CA). */
  tls?: { cert: string; key: string };
  /** The install's fingerprint key: `x-sim-key-fp` is then an HMAC (program: env SIM_FINGERPRINT_KEY). */
  fingerprintKey?: string;
}

export const PROVIDER_SIM_DEFAULTS = {
  host: '127.0.0.1',
  name: 'provider-sim',
  model: 'gpt-4',
  keyHeader: 'x-provider-api-key',
  style: 'provider',
  latencyMs: 0,
} as const satisfies Partial<ProviderSimOptions>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Canned answers; a completion takes as many words from them as it has completion tokens. */
const SENTENCES = [
  'This answer was produced by the provider simulator behind the egress gateway.',
  'Your request reached the simulated provider and its API key was accepted.',
  'No model ran here; the words only exist so that token usage can be counted.',
  'The gateway chain delivered this call to the provider as expected.',
] as const;

interface Config {
  key: string;
  name: string;
  model: string;
  keyHeader: string;
  keyHeaderDisplay: string;
  style: ProviderStyle;
  latencyMs: number;
  failStatus?: number;
  created: number;
  log: ((line: string) => void) | undefined;
  fingerprintKey: string | undefined;
}

type RouteKind = 'health' | 'models' | 'chat' | 'completion';
interface Route {
  kind: RouteKind;
  method: 'GET' | 'POST';
  key: boolean;
}
const ROUTES = new Map<string, Route>([
  ['/health', { kind: 'health', method: 'GET', key: false }],
  ['/ready', { kind: 'health', method: 'GET', key: false }],
  ['/v1/models', { kind: 'models', method: 'GET', key: true }],
  ['/v1/chat/completions', { kind: 'chat', method: 'POST', key: true }],
  ['/v1/completions', { kind: 'completion', method: 'POST', key: true }],
]);

/** `X-Provider-Api-Key` from `x-provider-api-key`, for messages. */
function displayHeaderName(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-');
}

/** The key the request carries, as this style reads it; undefined when none arrived. */
function receivedKey(req: IncomingMessage, cfg: Config): string | undefined {
  const headerName = cfg.style === 'vllm' ? 'authorization' : cfg.keyHeader;
  const raw = headerString(req, headerName);
  if (raw === undefined || raw.trim() === '') return undefined;
  if (headerName !== 'authorization') return raw;
  const bearer = /^bearer[ \t]+(.*)$/i.exec(raw.trim());
  return bearer ? (bearer[1] ?? '').trim() : raw;
}

// ---------------------------------------------------------------------------------------------------
// Error bodies, per style

function invalidRequest(cfg: Config, status: number, message: string, param: string | null, code: string | null = null): unknown {
  return cfg.style === 'vllm'
    ? { object: 'error', message, type: 'BadRequestError', param, code: status }
    : { error: { message, type: 'invalid_request_error', param, code } };
}

function unknownRoute(cfg: Config, method: string, target: string): unknown {
  return cfg.style === 'vllm'
    ? { detail: 'Not Found' }
    : { error: { message: `Invalid URL (${method} ${safeText(target, 200)})`, type: 'invalid_request_error', param: null, code: null } };
}

function wrongMethod(cfg: Config, method: string, target: string): unknown {
  return cfg.style === 'vllm'
    ? { detail: 'Method Not Allowed' }
    : {
        error: {
          message: `Invalid method for URL (${method} ${safeText(target, 200)})`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      };
}

function unauthorized(cfg: Config, status: KeyStatus): unknown {
  if (cfg.style === 'vllm') return { error: 'Unauthorized' };
  return status === 'missing'
    ? {
        error: {
          code: 'missing_api_key',
          message: `Missing API key. Set ${cfg.keyHeaderDisplay} header.`,
          type: 'authentication_error',
        },
      }
    : {
        error: {
          code: 'invalid_api_key',
          message: `Invalid API key provided in the ${cfg.keyHeaderDisplay} header.`,
          type: 'authentication_error',
        },
      };
}

function modelNotFound(cfg: Config, model: string): unknown {
  const shown = safeText(model, 200);
  return cfg.style === 'vllm'
    ? { object: 'error', message: `The model \`${shown}\` does not exist.`, type: 'NotFoundError', param: null, code: 404 }
    : {
        error: {
          code: 'model_not_found',
          message: `The model \`${shown}\` does not exist or you do not have access to it.`,
          type: 'invalid_request_error',
          param: null,
        },
      };
}

function internalError(cfg: Config): unknown {
  if (cfg.style === 'anthropic') return { type: 'error', error: { type: 'api_error', message: 'Internal server error' } };
  return cfg.style === 'vllm'
    ? { object: 'error', message: 'Internal simulator error.', type: 'InternalServerError', param: null, code: 500 }
    : { error: { message: 'Internal simulator error.', type: 'server_error', param: null, code: null } };
}

// ---------------------------------------------------------------------------------------------------
// Handlers

async function generate(req: IncomingMessage, res: ServerResponse, cfg: Config, kind: GenerationKind): Promise<void> {
  const request = await readGenerationRequest(req, res, kind, {
    tooLarge: invalidRequest(cfg, 413, `Request body too large: the limit is ${MAX_BODY_BYTES} bytes.`, null, 'request_too_large'),
    invalid: (message, param) => invalidRequest(cfg, 400, message, param),
  });
  if (request === undefined) return;
  if (request.model !== undefined && request.model !== cfg.model) {
    sendJson(res, 404, modelNotFound(cfg, request.model));
    return;
  }

  const planned = randomInt(5, 24);
  const tokens = request.maxTokens === undefined ? planned : Math.min(planned, request.maxTokens);
  const generation: Generation = {
    kind,
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`,
    created: Math.floor(Date.now() / 1000),
    model: cfg.model,
    words: takeWords(SENTENCES, tokens, randomInt(0, SENTENCES.length - 1)),
    finishReason: tokens < planned ? 'length' : 'stop',
    usage: usageOf(request.promptTokens, tokens),
  };
  const between = Math.min(50, Math.round(cfg.latencyMs / 10));
  await answerGeneration(res, generation, request, { firstMs: cfg.latencyMs, betweenMs: between, wholeDelayMs: cfg.latencyMs });
}

async function handle(req: IncomingMessage, res: ServerResponse, cfg: Config): Promise<void> {
  if (cfg.style === 'anthropic') return handleAnthropic(req, res, { ...cfg, sentences: SENTENCES });
  const started = Date.now();
  const target = req.url ?? '';
  const method = req.method ?? 'GET';
  const { route, methodOk, allow } = matchRoute(ROUTES, target, method);

  const key = receivedKey(req, cfg);
  let keyStatus: KeyStatus = 'not-required';
  if (route?.key && methodOk) keyStatus = key === undefined ? 'missing' : keysEqual(key, cfg.key) ? 'ok' : 'invalid';

  const authorization = echoReceived(req, res, { name: cfg.name, key, keyStatus, fingerprintKey: cfg.fingerprintKey });

  if (cfg.log) {
    const log = cfg.log;
    res.once('finish', () => {
      log(`${cfg.name} ${safeText(method, 20)} ${safeText(target, 200)} ${res.statusCode} key=${keyStatus} auth=${authorization} ${Date.now() - started}ms`);
    });
  }

  if (route === undefined) return replyAfterBody(req, res, 404, unknownRoute(cfg, method, target));
  if (!methodOk) {
    res.setHeader('allow', allow);
    return replyAfterBody(req, res, 405, wrongMethod(cfg, method, target));
  }
  if (keyStatus === 'missing' || keyStatus === 'invalid') {
    return replyAfterBody(req, res, 401, unauthorized(cfg, keyStatus));
  }
  // An outage: the provider takes the request, then fails it as its servers do (health still answers).
  if (cfg.failStatus !== undefined && route.kind !== 'health') return replyAfterBody(req, res, cfg.failStatus, internalError(cfg));

  switch (route.kind) {
    case 'health':
      return replyAfterBody(req, res, 200, { status: 'healthy' });
    case 'models':
      await sleep(cfg.latencyMs, responseClosedSignal(res));
      return replyAfterBody(req, res, 200, {
        object: 'list',
        data: [{ id: cfg.model, object: 'model', created: cfg.created, owned_by: cfg.name }],
      });
    case 'chat':
    case 'completion':
      return generate(req, res, cfg, route.kind);
  }
}

/** Starts provider-sim in this process. */
export async function startProviderSim(options: ProviderSimOptions): Promise<RunningSim> {
  const key = typeof options.apiKey === 'string' ? options.apiKey : options.apiKey.reveal();
  if (key === '') throw new UsageError('an API key is required');
  const style = options.style ?? PROVIDER_SIM_DEFAULTS.style;
  if (!STYLES.includes(style)) throw new UsageError('--style must be provider, vllm or anthropic');
  if (style === 'vllm' && options.keyHeader !== undefined && options.keyHeader.toLowerCase() !== 'authorization') {
    throw new UsageError('--key-header does not apply to --style vllm (it always reads Authorization: Bearer)');
  }
  if (style === 'anthropic' && options.keyHeader !== undefined && options.keyHeader.toLowerCase() !== 'x-api-key') {
    throw new UsageError('--key-header does not apply to --style anthropic (it always reads x-api-key)');
  }
  const keyHeader = (style === 'vllm' ? 'authorization' : style === 'anthropic' ? 'x-api-key' : options.keyHeader ?? PROVIDER_SIM_DEFAULTS.keyHeader).toLowerCase();
  if (!HEADER_NAME.test(keyHeader)) throw new UsageError('--key-header must be a header name');
  const latencyMs = options.latencyMs ?? PROVIDER_SIM_DEFAULTS.latencyMs;
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new UsageError('--latency-ms must not be negative');

  const cfg: Config = {
    key,
    name: options.name ?? PROVIDER_SIM_DEFAULTS.name,
    model: options.model ?? PROVIDER_SIM_DEFAULTS.model,
    keyHeader,
    keyHeaderDisplay: displayHeaderName(keyHeader),
    style,
    latencyMs,
    ...(options.failStatus !== undefined ? { failStatus: options.failStatus } : {}),
    created: Math.floor(Date.now() / 1000),
    log: options.log,
    fingerprintKey: options.fingerprintKey || undefined,
  };
  const onRequest = answering((req, res) => handle(req, res, cfg), jsonInternalError(internalError(cfg), { connection: 'close' }));
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);
  hardenServer(server, SIM_SERVER_LIMITS);
  const port = await listen(server, options.port ?? 0, options.host ?? PROVIDER_SIM_DEFAULTS.host);
  return runningSim(server, port);
}

// ---------------------------------------------------------------------------------------------------
// Program

const USAGE = `usage: provider-sim [--port N] [--host ADDR] [--name NAME] [--model MODEL]
                    [--style provider|vllm|anthropic] [--key-header NAME] [--latency-ms N] [--fail-status CODE]
                    [--api-key-file FILE] [--port-file FILE] [--tls-cert FILE --tls-key FILE] [--quiet]
The API key comes from env PROVIDER_API_KEY or --api-key-file, never from the command line.
With env SIM_FINGERPRINT_KEY set, x-sim-key-fp is an HMAC under that key.`;

const FLAGS = {
  'fail-status': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  name: { type: 'string' },
  model: { type: 'string' },
  'key-header': { type: 'string' },
  style: { type: 'string' },
  'latency-ms': { type: 'string' },
  'api-key-file': { type: 'string' },
  'port-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ProviderSimArgs extends ProviderSimOptions {
  portFile?: string;
  quiet: boolean;
  help: boolean;
}

/**
 * Parses the command line and environment into start options. The key is read from `--api-key-file`
 * when given, else from PROVIDER_API_KEY; without one this throws a {@link UsageError}.
 */
export function parseProviderSimArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ProviderSimArgs {
  rejectFlag(argv, '--api-key', '--api-key is not accepted (arguments are visible in ps); set PROVIDER_API_KEY or use --api-key-file FILE');
  const values = parseFlags(argv, FLAGS);
  const help = values.help === true;
  const style = stringFlag(values.style) ?? PROVIDER_SIM_DEFAULTS.style;
  if (!STYLES.includes(style as ProviderStyle)) throw new UsageError('--style must be provider, vllm or anthropic');
  const keyFile = stringFlag(values['api-key-file']);
  const apiKey = keyFile !== undefined ? readFlagFile(keyFile, '--api-key-file').trim() : (env.PROVIDER_API_KEY ?? '').trim();
  if (apiKey === '' && !help) {
    throw new UsageError('no API key: set PROVIDER_API_KEY or pass --api-key-file FILE');
  }
  const args: ProviderSimArgs = {
    apiKey,
    port: intFlag(values.port, 'port', 0, 0, 65535),
    host: stringFlag(values.host) ?? PROVIDER_SIM_DEFAULTS.host,
    name: stringFlag(values.name) ?? PROVIDER_SIM_DEFAULTS.name,
    model: stringFlag(values.model) ?? PROVIDER_SIM_DEFAULTS.model,
    style: style as ProviderStyle,
    latencyMs: intFlag(values['latency-ms'], 'latency-ms', 0, 0, 600_000),
    ...(values['fail-status'] !== undefined ? { failStatus: intFlag(values['fail-status'], 'fail-status', 500, 500, 599) } : {}),
    quiet: values.quiet === true,
    help,
  };
  const keyHeader = stringFlag(values['key-header']);
  if (keyHeader !== undefined) args.keyHeader = keyHeader;
  const portFile = stringFlag(values['port-file']);
  if (portFile !== undefined) args.portFile = portFile;
  const tlsCert = stringFlag(values['tls-cert']);
  const tlsKey = stringFlag(values['tls-key']);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (tlsCert !== undefined && tlsKey !== undefined) args.tls = { cert: readFlagFile(tlsCert, '--tls-cert'), key: readFlagFile(tlsKey, '--tls-key') };
  const fpKey = env[FINGERPRINT_KEY_ENV];
  if (fpKey) args.fingerprintKey = fpKey;
  return args;
}

/** The program: parse, start, report the port, run until SIGTERM/SIGINT. */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runCli('provider-sim', async () => {
    const args = parseProviderSimArgs(argv, env);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const log = args.quiet ? undefined : (line: string) => process.stdout.write(`${line}\n`);
    const sim = await startProviderSim({ ...args, ...(log ? { log } : {}) });
    return {
      sim,
      ...(args.portFile !== undefined ? { portFile: args.portFile } : {}),
      banner: (port: number) =>
        `provider-sim ${args.name} (${args.style}) serving ${args.model} on ${args.tls ? 'https' : 'http'}://${args.host}:${port}, key header ${
          args.style === 'vllm' ? 'Authorization' : args.style === 'anthropic' ? 'x-api-key' : displayHeaderName(args.keyHeader ?? PROVIDER_SIM_DEFAULTS.keyHeader)}`,
    };
  });
}

if (isMain(import.meta.url)) void main();
