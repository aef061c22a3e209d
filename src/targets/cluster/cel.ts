/**
 * A small evaluator for the subset of CEL that CRD validation rules use (`x-kubernetes-validations`):
 * literals (including raw and triple-quoted strings), lists, field selection and indexing, `has()`,
 * `size()`, the list/map macros `all`, `exists`, `exists_one`, `filter`, `map`, the string functions
 * `startsWith`, `endsWith`, `contains`, `matches`, `split`, `lowerAscii`, `upperAscii`, `trim`, and the
 * usual operators with CEL's error-absorbing `&&`/`||`. Anything else (`duration()`, `quantity()`,
 * `type()`, `oldSelf`, …) throws `CelUnsupported`, which callers count as "not evaluated" instead of
 * guessing. Property names escaped the Kubernetes way (`__namespace__`) are unescaped.
 */

export class CelUnsupported extends Error {
  constructor(what: string) {
    super(`CEL feature not supported here: ${what}`);
    this.name = 'CelUnsupported';
  }
}

/** A rule evaluated to an error (e.g. selecting a field that is absent); the API server rejects those too. */
export class CelEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelEvalError';
  }
}

type Tok =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'eof' };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}', '+', '-', '*', '/', '%'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const str = /^([rR])?("""|'''|"|')/.exec(rest);
    if (str) {
      const raw = str[1] !== undefined;
      const quote = str[2] as string;
      let j = i + str[0].length;
      let v = '';
      for (;;) {
        if (j >= src.length) throw new CelUnsupported('unterminated string');
        if (src.startsWith(quote, j)) {
          j += quote.length;
          break;
        }
        const ch = src[j] as string;
        if (ch === '\\' && !raw) {
          const n = src[j + 1] as string;
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '`': '`', '?': '?' };
          if (!(n in map)) throw new CelUnsupported(`string escape \\${n}`);
          v += map[n];
          j += 2;
          continue;
        }
        v += ch;
        j++;
      }
      out.push({ t: 'str', v });
      i = j;
      continue;
    }
    const num = /^(\d+\.\d+([eE][+-]?\d+)?|0x[0-9a-fA-F]+|\d+)[uU]?/.exec(rest);
    if (num) {
      out.push({ t: 'num', v: Number(num[1]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (!op) throw new CelUnsupported(`character ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'eof' });
  return out;
}

type Ast =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'sel'; obj: Ast; field: string }
  | { k: 'idx'; obj: Ast; index: Ast }
  | { k: 'call'; fn: string; target?: Ast; args: Ast[] }
  | { k: 'list'; items: Ast[] }
  | { k: 'map'; entries: [Ast, Ast][] }
  | { k: 'un'; op: string; x: Ast }
  | { k: 'bin'; op: string; l: Ast; r: Ast }
  | { k: 'cond'; c: Ast; a: Ast; b: Ast };

class Parser {
  #toks: Tok[];
  #pos = 0;
  constructor(src: string) {
    this.#toks = tokenize(src);
  }
  parse(): Ast {
    const e = this.expr();
    if (this.peek().t !== 'eof') throw new CelUnsupported(`trailing input near ${JSON.stringify(this.peek())}`);
    return e;
  }
  peek(): Tok {
    return this.#toks[this.#pos] as Tok;
  }
  isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  eat(v: string): void {
    if (!this.isOp(v)) throw new CelUnsupported(`expected "${v}"`);
    this.#pos++;
  }
  expr(): Ast {
    const c = this.or();
    if (this.isOp('?')) {
      this.#pos++;
      const a = this.or();
      this.eat(':');
      const b = this.expr();
      return { k: 'cond', c, a, b };
    }
    return c;
  }
  or(): Ast {
    let l = this.and();
    while (this.isOp('||')) {
      this.#pos++;
      l = { k: 'bin', op: '||', l, r: this.and() };
    }
    return l;
  }
  and(): Ast {
    let l = this.rel();
    while (this.isOp('&&')) {
      this.#pos++;
      l = { k: 'bin', op: '&&', l, r: this.rel() };
    }
    return l;
  }
  rel(): Ast {
    let l = this.add();
    for (;;) {
      const t = this.peek();
      const op = t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v) ? t.v : t.t === 'id' && t.v === 'in' ? 'in' : undefined;
      if (!op) return l;
      this.#pos++;
      l = { k: 'bin', op, l, r: this.add() };
    }
  }
  add(): Ast {
    let l = this.mul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.#toks[this.#pos++] as { v: string }).v;
      l = { k: 'bin', op, l, r: this.mul() };
    }
    return l;
  }
  mul(): Ast {
    let l = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.#toks[this.#pos++] as { v: string }).v;
      l = { k: 'bin', op, l, r: this.unary() };
    }
    return l;
  }
  unary(): Ast {
    if (this.isOp('!') || this.isOp('-')) {
      const op = (this.#toks[this.#pos++] as { v: string }).v;
      return { k: 'un', op, x: this.unary() };
    }
    return this.member();
  }
  args(): Ast[] {
    this.eat('(');
    const out: Ast[] = [];
    while (!this.isOp(')')) {
      out.push(this.expr());
      if (!this.isOp(')')) this.eat(',');
    }
    this.eat(')');
    return out;
  }
  member(): Ast {
    let e = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.#pos++;
        const t = this.peek();
        if (t.t !== 'id') throw new CelUnsupported('field name expected');
        this.#pos++;
        e = this.isOp('(') ? { k: 'call', fn: t.v, target: e, args: this.args() } : { k: 'sel', obj: e, field: t.v };
      } else if (this.isOp('[')) {
        this.#pos++;
        const index = this.expr();
        this.eat(']');
        e = { k: 'idx', obj: e, index };
      } else {
        return e;
      }
    }
  }
  primary(): Ast {
    const t = this.peek();
    this.#pos++;
    if (t.t === 'num' || t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { k: 'lit', v: null };
      if (this.isOp('(')) return { k: 'call', fn: t.v, args: this.args() };
      return { k: 'id', name: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      const e = this.expr();
      this.eat(')');
      return e;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: Ast[] = [];
      while (!this.isOp(']')) {
        items.push(this.expr());
        if (!this.isOp(']')) this.eat(',');
      }
      this.eat(']');
      return { k: 'list', items };
    }
    if (t.t === 'op' && t.v === '{') {
      const entries: [Ast, Ast][] = [];
      while (!this.isOp('}')) {
        const key = this.expr();
        this.eat(':');
        entries.push([key, this.expr()]);
        if (!this.isOp('}')) this.eat(',');
      }
      this.eat('}');
      return { k: 'map', entries };
    }
    throw new CelUnsupported(`unexpected token ${JSON.stringify(t)}`);
  }
}

const ESCAPES: Record<string, string> = { dot: '.', dash: '-', slash: '/', underscores: '__' };

function fieldName(name: string): string {
  const m = /^__(.+)__$/.exec(name);
  if (!m) return name;
  const inner = m[1] as string;
  return ESCAPES[inner] ?? inner.replace(/__dot__/g, '.').replace(/__dash__/g, '-').replace(/__slash__/g, '/');
}

function isMapValue(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isMapValue(a) && isMapValue(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

function sizeOf(v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMapValue(v)) return Object.keys(v).length;
  throw new CelEvalError(`size() of ${typeof v}`);
}

function bool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new CelEvalError(`expected a bool, got ${JSON.stringify(v)}`);
  return v;
}

type Env = Record<string, unknown>;

const MACROS = new Set(['all', 'exists', 'exists_one', 'filter', 'map']);

function evalAst(ast: Ast, env: Env): unknown {
  switch (ast.k) {
    case 'lit':
      return ast.v;
    case 'id': {
      if (ast.name === 'oldSelf') throw new CelUnsupported('oldSelf');
      if (!(ast.name in env)) throw new CelUnsupported(`identifier ${ast.name}`);
      return env[ast.name];
    }
    case 'sel': {
      const obj = evalAst(ast.obj, env);
      const f = fieldName(ast.field);
      if (!isMapValue(obj)) throw new CelEvalError(`no field ${f} on ${typeof obj}`);
      if (!(f in obj)) throw new CelEvalError(`no such key: ${f}`);
      return obj[f];
    }
    case 'idx': {
      const obj = evalAst(ast.obj, env);
      const i = evalAst(ast.index, env);
      if (Array.isArray(obj) && typeof i === 'number') {
        if (i < 0 || i >= obj.length) throw new CelEvalError(`index ${i} out of range`);
        return obj[i];
      }
      if (isMapValue(obj) && typeof i === 'string') {
        if (!(i in obj)) throw new CelEvalError(`no such key: ${i}`);
        return obj[i];
      }
      throw new CelEvalError('invalid index');
    }
    case 'list':
      return ast.items.map((x) => evalAst(x, env));
    case 'map':
      return Object.fromEntries(ast.entries.map(([k, v]) => [String(evalAst(k, env)), evalAst(v, env)]));
    case 'un': {
      const x = evalAst(ast.x, env);
      if (ast.op === '!') return !bool(x);
      if (typeof x !== 'number') throw new CelEvalError('negation of a non-number');
      return -x;
    }
    case 'cond':
      return bool(evalAst(ast.c, env)) ? evalAst(ast.a, env) : evalAst(ast.b, env);
    case 'bin':
      return evalBinary(ast.op, ast.l, ast.r, env);
    case 'call':
      return evalCall(ast, env);
  }
}

function evalBinary(op: string, l: Ast, r: Ast, env: Env): unknown {
  if (op === '&&' || op === '||') {
    const decisive = op === '||';
    let leftErr: unknown;
    try {
      if (bool(evalAst(l, env)) === decisive) return decisive;
    } catch (e) {
      if (e instanceof CelUnsupported) throw e;
      leftErr = e;
    }
    const right = bool(evalAst(r, env));
    if (right === decisive) return decisive;
    if (leftErr) throw leftErr;
    return !decisive;
  }
  const a = evalAst(l, env);
  const b = evalAst(r, env);
  switch (op) {
    case '==':
      return deepEqual(a, b);
    case '!=':
      return !deepEqual(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => deepEqual(x, a));
      if (isMapValue(b)) return typeof a === 'string' && a in b;
      throw new CelEvalError('"in" needs a list or map');
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
        throw new CelEvalError(`cannot compare ${typeof a} and ${typeof b}`);
      }
      return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
    }
    case '+':
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      throw new CelEvalError('invalid operands for +');
    case '-':
    case '*':
    case '/':
    case '%': {
      if (typeof a !== 'number' || typeof b !== 'number') throw new CelEvalError(`invalid operands for ${op}`);
      if ((op === '/' || op === '%') && b === 0) throw new CelEvalError('division by zero');
      return op === '-' ? a - b : op === '*' ? a * b : op === '/' ? Math.trunc(a / b) : a % b;
    }
  }
  throw new CelUnsupported(`operator ${op}`);
}

function evalCall(ast: Extract<Ast, { k: 'call' }>, env: Env): unknown {
  const { fn, target, args } = ast;
  if (!target && fn === 'has') {
    const arg = args[0];
    if (args.length !== 1 || !arg || arg.k !== 'sel') throw new CelUnsupported('has() needs a field selection');
    const obj = evalAst(arg.obj, env);
    return isMapValue(obj) && fieldName(arg.field) in obj;
  }
  if (target && MACROS.has(fn)) {
    const v = args[0];
    if (!v || v.k !== 'id' || args.length < 2) throw new CelUnsupported(`${fn}() form`);
    const coll = evalAst(target, env);
    const elems = Array.isArray(coll) ? coll : isMapValue(coll) ? Object.keys(coll) : undefined;
    if (!elems) throw new CelEvalError(`${fn}() on a non-collection`);
    const body = args[args.length - 1] as Ast;
    const run = (x: unknown, a: Ast = body): unknown => evalAst(a, { ...env, [v.name]: x });
    switch (fn) {
      case 'all':
        return elems.every((x) => bool(run(x)));
      case 'exists':
        return elems.some((x) => bool(run(x)));
      case 'exists_one':
        return elems.filter((x) => bool(run(x))).length === 1;
      case 'filter':
        return elems.filter((x) => bool(run(x)));
      case 'map':
        if (args.length === 3) return elems.filter((x) => bool(run(x, args[1] as Ast))).map((x) => run(x));
        return elems.map((x) => run(x));
    }
  }
  const self = target ? evalAst(target, env) : undefined;
  const vals = args.map((a) => evalAst(a, env));
  if (!target) {
    if (fn === 'size' && vals.length === 1) return sizeOf(vals[0]);
    if (fn === 'string' && vals.length === 1) return String(vals[0]);
    throw new CelUnsupported(`function ${fn}()`);
  }
  if (fn === 'size' && vals.length === 0) return sizeOf(self);
  if (typeof self === 'string') {
    const s0 = vals[0];
    switch (fn) {
      case 'startsWith':
        return typeof s0 === 'string' && self.startsWith(s0);
      case 'endsWith':
        return typeof s0 === 'string' && self.endsWith(s0);
      case 'contains':
        return typeof s0 === 'string' && self.includes(s0);
      case 'matches':
        if (typeof s0 !== 'string') throw new CelEvalError('matches() needs a string');
        return new RegExp(s0, 'u').test(self);
      case 'split':
        if (typeof s0 !== 'string') throw new CelEvalError('split() needs a string');
        return self.split(s0);
      case 'lowerAscii':
        return self.toLowerCase();
      case 'upperAscii':
        return self.toUpperCase();
      case 'trim':
        return self.trim();
    }
  }
  throw new CelUnsupported(`method ${fn}()`);
}

const cache = new Map<string, Ast | CelUnsupported>();

/** Evaluates a validation rule with `self` bound to `value`; throws CelUnsupported / CelEvalError. */
export function evaluateCel(rule: string, value: unknown): unknown {
  let ast = cache.get(rule);
  if (ast === undefined) {
    try {
      ast = new Parser(rule).parse();
    } catch (e) {
      ast = e instanceof CelUnsupported ? e : new CelUnsupported(String(e));
    }
    cache.set(rule, ast);
  }
  if (ast instanceof CelUnsupported) throw ast;
  return evalAst(ast, { self: value });
}
