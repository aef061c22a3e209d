/**
 * JUnit XML for CI: one testsuite per run, one testcase per check (validate calls, doctor checks) or
 * per step (up, down). The testcase name is the stable id, so CI history lines up across runs.
 *
 * @example
 *   <testsuite name="maas-egress-demo validate" tests="10" failures="1" skipped="0">
 *     <testcase classname="validate" name="call-8" time="0.012"><failure message="expected 401, got 200"/></testcase>
 */
import { writeFileSync } from 'node:fs';
import type { DemoEvent } from '../core/events.js';
import type { EventSink } from '../core/run.js';
import { redact } from '../core/secret.js';
import { toJsonDocument } from './json.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function toJunit(events: DemoEvent[]): string {
  const doc = toJsonDocument(events);
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const s of doc.steps) {
    const body = s.skipped ? (skipped++, '<skipped/>') : s.ok === false ? (failures++, `<failure message="${esc(s.message ?? 'step failed')}">${esc(s.hint ?? '')}</failure>`) : '';
    cases.push(`  <testcase classname="${esc(doc.command)}.steps" name="step-${esc(s.id)}" time="${((s.ms ?? 0) / 1000).toFixed(3)}">${body}</testcase>`);
  }
  // A check run again (a rerun, a re-check after a fix) is one testcase: its last result counts.
  const current = doc.checks.filter((c, i) => !doc.checks.slice(i + 1).some((later) => later.id === c.id));
  for (const c of current) {
    let body = '';
    if (c.outcome === 'skip') {
      skipped++;
      body = `<skipped message="${esc(c.message ?? '')}"/>`;
    } else if (c.outcome === 'fail') {
      failures++;
      const detail = [c.expected && `expected: ${c.expected}`, c.actual && `actual: ${c.actual}`, c.hop && `broken hop: ${c.hop}`, c.fix && `fix: ${c.fix}`, c.hint && `hint: ${c.hint}`, ...(c.evidence ?? [])]
        .filter(Boolean)
        .join('\n');
      body = `<failure message="${esc(c.message ?? `expected ${c.expected ?? '?'}, got ${c.actual ?? '?'}`)}">${esc(detail)}</failure>`;
    }
    const out = c.hops.length ? `<system-out>${esc(c.hops.map((h) => `${h.index}. ${h.hop} ${h.pathIn ?? ''}${h.pathOut && h.pathOut !== h.pathIn ? ` -> ${h.pathOut}` : ''} ${h.status ?? ''} ${Object.entries(h.detail).map(([k, v]) => `${k}=${v}`).join(' ')}`).join('\n'))}</system-out>` : '';
    cases.push(`  <testcase classname="${esc(doc.command)}.${esc(c.category)}" name="${esc(c.id)}" time="${(c.ms / 1000).toFixed(3)}">${body}${out}</testcase>`);
  }
  if (doc.error) {
    failures++;
    cases.push(`  <testcase classname="${esc(doc.command)}" name="run"><error message="${esc(doc.error.message)}">${esc(doc.error.hint ?? '')}</error></testcase>`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites><testsuite name="maas-egress-demo ${esc(doc.command)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${(doc.durationMs / 1000).toFixed(3)}">`,
    ...cases,
    '</testsuite></testsuites>',
    '',
  ].join('\n');
}

export function createJunitSink(opts: { file: string }): EventSink {
  const events: DemoEvent[] = [];
  return {
    write: (e) => void events.push(e),
    close: () => writeFileSync(opts.file, redact(toJunit(events))),
  };
}
