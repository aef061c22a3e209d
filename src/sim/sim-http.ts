/**
 * Small helpers shared by provider-sim and inference-sim: bounded body reading, JSON and SSE replies,
 * OpenAI-style request parsing and response shapes, word-based token counting, flag parsing, listening
 * and port reporting. Only `node:` built-ins: the compiled file is shipped in a ConfigMap next to the
 * two simulators and run on a stock node image.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { realpathSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Largest request body either simulator accepts (1 MiB); bigger bodies get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized body is read and thrown away before answering 413 and closing. */
const DISCARD_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

/** A bad command line or missing configuration; the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What a running simulator hands back to in-process callers. */
export interface RunningSim {
  /** The bound TCP port (the real one when 0 was asked for). */
  port: number;
  /** Stops listening, ends idle keep-alive connections and, after a short grace, all others. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Request bodies

export type BodyResult =
  | { kind: 'ok'; body: Buffer }
  /** `drained` is false when the client kept sending past the discard limit; close the connection. */
  | { kind: 'too-large'; drained: boolean }
  | { kind: 'aborted' };

/**
 * Reads the request body up to `limit` bytes. Past the limit it keeps reading and discarding (up to a
 * hard cap) so that the 413 can be sent after the client finished sending, instead of resetting a
 * connection the client is still writing to.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else if (size > DISCARD_LIMIT_BYTES) {
        req.pause();
        finish({ kind: 'too-large', drained: false });
      } else {
        chunks.length = 0;
      }
    };
    const onEnd = (): void => {
      finish(size > limit ? { kind: 'too-large', drained: true } : { kind: 'ok', body: Buffer.concat(chunks) });
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

/** Reads and discards whatever body the request has, so an early reply does not race the upload. */
export async function drainBody(req: IncomingMessage): Promise<BodyResult> {
  const result = await readBody(req, 0);
  return result.kind === 'too-large' && result.drained ? { kind: 'ok', body: Buffer.alloc(0) } : result;
}

/** Sends a JSON reply once the request body has been read and discarded (or given up on). */
export async function replyAfterBody(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): Promise<void> {
  const drained = await drainBody(req);
  if (drained.kind === 'aborted') return;
  if (drained.kind === 'too-large') res.setHeader('connection', 'close');
  sendJson(res, status, body);
}

// ---------------------------------------------------------------------------------------------------
// Replies

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Starts a `text/event-stream` reply. */
export function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  res.flushHeaders();
}

/** Writes one `data:` event; objects are JSON-encoded, strings (e.g. `[DONE]`) go as they are. */
export function writeSse(res: ServerResponse, data: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch {
    // aborted: the client went away or the server is closing
  }
}

/** An AbortSignal that fires when the response is closed before it finished (client gone, server closing). */
export function responseClosedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

// ---------------------------------------------------------------------------------------------------
// Paths and headers

/** The path of a raw request target, query dropped, without URL parsing (`//v1/x` must stay a path). */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

export interface RouteEntry {
  method: 'GET' | 'POST';
}

/**
 * Finds the route for an exact path (query ignored). `methodOk` is false for a known path asked with
 * another method (HEAD counts as GET); `allow` is then the value for the 405's Allow header.
 */
export function matchRoute<R extends RouteEntry>(
  routes: ReadonlyMap<string, R>,
  target: string,
  method: string,
): { route: R | undefined; methodOk: boolean; allow: string } {
  const route = routes.get(pathOf(target));
  if (route === undefined) return { route, methodOk: false, allow: '' };
  const methodOk = method === route.method || (route.method === 'GET' && method === 'HEAD');
  return { route, methodOk, allow: route.method === 'GET' ? 'GET, HEAD' : route.method };
}

/**
 * Makes client-controlled text safe for a header value or a log line: printable ASCII stays, any other
 * byte is percent-encoded, and the result is cut at `maxLength` characters (ending in `...`).
 */
