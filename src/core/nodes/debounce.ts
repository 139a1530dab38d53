// Coalesces bursts of node changes into one flush. A rolling restart or an autoscaler wave sends many Node
// events within seconds; recomputing eligible nodes and calling updateHosts for every one of them would churn
// backend pools and burn cloud quota, so we wait for the burst to settle and flush once. The flush carries no
// payload: the controller re-reads the node cache then, which is the truth, not the events.

export interface DebouncerOptions {
  /** Flush once no push has arrived for this long (the trailing edge of a burst). */
  windowMs: number;
  /** Flush at the latest this long after the first push of a burst, so a never-ending trickle still flushes. */
  maxWaitMs: number;
  /** Called once per burst. Must not throw (it runs from a timer). */
  flush: () => void;
}

export class Debouncer {
  readonly #windowMs: number;
  readonly #maxWaitMs: number;
  readonly #flush: () => void;
  #pending = 0;
  #windowTimer: NodeJS.Timeout | undefined;
  #maxWaitTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: DebouncerOptions) {
    if (options.windowMs < 0 || options.maxWaitMs < options.windowMs) {
      throw new RangeError(`need 0 <= windowMs <= maxWaitMs, got ${options.windowMs} and ${options.maxWaitMs}`);
    }
    this.#windowMs = options.windowMs;
    this.#maxWaitMs = options.maxWaitMs;
    this.#flush = options.flush;
  }

  /** Pushes waiting for the next flush. */
  get pending(): number {
    return this.#pending;
  }

  push(): void {
    if (this.#stopped) return;
    this.#pending++;
    clearTimeout(this.#windowTimer);
    this.#windowTimer = setTimeout(() => this.#fire(), this.#windowMs);
    this.#windowTimer.unref();
    if (this.#maxWaitTimer === undefined) {
      this.#maxWaitTimer = setTimeout(() => this.#fire(), this.#maxWaitMs);
      this.#maxWaitTimer.unref();
    }
  }

  /** Cancel the pending flush; later pushes are ignored. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    this.#pending = 0;
  }

  #fire(): void {
    this.#clearTimers();
    const pushes = this.#pending;
    // Reset before calling out, so pushes made by (or during) the flush start a new burst.
    this.#pending = 0;
    if (pushes > 0) this.#flush();
  }

  #clearTimers(): void {
    clearTimeout(this.#windowTimer);
    clearTimeout(this.#maxWaitTimer);
    this.#windowTimer = undefined;
    this.#maxWaitTimer = undefined;
  }
}
