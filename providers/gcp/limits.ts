// Client-side rate limiters sized to GCE's per-minute API quotas, shared by every reconcile of this provider.
// Each quota group gets a bottleneck reservoir refilled every minute; priorities let deletions and first-time
// creations go before periodic resyncs (bottleneck: lower runs first).
import Bottleneck from 'bottleneck';

export type CallGroup = 'read' | 'write' | 'operationRead';

export interface LimitsConfig {
  readsPerMinute: number;
  writesPerMinute: number;
  operationReadsPerMinute: number;
  maxConcurrent: number;
}

export const PRIORITY = { delete: 3, create: 4, resync: 5 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

export class Limiters {
  private readonly byGroup: Record<CallGroup, Bottleneck>;

  constructor(config: LimitsConfig) {
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
        .schedule({ priority }, async () => (signal.aborted ? (undefined as T) : fn()))
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.byGroup).map((l) => l.disconnect()));
  }
}