export function safeText(value: string, maxLength = 512): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > maxLength) return `${out.slice(0, maxLength)}...`;
  }
  return out;
}

/** First value of a request header (node joins most duplicates; for some it keeps only the first). */
export function headerString(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Lower-case names of the received headers in arrival order, duplicates kept. */
export function receivedHeaderNames(req: IncomingMessage): string[] {
  const names: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) names.push((req.rawHeaders[i] ?? '').toLowerCase());
  return names;
}

// ---------------------------------------------------------------------------------------------------
// Keys

/**
 * First 8 hex digits of HMAC-SHA-256 under the install's fingerprint key (of SHA-256 when there is
 * none): lets a trace compare keys without showing them. Keyed, a fingerprint someone reads cannot
 * confirm a guessed key offline; whoever holds the install's key (validate, doctor) can still compare.
 */
export function fingerprintKey(value: string, key?: string): string {
  const digest = key ? createHmac('sha256', key).update(value) : createHash('sha256').update(value);
  return digest.digest('hex').slice(0, 8);
}

/** Environment variable holding the install's fingerprint key for a simulator. */
export const FINGERPRINT_KEY_ENV = 'SIM_FINGERPRINT_KEY';

/** Compares two keys in constant time regardless of their lengths (both are hashed first). */
export function keysEqual(received: string, expected: string): boolean {
  const a = createHash('sha256').update(received).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------------
// Tokens and canned text

/** Token estimate used by both simulators: whitespace-separated words. */
export function countTokens(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

/** Text of an OpenAI message `content`: a string, or an array of parts whose `text` fields are joined. */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string'
      ? (part as { text: string }).text
      : ''))
    .join(' ');
}

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Exactly `n` words taken in order from the sentences, starting at sentence `start` and cycling. */
export function takeWords(sentences: readonly string[], n: number, start = 0): string[] {
  const pool = sentences.flatMap((_, i) => (sentences[(start + i) % sentences.length] ?? '').split(/\s+/))
    .filter((word) => word !== '');
  if (pool.length === 0) return [];
  return Array.from({ length: n }, (_, i) => pool[i % pool.length] as string);
}

// ---------------------------------------------------------------------------------------------------
// OpenAI-style requests

export type GenerationKind = 'chat' | 'completion';

export interface GenerationRequest {
  kind: GenerationKind;
  /** The `model` field, when the body has one. */
  model?: string;
  /** `max_tokens` (or `max_completion_tokens`), when given. */
  maxTokens?: number;
  stream: boolean;
  includeUsage: boolean;
  promptTokens: number;
  /** Text of the last user message (chat) or of the prompt (completion), for echo mode. */
  lastUserText: string;
}

