// Over 300 lines: client-go's Event semantics (aggregation, per-object rate limits, series, the write queue) are one idea.
// Records core/v1 Events on the objects we act on, so `kubectl describe svc` tells the story, the way client-go's
// recorder does it: off the hot path and unable to flood the apiserver.
// - record() never waits for the apiserver: it queues and returns; a small pool of senders drains the queue.
// - Correlation: a repeat of the same (object, type, reason, message) within the window bumps the existing Event's
//   count (one PATCH, coalesced with other repeats still queued) instead of creating another object.
// - Per-object rate limit (client-go's spam filter: a burst of 25, then one write per 5 minutes per object), so a
//   flapping node or a failing cloud cannot write more than that for any one object.
// - Nothing is lost silently: every Event that is dropped (rate limit, full queue, write failure) is counted.
// - What it remembers per object (the Events to aggregate into, the rate-limit bucket) goes when the object does
//   (forget()), so a burst of Services created and deleted leaves nothing behind.
import type { CoreV1Event, V1ObjectReference } from '@kubernetes/client-node';
import type { KubeClient } from './api/client.ts';
import { core as corePath } from './api/paths.ts';
import { LruMap } from './lru.ts';

export type EventType = 'Normal' | 'Warning';

export interface ObjectRef {
  kind: string;
  apiVersion: string;
  name: string;
  /** Cluster-scoped objects record their Events in `default`, as Kubernetes does. */
  namespace?: string;
  uid?: string;
}

export type DropReason = 'rate-limited' | 'queue-full' | 'write-failed';

/** The two Event writes the recorder makes (kubeEventsApi: over the apiserver; tests: in memory). */
export interface EventsApi {
  createNamespacedEvent(request: { namespace: string; body: CoreV1Event }): Promise<unknown>;
  patchNamespacedEvent(request: { name: string; namespace: string; body: Partial<CoreV1Event> }): Promise<unknown>;
}

/** EventsApi over the apiserver: a POST, and a JSON merge patch of count and lastTimestamp. */
export function kubeEventsApi(client: KubeClient): EventsApi {
  return {
    createNamespacedEvent: ({ namespace, body }) => client.create(corePath('events', namespace), body),
    patchNamespacedEvent: ({ name, namespace, body }) =>
      client.patch(corePath('events', namespace, name), body, 'merge'),
  };
}

export interface EventRecorderOptions {
  core: EventsApi;
  component: string;
  instance: string;
  /** Repeats within this window update the existing Event (default 10 minutes). */
  windowMs?: number;
  /** Writes one object may make at once before the refill rate applies (default 25). */
  burst?: number;
  /** One more write per object every this many ms (default 5 minutes). */
  refillMs?: number;
  /** Events waiting to be written before new ones are dropped (default 1000). */
  queueLimit?: number;
  /** Writes in flight at once (default 4). */
  concurrency?: number;
  onError?: (error: unknown) => void;
  onDropped?: (reason: DropReason) => void;
  onWritten?: (verb: 'create' | 'patch') => void;
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

interface Pending {
  key: string;
  /** objectKey(target): what forget() and the rate limit go by. */
  object: string;
  target: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
  at: Date;
  /** Occurrences this write carries (repeats recorded while it was queued coalesce into it). */
  count: number;
  /** Its write has begun: later repeats queue a write of their own. */
  started: boolean;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * Objects the recorder keeps aggregation entries and rate-limit buckets for, at most (client-go: 4,096), least
 * recently used forgotten first. Scanning for expired entries instead, once past that size, cost O(entries) per
 * Event and found none within the window: 84 s of CPU in a 10,000-Service burst.
 */
const CACHE_ENTRIES = 4096;

export class EventRecorder {
  private readonly o: Required<Omit<EventRecorderOptions, 'onError' | 'onDropped' | 'onWritten'>> &
    Pick<EventRecorderOptions, 'onError' | 'onDropped' | 'onWritten'>;
  /** objectKey -> Event key -> the Event that repeats of it are aggregated into; at most CACHE_ENTRIES objects. */
  private readonly recent = new LruMap<string, Map<string, Recent>>(CACHE_ENTRIES);
  /** Writes queued or in flight per object, so forget() can wait for them. */
  private readonly pendingByObject = new Map<string, number>();
  /** Objects forgotten while writes for them were still pending: cleared when the last one finishes. */
  private readonly forgetting = new Set<string>();
  /** Keys queued or being written, so repeats coalesce into the write already on its way. */
  private readonly queued = new Map<string, Pending>();
  private readonly queue: Pending[] = [];
  /** Rate-limit buckets; an object forgotten here only gets its burst back (client-go's spam filter does the same). */
  private readonly buckets = new LruMap<string, Bucket>(CACHE_ENTRIES);
  private readonly writing = new Set<string>();
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(options: EventRecorderOptions) {
    this.o = {
      windowMs: 10 * 60_000,
      burst: 25,
      refillMs: 5 * 60_000,
      queueLimit: 1000,
      concurrency: 4,
      ...options,
    };
  }

