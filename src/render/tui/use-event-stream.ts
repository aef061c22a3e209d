/**
 * The only place the TUI reads the event stream. The sink pushes events into a store; the store
 * folds them with the pure reducer; components get the folded state through `useEventStream`.
 * The store also carries what the sink asks of the screen (final frame, a tour pause), never work.
 */
import { useSyncExternalStore } from 'react';
import type { DemoEvent } from '../../core/events.js';
import { addNote, initialState, reduce, type ViewState } from '../state.js';

export interface PauseRequest {
  title: string;
  text: string;
  /** What continuing does, e.g. "run validate". */
  next: string;
}

export interface StreamSnapshot {
  view: ViewState;
  /** Wall clock (ms) when the latest event arrived: the UI adds the time since, for live clocks. */
  receivedAt: number;
  /** The sink is closing: draw the final frame (no browser, no key help). */
  closing: boolean;
  pause?: PauseRequest;
  /** The terminal's size after the latest resize (before any, the App reads it from stdout). */
  size?: { columns: number; rows: number };
  /** Bumped on every resize: the finished lines are written again, whole, at the new width. */
  generation: number;
}

export interface EventStore {
  push(event: DemoEvent): void;
  /** Adds an explanation to the finished part of the screen (the tour). */
  note(title: string, text: string): void;
  setPause(pause: PauseRequest | undefined): void;
  setClosing(): void;
  /** The terminal was resized (the sink has cleared the screen): redraw everything at this size. */
  resized(size: { columns: number; rows: number }): void;
  getSnapshot(): StreamSnapshot;
  subscribe(listener: () => void): () => void;
}

export function createEventStore(clock: () => number = () => performance.now()): EventStore {
  let snapshot: StreamSnapshot = { view: initialState(), receivedAt: clock(), closing: false, generation: 0 };
  const listeners = new Set<() => void>();
  const set = (next: StreamSnapshot) => {
    snapshot = next;
    for (const l of listeners) l();
  };
  return {
    push: (event) => set({ ...snapshot, view: reduce(snapshot.view, event), receivedAt: clock() }),
    note: (title, text) => set({ ...snapshot, view: addNote(snapshot.view, title, text) }),
    setPause: (pause) => {
      const { pause: _old, ...rest } = snapshot;
      set(pause ? { ...rest, pause } : rest);
    },
    setClosing: () => set({ ...snapshot, closing: true }),
    resized: (size) => set({ ...snapshot, size, generation: snapshot.generation + 1 }),
    getSnapshot: () => snapshot,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export function useEventStream(store: EventStore): StreamSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
