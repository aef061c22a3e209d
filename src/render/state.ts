/**
 * The view model of a run: a pure fold of the event stream. The TUI draws only from this, tests
 * assert on it, and replay produces the same state as the live run because it folds the same events.
 * No React and no clock here: elapsed times come from the events' `t`, and the UI adds the time
 * since the last event itself.
 *
 * @example
 *   foldEvents(events).steps[0] → { id: '1', title: 'Egress gateway…', status: 'ok', ms: 212, … }
 */
import type { CheckEvent, CommandName, DemoEvent, HopEvent, LogEvent, Outcome, RunEndEvent, SummaryEvent, TargetKind } from '../core/events.js';

export type StepStatus = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';

export interface WaitView {
  condition: string;
  state: 'pending' | 'met' | 'timeout' | 'failed';
  reason?: string;
  elapsedMs: number;
  /** Stream time of the latest wait event. */
  t: number;
}

export interface StepView {
  id: string;
  title: string;
  explain?: string;
  status: StepStatus;
  /** Stream time the step started, when it has. */
  startT?: number;
  /** Duration reported by step-end. */
  ms?: number;
  /** The condition being waited for now (or the last one, once the step ended). */
  wait?: WaitView;
  waitsMet: number;
  applied: { object: string; action: string }[];
  message?: string;
  hint?: string;
  /** What the step said while it ran (log events), shown under its line instead of between steps. */
  notes: Omit<LogEvent, 'kind'>[];
}

export type HopView = Omit<HopEvent, 'kind' | 'check'>;

export type CheckStatus = 'pending' | 'running' | Outcome;

/** A check as the TUI shows it: the result fields of its `check` event, plus its live status. */
export interface CheckView extends Pick<CheckEvent, 'id' | 'title' | 'category' | 'expected' | 'actual' | 'message' | 'hint' | 'fix' | 'hop' | 'object' | 'field' | 'evidence'> {
  status: CheckStatus;
  ms?: number;
  startT?: number;
  hops: HopView[];
  /** How many times the check has started (2+ after a rerun). */
  runs: number;
  /** Which run of the stream it belongs to (the tour has several); see `ViewState.runs`. */
  run: number;
}

export interface RunView {
  command: CommandName;
  target: TargetKind;
  version: string;
  startedAt: string;
}

export interface EndView {
  ok: boolean;
  exitCode: number;
  error?: RunEndEvent['error'];
  t: number;
}

/**
 * Finished things, in the order they finished. The TUI writes each one once, above the live area
 * (ink `<Static>`), so every item is a snapshot and never changes after it is added.
 */
export type FeedItem =
  | { key: string; kind: 'run'; run: RunView }
  | { key: string; kind: 'step'; step: StepView }
  | { key: string; kind: 'category'; name: string }
  | { key: string; kind: 'check'; check: CheckView; rerun: boolean }
  | { key: string; kind: 'summary'; summary: Omit<SummaryEvent, 'kind'> }
  | { key: string; kind: 'log'; log: Omit<LogEvent, 'kind'> }
  | { key: string; kind: 'note'; title: string; text: string };

export interface ViewState {
  run?: RunView;
  plan: { id: string; title: string }[];
  steps: StepView[];
  checks: CheckView[];
  summaries: Omit<SummaryEvent, 'kind'>[];
  logs: Omit<LogEvent, 'kind'>[];
  end?: EndView;
  /** Stream time of the latest event. */
  lastT: number;
  feed: FeedItem[];
  /** Checks that have a result but may still receive `hop` events; sealed into the feed by the next other event. */
  unsealed: string[];
  /** Category of the last check written to the feed (a new one gets a heading). */
  lastCategory?: string;
  /** How many runs this state has seen (the tour drives several commands into one view). */
  runs: number;
}

export function initialState(): ViewState {
  return { plan: [], steps: [], checks: [], summaries: [], logs: [], lastT: 0, feed: [], unsealed: [], runs: 0 };
}

const SHOW_DEBUG = () => Boolean(process.env.MAAS_EGRESS_DEMO_DEBUG);

