/**
 * Steps: one line for each finished step (written once, above the live area), and a live block for
 * the running step with a spinner, the condition being waited for, its latest reason and the time.
 *
 * @example
 *   √ step 1  Egress gateway: controller, GatewayClass and Gateway              57 ms
 *   ⠹ step 2  On-prem model behind the MaaS gateway                             0.9 s
 *       waiting for Deployment llm/onprem-model Available
 *       Pulling image · 0.8 s
 *   · step 4  Per-provider routes and key injection on the MaaS gateway
 */
import { Box, Text } from 'ink';
import type { StepView } from '../state.js';
import { formatMs } from '../style.js';
import { docLink } from '../doc-links.js';
import { Tinted } from './theme.js';
import { spinnerFrame, truncate } from './text.js';

function counts(step: StepView): string {
  const byAction = new Map<string, number>();
  for (const a of step.applied) byAction.set(a.action, (byAction.get(a.action) ?? 0) + 1);
  const parts = [...byAction].map(([action, n]) => `${n} ${action}`);
  if (step.waitsMet > 0) parts.push(`${step.waitsMet} ready`);
  return parts.join(', ');
}

function HeadLine({ symbol, tone, step, right, width }: { symbol: string; tone: 'green' | 'red' | 'dim' | 'cyan'; step: StepView; right: string; width: number }) {
  const label = `step ${step.id}  `;
  const room = width - 2 - label.length - (right ? right.length + 2 : 0);
  const title = truncate(step.title, Math.max(4, room));
  const pad = Math.max(1, width - 2 - label.length - title.length - right.length);
  return (
    <Text wrap="truncate-end">
      <Tinted tone={tone}>{symbol}</Tinted> <Tinted tone="bold">{label}</Tinted>
      {title}
      {right ? `${' '.repeat(pad)}` : ''}
      {right ? <Tinted tone="dim">{right}</Tinted> : null}
    </Text>
  );
}

/** A finished step: one line when it went well, the reason and a hint when it did not. */
export function StepLine({ step, width }: { step: StepView; width: number }) {
  if (step.status === 'skipped') {
    return <HeadLine symbol="-" tone="dim" step={step} right={truncate(step.message ? `skipped: ${step.message}` : 'skipped', 30)} width={width} />;
  }
  const ok = step.status === 'ok';
  const detail = counts(step);
  const right = [detail, step.ms !== undefined ? formatMs(step.ms) : ''].filter(Boolean).join(' · ');
  return (
    <Box flexDirection="column" width={width}>
      <HeadLine symbol={ok ? '√' : '×'} tone={ok ? 'green' : 'red'} step={step} right={truncate(right, Math.floor(width * 0.45))} width={width} />
      {!ok && step.wait && step.wait.state !== 'met' ? (
        <Box flexDirection="column" paddingLeft={4}>
          <Text wrap="truncate-end">
            <Tinted tone="dim">waited for</Tinted> {step.wait.condition}
          </Text>
          <Text wrap="truncate-end">
            <Tinted tone="dim">{`${step.wait.state} after ${formatMs(step.wait.elapsedMs)}`}</Tinted>
            {step.wait.reason ? <Tinted tone="yellow">{`: ${step.wait.reason}`}</Tinted> : null}
          </Text>
        </Box>
      ) : null}
      {!ok && step.message ? (
        <Box paddingLeft={4}>
          <Text wrap="wrap">{step.message}</Text>
        </Box>
      ) : null}
      {!ok && step.hint ? (
        <Text wrap="truncate-end">
          {'    '}
          <Tinted tone="cyan">hint:</Tinted> {docLink(step.hint)}
        </Text>
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
  return (
    <Box flexDirection="column" width={width}>
      <HeadLine symbol={spinnerFrame(now)} tone="cyan" step={step} right={formatMs(elapsed)} width={width} />
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
          <Tinted tone="dim">{truncate(`· step ${p.id}  ${p.title}`, width)}</Tinted>
        </Text>
      ))}
      {pending.length > shown.length ? <Tinted tone="dim">{`  … ${pending.length - shown.length} more to come`}</Tinted> : null}
    </Box>
  );
}