export type ParseResult =
  | { ok: true; request: GenerationRequest }
  | { ok: false; message: string; param: string | null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a chat or text completion body the way an OpenAI-compatible server would, loosely. */
export function parseGenerationRequest(kind: GenerationKind, body: Buffer): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, message: 'The request body is not valid JSON.', param: null };
  }
  if (!isRecord(json)) return { ok: false, message: 'The request body must be a JSON object.', param: null };

  const model = json.model;
  if (model !== undefined && model !== null && typeof model !== 'string') {
    return { ok: false, message: "Invalid type for 'model': expected a string.", param: 'model' };
  }

  const maxField = json.max_tokens !== undefined && json.max_tokens !== null ? 'max_tokens' : 'max_completion_tokens';
  const max = json[maxField];
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isInteger(max)) {
      return { ok: false, message: `Invalid type for '${maxField}': expected an integer.`, param: maxField };
    }
    if (max < 1) {
      return { ok: false, message: `Invalid '${maxField}': must be at least 1, got ${max}.`, param: maxField };
    }
  }

  let promptTokens = 0;
  let lastUserText = '';
  if (kind === 'chat') {
    const messages = json.messages;
    if (messages === undefined || messages === null) {
      return { ok: false, message: "Missing required parameter: 'messages'.", param: 'messages' };
    }
    if (!Array.isArray(messages)) {
      return { ok: false, message: "Invalid type for 'messages': expected an array.", param: 'messages' };
    }
    if (messages.length === 0) {
      return { ok: false, message: "Invalid 'messages': the array must not be empty.", param: 'messages' };
    }
    for (const [i, message] of messages.entries()) {
      if (!isRecord(message) || typeof message.role !== 'string') {
        return { ok: false, message: `Invalid 'messages[${i}]': expected an object with a 'role'.`, param: `messages[${i}]` };
      }
      const text = textOfContent(message.content);
      promptTokens += countTokens(text);
      if (message.role === 'user') lastUserText = text;
    }
  } else {
    const prompt = json.prompt;
    if (typeof prompt === 'string') {
      lastUserText = prompt;
      promptTokens = countTokens(prompt);
    } else if (Array.isArray(prompt) && prompt.length > 0) {
      for (const item of prompt) {
        if (typeof item === 'string') {
          lastUserText = item;
          promptTokens += countTokens(item);
        } else if (typeof item === 'number') {
          promptTokens += 1;
        } else {
          return { ok: false, message: "Invalid 'prompt': expected strings or token ids.", param: 'prompt' };
        }
      }
    } else {
      return { ok: false, message: "Missing required parameter: 'prompt'.", param: 'prompt' };
    }
  }

  const streamOptions = json.stream_options;
  const request: GenerationRequest = {
    kind,
    stream: json.stream === true,
    includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
    promptTokens: Math.max(1, promptTokens),
    lastUserText,
  };
  if (typeof model === 'string' && model !== '') request.model = model;
  if (typeof max === 'number') request.maxTokens = max;
  return { ok: true, request };
}

// ---------------------------------------------------------------------------------------------------
// OpenAI-style responses

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export interface Generation {
  kind: GenerationKind;
  id: string;
  created: number;
  model: string;
  words: string[];
  finishReason: 'stop' | 'length';
  usage: Usage;
}

/** The non-streaming body: `chat.completion` or `text_completion`, plus any extra top-level fields. */
export function completionBody(gen: Generation, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const content = gen.words.join(' ');
  const choice = gen.kind === 'chat'
    ? { index: 0, message: { role: 'assistant', content }, finish_reason: gen.finishReason }
    : { index: 0, text: content, logprobs: null, finish_reason: gen.finishReason };
  return {
    id: gen.id,
    object: gen.kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: gen.created,
    model: gen.model,
    choices: [choice],
    usage: gen.usage,
    ...extra,
  };
}

export interface StreamTiming {
  /** Delay before the first content chunk. */
  firstMs: number;
  /** Delay between content chunks. */
  betweenMs: number;
}

/**
 * Streams a generation as server-sent events: one chunk per word (chat chunks carry `delta`), a chunk
 * with the finish reason, a usage chunk with empty `choices` only when `includeUsage`, then `[DONE]`.
 */
export async function streamGeneration(
  res: ServerResponse,
  gen: Generation,
  includeUsage: boolean,
  timing: StreamTiming,
  signal: AbortSignal,
): Promise<void> {
  const object = gen.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choice: Record<string, unknown> | null, finishReason: string | null): Record<string, unknown> => {
    const body: Record<string, unknown> = {
      id: gen.id,
      object,
      created: gen.created,
      model: gen.model,
      choices: choice === null ? [] : [{ index: 0, ...choice, finish_reason: finishReason }],
    };
    if (includeUsage) body.usage = null;
    return body;
  };
  const piece = (text: string): Record<string, unknown> =>
    gen.kind === 'chat' ? { delta: { content: text } } : { text, logprobs: null };

  startSse(res);
  await sleep(timing.firstMs, signal);
  if (gen.kind === 'chat') writeSse(res, chunk({ delta: { role: 'assistant', content: '' } }, null));
  for (const [i, word] of gen.words.entries()) {
    if (signal.aborted) return;
    if (i > 0) await sleep(timing.betweenMs, signal);
    writeSse(res, chunk(piece(i === 0 ? word : ` ${word}`), null));
  }
  if (signal.aborted) return;
  writeSse(res, chunk(gen.kind === 'chat' ? { delta: {} } : { text: '', logprobs: null }, gen.finishReason));
  if (includeUsage) writeSse(res, { ...chunk(null, null), usage: gen.usage });
  writeSse(res, '[DONE]');
  res.end();
}