  /** Queues the Event and returns at once; the write happens in the background. */
  record(target: ObjectRef, type: EventType, reason: string, message: string): void {
    const object = objectKey(target);
    const key = `${object}\u0000${type}\u0000${reason}\u0000${message}`;
    const queued = this.queued.get(key);
    if (queued && !queued.started) {
      // The write already queued carries this repeat too: no extra API call.
      queued.at = new Date();
      queued.count++;
      return;
    }
    if (!this.take(object)) {
      this.drop('rate-limited');
      return;
    }
    if (this.queue.length >= this.o.queueLimit) {
      this.drop('queue-full');
      return;
    }
    const pending: Pending = { key, object, target, type, reason, message, at: new Date(), count: 1, started: false };
    this.pendingByObject.set(object, (this.pendingByObject.get(object) ?? 0) + 1);
    this.queued.set(key, pending);
    this.queue.push(pending);
    this.pump();
  }

  /**
   * The object is gone (the informer saw its delete): drop its aggregation entries and rate-limit bucket, at once or,
   * when writes for it are still queued or in flight (the DeletedLoadBalancer Event), as soon as the last finishes.
   */
  forget(target: ObjectRef): void {
    const object = objectKey(target);
    if (this.pendingByObject.has(object)) this.forgetting.add(object);
    else this.clear(object);
  }

  /** Aggregation entries held, over all objects (tests). */
  get remembered(): number {
    let n = 0;
    for (const entries of this.recent.values()) n += entries.size;
    return n;
  }

  /** Rate-limit buckets held. */
  get limited(): number {
    return this.buckets.size;
  }

  private clear(object: string): void {
    this.recent.delete(object);
    this.buckets.delete(object);
  }

  /** Resolves once everything queued so far has been written or dropped (shutdown, tests). */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.o.concurrency) {
      // One write per key at a time: a repeat waits for the first write, so it becomes a PATCH of that Event.
      const index = this.queue.findIndex((p) => !this.writing.has(p.key));
      if (index < 0) return;
      const next = this.queue.splice(index, 1)[0] as Pending;
      next.started = true;
      this.writing.add(next.key);
      this.inFlight++;
      void this.write(next).finally(() => {
        this.writing.delete(next.key);
        this.inFlight--;
        if (this.queued.get(next.key) === next) this.queued.delete(next.key);
        this.finished(next.object);
        this.pump();
        if (this.queue.length === 0 && this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  #lastNanos = 0n;

  /**
   * client-go's Event name suffix: the time in nanoseconds, in hex. Kept strictly increasing, so two Events on one
   * object in the same nanosecond (or after the clock steps back) still get different names; cheaper than random
   * bytes, which cost a system call per Event.
   */
  private uniqueSuffix(): string {
    const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    this.#lastNanos = now > this.#lastNanos ? now : this.#lastNanos + 1n;
    return this.#lastNanos.toString(16);
  }

  private finished(object: string): void {
    const left = (this.pendingByObject.get(object) ?? 1) - 1;
    if (left > 0) {
      this.pendingByObject.set(object, left);
      return;
    }
    this.pendingByObject.delete(object);
    if (this.forgetting.delete(object)) this.clear(object);
  }

  private async write(p: Pending): Promise<void> {
    const seen = this.recent.peek(p.object)?.get(p.key);
    try {
      if (seen && p.at.getTime() - seen.lastSeen < this.o.windowMs) {
        seen.count += p.count;
        seen.lastSeen = p.at.getTime();
        await this.o.core.patchNamespacedEvent({
          name: seen.name,
          namespace: seen.namespace,
          body: { count: seen.count, lastTimestamp: p.at },
        });
        this.o.onWritten?.('patch');
        return;
      }
      const namespace = p.target.namespace ?? 'default';
      const name = `${p.target.name}.${this.uniqueSuffix()}`;
      const involvedObject: V1ObjectReference = {
        kind: p.target.kind,
        apiVersion: p.target.apiVersion,
        name: p.target.name,
        namespace: p.target.namespace,
        uid: p.target.uid,
      };
      await this.o.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject,
          type: p.type,
          reason: p.reason,
          message: p.message.slice(0, 1024),
          count: p.count,
          firstTimestamp: p.at,
          lastTimestamp: p.at,
          source: { component: this.o.component },
          reportingComponent: this.o.component,
          reportingInstance: this.o.instance,
        },
      });
      this.o.onWritten?.('create');
      this.remember(p.object, p.key, { name, namespace, count: p.count, lastSeen: p.at.getTime() });
    } catch (error) {
      // The aggregated Event may have expired (default TTL 1h): forget it so the next one is created afresh.
      this.recent.peek(p.object)?.delete(p.key);
      this.drop('write-failed');
      this.o.onError?.(error);
    }
  }

  /** Token bucket per object: `burst` writes, then one per `refillMs`. */
  private take(object: string): boolean {
    const now = Date.now();
    const bucket = this.buckets.peek(object) ?? { tokens: this.o.burst, refilledAt: now };
    const refill = Math.floor((now - bucket.refilledAt) / this.o.refillMs);
    if (refill > 0) {
      bucket.tokens = Math.min(this.o.burst, bucket.tokens + refill);
      bucket.refilledAt += refill * this.o.refillMs;
    }
    this.buckets.set(object, bucket);
    if (bucket.tokens <= 0) return false;
    bucket.tokens--;
    return true;
  }

  private drop(reason: DropReason): void {
    this.o.onDropped?.(reason);
  }

  private remember(object: string, key: string, entry: Recent): void {
    const entries = this.recent.peek(object) ?? new Map<string, Recent>();
    entries.set(key, entry);
    this.recent.set(object, entries);
  }
}

function objectKey(target: ObjectRef): string {
  return target.uid ?? `${target.kind}/${target.namespace}/${target.name}`;
}
