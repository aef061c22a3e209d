/**
 * `node --import <dist>/bench/load-trace.js …` records every module the process loads into the file
 * named by LOAD_TRACE_FILE, one URL or path a line: ES modules through a resolve hook (module.register;
 * the hook runs on the loader thread and appends synchronously, so nothing is lost on process.exit),
 * CommonJS modules from require.cache when the process exits. Used by test/bench/help-path.test.ts
 * and the benchmark to show what `demo --help` loads.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.LOAD_TRACE_FILE;
if (file) {
  register('./load-trace-hooks.js', import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const cjs = Object.keys(require.cache);
    if (cjs.length) appendFileSync(file, `${cjs.map((p) => `cjs:${p}`).join('\n')}\n`);
  });
}
