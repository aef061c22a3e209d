/**
 * The whole screen: finished items written once above (ink `<Static>`), one live area below with
 * the running step or check, the call browser, a tour pause, and the status line at the end.
 * It draws only from the folded state; keys are turned into callbacks the sink acts on.
 *
 * @example
 *   maas-egress-demo validate · target local · v0.1.0
 *   calls
 *   √ 1 list models through the MaaS gateway → 200, 4 models               [call-1]
 *   × 5 Anthropic messages through both gateways                           [call-5]
 *   …
 *   × validate failed · 3 passed · 1 failed · 1 skipped · exit 1
 *   ↑/↓ select · enter trace · r rerun failed · q quit
 */
import { useRef, useState } from 'react';
import { Box, Static, Text, useInput, useStdin } from 'ink';
import type { EndView, FeedItem, ViewState } from '../state.js';
import { browse, currentCheck, currentStep, defaultSelection, failedCheckIds, finishedChecks, maxScroll, type BrowseKey, type BrowseState } from '../state.js';
import { docLink } from '../doc-links.js';
import { ActiveCheck, CheckLine, CheckList } from './CheckList.js';
import { ErrorBanner } from './ErrorBanner.js';
import { hopTraceLines } from './HopTrace.js';
import { LogLine } from './LogLine.js';
import { StepLine, StepList } from './StepList.js';
import { StatusLine, SummaryBlock } from './Summary.js';
import { ColorContext, Tinted } from './theme.js';
import { shorten, wrapWords } from './text.js';
import { useEventStream, type EventStore, type PauseRequest } from './use-event-stream.js';
import { useClock, useTerminalSize } from './use-terminal.js';

export interface AppProps {
  store: EventStore;
  color: boolean;
  interactive: boolean;
  /** A rerun function was given: `r` reruns the failed calls. */
  canRerun: boolean;
  /** q after the run (or the end of --interactive browsing). */
  onQuit: () => void;
  /** q or ctrl+c while the command still runs: stop it like SIGINT. */
  onInterrupt: () => void;
  onRerun: (ids: string[]) => void;
  /** The answer to a tour pause: true continues, false stops the tour. */
  onContinue: (go: boolean) => void;
  /** Pinned size (tests); otherwise the terminal's, following resizes. */
  columns?: number;
  rows?: number;
  /** Wall clock (tests pin it). */
  clock?: () => number;
  /** The command being started, for the first frame before its run-start arrives. */
  command?: string;
}

/** One finished item of the feed (also drawn on its own by the asciicast export). */
export function FeedEntry({ item, width, color }: { item: FeedItem; width: number; color: boolean }) {
  switch (item.kind) {
    case 'run':
      return (
        <Text wrap="truncate-end">
          <Tinted tone="bold">{shorten(`maas-egress-demo ${item.run.command} · target ${item.run.target} · v${item.run.version}`, width)}</Tinted>
        </Text>
      );
    case 'step':
      return <StepLine step={item.step} width={width} />;
    case 'category':
      return (
        <Box marginTop={1}>
          <Tinted tone="bold">{shorten(item.name, width)}</Tinted>
        </Box>
      );
    case 'check':
      return <CheckLine check={item.check} width={width} />;
    case 'summary':
      return (
        <Box marginTop={1}>
          <SummaryBlock summary={item.summary} width={width} color={color} />
        </Box>
      );
    case 'log':
      return <LogLine log={item.log} width={width} />;
    case 'note':
      return (
        <Box flexDirection="column" marginTop={1} width={width}>
          <Tinted tone="bold">{shorten(item.title, width)}</Tinted>
          <Text wrap="wrap">{item.text}</Text>
        </Box>
      );
  }
}

function PausePanel({ pause, width }: { pause: PauseRequest; width: number }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={width}>
      <Tinted tone="bold">{shorten(pause.title, width - 4)}</Tinted>
      <Text wrap="wrap">{pause.text}</Text>
      <Text wrap="truncate-end">
        <Tinted tone="cyan">enter</Tinted>
        {` ${pause.next} · `}
        <Tinted tone="cyan">q</Tinted>
        {' stop the tour'}
      </Text>
    </Box>
  );
}

