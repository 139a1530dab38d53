// One adaptive request rate per API family, shared by every Service's calls: additive increase while calls
// succeed, multiplicative decrease on a throttle, as the AWS SDK's adaptive retry mode does per client (which this
// replaces: the SDK's own limiter cuts its rate on every throttled response, so a steady share of throttles, which
// is what a busy account sees, drives it down to a crawl). Here at most one decrease per window: the throttles of
// one burst are one signal, not one each. Below the family's configured cap it settles where throttles and
// successes balance: near the account's quota when that is what throttles, near the cap when throttles are noise.

/** The SDK's CUBIC beta: each decrease keeps 70 % of the rate. */
const BETA = 0.7;
/** At most one decrease per this many ms. */
const WINDOW_MS = 1000;

export class AdaptiveRate {
  /** Requests per second currently allowed. */
  private current: number;
  private readonly max: number;
  private readonly min: number;
  /** Requests per second added per second of successes. */
  private readonly alpha: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly onChange: (rate: number) => void;

  constructor(max: number, onChange: (rate: number) => void, now: () => number = Date.now) {
    this.max = max;
    this.min = Math.min(max, 0.5);
    this.alpha = Math.max(0.25, max / 4);
    this.current = max;
    this.now = now;
    this.onChange = onChange;
    onChange(max);
  }

  get rate(): number {
    return this.current;
  }

  /** A request got an answer that was not a throttle: about `alpha` more per second at the current rate. */
  success(): void {
    if (this.current >= this.max) return;
    this.set(Math.min(this.max, this.current + this.alpha / this.current));
  }

  /** A request was throttled: cut the rate, once per window. */
  throttle(): void {
    const now = this.now();
    if (now - this.lastDecrease < WINDOW_MS) return;
    this.lastDecrease = now;
    this.set(Math.max(this.min, this.current * BETA));
  }

  private set(rate: number): void {
    this.current = rate;
    this.onChange(rate);
  }
}
