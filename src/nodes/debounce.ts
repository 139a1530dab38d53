// Coalesces bursts of node changes into one flush. A rolling restart or an autoscaler wave sends many Node
// events within seconds; recomputing eligible nodes and calling updateHosts for every one of them would churn
// backend pools and burn cloud quota, so we wait for the burst to settle and flush the union once.

export interface DebouncerOptions<T> {
  /** Flush once no push has arrived for this long (the trailing edge of a burst). */
  windowMs: number;
  /** Flush at the latest this long after the first push of a burst, so a never-ending trickle still flushes. */
  maxWaitMs: number;
  /** Receives the union of the items pushed since the last flush. Must not throw (it runs from a timer). */
  flush: (items: Set<T>) => void;
}

export class Debouncer<T> {
  readonly #windowMs: number;
  readonly #maxWaitMs: number;
  readonly #flush: (items: Set<T>) => void;
  #pending = new Set<T>();
  #windowTimer: NodeJS.Timeout | undefined;
  #maxWaitTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: DebouncerOptions<T>) {
    if (options.windowMs < 0 || options.maxWaitMs < options.windowMs) {
      throw new RangeError(`need 0 <= windowMs <= maxWaitMs, got ${options.windowMs} and ${options.maxWaitMs}`);
    }
    this.#windowMs = options.windowMs;
    this.#maxWaitMs = options.maxWaitMs;
    this.#flush = options.flush;
  }

  /** Items waiting for the next flush. */
  get pending(): number {
    return this.#pending.size;
  }

  push(item: T): void {
    if (this.#stopped) return;
    this.#pending.add(item);
    clearTimeout(this.#windowTimer);
    this.#windowTimer = setTimeout(() => this.#fire(), this.#windowMs);
    this.#windowTimer.unref();
    if (this.#maxWaitTimer === undefined) {
      this.#maxWaitTimer = setTimeout(() => this.#fire(), this.#maxWaitMs);
      this.#maxWaitTimer.unref();
    }
  }

  /** Cancel the pending flush and drop its items; later pushes are ignored. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    this.#pending = new Set();
  }

  #fire(): void {
    this.#clearTimers();
    const items = this.#pending;
    // Swap before calling out, so pushes made by (or during) the flush start a new burst.
    this.#pending = new Set();
    if (items.size > 0) this.#flush(items);
  }

  #clearTimers(): void {
    clearTimeout(this.#windowTimer);
    clearTimeout(this.#maxWaitTimer);
    this.#windowTimer = undefined;
    this.#maxWaitTimer = undefined;
  }
}
