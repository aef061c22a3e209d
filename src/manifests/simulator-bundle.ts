/**
 * The provider simulator as it travels into the cluster without a custom image: the compiled
 * `provider-sim.js` and every file it imports relatively, flattened into ConfigMap data for a stock
 * `node:20-alpine` pod, with a content hash that restarts the pod when the code changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { BugError } from '../core/errors.js';
import { defaultSimDir } from './package-files.js';

export interface SimulatorSources {
  /** `dist`: the compiled simulator; `placeholder`: a stub that exits with a message (not built yet). */
  source: 'dist' | 'placeholder';
  /** ConfigMap data: flattened key → file content (includes a package.json marking the files as ESM). */
  files: Record<string, string>;
  /** ConfigMap volume items: key → path under the mount. */
  items: { key: string; path: string }[];
  /** Absolute path of the entry file inside the container. */
  entry: string;
  /** Short content hash, put on the pod template so new code restarts the pod. */
  hash: string;
  notes: string[];
}

const SIM_MOUNT = '/sim';
const SIM_ENTRY = 'provider-sim.js';

const PLACEHOLDER_SIM = [
  '// Placeholder written by maas-egress-demo: the simulator was not built when the manifests were rendered.',
  "console.error('provider simulator missing: run `npm run build` in maas-egress-demo, then `demo up` again');",
  'process.exit(1);',
  '',
].join('\n');

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]/g;

/**
 * Reads `provider-sim.js` and every file it imports relatively (transitively) from `simDir`. Built-in
 * `node:` modules are fine; anything from node_modules cannot travel in a ConfigMap and is an error.
 * Without a build, returns a placeholder that fails the pod with a message saying so.
 */
export function loadSimulatorSources(simDir: string = defaultSimDir()): SimulatorSources {
  const entryFile = join(simDir, SIM_ENTRY);
  if (!existsSync(entryFile)) {
    const files = { [SIM_ENTRY]: PLACEHOLDER_SIM, 'package.json': '{"type":"module"}\n' };
    return {
      source: 'placeholder',
      files,
      items: Object.keys(files).map((key) => ({ key, path: key })),
      entry: `${SIM_MOUNT}/${SIM_ENTRY}`,
      hash: contentHash(files),
      notes: [
        `simulator code not found at ${entryFile}: the simulator pods get a placeholder that exits with ` +
          'a message; run `npm run build` and render again',
      ],
    };
  }
  const seen = new Map<string, string>();
  const queue = [resolve(entryFile)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const spec of importsOf(text)) {
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      if (!spec.startsWith('.')) {
        throw new BugError(`${file} imports '${spec}', which cannot be shipped in the simulator ConfigMap`);
      }
      const target = resolve(dirname(file), spec);
      if (!existsSync(target)) throw new BugError(`${file} imports '${spec}', which does not exist at ${target}`);
      queue.push(target);
    }
  }
  const paths = [...seen.keys()].sort();
  const root = commonDir(paths);
  const files: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  for (const abs of paths) {
    const rel = relative(root, abs).split(sep).join('/');
    const key = rel.replace(/\//g, '__');
    files[key] = seen.get(abs) as string;
    items.push({ key, path: rel });
  }
  files['package.json'] = '{"type":"module"}\n';
  items.push({ key: 'package.json', path: 'package.json' });
  const entryRel = relative(root, resolve(entryFile)).split(sep).join('/');
  return { source: 'dist', files, items, entry: `${SIM_MOUNT}/${entryRel}`, hash: contentHash(files), notes: [] };
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec) out.push(spec);
  }
  return out;
}

function commonDir(paths: string[]): string {
  let dir = dirname(paths[0] as string);
  while (!paths.every((p) => p.startsWith(dir + sep))) dir = dirname(dir);
  return dir;
}

function contentHash(files: Record<string, string>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(files).sort()) h.update(k).update('\0').update(files[k] as string).update('\0');
  return h.digest('hex').slice(0, 12);
}
