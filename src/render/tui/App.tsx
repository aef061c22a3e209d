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
import type { FeedItem, ViewState } from '../state.js';
import { browse, currentCheck, currentStep, defaultSelection, failedCheckIds, finishedChecks, type BrowseState } from '../state.js';
import { ActiveCheck, CheckLine, CheckList } from './CheckList.js';
import { ErrorBanner } from './ErrorBanner.js';
import { StepLine, StepList } from './StepList.js';
import { StatusLine, SummaryBlock } from './Summary.js';
import { ColorContext, Tinted } from './theme.js';
import { truncate } from './text.js';
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
}

function FeedEntry({ item, width, color }: { item: FeedItem; width: number; color: boolean }) {
  switch (item.kind) {
    case 'run':
      return (
        <Text wrap="truncate-end">
          <Tinted tone="bold">{truncate(`maas-egress-demo ${item.run.command} · target ${item.run.target} · v${item.run.version}`, width)}</Tinted>
        </Text>
      );
    case 'step':
      return <StepLine step={item.step} width={width} />;
    case 'category':
      return (
        <Box marginTop={1}>
          <Tinted tone="bold">{truncate(item.name, width)}</Tinted>
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
    case 'log': {
      const tone = item.log.level === 'error' ? 'red' : item.log.level === 'warn' ? 'yellow' : 'dim';
      const tag = item.log.level === 'warn' ? 'warning: ' : item.log.level === 'error' ? 'error: ' : '';
      return (
        <Box width={width}>
          <Text wrap="wrap">
            <Tinted tone={tone}>{tag}</Tinted>
            {item.log.message}
          </Text>
        </Box>
      );
    }
    case 'note':
      return (
        <Box flexDirection="column" marginTop={1} width={width}>
          <Tinted tone="bold">{truncate(item.title, width)}</Tinted>
          <Text wrap="wrap">{item.text}</Text>
        </Box>
      );
  }
}

function PausePanel({ pause, width }: { pause: PauseRequest; width: number }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={width}>
      <Tinted tone="bold">{truncate(pause.title, width - 4)}</Tinted>
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
 */
export function browserBudget(rows: number, other: number, count: number, expanded = false): { listRows: number; traceRows: number } {
  const free = Math.max(4, rows - 2 - other);
  // With a trace open, the list shrinks to a few rows around the selection and the trace gets the rest.
  const listRows = Math.max(1, Math.min(count, Math.floor(free / 3), expanded ? 3 : 8));
  return { listRows, traceRows: Math.max(2, free - listRows) };
}

/** What the live area shows, as a pure function of the state and the browse selection. */
export function liveView(view: ViewState, o: { closing: boolean; browsing: boolean; interactive: boolean; pause: boolean }) {
  const ended = view.end !== undefined;
  const showBrowser = !o.closing && !o.pause && finishedChecks(view).length > 0 && (o.browsing || (o.interactive && ended));
  return { ended, showBrowser };
}

export function App(props: AppProps) {
  const snap = useEventStream(props.store);
  const { view, closing, pause } = snap;
  const { columns, rows } = useTerminalSize({ ...(props.columns ? { columns: props.columns } : {}), ...(props.rows ? { rows: props.rows } : {}) });
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
  // ink re-subscribes the input handler in an effect, which can run after the next key arrives:
  // the handler reads the latest render's values through a ref, never a stale closure.
  const latest = useRef({ ui, browsing, view, ended, pause, failed, props });
  latest.current = { ui, browsing, view, ended, pause, failed, props };

  useInput(
    (input, key) => {
      const { ui, browsing, view, ended, pause, failed, props } = latest.current;
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
      if (key.upArrow || key.downArrow || key.return || key.escape) {
        const base: BrowseState = { ...ui, ...(ui.selected === undefined ? { selected: defaultSelection(view) } : {}) };
        const move = key.upArrow ? 'up' : key.downArrow ? 'down' : key.return ? 'enter' : 'escape';
        // The first key shows the list with the default selection (enter also opens its trace).
        const next = !browsing && !(props.interactive && ended) ? (move === 'enter' ? { ...base, expanded: true } : base) : browse(base, move, view);
        latest.current = { ...latest.current, ui: next, browsing: true };
        setUi(next);
        setBrowsing(true);
        return;
      }
      if (input === 'r' && ended && props.canRerun && failed.length > 0) props.onRerun(failed);
    },
    { isActive: Boolean(isRawModeSupported) && !closing },
  );

  const step = currentStep(view);
  const check = currentCheck(view);
  const planIsSteps = view.run?.command === 'up' || view.run?.command === 'down';
  const checks = finishedChecks(view);
  const selected = ui.selected ?? defaultSelection(view);
  const keyHelp = isRawModeSupported && !closing && !pause;
  const activityRows = ended ? 0 : (step ? 3 : 0) + (check ? 1 : 0) + (planIsSteps ? 4 : 0);
  const footerRows = ended ? 2 + (view.end?.error ? 4 : 0) : 0;
  // margin above the list, the "↑/↓ N more" lines, the trace title, the key help
  const chromeRows = 1 + 2 + (ui.expanded ? 1 : 0) + (keyHelp ? 1 : 0);
  const { listRows, traceRows } = browserBudget(rows, activityRows + footerRows + chromeRows, checks.length, ui.expanded);

  return (
    <ColorContext.Provider value={props.color}>
      <Box flexDirection="column" width={width}>
        <Static items={view.feed}>
          {(item) => (
            <Box key={item.key} width={width}>
              <FeedEntry item={item} width={width} color={props.color} />
            </Box>
          )}
        </Static>
        {!ended && planIsSteps ? <StepList steps={view.steps} plan={view.plan} now={now} width={width} /> : null}
        {!ended && !planIsSteps && step ? <StepList steps={view.steps} plan={[]} now={now} width={width} /> : null}
        {!ended && check ? <ActiveCheck check={check} now={now} width={width} /> : null}
        {showBrowser ? (
          <Box marginTop={1}>
            <CheckList checks={checks} selected={selected} expanded={ui.expanded} width={width} maxRows={listRows} traceRows={traceRows} />
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
            <Tinted tone="dim">
              {truncate(
                [checks.length > 0 ? '↑/↓ select · enter trace' : '', ended && props.canRerun && failed.length > 0 ? 'r rerun failed' : '', ended ? 'q quit' : 'q stop']
                  .filter(Boolean)
                  .join(' · '),
                width,
              )}
            </Tinted>
          </Text>
        ) : null}
      </Box>
    </ColorContext.Provider>
  );
}
