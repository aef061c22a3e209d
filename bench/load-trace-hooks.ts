/** The loader-thread half of load-trace.ts: every resolved ES module URL, appended to the trace file. */
import { appendFileSync } from 'node:fs';

let file: string | undefined;

export function initialize(data: { file: string }): void {
  file = data.file;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const result = await next(specifier, context);
  if (file) appendFileSync(file, `${result.url}\n`);
  return result;
}
