/**
 * OpenAI Chat Completions ↔ Anthropic Messages, as payload processing's `api-translation` plugin
 * does it (IPP translator/anthropic; facts from there and from the MaaS external-model docs, code
 * ours): requests (system/developer messages to `system`, tool calls and results to content blocks,
 * `max_tokens` defaulting to 4096, `stop` to `stop_sequences`, OpenAI-only parameters dropped),
 * responses (content blocks back to one message, `stop_reason` to `finish_reason`, usage renamed,
 * Anthropic errors to OpenAI's envelope), and — beyond the non-streaming upstream translator — the
 * SSE stream, event by event, so a streamed Anthropic answer reaches the client as OpenAI chunks with
 * its usage.
 */

export const ANTHROPIC_VERSION = '2023-06-01';
export const ANTHROPIC_PATH = '/v1/messages';
const DEFAULT_MAX_TOKENS = 4096;

export class TranslationError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'TranslationError';
  }
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function contentText(content: unknown, joiner = ' '): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter(isRecord).map((p) => (typeof p.text === 'string' ? p.text : '')).filter((t) => t !== '').join(joiner);
}

function toolUseOf(call: Json): Json | undefined {
  const fn = call.function;
  if (!isRecord(fn)) return undefined;
  let input: unknown = {};
  if (typeof fn.arguments === 'string') {
    try {
      input = JSON.parse(fn.arguments);
    } catch {
      input = {};
    }
  } else if (fn.arguments !== undefined && fn.arguments !== null) input = fn.arguments;
  return { type: 'tool_use', id: call.id, name: fn.name, input };
}

/**
 * An OpenAI chat request as a Messages request plus the headers the provider needs. `targetModel`
 * replaces the client's model name when given (the provider knows the model by that name).
 */
export function openaiToAnthropicRequest(body: Json, targetModel?: string): { body: Json; headers: Record<string, string> } {
  const model = typeof body.model === 'string' ? body.model : '';
  if (!model) throw new TranslationError('model field is required');
  if (body.messages === undefined) throw new TranslationError('failed to extract messages: messages field is required');
  if (!Array.isArray(body.messages)) throw new TranslationError('failed to extract messages: messages must be an array');
  const system: string[] = [];
  const messages: Json[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (!isRecord(m)) throw new TranslationError(`failed to extract messages: message at index ${i} is not an object`);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(contentText(m.content));
        break;
      case 'user':
        messages.push({ role: 'user', content: contentText(m.content) });
        break;
      case 'assistant': {
        const calls = Array.isArray(m.tool_calls) ? m.tool_calls.filter(isRecord) : [];
        if (calls.length === 0) {
          messages.push({ role: 'assistant', content: contentText(m.content) });
        } else {
          const text = contentText(m.content);
          messages.push({ role: 'assistant', content: [...(text ? [{ type: 'text', text }] : []), ...calls.map(toolUseOf).filter((b) => b !== undefined)] });
        }
        break;
      }
      case 'tool': {
        if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') throw new TranslationError(`message at index ${i}: tool message missing required 'tool_call_id' field`);
        const text = contentText(m.content);
        const result: Json = { type: 'tool_result', tool_use_id: m.tool_call_id, ...(text ? { content: text } : {}) };
        const last = messages[messages.length - 1];
        if (last && last.role === 'user' && Array.isArray(last.content)) (last.content as unknown[]).push(result);
        else messages.push({ role: 'user', content: [result] });
        break;
      }
      default:
        throw new TranslationError(`message at index ${i} has unknown role '${String(m.role)}'`);
    }
  }
  if (messages.length === 0) throw new TranslationError('at least one non-system message is required');
  const positive = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const out: Json = { model: targetModel || model, messages, max_tokens: positive(body.max_completion_tokens) ?? positive(body.max_tokens) ?? DEFAULT_MAX_TOKENS };
  if (system.length > 0) out.system = system.join('\n');
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  const stop = typeof body.stop === 'string' && body.stop !== '' ? [body.stop] : Array.isArray(body.stop) ? body.stop.filter((s): s is string => typeof s === 'string') : [];
  if (stop.length > 0) out.stop_sequences = stop;
  const tools = Array.isArray(body.tools)
    ? body.tools.filter(isRecord).flatMap((t) => {
        const fn = t.function;
        if (!isRecord(fn)) return [];
        return [{ name: fn.name, ...(typeof fn.description === 'string' && fn.description ? { description: fn.description } : {}), input_schema: fn.parameters ?? { type: 'object' } }];
      })
    : [];
  if (tools.length > 0) {
    out.tools = tools;
    const choice = body.tool_choice;
    if (choice === 'auto') out.tool_choice = { type: 'auto' };
    else if (choice === 'required') out.tool_choice = { type: 'any' };
    else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') out.tool_choice = { type: 'tool', name: choice.function.name };
  }
  if (typeof body.stream === 'boolean') out.stream = body.stream;
  return { body: out, headers: { 'anthropic-version': ANTHROPIC_VERSION, 'content-type': 'application/json', ':path': ANTHROPIC_PATH } };
}

