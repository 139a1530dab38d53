// Client-side rate limiters sized to GCE's per-minute API quotas, shared by every reconcile of this provider.
// Each quota group gets a bottleneck reservoir refilled every minute; priorities let deletions and first-time
// creations go before periodic resyncs (bottleneck: lower runs first). In front of each, an AdaptiveLimiter paces
// the group's calls and halves its rate on a 403 rateLimitExceeded / 429 (additive increase on success), so a
// throttled project is called near its real quota rather than at the configured one.
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
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

export class Limiters {
  private readonly byGroup: Record<CallGroup, Bottleneck>;
  private readonly adaptive: Record<CallGroup, AdaptiveLimiter>;

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
   * Runs `fn` when the group's quota allows. An abort rejects at once, even while the call waits in the queue
   * (an exhausted reservoir refills only each minute); the queued slot then runs nothing.
   */
  run<T>(group: CallGroup, priority: Priority, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.byGroup[group]
        .schedule({ priority }, async () =>
          signal.aborted ? (undefined as T) : this.adaptive[group].run(fn, isRateLimited, signal),
        )
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.byGroup).map((l) => l.disconnect()));
  }
}
