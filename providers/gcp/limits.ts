// Client-side rate limiters sized to GCE's per-minute API quotas, shared by every reconcile of this provider.
// Each quota group gets a bottleneck reservoir refilled every minute; priorities let deletions and first-time
// creations go before periodic resyncs (bottleneck: lower runs first). In front of each, an AdaptiveLimiter paces
// the group's calls and halves its rate when 403 rateLimitExceeded / 429 answers are dense (additive increase on
// success), so a project over its quota is called near its real quota rather than at the configured one.
// A throttled request was not carried out (GCE refuses it before acting), so it is sent again here, a few times,
// after a short backoff and in a new slot: a sporadic throttle costs one request and tens of milliseconds, not the
// whole reconcile and the queue's doubled backoff (seconds).
import { setTimeout as sleep } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import { AdaptiveLimiter } from '../../src/lib/adaptive-limiter.ts';
import { isRateLimited } from './errors.ts';

export type CallGroup = 'read' | 'write' | 'operationRead';

export interface LimitsConfig {
  readsPerMinute: number;
  writesPerMinute: number;
  operationReadsPerMinute: number;
  maxConcurrent: number;
  /** The floor of the adaptive rate per group, calls per second (a throttle storm never pauses a group). */
  minRatePerSecond?: number;
}

export const PRIORITY = { delete: 3, create: 4, resync: 5 } as const;

/** Tries in all for one request answered 403 rateLimitExceeded / 429, before the error goes to the caller. */
export const THROTTLE_ATTEMPTS = 6;
/** Sleep before the first retry of a throttled request (jittered, doubling, at most THROTTLE_MAX_DELAY_MS). */
const THROTTLE_DELAY_MS = 50;
const THROTTLE_MAX_DELAY_MS = 1000;
/** The adaptive rate is cut only when at least this share of a group's recent answers were throttles. */
const DENSE_SHARE = 0.5;
/** How many recent answers per group that share is taken over. */
const WINDOW = 20;

/**
 * A group's recent answers, throttled or not. GCE answers every request of a group over its per-minute quota
 * with a throttle until the minute turns, so a quota really spent shows as a run of throttles; a throttle among
 * successes says little about the rate (and is retried), so it does not cut it.
 */
class Outcomes {
  private readonly recent: boolean[] = [];
  record(throttled: boolean): void {
    this.recent.push(throttled);
    if (this.recent.length > WINDOW) this.recent.shift();
  }
  dense(): boolean {
    const throttled = this.recent.filter(Boolean).length;
    return throttled >= Math.min(4, this.recent.length) && throttled >= DENSE_SHARE * this.recent.length;
  }
}
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

export class Limiters {
  private readonly byGroup: Record<CallGroup, Bottleneck>;
  private readonly adaptive: Record<CallGroup, AdaptiveLimiter>;
  private readonly outcomes: Record<CallGroup, Outcomes> = {
    read: new Outcomes(),
    write: new Outcomes(),
    operationRead: new Outcomes(),
  };
  /** Throttled requests sent again (for tests and the bench). */
  throttleRetries = 0;

  /** `onRate` reports each group's adaptive rate (calls per second) as it changes: the provider's gauge. */
  constructor(config: LimitsConfig, onRate?: (group: CallGroup, rate: number) => void) {
    const make = (perMinute: number) =>
      new Bottleneck({
        maxConcurrent: config.maxConcurrent,
        reservoir: perMinute,
        reservoirRefreshAmount: perMinute,
        reservoirRefreshInterval: 60_000,
      });
    this.byGroup = {
      read: make(config.readsPerMinute),
      write: make(config.writesPerMinute),
      operationRead: make(config.operationReadsPerMinute),
    };
    // Unthrottled, a group is paced at a minute's quota per second (the reservoir is what bounds it); each throttle
    // halves that, and each success adds 1% of the quota's per-second average back.
    const adapt = (group: CallGroup, perMinute: number) =>
      new AdaptiveLimiter({
        maxRate: perMinute,
        minRate: Math.min(perMinute, config.minRatePerSecond ?? 0.5),
        increase: perMinute / 6000,
        onRate: (rate) => onRate?.(group, rate),
      });
    this.adaptive = {
      read: adapt('read', config.readsPerMinute),
      write: adapt('write', config.writesPerMinute),
      operationRead: adapt('operationRead', config.operationReadsPerMinute),
    };
  }

  /** A group's adaptive rate now, calls per second. */
  rate(group: CallGroup): number {
    return this.adaptive[group].rate;
  }

  /**
   * Runs `fn` when the group's quota allows; a throttled answer is sent again in a new slot after a short
   * jittered backoff, THROTTLE_ATTEMPTS tries in all. An abort rejects at once, even while the call waits in the queue (an exhausted reservoir
   * refills only each minute); the queued slot then runs nothing.
   */
  async run<T>(group: CallGroup, priority: Priority, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(group, priority, signal, fn);
      } catch (error) {
        if (attempt >= THROTTLE_ATTEMPTS || !isRateLimited(error) || signal.aborted) throw error;
        this.throttleRetries++;
        const ceiling = Math.min(THROTTLE_MAX_DELAY_MS, THROTTLE_DELAY_MS * 2 ** (attempt - 1));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), undefined, { signal }).catch((e: unknown) => {
          throw signal.aborted ? signal.reason : e;
        });
      }
    }
  }

  private once<T>(group: CallGroup, priority: Priority, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    const outcomes = this.outcomes[group];
    const recorded = async () => {
      try {
        const result = await fn();
        outcomes.record(false);
        return result;
      } catch (error) {
        outcomes.record(isRateLimited(error));
        throw error;
      }
    };
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.byGroup[group]
        .schedule({ priority }, async () =>
          signal.aborted
            ? (undefined as T)
            : this.adaptive[group].run(recorded, (e) => isRateLimited(e) && outcomes.dense(), signal),
        )
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.byGroup).map((l) => l.disconnect()));
  }
}