function replaceStep(state: ViewState, id: string, update: (s: StepView) => StepView): StepView[] {
  let index = -1;
  for (let i = state.steps.length - 1; i >= 0; i--) {
    if (state.steps[i]!.id === id) {
      index = i;
      break;
    }
  }
  if (index === -1) {
    // An event for a step we never saw start (a truncated recording): show it anyway.
    return [...state.steps, update({ id, title: `step ${id}`, status: 'running', waitsMet: 0, applied: [], notes: [] })];
  }
  return state.steps.map((s, i) => (i === index ? update(s) : s));
}

function replaceCheck(state: ViewState, id: string, update: (c: CheckView | undefined) => CheckView): CheckView[] {
  const index = state.checks.findIndex((c) => c.id === id);
  if (index === -1) return [...state.checks, update(undefined)];
  return state.checks.map((c, i) => (i === index ? update(c) : c));
}

/** Writes the results that are waiting for late hop events into the feed. */
function seal(state: ViewState, keep?: string): ViewState {
  const toSeal = state.unsealed.filter((id) => id !== keep);
  if (toSeal.length === 0) return state;
  const feed = [...state.feed];
  let lastCategory = state.lastCategory;
  for (const id of toSeal) {
    const check = state.checks.find((c) => c.id === id);
    if (!check) continue;
    if (check.category !== lastCategory) {
      feed.push({ key: `category-${feed.length}`, kind: 'category', name: check.category });
      lastCategory = check.category;
    }
    feed.push({ key: `check-${id}-${check.runs}-${feed.length}`, kind: 'check', check, rerun: check.runs > 1 });
  }
  return { ...state, feed, lastCategory, unsealed: state.unsealed.filter((id) => id === keep) };
}

function checkFromEvent(e: CheckEvent, prev: CheckView | undefined, run: number): CheckView {
  const view: CheckView = {
    id: e.id,
    title: e.title,
    category: e.category,
    status: e.outcome,
    ms: e.ms,
    hops: prev?.hops ?? [],
    runs: Math.max(prev?.runs ?? 0, 1),
    run,
    ...(prev?.startT !== undefined ? { startT: prev.startT } : {}),
  };
  if (e.expected !== undefined) view.expected = e.expected;
  if (e.actual !== undefined) view.actual = e.actual;
  if (e.message !== undefined) view.message = e.message;
  if (e.hint !== undefined) view.hint = e.hint;
  if (e.fix !== undefined) view.fix = e.fix;
  if (e.hop !== undefined) view.hop = e.hop;
  if (e.object !== undefined) view.object = e.object;
  if (e.field !== undefined) view.field = e.field;
  if (e.evidence !== undefined) view.evidence = e.evidence;
  return view;
}