/**
 * Rows the browser may use so the live area stays shorter than the terminal: ink redraws the whole
 * screen once its live area reaches the terminal height, which would flicker and lose the scrollback.
 * `other` counts every live row outside the list (the margin above it included). Without a trace the
 * list may use the rest (two rows go to "↑/↓ N more"); with one, the selected row and the trace's
 * title take two rows and the trace gets everything else.
 */
export function browserBudget(rows: number, other: number, count: number, expanded = false): { listRows: number; traceRows: number } {
  const free = Math.max(4, rows - 1 - other);
  const listRows = Math.max(1, count <= free ? count : free - 2);
  return { listRows: expanded ? 1 : listRows, traceRows: Math.max(3, free - 2) };
}

/** Rows the error banner takes at `width`: its frame, the message and the hint or next step, each wrapped. */
export function bannerRows(end: EndView, width: number): number {
  if (!end.error) return 0;
  const inner = Math.max(10, width - 4);
  const hint = end.error.hint ? wrapWords(`try:   ${docLink(end.error.hint)}`, inner).length : 1;
  return 2 + wrapWords(`error: ${end.error.message}`, inner).length + hint;
}

/**
 * What the live area shows, as a pure function of the state and the browse selection. On close the
 * browser stays only if the user moved in it: the call or trace they were reading is left on screen
 * (as `less -X` leaves its last page), without the key help.
 */
export function liveView(view: ViewState, o: { closing: boolean; browsing: boolean; interactive: boolean; pause: boolean }) {
  const ended = view.end !== undefined;
  const wanted = o.closing ? o.browsing : o.browsing || (o.interactive && ended);
  const showBrowser = !o.pause && finishedChecks(view).length > 0 && wanted;
  return { ended, showBrowser };
}

