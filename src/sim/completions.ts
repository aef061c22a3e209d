/**
 * OpenAI-style completions as both simulators serve them: request parsing and validation, word-based
 * token counting, canned words, and the response bodies and SSE streams of chat and text completions.
 * Only `node:` built-ins and the other simulator modules (see http-server.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES, readBody, responseClosedSignal, sendJson, sleep, startSse, writeSse } from './http-server.js';

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
// One generation request, read to answered

/** A simulator's own error bodies for a request it refuses before generating. */
export interface RefusalBodies {
  /** The 413 body for a request body over {@link MAX_BODY_BYTES}. */
  tooLarge: unknown;
  /** The 400 body for a body that is no valid request. */
  invalid: (message: string, param: string | null) => unknown;
}

/**
 * Reads and validates a completion request. A body over the limit gets 413 (the connection closed when
 * the client kept sending), an invalid one 400, a client gone nothing; in those cases the result is
 * undefined and the reply is sent.
 */
export async function readGenerationRequest(
  req: IncomingMessage,
  res: ServerResponse,
  kind: GenerationKind,
  refusals: RefusalBodies,
): Promise<GenerationRequest | undefined> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body.kind === 'aborted') return undefined;
  if (body.kind === 'too-large') {
    if (!body.drained) res.setHeader('connection', 'close');
    sendJson(res, 413, refusals.tooLarge);
    return undefined;
  }
  const parsed = parseGenerationRequest(kind, body.body);
  if (!parsed.ok) {
    sendJson(res, 400, refusals.invalid(parsed.message, parsed.param));
    return undefined;
  }
  return parsed.request;
}

/**
 * Answers a generation: as an SSE stream paced by `timing` when the request asked to stream, else as
 * one body after `wholeDelayMs`. Nothing more is written once the client went away.
 */
export async function answerGeneration(
  res: ServerResponse,
  generation: Generation,
  request: GenerationRequest,
  timing: StreamTiming & { wholeDelayMs: number },
  extra: Record<string, unknown> = {},
): Promise<void> {
  const signal = responseClosedSignal(res);
  if (request.stream) {
    await streamGeneration(res, generation, request.includeUsage, timing, signal);
    return;
  }
  await sleep(timing.wholeDelayMs, signal);
  if (!signal.aborted) sendJson(res, 200, completionBody(generation, extra));
}