export function finishReason(stopReason: unknown): string {
  if (stopReason === 'max_tokens') return 'length';
  if (stopReason === 'tool_use') return 'tool_calls';
  return 'stop';
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function usageFromAnthropic(u: unknown): OpenAIUsage {
  const input = isRecord(u) ? num(u.input_tokens) : 0;
  const output = isRecord(u) ? num(u.output_tokens) : 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

/** A Messages response (or Anthropic error) as an OpenAI chat completion (or OpenAI error). */
export function anthropicToOpenAIResponse(body: Json, model?: string): Json {
  if (body.type === 'error') {
    const e = isRecord(body.error) ? body.error : {};
    return { error: { message: typeof e.message === 'string' ? e.message : '', type: e.type ?? '', param: null, code: e.type ?? '' } };
  }
  const blocks = Array.isArray(body.content) ? body.content.filter(isRecord) : [];
  const text = blocks.filter((b) => b.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join('');
  const finish = finishReason(body.stop_reason);
  const message: Json = { role: 'assistant', content: text };
  if (finish === 'tool_calls') {
    const calls = blocks.filter((b) => b.type === 'tool_use').map((b, index) => ({ id: b.id, index, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
    if (calls.length > 0) message.tool_calls = calls;
  }
  return {
    id: body.id ?? '',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: model || body.model || '',
    choices: [{ index: 0, message, finish_reason: finish }],
    usage: usageFromAnthropic(body.usage),
  };
}

/**
 * Translates an Anthropic Messages event stream into OpenAI chat completion chunks, incrementally:
 * feed it the bytes as they arrive (events may be split anywhere), write out what it returns.
 * With `includeUsage` every chunk carries `usage: null` and a last chunk with empty `choices`
 * carries the usage, as OpenAI does for `stream_options.include_usage`; the stream ends with
 * `data: [DONE]`.
 */
export class AnthropicStreamTranslator {
  #buffer = '';
  #id = '';
  #model: string;
  #created = Math.floor(Date.now() / 1000);
  #input = 0;
  #output = 0;
  #toolIndex = new Map<number, number>();
  #done = false;
  /** Tokens seen so far (input from message_start, output from message_delta). */
  get usage(): OpenAIUsage {
    return { prompt_tokens: this.#input, completion_tokens: this.#output, total_tokens: this.#input + this.#output };
  }
  get finished(): boolean {
    return this.#done;
  }

  constructor(
    model: string,
    private readonly includeUsage: boolean,
  ) {
    this.#model = model;
  }

  #chunk(choice: Json | null): string {
    const body: Json = { id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: choice ? [{ index: 0, ...choice }] : [] };
    if (this.includeUsage) body.usage = null;
    return `data: ${JSON.stringify(body)}\n\n`;
  }

  #event(type: string, data: Json): string {
    switch (type) {
      case 'message_start': {
        const msg = isRecord(data.message) ? data.message : {};
        this.#id = typeof msg.id === 'string' ? msg.id : '';
        if (!this.#model && typeof msg.model === 'string') this.#model = msg.model;
        this.#input = num(isRecord(msg.usage) ? msg.usage.input_tokens : 0);
        this.#output = num(isRecord(msg.usage) ? msg.usage.output_tokens : 0);
        return this.#chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null });
      }
      case 'content_block_start': {
        const block = isRecord(data.content_block) ? data.content_block : {};
        if (block.type !== 'tool_use') return '';
        const index = this.#toolIndex.size;
        this.#toolIndex.set(num(data.index), index);
        return this.#chunk({ delta: { tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] }, finish_reason: null });
      }
      case 'content_block_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        if (delta.type === 'text_delta') return this.#chunk({ delta: { content: delta.text ?? '' }, finish_reason: null });
        if (delta.type === 'input_json_delta') {
          const index = this.#toolIndex.get(num(data.index)) ?? 0;
          return this.#chunk({ delta: { tool_calls: [{ index, function: { arguments: delta.partial_json ?? '' } }] }, finish_reason: null });
        }
        return '';
      }
      case 'message_delta': {
        if (isRecord(data.usage) && typeof data.usage.output_tokens === 'number') this.#output = data.usage.output_tokens;
        const stop = isRecord(data.delta) ? data.delta.stop_reason : undefined;
        return this.#chunk({ delta: {}, finish_reason: finishReason(stop) });
      }
      case 'message_stop': {
        this.#done = true;
        const usage = this.includeUsage ? `data: ${JSON.stringify({ id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: [], usage: this.usage })}\n\n` : '';
        return `${usage}data: [DONE]\n\n`;
      }
      case 'error': {
        this.#done = true;
        return `data: ${JSON.stringify(anthropicToOpenAIResponse({ type: 'error', error: data.error }))}\n\ndata: [DONE]\n\n`;
      }
      default:
        return ''; // ping, content_block_stop and event types added later
    }
  }

  push(text: string): string {
    this.#buffer += text.replace(/\r\n/g, '\n');
    let out = '';
    for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let type = '';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        continue;
      }
      if (!isRecord(parsed)) continue;
      out += this.#event(type || String(parsed.type ?? ''), parsed);
    }
    return out;
  }

  /** Whatever a stream cut short still owes the client (an unterminated stream gets no [DONE]). */
  end(): string {
    const rest = this.#buffer.trim() ? this.push('\n\n') : '';
    this.#buffer = '';
    return rest;
  }
}

/**
 * The usage an OpenAI-shaped response reports: the `usage` of a JSON body, or of the stream's
 * usage chunk. Undefined when there is none in OpenAI's shape (what a token limiter cannot count).
 */
export function openaiUsageOf(text: string, stream: boolean): OpenAIUsage | undefined {
  const pick = (v: unknown): OpenAIUsage | undefined =>
    isRecord(v) && isRecord(v.usage) && typeof v.usage.total_tokens === 'number'
      ? { prompt_tokens: num(v.usage.prompt_tokens), completion_tokens: num(v.usage.completion_tokens), total_tokens: v.usage.total_tokens }
      : undefined;
  if (!stream) {
    try {
      return pick(JSON.parse(text));
    } catch {
      return undefined;
    }
  }
  let found: OpenAIUsage | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const payload = line.slice(5).trim();
    if (payload === '[DONE]') continue;
    try {
      found = pick(JSON.parse(payload)) ?? found;
    } catch {
      /* partial or non-JSON line */
    }
  }
  return found;
}