export function App(props: AppProps) {
  const snap = useEventStream(props.store);
  const { view, closing, pause } = snap;
  const term = useTerminalSize({ ...(props.columns ? { columns: props.columns } : {}), ...(props.rows ? { rows: props.rows } : {}) });
  const columns = props.columns ?? snap.size?.columns ?? term.columns;
  const rows = props.rows ?? snap.size?.rows ?? term.rows;
  const width = Math.max(20, columns);
  const running = view.end === undefined && !closing;
  const wall = useClock(running, props.clock);
  // Stream time now: the latest event's `t` plus the wall time since it arrived.
  const now = running ? view.lastT + Math.max(0, wall - snap.receivedAt) : view.lastT;
  const { isRawModeSupported } = useStdin();
  const [ui, setUi] = useState<BrowseState>({ expanded: false });
  const [browsing, setBrowsing] = useState(false);
  const { ended, showBrowser } = liveView(view, { closing, browsing, interactive: props.interactive, pause: pause !== undefined });
  const failed = failedCheckIds(view);

  const step = currentStep(view);
  const check = currentCheck(view);
  const planIsSteps = view.run?.command === 'up' || view.run?.command === 'down';
  const checks = finishedChecks(view);
  const selected = ui.selected ?? defaultSelection(view);
  const current = checks.find((c) => c.id === selected);
  const expanded = ui.expanded && current !== undefined;
  const keyHelp = isRawModeSupported && !closing && !pause;
  const pendingSteps = planIsSteps ? view.plan.filter((p) => !view.steps.some((s) => s.id === p.id)).length : 0;
  const activityRows = ended ? 0 : (step ? 3 : 0) + (check ? 1 : 0) + Math.min(pendingSteps, 4) + (view.run ? 0 : 1);
  const endRows = view.end ? 2 + bannerRows(view.end, width) : 0;
  const traceLines = current ? hopTraceLines(current, width).length : 0;
  const { listRows, traceRows } = browserBudget(rows, 1 + activityRows + endRows + (keyHelp ? 1 : 0), checks.length, expanded);
  const layout = { traceLines, traceRows, listRows };
  const scroll = Math.min(ui.scroll ?? 0, maxScroll(layout));

  // ink re-subscribes the input handler in an effect, which can run after the next key arrives:
  // the handler reads the latest render's values through a ref, never a stale closure.
  const latest = useRef({ ui, browsing, view, ended, pause, failed, props, layout });
  latest.current = { ui, browsing, view, ended, pause, failed, props, layout };

  useInput(
    (input, key) => {
      const { ui, browsing, view, ended, pause, failed, props, layout } = latest.current;
      if (pause) {
        if (key.return || input === ' ') props.onContinue(true);
        else if (input === 'q' || (key.ctrl && input === 'c')) props.onContinue(false);
        return;
      }
      if (input === 'q' || (key.ctrl && input === 'c')) {
        if (ended) props.onQuit();
        else props.onInterrupt();
        return;
      }
      const move: BrowseKey | undefined = key.upArrow
        ? 'up'
        : key.downArrow
          ? 'down'
          : key.return
            ? 'enter'
            : key.escape
              ? 'escape'
              : key.pageUp
                ? 'pageup'
                : key.pageDown
                  ? 'pagedown'
                  : key.home
                    ? 'home'
                    : key.end
                      ? 'end'
                      : undefined;
      if (move) {
        const base: BrowseState = { ...ui, ...(ui.selected === undefined ? { selected: defaultSelection(view) } : {}) };
        // The first key shows the list with the default selection (enter also opens its trace).
        const next = !browsing && !(props.interactive && ended) ? (move === 'enter' ? { ...base, expanded: true, scroll: 0 } : base) : browse(base, move, view, layout);
        latest.current = { ...latest.current, ui: next, browsing: true };
        setUi(next);
        setBrowsing(true);
        return;
      }
      if (input === 'r' && ended && props.canRerun && failed.length > 0) props.onRerun(failed);
    },
    { isActive: Boolean(isRawModeSupported) && !closing },
  );

  const help = expanded && showBrowser
    ? [traceLines > traceRows ? '↑/↓ PgUp/PgDn Home/End scroll' : '', 'esc close', ended ? 'q quit' : 'q stop']
    : [checks.length > 0 ? '↑/↓ select · enter trace' : '', ended && props.canRerun && failed.length > 0 ? 'r rerun failed' : '', ended ? 'q quit' : 'q stop'];

  return (
    <ColorContext.Provider value={props.color}>
      <Box flexDirection="column" width={width}>
        {/* A resize clears the screen and bumps the generation: a fresh <Static> writes every finished line again at the new width. */}
        <Static key={snap.generation} items={view.feed}>
          {(item) => (
            <Box key={item.key} width={width}>
              <FeedEntry item={item} width={width} color={props.color} />
            </Box>
          )}
        </Static>
        {!view.run && !closing ? (
          <Text wrap="truncate-end">
            <Tinted tone="dim">{shorten(`maas-egress-demo ${props.command ?? ''} · starting…`.replace('  ', ' '), width)}</Tinted>
          </Text>
        ) : null}
        {!ended && planIsSteps ? <StepList steps={view.steps} plan={view.plan} now={now} width={width} /> : null}
        {!ended && !planIsSteps && step ? <StepList steps={view.steps} plan={[]} now={now} width={width} /> : null}
        {!ended && check ? <ActiveCheck check={check} now={now} width={width} /> : null}
        {showBrowser ? (
          <Box marginTop={1}>
            <CheckList checks={checks} selected={selected} expanded={expanded} width={width} maxRows={listRows} traceRows={traceRows} scroll={scroll} />
          </Box>
        ) : null}
        {view.end ? (
          <Box flexDirection="column" marginTop={1}>
            <ErrorBanner end={view.end} width={width} />
            <StatusLine state={view} end={view.end} width={width} />
          </Box>
        ) : null}
        {pause ? <PausePanel pause={pause} width={width} /> : null}
        {keyHelp ? (
          <Text wrap="truncate-end">
            <Tinted tone="dim">{shorten(help.filter(Boolean).join(' · '), width)}</Tinted>
          </Text>
        ) : null}
      </Box>
    </ColorContext.Provider>
  );
}
