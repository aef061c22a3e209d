/**
 * Errors that carry what the user should do next. `cli/main.ts` turns them into one line plus a
 * `hint:` and the exit code of the contract (README "Exit codes"); only `--debug` shows a stack.
 */

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  bug: 70,
  interrupted: 130,
} as const;

/** Bad input or configuration: one line, a hint, exit 2. */
export class UserError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UserError';
    this.hint = hint;
  }
}

/** Something was applied and something was not: say what, and how to resume. Exit 1. */
export class PartialApplyError extends Error {
  readonly applied: string[];
  readonly resume: string;
  readonly hint: string | undefined;
  constructor(message: string, applied: string[], resume: string, hint?: string) {
    super(message);
    this.name = 'PartialApplyError';
    this.applied = applied;
    this.resume = resume;
    this.hint = hint;
  }
}

/** A step or check failed for a reason we can name: exit 1. */
export class StepFailedError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'StepFailedError';
    this.hint = hint;
  }
}

/**
 * The target could not be reached before anything changed (the cluster's API server did not answer:
 * wrong context, server down, VPN): exit 3 from every command. Once `up` has applied something, losing
 * the server is a partial apply instead (exit 1, with how to resume).
 */
export class UnreachableError extends StepFailedError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UnreachableError';
  }
}

/** The run was interrupted (SIGINT): exit 130. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** A defect of ours: one line and "re-run with --debug", exit 70. */
export class BugError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BugError';
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UserError) return EXIT.usage;
  if (err instanceof UnreachableError) return EXIT.unreachable;
  if (err instanceof PartialApplyError || err instanceof StepFailedError) return EXIT.failed;
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof Error && err.name === 'AbortError') return EXIT.interrupted;
  return EXIT.bug;
}

export function hintOf(err: unknown): string | undefined {
  if (err instanceof UserError || err instanceof StepFailedError) return err.hint;
  if (err instanceof PartialApplyError) return err.hint ?? `resume with: ${err.resume}`;
  if (err instanceof BugError || !(err instanceof Error) || exitCodeOf(err) === EXIT.bug) {
    return 're-run with --debug for the stack trace';
  }
  return undefined;
}
