/** The hop records a hop keeps for `validate` and `doctor` to read back through its admin listener. */
import type { HopRecord } from '../../model/hop-record.js';

/** The last `capacity` hop records, in a ring: adding is O(1) however full it is. */
export class TraceBuffer {
  readonly #records: HopRecord[] = [];
  #next = 0;
  constructor(private readonly capacity = 2000) {}
  add(r: HopRecord): void {
    if (this.#records.length < this.capacity) this.#records.push(r);
    else this.#records[this.#next] = r;
    this.#next = (this.#next + 1) % this.capacity;
  }
  /** Oldest first. */
  #ordered(): HopRecord[] {
    return this.#records.length < this.capacity ? this.#records : [...this.#records.slice(this.#next), ...this.#records.slice(0, this.#next)];
  }
  find(requestId: string): HopRecord[] {
    return this.#ordered().filter((r) => r.requestId === requestId);
  }
  recent(n = 50): HopRecord[] {
    return this.#ordered().slice(-n);
  }
}
