/**
 * Steps: one line for each finished step (written once, above the live area), and a live block for
 * the running step with a spinner, the condition being waited for, its latest reason and the time.
 *
 * @example
 *   √ step 1  Egress gateway: controller, GatewayClass and Gateway ·        57 ms
 *             1 started, 1 ready
 *   ⠹ step 2  On-prem model behind the MaaS gateway                             0.9 s
 *       waiting for Deployment llm/onprem-model Available
 *       Pulling image · 0.8 s
 *   · step 4  Per-provider routes and key injection on the MaaS gateway
 */
import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { formatMs } from '../style.js';
import { docLink } from '../doc-links.js';
import { Tinted, Wrapped } from './theme.js';
import { LogLine } from './LogLine.js';
import { shorten, spinnerFrame } from './text.js';

function counts(step: StepView): string {
  const byAction = new Map<string, number>();
  for (const a of step.applied) byAction.set(a.action, (byAction.get(a.action) ?? 0) + 1);
  const parts = [...byAction].map(([action, n]) => `${n} ${action}`);
  if (step.waitsMet > 0) parts.push(`${step.waitsMet} ready`);
  return parts.join(', ');
}

/**
 * The first line of a step: symbol, `step N`, the title (wrapped at word boundaries when `wrap`,
 * else shortened at one), `detail` after it in dim, and `right` (the time) in its own column, never cut.
 */
function HeadLine({ symbol, tone, step, detail, right, width, wrap }: { symbol: string; tone: 'green' | 'red' | 'dim' | 'cyan'; step: StepView; detail?: string; right: string; width: number; wrap: boolean }) {
  const label = `step ${step.id}  `;
  const rightCol = right ? right.length + 2 : 0;
  const room = Math.max(4, width - 2 - label.length - rightCol);
  // (the middle column: what the title wraps or is shortened to)
  const text = wrap ? step.title : shorten(step.title, room);
  // Each count stays whole when the title wraps: no break inside `2 started` (no-break spaces).
  const unit = (detail ?? '').split(', ').map((part) => part.replace(/ /g, '\u00a0'));
  const extra = detail && (wrap || text.length + 3 + detail.length <= room) ? ` ·\u00a0${unit.join(', ')}` : '';
  return (
    <Box width={width}>
      <Box flexShrink={0}>
        <Text>
          <Tinted tone={tone}>{symbol}</Tinted> <Tinted tone="bold">{label}</Tinted>
        </Text>
      </Box>
      <Box flexGrow={1} flexShrink={1}>
        {wrap ? (
          <Wrapped segments={[{ text, tone: 'plain' }, { text: extra, tone: 'dim' }]} width={room} />
        ) : (
          <Text wrap="truncate-end">
            {text}
            <Tinted tone="dim">{extra}</Tinted>
          </Text>
        )}
      </Box>
      {right ? (
        <Box flexShrink={0} marginLeft={2}>
          <Tinted tone="dim">{right}</Tinted>
        </Box>
      ) : null}
    </Box>
  );
}

/** A finished step: its line (with what it did and its time), what it said, and the reason and hint when it failed. */
export function StepLine({ step, width }: { step: StepView; width: number }) {
  const notes = step.notes.map((n, i) => <LogLine key={i} log={n} width={width} indent={4} />);
  if (step.status === 'skipped') {
    return (
      <Box flexDirection="column" width={width}>
        <HeadLine symbol="-" tone="dim" step={step} detail={step.message ? `skipped: ${step.message}` : 'skipped'} right="" width={width} wrap />
        {notes}
      </Box>
    );
  }
  const ok = step.status === 'ok';
  return (
    <Box flexDirection="column" width={width}>
      <HeadLine symbol={ok ? '√' : '×'} tone={ok ? 'green' : 'red'} step={step} detail={counts(step)} right={step.ms !== undefined ? formatMs(step.ms) : ''} width={width} wrap />
      {notes}
      {!ok && step.wait && step.wait.state !== 'met' ? (
        <Box flexDirection="column" paddingLeft={4}>
          <Text wrap="wrap">
            <Tinted tone="dim">waited for</Tinted> {step.wait.condition}
          </Text>
          <Text wrap="wrap">
            <Tinted tone="dim">{`${step.wait.state} after ${formatMs(step.wait.elapsedMs)}`}</Tinted>
            {step.wait.reason ? <Tinted tone="yellow">{`: ${step.wait.reason}`}</Tinted> : null}
          </Text>
        </Box>
      ) : null}
      {!ok && step.message ? (
        <Box paddingLeft={4}>
          <Wrapped segments={[{ text: step.message, tone: 'plain' }]} width={width - 4} />
        </Box>
      ) : null}
      {!ok && step.hint ? (
        <Box paddingLeft={4}>
          <Box flexShrink={0}>
            <Tinted tone="cyan">hint: </Tinted>
          </Box>
          <Wrapped segments={[{ text: docLink(step.hint), tone: 'plain' }]} width={width - 10} />
        </Box>
      ) : null}
    </Box>
  );
}