/** One event in, the next state out. Never mutates `state`. */
export function reduce(state: ViewState, event: DemoEvent): ViewState {
  // A hop for a check that has its result already still belongs to that result; anything else seals it.
  const base = seal(state, event.kind === 'hop' ? event.check : undefined);
  const s: ViewState = { ...base, lastT: Math.max(base.lastT, event.t) };

  switch (event.kind) {
    case 'run-start': {
      const run: RunView = { command: event.command, target: event.target, version: event.version, startedAt: event.startedAt };
      // A new run (tour phase, or a rerun stream) starts its own clock: t restarts at 0.
      const { end: _end, ...rest } = s;
      return {
        ...rest,
        run,
        lastT: event.t,
        plan: event.plan ?? [],
        runs: s.runs + 1,
        feed: [...s.feed, { key: `run-${s.runs}`, kind: 'run', run }],
        lastCategory: undefined,
      };
    }
    case 'step-start':
      return {
        ...s,
        steps: [
          ...s.steps,
          {
            id: event.step,
            title: event.title,
            ...(event.explain ? { explain: event.explain } : {}),
            status: 'running',
            startT: event.t,
            waitsMet: 0,
            applied: [],
            notes: [],
          },
        ],
      };
    case 'apply':
      return { ...s, steps: replaceStep(s, event.step, (st) => ({ ...st, applied: [...st.applied, { object: event.object, action: event.action }] })) };
    case 'wait':
      return {
        ...s,
        steps: replaceStep(s, event.step, (st) => ({
          ...st,
          wait: { condition: event.condition, state: event.state, ...(event.reason ? { reason: event.reason } : {}), elapsedMs: event.elapsedMs, t: event.t },
          waitsMet: st.waitsMet + (event.state === 'met' ? 1 : 0),
        })),
      };
    case 'step-end': {
      const steps = replaceStep(s, event.step, (st) => ({
        ...st,
        status: event.skipped ? 'skipped' : event.ok ? 'ok' : 'failed',
        ms: event.ms,
        ...(event.message !== undefined ? { message: event.message } : {}),
        ...(event.hint !== undefined ? { hint: event.hint } : {}),
      }));
      const done = steps.findLast((x) => x.id === event.step)!;
      return { ...s, steps, feed: [...s.feed, { key: `step-${event.step}-${s.feed.length}`, kind: 'step', step: done }] };
    }
    case 'check-start':
      return {
        ...s,
        unsealed: s.unsealed.filter((id) => id !== event.id),
        checks: replaceCheck(s, event.id, (prev) => ({
          id: event.id,
          title: event.title,
          category: event.category,
          status: 'running',
          startT: event.t,
          hops: [],
          runs: (prev?.runs ?? 0) + 1,
          run: s.runs,
        })),
      };
    case 'check': {
      const checks = replaceCheck(s, event.id, (prev) => checkFromEvent(event, prev, s.runs));
      return { ...s, checks, unsealed: [...s.unsealed.filter((id) => id !== event.id), event.id] };
    }
    case 'hop': {
      const { kind: _k, check: id, ...hop } = event;
      const checks = replaceCheck(s, id, (prev) => {
        const c: CheckView = prev ?? { id, title: id, category: '', status: 'running', hops: [], runs: 1, run: s.runs };
        const hops = [...c.hops.filter((h) => h.index !== hop.index || h.requestId !== hop.requestId), hop].sort((a, b) => a.index - b.index);
        return { ...c, hops };
      });
      return { ...s, checks };
    }
    case 'log': {
      const { kind: _k, ...log } = event;
      const logs = [...s.logs, log];
      if (log.level === 'debug' && !SHOW_DEBUG()) return { ...s, logs };
      // Said while a step runs: it belongs to that step and is shown under it.
      const running = currentStep(s);
      if (running) return { ...s, logs, steps: replaceStep(s, running.id, (st) => ({ ...st, notes: [...st.notes, log] })) };
      return { ...s, logs, feed: [...s.feed, { key: `log-${s.feed.length}`, kind: 'log', log }] };
    }
    case 'section':
      // The heading is written now; the checks of this category that follow get no second one.
      return { ...s, feed: [...s.feed, { key: `section-${s.feed.length}`, kind: 'category', name: event.title }], lastCategory: event.id };
    case 'summary': {
      const { kind: _k, ...summary } = event;
      return { ...s, summaries: [...s.summaries, summary], feed: [...s.feed, { key: `summary-${s.feed.length}`, kind: 'summary', summary }] };
    }
    case 'run-end': {
      // Steps still running when the run ended did not finish: show them as failed in the feed.
      const open = s.steps.filter((st) => st.status === 'running');
      const steps = s.steps.map((st) => (st.status === 'running' ? { ...st, status: 'failed' as const, message: st.message ?? 'did not finish' } : st));
      const feed = [...s.feed];
      for (const st of open) feed.push({ key: `step-${st.id}-${feed.length}`, kind: 'step', step: steps.find((x) => x.id === st.id && x.status === 'failed')! });
      return {
        ...s,
        steps,
        feed,
        end: { ok: event.ok, exitCode: event.exitCode, ...(event.error ? { error: event.error } : {}), t: event.t },
      };
    }
  }
}

export function foldEvents(events: Iterable<DemoEvent>, from: ViewState = initialState()): ViewState {
  let state = from;
  for (const e of events) state = reduce(state, e);
  return state;
}

/** A note the UI adds between runs (the tour's explanations); not an event, so recordings stay pure. */
export function addNote(state: ViewState, title: string, text: string): ViewState {
  const sealed = seal(state);
  return { ...sealed, feed: [...sealed.feed, { key: `note-${sealed.feed.length}`, kind: 'note', title, text }] };
}

