/**
 * How the user runs the tool, so the commands hints and "next" lines print are ones that work as
 * installed: `demo` or `maas-egress-demo` when that is what was typed (a global or linked install),
 * else `npx maas-egress-demo` (a clone after `npm install`, or the package through npx). The tool's
 * own texts say `demo <command>`; `asInstalled` rewrites them on the way to the screen.
 */
import { basename } from 'node:path';
import type { DemoEvent } from '../core/events.js';
import type { EventSink } from '../core/run.js';
import { mapStrings } from '../core/map-strings.js';

const COMMANDS = 'up|down|validate|doctor|env|manifests|replay|tour';

export function invocation(env: NodeJS.ProcessEnv, script: string | undefined): string {
  if (env.DEMO_INVOCATION) return env.DEMO_INVOCATION;
  const name = script ? basename(script) : '';
  if (name === 'demo' || name === 'maas-egress-demo') {
    // Typed by that name only when a directory of PATH holds it (npx runs it from its own cache instead).
    const onPath = (env.PATH ?? '').split(':').some((d) => script!.startsWith(`${d}/`) && !/\/_npx\/|\/node_modules\/\.bin\//.test(d));
    if (onPath) return name;
  }
  return 'npx maas-egress-demo';
}

/** `demo validate` → `npx maas-egress-demo validate` (only the tool's own command words). */
export function asInstalled(text: string, inv: string): string {
  if (inv === 'demo') return text;
  return text.replace(new RegExp(`(^|[\\s\`"'(])demo (?=(?:${COMMANDS}|--help|<command>)\\b)`, 'g'), `$1${inv} `);
}

/** A sink that sees every text of an event with the commands as the user runs them. */
export function installedSink(sink: EventSink, inv: string): EventSink {
  if (inv === 'demo') return sink;
  return { write: (e: DemoEvent) => sink.write(mapStrings(e, (s) => asInstalled(s, inv), ['id', 'kind'])), ...(sink.close ? { close: () => sink.close!() } : {}) };
}
