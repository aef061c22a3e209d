/**
 * JUnit XML for CI: one testsuite per run, one testcase per check (validate calls, doctor checks) or
 * per step (up, down). A testcase is named by its title, as a person reads it in the CI report; the
 * stable id is kept as a property so tools can still line runs up. JUnit has no "warning" result, so
 * a warning stays a passing testcase with `outcome=warning` and its text in system-out, unless the
 * warnings are what failed the run (doctor --fail-on warning): then it is a failure of type warning.
 * xmlbuilder2 writes the document, so every attribute and text is escaped; what XML 1.0 cannot hold
 * at all (control characters such as ESC from a coloured message) is written as `\u001b` text.
 *
 * @example
 *   <testsuite name="maas-egress-demo validate" tests="10" failures="1" skipped="0" errors="0" time="3.120">
 *     <testcase classname="validate.validate" name="8 no token → 401 on every provider" time="0.012">
 *       <properties><property name="id" value="call-8"/></properties>
 *       <failure message="expected 401, got 200" type="fail">…</failure>
 */
import { writeFileSync } from 'node:fs';
import { create } from 'xmlbuilder2';
import type { DemoEvent } from '../core/events.js';
import { streamFailed, type EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';
import { docLink } from './doc-links.js';
import { toJsonDocument, type JsonDocument } from './json.js';

// Terminal escape sequences (colour, cursor, OSC titles) carry no meaning in a report: drop them whole.
const TERMINAL_ESCAPES = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()][0-9A-Za-z]|\u001b[=>78]/g;

/** Text fit for the report: no escape sequences, no secrets (the characters XML cannot hold are replaced when written). */
function clean(text: string): string {
  return redact(text.replace(TERMINAL_ESCAPES, ''));
}

/** What XML 1.0 cannot hold, even as a character reference, shown as `\uXXXX` so a reader sees it was there. */
function replaceInvalid(char: string): string {
  return [...char].map((c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`).join('');
}

const seconds = (ms: number | null | undefined) => ((ms ?? 0) / 1000).toFixed(3);

type Check = JsonDocument['checks'][number];

function checkDetail(c: Check): string {
  return [
    c.expected && `expected: ${c.expected}`,
    c.actual && `actual: ${c.actual}`,
    c.message,
    c.hop && `broken hop: ${c.hop}`,
    ...(c.evidence ?? []).map((e) => `evidence: ${e}`),
    c.fix && `fix: ${c.fix}`,
    c.hint && `hint: ${docLink(c.hint)}`,
  ]
    .filter(Boolean)
    .join('\n');
}

function traceText(c: Check): string {
  return c.hops
    .map((h) => {
      const path = h.pathIn === undefined ? '' : ` ${h.pathIn}${h.pathOut !== undefined && h.pathOut !== h.pathIn ? ` -> ${h.pathOut}` : ''}`;
      const facts = Object.entries(h.detail).map(([k, v]) => `${k}=${v}`).join(' ');
      return `${h.index}. ${h.hop}${path}${h.status !== undefined ? ` ${h.status}` : ''}${facts ? ` ${facts}` : ''}`;
    })
    .join('\n');
}

export function toJunit(events: DemoEvent[]): string {
  const doc = toJsonDocument(events);
  const isExpectedWarning = (c: Check) => c.outcome === 'warn' && c.data?.expectedWarning === true;
  // The run failed although nothing but warnings went wrong: warnings count as failures (--fail-on warning).
  const warningsFail = !doc.ok && doc.exitCode === 1 && !doc.error && !streamFailed(events, false);
  let failures = 0;
  let skipped = 0;
  let errors = 0;
  let warnings = 0;

  const root = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: replaceInvalid });
  const suites = root.ele('testsuites', { name: clean(`maas-egress-demo ${doc.command}`) });
  const suite = suites.ele('testsuite', { name: clean(`maas-egress-demo ${doc.command}`) });
  const cases: { add: (parent: typeof suite) => void }[] = [];

  for (const s of doc.steps) {
    cases.push({
      add: (parent) => {
        const tc = parent.ele('testcase', { classname: clean(`${doc.command}.steps`), name: clean(`step ${s.id}: ${s.title}`), time: seconds(s.ms) });
        tc.ele('properties').ele('property', { name: 'id', value: clean(`step-${s.id}`) });
        if (s.skipped) {
          skipped++;
          tc.ele('skipped', s.message ? { message: clean(s.message) } : {});
        } else if (s.ok === false) {
          failures++;
          tc.ele('failure', { message: clean(s.message ?? 'step failed'), type: 'fail' }).txt(clean(s.hint ? `hint: ${docLink(s.hint)}` : ''));
        }
      },
    });
  }

  // A check run again (a rerun, a re-check after a fix) is one testcase: its last result counts.
  const current = doc.checks.filter((c, i) => !doc.checks.slice(i + 1).some((later) => later.id === c.id));
  for (const c of current) {
    cases.push({
      add: (parent) => {
        const tc = parent.ele('testcase', { classname: clean(`${doc.command}.${c.category}`), name: clean(c.title || c.id), time: seconds(c.ms) });
        const props = tc.ele('properties');
        props.ele('property', { name: 'id', value: clean(c.id) });
        if (c.outcome === 'warn') props.ele('property', { name: 'outcome', value: isExpectedWarning(c) ? 'expected warning' : 'warning' });
        const out: string[] = [];
        if (c.outcome === 'skip') {
          skipped++;
          tc.ele('skipped', c.message ? { message: clean(c.message) } : {});
        } else if (c.outcome === 'fail' || (c.outcome === 'warn' && warningsFail && !isExpectedWarning(c))) {
          failures++;
          const message = c.message ?? `expected ${c.expected ?? '?'}, got ${c.actual ?? '?'}`;
          tc.ele('failure', { message: clean(message), type: c.outcome === 'warn' ? 'warning' : 'fail' }).txt(clean(checkDetail(c)));
        } else if (c.outcome === 'warn') {
          warnings++;
          out.push(`warning${isExpectedWarning(c) ? ' (expected for the seed design)' : ''}: ${checkDetail(c)}`);
        }
        if (c.outcome === 'warn' && warningsFail && !isExpectedWarning(c)) warnings++;
        if (c.hops.length) out.push(traceText(c));
        if (out.length) tc.ele('system-out').txt(clean(out.join('\n\n')));
      },
    });
  }

  if (doc.error) {
    cases.push({
      add: (parent) => {
        errors++;
        const tc = parent.ele('testcase', { classname: clean(doc.command), name: 'run' });
        tc.ele('error', { message: clean(doc.error!.message), ...(doc.error!.name ? { type: clean(doc.error!.name) } : {}) }).txt(clean(doc.error!.hint ? `hint: ${docLink(doc.error!.hint)}` : ''));
      },
    });
  }

  const props = suite.ele('properties');
  props.ele('property', { name: 'target', value: clean(doc.target) });
  props.ele('property', { name: 'version', value: clean(doc.version) });
  for (const c of cases) c.add(suite);
  props.ele('property', { name: 'warnings', value: String(warnings) });
  const counts = { tests: String(cases.length), failures: String(failures), errors: String(errors), skipped: String(skipped), time: seconds(doc.durationMs) };
  suite.att({ ...counts, ...(doc.startedAt ? { timestamp: clean(doc.startedAt) } : {}) });
  suites.att(counts);
  return `${root.end({ prettyPrint: true })}\n`;
}

export function createJunitSink(opts: { file: string }): EventSink {
  const events: DemoEvent[] = [];
  return {
    write: (e) => void events.push(e),
    close: () => writeFileSync(opts.file, redact(toJunit(events))),
  };
}
