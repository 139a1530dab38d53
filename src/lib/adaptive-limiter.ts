// An adaptive client-side rate limiter for one cloud API family, shared by every caller of that family: it paces
// calls at `rate` per second, raises the rate additively on each success and cuts it multiplicatively on each
// throttle (AIMD, as the AWS SDK's adaptive retry mode does per client). A storm of throttles thus converges near
// the API's real quota instead of retrying at full speed, and a quiet API climbs back to `maxRate`.
// Library layer: imports nothing of ours. Callers report the outcome of each call (`succeeded` / `throttled`).

export interface AdaptiveLimiterOptions {
  /** Calls per second allowed at start and the most ever allowed. */
  maxRate: number;
  /** The floor: a throttle never cuts the rate below this (calls per second). */
  minRate: number;
  /** Added to the rate per successful call (calls per second). Default: maxRate / 100. */
  increase?: number;
  /** Multiplies the rate on a throttle. Default 0.5. */
  decrease?: number;
  /** Called whenever the rate changes (for a gauge). */
  onRate?: (rate: number) => void;
  /** For tests: the clock. */
  now?: () => number;
}

export class AdaptiveLimiter {
  private current: number;
  private readonly options: Required<Omit<AdaptiveLimiterOptions, 'onRate' | 'now'>>;
  private readonly onRate: ((rate: number) => void) | undefined;
  private readonly now: () => number;
  /** When the next call may start (ms, `now()`'s clock): each admitted call moves it 1/rate seconds on. */
  private nextSlot = 0;
  /** After a throttle, successes of calls started before it do not raise the rate (they saw the old rate). */
  private lastCut = Number.NEGATIVE_INFINITY;

  constructor(options: AdaptiveLimiterOptions) {
    if (!(options.minRate > 0) || !(options.maxRate >= options.minRate)) {
      throw new RangeError('AdaptiveLimiter: need 0 < minRate <= maxRate');
    }
    this.options = {
      maxRate: options.maxRate,
      minRate: options.minRate,
      increase: options.increase ?? options.maxRate / 100,
      decrease: options.decrease ?? 0.5,
    };
    this.onRate = options.onRate;
    this.now = options.now ?? Date.now;
    this.current = options.maxRate;
    this.onRate?.(this.current);
  }

  /** Calls per second allowed now. */
  get rate(): number {
    return this.current;
  }

  /**
   * Waits for this call's slot; answers the time it was admitted (pass it to `succeeded`). An abort rejects at
   * once with the signal's reason (the slot is then lost, which only slows later callers by 1/rate).
   */
  async acquire(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.current;
    const wait = slot - now;
    if (wait > 0) await sleep(wait, signal);
    return slot;
  }

  /** A call admitted at `admittedAt` succeeded (any answer that is not a throttle): additive increase. */
  succeeded(admittedAt: number): void {
    if (admittedAt < this.lastCut || this.current >= this.options.maxRate) return;
    this.set(Math.min(this.options.maxRate, this.current + this.options.increase));
  }

  /** The API answered a throttle: multiplicative decrease, at most once per current interval between calls. */
  throttled(): void {
    const now = this.now();
    if (now - this.lastCut < 1000 / this.current) return; // one burst of throttles is one signal
    this.lastCut = now;
    this.set(Math.max(this.options.minRate, this.current * this.options.decrease));
    // Calls already spaced at the old rate are spaced again from now at the new one.
    this.nextSlot = Math.max(this.nextSlot, now + 1000 / this.current);
  }

  /** Runs `fn` in a slot and reports its outcome; `isThrottle` tells a throttle from other failures. */
  async run<T>(fn: () => Promise<T>, isThrottle: (error: unknown) => boolean, signal?: AbortSignal): Promise<T> {
    const admitted = await this.acquire(signal);
    try {
      const result = await fn();
      this.succeeded(admitted);
      return result;
    } catch (error) {
      if (isThrottle(error)) this.throttled();
      else this.succeeded(admitted);
      throw error;
    }
  }

  private set(rate: number): void {
    if (rate === this.current) return;
    this.current = rate;
    this.onRate?.(rate);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
