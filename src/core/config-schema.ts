/**
 * The shape a `--config` file may have, as a JSON Schema checked with ajv before anything merges:
 * unknown keys, wrong types, empty keys, limits or windows of zero, a new provider without what it
 * needs — each one usage error naming the path, e.g.
 * `rateLimit.tiers[0].tokensPerWindow: expected a number, got "lots"`.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from './errors.js';
import { didYouMean } from './suggest.js';

const text = { type: 'string', minLength: 1 } as const;
const positive = { type: 'integer', exclusiveMinimum: 0 } as const;
const strings = { type: 'array', items: text } as const;

/** Providers the defaults define: an override may name only the fields it changes. */
const KNOWN_PROVIDERS = ['openai', 'anthropic', 'vllm'];

const provider = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
    model: text,
    ownedBy: text,
    key: text,
    keyHeader: { enum: ['x-provider-api-key', 'authorization'] },
    backend: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
    simulator: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
    remote: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: { host: text, port: { type: 'integer', minimum: 1, maximum: 65535 }, scheme: { enum: ['http', 'https'] } },
    },
    optional: { type: 'boolean' },
    style: { enum: ['provider', 'vllm'] },
  },
  // A provider the defaults do not know must bring everything a route needs, and somewhere to send it.
  if: { properties: { name: { not: { enum: KNOWN_PROVIDERS } } } },
  then: { required: ['name', 'model', 'key', 'backend'], anyOf: [{ required: ['simulator'] }, { required: ['remote'] }] },
} as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maas: {
      type: 'object',
      additionalProperties: false,
      properties: {
        gatewayName: text,
        gatewayNamespace: text,
        apiNamespace: text,
        audience: text,
        issuer: text,
        minTokenSeconds: positive,
        defaultTokenSeconds: positive,
        maxTokenSeconds: positive,
        maasApiImage: text,
        registryName: text,
      },
    },
    egress: {
      type: 'object',
      additionalProperties: false,
      properties: {
        gatewayName: text,
        namespace: text,
        className: text,
        controllerName: text,
        controllerNamespace: text,
        controllerImage: text,
        envoyImage: text,
        port: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
    providersNamespace: text,
    providers: { type: 'array', items: provider },
    onprem: {
      type: 'object',
      additionalProperties: false,
      properties: { namespace: text, name: text, model: text, simulatorImage: text, mode: { enum: ['random', 'echo'] } },
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowSeconds: positive,
        strictBudget: { type: 'boolean' },
        maxConcurrentPerUser: { type: 'integer', minimum: 1 },
        tiers: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            // Tiers replace the defaults as a whole list, so each one is complete.
            required: ['name', 'level', 'groups', 'tokensPerWindow'],
            properties: { name: text, level: { type: 'integer', minimum: 0 }, groups: { ...strings, minItems: 1 }, tokensPerWindow: positive },
          },
        },
      },
    },
    user: { type: 'object', additionalProperties: false, properties: { name: text, groups: strings } },
    simulatorImage: text,
  },
} as const;

/** `/rateLimit/tiers/0/tokensPerWindow` → `rateLimit.tiers[0].tokensPerWindow`. */
function pathOf(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '') || '(the file)';
}

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

const TYPE_WORDS: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', object: 'a mapping', array: 'a list' };

function describe(e: ErrorObject, data: unknown): { path: string; message: string } {
  const value = e.instancePath.split('/').slice(1).reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), data);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      // ajv says "integer" for a limit; "a number" reads better unless a fraction was given.
      const want = p.type === 'integer' && typeof value === 'number' ? 'a whole number' : p.type === 'integer' ? 'a number' : (TYPE_WORDS[String(p.type)] ?? String(p.type));
      return { path: pathOf(e.instancePath), message: `expected ${want}, got ${shown(value)}` };
    }
    case 'additionalProperties': {
      const known = Object.keys(((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}));
      return { path: pathOf(e.instancePath, String(p.additionalProperty)), message: `unknown key${didYouMean(String(p.additionalProperty), known)}` };
    }
    case 'required':
      return { path: pathOf(e.instancePath, String(p.missingProperty)), message: KNOWN_PROVIDERS.length && /^\/providers\/\d+$/.test(e.instancePath) ? 'required for a provider the defaults do not define' : 'required' };
    case 'anyOf':
      return { path: pathOf(e.instancePath), message: 'a new provider needs `simulator` (a local stand-in) or `remote` (host and port of the real endpoint)' };
    case 'minLength':
      return { path: pathOf(e.instancePath), message: 'must not be empty' };
    case 'minItems':
      return { path: pathOf(e.instancePath), message: `needs at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}` };
    case 'exclusiveMinimum':
      return { path: pathOf(e.instancePath), message: `must be greater than ${String(p.limit)}, got ${shown(value)}` };
    case 'minimum':
    case 'maximum':
      return { path: pathOf(e.instancePath), message: `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}, got ${shown(value)}` };
    case 'enum':
      return { path: pathOf(e.instancePath), message: `expected one of ${(p.allowedValues as unknown[]).map(String).join(', ')}, got ${shown(value)}` };
    case 'pattern':
      return { path: pathOf(e.instancePath), message: `must be a lower-case DNS label (a-z, 0-9, -), got ${shown(value)}` };
    default:
      return { path: pathOf(e.instancePath), message: e.message ?? e.keyword };
  }
}

let validator: ReturnType<Ajv['compile']> | undefined;

/** Throws a UserError naming the first path that does not fit; `file` is only for the message. */
export function checkConfigShape(data: unknown, file: string): void {
  validator ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(CONFIG_SCHEMA);
  if (validator(data)) return;
  const errors = validator.errors ?? [];
  // `if/then` wraps the errors of its branch; `anyOf` reports each alternative it tried, then itself:
  // the anyOf error alone says what is wanted.
  const concrete = errors
    .filter((e) => e.keyword !== 'if' && !/\/anyOf\/\d+\//.test(e.schemaPath))
    .sort((a, b) => Number(a.keyword === 'anyOf') - Number(b.keyword === 'anyOf'));
  const first = concrete[0] ?? errors[0]!;
  const { path, message } = describe(first, data);
  const more = concrete.length > 1 ? ` (and ${concrete.length - 1} more)` : '';
  throw new UserError(`config file ${file}: ${path}: ${message}${more}`, 'see README.md#configuration for every key and its type');
}
