/**
 * CEL as Kuadrant policies and CRD validation rules use it, evaluated by @bufbuild/cel (a maintained CEL
 * implementation) with its strings extension registered, which brings what the standard library lacks and
 * those expressions call: `split`, `lowerAscii`, `upperAscii`, `trim`, … (`endsWith`, `matches`, indexing
 * and the macros are standard).
 */
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

const env = celEnv({ funcs: strings });

/** The expression could not be evaluated; `unsupported` when it calls a function or names a variable it cannot have. */
export class CelError extends Error {
  constructor(
    message: string,
    readonly unsupported: boolean,
  ) {
    super(message);
    this.name = 'CelError';
  }
}

/** Evaluates `expr` with the given variables; throws CelError on a parse or evaluation error. */
export function evaluateCel(expr: string, vars: Record<string, unknown> = {}): unknown {
  let v: unknown;
  try {
    v = plan(env, parse(expr))(vars as Parameters<ReturnType<typeof plan>>[0]);
  } catch (err) {
    throw new CelError((err as Error).message, false);
  }
  if (isCelError(v)) {
    const message = (v as { message?: string }).message ?? String(v);
    throw new CelError(message, /unbound function|unresolved attribute/.test(message));
  }
  return v;
}