export interface ActiveStepProps {
  step: StepView;
  /** Stream time now (ms since the run started), for the elapsed clocks. */
  now: number;
  width: number;
}

/** The running step: spinner, elapsed time, the condition waited for and its latest reason. */
export function ActiveStep({ step, now, width }: ActiveStepProps) {
  const elapsed = Math.max(0, now - (step.startT ?? now));
  const wait = step.wait;
  const waitElapsed = wait ? (wait.state === 'pending' ? wait.elapsedMs + Math.max(0, now - wait.t) : wait.elapsedMs) : 0;
  const lastApplied = step.applied.at(-1);
  const lastNote = step.notes.at(-1);
  return (
    <Box flexDirection="column" width={width}>
      <HeadLine symbol={spinnerFrame(now)} tone="cyan" step={step} right={formatMs(elapsed)} width={width} wrap={false} />
      {wait && wait.state === 'pending' ? (
        <>
          <Text wrap="truncate-end">
            {'    '}
            <Tinted tone="dim">waiting for</Tinted> {wait.condition}
          </Text>
          <Text wrap="truncate-end">
            {'    '}
            <Tinted tone="yellow">{wait.reason ?? 'not yet'}</Tinted>
            <Tinted tone="dim">{` · ${formatMs(waitElapsed)}`}</Tinted>
          </Text>
        </>
      ) : lastNote ? (
        <Text wrap="truncate-end">
          {'    '}
          <Tinted tone={lastNote.level === 'warn' ? 'yellow' : lastNote.level === 'error' ? 'red' : 'dim'}>{shorten(lastNote.message.split('\n')[0] ?? '', Math.max(8, width - 4))}</Tinted>
        </Text>
      ) : lastApplied ? (
        <Text wrap="truncate-end">
          {'    '}
          <Tinted tone="dim">{lastApplied.action}</Tinted> {lastApplied.object}
        </Text>
      ) : null}
    </Box>
  );
}

export interface StepListProps {
  steps: StepView[];
  /** Planned steps from run-start; those not started yet are listed dim. */
  plan: { id: string; title: string }[];
  now: number;
  width: number;
  /** At most this many pending steps are listed; the rest are counted. */
  maxPending?: number;
}

/** The live part of the step list: the running step, then what is still to come. */
export function StepList({ steps, plan, now, width, maxPending = 3 }: StepListProps) {
  const running = steps.filter((s) => s.status === 'running');
  const started = new Set(steps.map((s) => s.id));
  const pending = plan.filter((p) => !started.has(p.id));
  const shown = pending.slice(0, maxPending);
  return (
    <Box flexDirection="column" width={width}>
      {running.map((s) => (
        <ActiveStep key={s.id} step={s} now={now} width={width} />
      ))}
      {shown.map((p) => (
        <Text key={p.id} wrap="truncate-end">
          <Tinted tone="dim">{shorten(`· step ${p.id}  ${p.title}`, width)}</Tinted>
        </Text>
      ))}
      {pending.length > shown.length ? <Tinted tone="dim">{`  … ${pending.length - shown.length} more to come`}</Tinted> : null}
    </Box>
  );
}
