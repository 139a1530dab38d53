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

  /** Runs `fn` when the group's quota allows; a call aborted while queued never runs. */
  run<T>(group: CallGroup, priority: Priority, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return this.byGroup[group].schedule({ priority }, async () => {
      signal.throwIfAborted();
      return fn();
    });
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.byGroup).map((l) => l.disconnect()));
  }
}
