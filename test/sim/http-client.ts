/**
 * A raw HTTP client for the simulator tests: node:http, so the request target goes on the wire exactly
 * as written (`//v1/...` stays a double slash) and headers may repeat.
 */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** `chat.completion` and `text_completion` bodies (one type; the fields of the other kind are absent). */
export interface CompletionBody {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: string; content: string };
    text: string;
    finish_reason: string;
  }[];
  usage: Usage;
  kv_transfer_params?: null;
}

/** One streamed chunk. */
export interface ChunkBody {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string }; text?: string; finish_reason: string | null }[];
  usage?: Usage | null;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: unknown;
}

export interface SimRequest {
  method?: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  /** Objects are JSON-encoded; strings and buffers go as they are. */
  body?: unknown;
  tls?: { ca: string | Buffer };
}

export function send(port: number, req: SimRequest): Promise<SimResponse> {
  const payload = req.body === undefined
    ? undefined
    : typeof req.body === 'string' || Buffer.isBuffer(req.body)
      ? req.body
      : JSON.stringify(req.body);
  const headers: OutgoingHttpHeaders = { ...(req.headers ?? {}) };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const options = { host: '127.0.0.1', port, method: req.method ?? 'GET', path: req.path, headers, agent: false as const };
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 0, headers: flat, text, json });
      });
      res.on('error', reject);
    };
    const request = req.tls
      ? httpsRequest({ ...options, ca: req.tls.ca, servername: 'localhost' }, onResponse)
      : httpRequest(options, onResponse);
    request.on('error', reject);
    request.end(payload);
  });
}

export const post = (port: number, path: string, body: unknown, headers: OutgoingHttpHeaders = {}): Promise<SimResponse> =>
  send(port, { method: 'POST', path, body, headers });

/** The `data:` payloads of a server-sent-events body, in order. */
export function sseData(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice('data: '.length));
}

/** The streamed chunks (everything before `[DONE]`), parsed. */
export function sseChunks(text: string): ChunkBody[] {
  return sseData(text).filter((line) => line !== '[DONE]').map((line) => JSON.parse(line) as ChunkBody);
}

/** Every substring of `value` of length `n` (to prove no part of a key leaks). */
export function substrings(value: string, n = 4): string[] {
  return Array.from({ length: Math.max(0, value.length - n + 1) }, (_, i) => value.slice(i, i + n));
}

/** Everything a response shows: status line parts, header names and values, body. */
export function visibleText(res: SimResponse): string {
  return `${Object.entries(res.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}\n${res.text}`;
}