// ---------------------------------------------------------------------------------------------------
// Command lines

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * `util.parseArgs` in strict mode, with errors turned into {@link UsageError}s whose messages never
 * repeat an argument value (a key pasted on the command line must not end up in a log).
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Record<string, string | boolean | string[] | undefined> {
  try {
    const { values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false });
    return values as Record<string, string | boolean | string[] | undefined>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError('unexpected positional argument');
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'(--?[A-Za-z0-9-]+)/.exec((error as Error).message)?.[1] ?? 'option';
      throw new UsageError(`unknown option ${name}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--?[A-Za-z0-9-]+)/.exec((error as Error).message)?.[1] ?? 'an option';
      throw new UsageError(`option ${name} needs a value`);
    }
    throw new UsageError('cannot parse the command line');
  }
}

/** Parses an integer flag value within bounds; `undefined` gives the default. */
export function intFlag(value: unknown, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}`);
  }
  return n;
}

export function stringFlag(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Rejects a flag that must never be used (e.g. `--api-key VALUE`), before parsing, without echoing it. */
export function rejectFlag(argv: readonly string[], flag: string, message: string): void {
  if (argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) throw new UsageError(message);
}

// ---------------------------------------------------------------------------------------------------
// Servers

/** Either kind of server a simulator runs (inference-sim can serve TLS). */
export type Server = HttpServer | HttpsServer;

/** Timeouts every simulator server gets: slow or stuck clients cannot hold a socket forever. */
export function hardenServer(server: Server): void {
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
}

/** Listens and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server: no new connections, idle keep-alive sockets now, busy ones after `graceMs`. */
export function closeServer(server: Server, graceMs = 1_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Wraps a started server as a {@link RunningSim} whose `close()` may be called more than once. */
export function runningSim(server: Server, port: number): RunningSim {
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => (closing ??= closeServer(server)),
  };
}

/** Writes the port followed by a newline, atomically (a launcher polling the file never sees half of it). */
export function writePortFile(file: string, port: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${port}\n`);
  renameSync(tmp, file);
}

/**
 * True when the module with this `import.meta.url` is the program node was started with. Resolves
 * symlinks, as node does for the main module (ConfigMap volumes mount files through symlinks).
 */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === importMetaUrl;
  } catch {
    return pathToFileURL(entry).href === importMetaUrl;
  }
}

/**
 * Runs a simulator as a program: starts it, writes the port file, logs one line, and on SIGTERM/SIGINT
 * closes it and exits 0. Usage errors exit 2, any other start failure exits 1; messages are one line.
 */
export async function runCli(
  program: string,
  start: () => Promise<{ sim: RunningSim; portFile?: string; banner: (port: number) => string }>,
): Promise<void> {
  let started: Awaited<ReturnType<typeof start>> | undefined;
  try {
    started = await start();
    if (started.portFile) writePortFile(started.portFile, started.sim.port);
  } catch (error) {
    await started?.sim.close();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program}: ${safeText(message.split('\n')[0] ?? '', 300)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
    return;
  }
  process.stdout.write(`${started.banner(started.sim.port)}\n`);
  const { sim } = started;
  const stop = (): void => {
    setTimeout(() => process.exit(0), 3_000).unref();
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
