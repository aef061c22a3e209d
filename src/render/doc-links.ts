/**
 * Where each hint is answered. Checks, steps and errors name a hint by a stable id, written as
 * `README.md#<id>` (or the bare id, for steps); the sections that answer them live in docs/. This is
 * the one place that knows which page holds which id, and every renderer passes hints through it, so
 * `hint: README.md#doctor-rewrites` prints as `hint: docs/doctor.md#doctor-rewrites`.
 * test/docs/links.test.ts proves that every id used in src/ and steps/ lands on a heading.
 *
 * @example
 *   docLink('README.md#doctor-rewrites')  → 'docs/doctor.md#doctor-rewrites'
 *   docLink('step-gateway')               → 'docs/commands.md#step-gateway'
 *   docLink('see README.md#faults')       → 'see docs/faults.md#faults'
 */
import type { DemoEvent } from '../core/events.js';

/** First match wins: an id's prefix says which page answers it. */
const PAGES: readonly (readonly [RegExp, string])[] = [
  [/^doctor-/, 'docs/doctor.md'],
  [/^validate-/, 'docs/validate.md'],
  [/^step-/, 'docs/commands.md'],
  [/^faults?(-|$)/, 'docs/faults.md'],
  [/^configuration(-|$)/, 'docs/configuration.md'],
  [/^cluster-/, 'docs/cluster.md'],
  [/^(status|architecture)(-|$)/, 'docs/architecture.md'],
  [/^(exit-codes|secrets|commands)(-|$)/, 'docs/commands.md'],
  [/^subscription(-|$)/, 'docs/subscription.md'],
];

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The page that answers `id`, or undefined when no page claims it. */
export function docPage(id: string): string | undefined {
  return PAGES.find(([pattern]) => pattern.test(id))?.[1];
}

/** Rewrites every `README.md#<id>` in `text`, or a text that is a bare id, into the docs/ page that answers it. */
export function docLink(text: string): string {
  if (ID.test(text)) {
    const page = docPage(text);
    return page ? `${page}#${text}` : text;
  }
  return text.replace(/README\.md#([a-z0-9-]+)/g, (whole, id: string) => {
    const page = docPage(id);
    return page ? `${page}#${id}` : whole;
  });
}

/**
 * The event with its hints pointing at docs/ (the JSON document; plain, JUnit and the TUI map as they
 * print). NDJSON stays the raw stream, line for line what a recording holds, so it replays as is.
 */
export function withDocLinks(e: DemoEvent): DemoEvent {
  if ((e.kind === 'check' || e.kind === 'step-end') && e.hint !== undefined) return { ...e, hint: docLink(e.hint) };
  if (e.kind === 'run-end' && e.error?.hint !== undefined) return { ...e, error: { ...e.error, hint: docLink(e.error.hint) } };
  return e;
}
