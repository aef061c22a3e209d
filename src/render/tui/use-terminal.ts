/** Terminal size (follows resizes) and a ticking clock for spinners; both can be pinned by tests. */
import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

export function useTerminalSize(fixed?: { columns?: number; rows?: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({
    columns: fixed?.columns ?? (stdout.columns || 80),
    rows: fixed?.rows ?? (stdout.rows || 24),
  });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout, fixed?.columns, fixed?.rows]);
  return size;
}

/** Wall-clock milliseconds, re-read every `everyMs` while `active`. */
export function useClock(active: boolean, clock: () => number = () => performance.now(), everyMs = 100): number {
  const [now, setNow] = useState(clock);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(clock()), everyMs);
    return () => clearInterval(timer);
  }, [active, clock, everyMs]);
  return now;
}