/** The step running now, if any. */
export function currentStep(state: ViewState): StepView | undefined {
  return state.steps.findLast((s) => s.status === 'running');
}

/** The check running now, if any. */
export function currentCheck(state: ViewState): CheckView | undefined {
  return state.checks.findLast((c) => c.status === 'running');
}

/** Checks that have a result, in the order they ran (what ↑/↓ moves through). */
export function finishedChecks(state: ViewState): CheckView[] {
  return state.checks.filter((c) => c.status !== 'running' && c.status !== 'pending');
}

export function failedCheckIds(state: ViewState): string[] {
  return state.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

/** Checks of the latest run (the tour's status line counts only the phase that just ended). */
export function checksOfLastRun(state: ViewState): CheckView[] {
  return state.checks.filter((c) => c.run === state.runs);
}

/** Counts for the footer: `7 passed · 2 failed · 1 warning`. */
export function tally(state: ViewState): Record<Outcome, number> {
  const out: Record<Outcome, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of checksOfLastRun(state)) if (c.status in out) out[c.status as Outcome]++;
  return out;
}

// ---- Browsing: which check is selected, whether its trace is open, and how far it is scrolled.
// Pure, so tests drive it directly.

export interface BrowseState {
  /** Id of the selected check, or undefined before the user moves. */
  selected?: string;
  expanded: boolean;
  /** First trace line shown while the trace is open (0 = the top). */
  scroll?: number;
}

export type BrowseKey = 'up' | 'down' | 'enter' | 'escape' | 'pageup' | 'pagedown' | 'home' | 'end';

/** What the screen can show, for keys that move by a page or to the end (the App measures it). */
export interface BrowseLayout {
  /** Lines of the open trace, and how many of them fit at once. */
  traceLines: number;
  traceRows: number;
  /** Rows of the check list (a page of selection moves). */
  listRows: number;
}

/** The largest useful scroll position: the last screenful of the trace (a scrolling trace gives one row to its scroll line). */
export function maxScroll(layout: Pick<BrowseLayout, 'traceLines' | 'traceRows'>): number {
  const rows = Math.max(1, layout.traceRows);
  return layout.traceLines <= rows ? 0 : layout.traceLines - Math.max(1, rows - 1);
}

/**
 * One key. While a trace is open the movement keys scroll it (↑/↓ a line, PgUp/PgDn a page, Home/End
 * to either end) and enter or escape close it; otherwise they move the selection.
 */
export function browse(ui: BrowseState, key: BrowseKey, state: ViewState, layout: BrowseLayout = { traceLines: 0, traceRows: 1, listRows: 8 }): BrowseState {
  const list = finishedChecks(state);
  if (list.length === 0) return ui;
  const at = ui.selected === undefined ? -1 : list.findIndex((c) => c.id === ui.selected);
  if (key === 'enter') {
    if (at === -1) return { selected: defaultSelection(state), expanded: true, scroll: 0 };
    return { ...ui, expanded: !ui.expanded, scroll: 0 };
  }
  if (key === 'escape') return { ...ui, expanded: false, scroll: 0 };
  if (ui.expanded && at !== -1) {
    // A page keeps one line of the previous screenful in view.
    const page = Math.max(1, layout.traceRows - 2);
    const delta = { up: -1, down: 1, pageup: -page, pagedown: page, home: -Infinity, end: Infinity }[key];
    const scroll = Math.min(maxScroll(layout), Math.max(0, (ui.scroll ?? 0) + delta));
    return { ...ui, scroll };
  }
  const page = Math.max(1, layout.listRows);
  const delta = { up: -1, down: 1, pageup: -page, pagedown: page, home: -Infinity, end: Infinity }[key];
  const from = at === -1 ? (delta < 0 ? list.length : -1) : at;
  const next = Math.min(list.length - 1, Math.max(0, from + delta));
  return { ...ui, selected: list[next]!.id, scroll: 0 };
}

/** What to select first: the first failed check, else the first one. */
export function defaultSelection(state: ViewState): string | undefined {
  const list = finishedChecks(state);
  return (list.find((c) => c.status === 'fail') ?? list[0])?.id;
}
