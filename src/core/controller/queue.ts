// A keyed work queue between the informers and reconcile, written small after client-go's workqueue plus its
// per-item exponential rate limiter (the Kubernetes service controller uses 5 s -> 300 s, our defaults).
//
// Guarantees:
// - Dedupe: a key queued twice is processed once.
// - One key never runs in two workers at once. A key added while it runs is marked dirty and runs once more
//   right after the current run, so the change that arrived mid-run is never lost.
// - At most `concurrency` workers run at a time.
// - 'high' keys (deletions, never-provisioned Services) are taken before 'normal' ones (periodic resyncs);
//   re-adding a queued normal key as high promotes it.
// - The worker's Outcome decides the requeue: backoff only paces retries that carry no new information.
//   A fresh add() always runs soon, whatever the key's backoff, because reconcile reads the world.
// - Every timer is unref'd and cleared on shutdown, so a process can exit.

export type Priority = 'high' | 'normal';

/** What one run of the worker asks the queue to do next with its key. A small closed set. */
export type Outcome =
  | { kind: 'done' }
  | { kind: 'retry' }
  | { kind: 'retryAfter'; seconds: number }
  | { kind: 'throttled' };

export interface WorkContext {
  /** The priority the key was taken with; retries keep it (a failed deletion is still a deletion). */
  priority: Priority;
  /** Consecutive failed runs of this key before this one (0 on a first or a post-success run). */
  failures: number;
  /** Aborted when shutdown() starts, so a long worker can stop early; workers may ignore it. */
  signal: AbortSignal;
}

export interface QueueMetricsHooks {
  /** Milliseconds a key waited between entering the queue and a worker taking it. */
  waited?(ms: number): void;
  /** Number of keys waiting for a worker (not running, not delayed); called whenever it changes. */
  depth?(n: number): void;
}

export interface WorkQueueOptions<K extends string> {
  worker: (key: K, ctx: WorkContext) => Promise<Outcome>;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the backoff delay to randomise by (0.1 = ±10%), so keys that failed together spread out. */
  jitter?: number;
  onMetrics?: QueueMetricsHooks;
  /** Source of randomness for jitter, in [0, 1); injectable for tests. */
  random?: () => number;
}

interface Delayed {
  timer: NodeJS.Timeout;
  dueAt: number;
}

export class WorkQueue<K extends string> {
  readonly #worker: (key: K, ctx: WorkContext) => Promise<Outcome>;
  readonly #concurrency: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #jitter: number;
  readonly #metrics: QueueMetricsHooks;
  readonly #random: () => number;

  // Sets keep insertion order, so each is a FIFO with O(1) membership and removal (for promotion).
  readonly #high = new Set<K>();
  readonly #normal = new Set<K>();
  /** When each queued (or dirty) key entered the queue, for the wait-time metric. */
  readonly #enqueuedAt = new Map<K, number>();
  readonly #running = new Map<K, Promise<void>>();
  /** Keys added while running, with the priority to re-run them at. */
  readonly #dirty = new Map<K, Priority>();
  readonly #failures = new Map<K, number>();
  readonly #delayed = new Map<K, Delayed & { priority: Priority }>();
  readonly #abort = new AbortController();
  #started = false;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<K>) {
    this.#worker = options.worker;
    this.#concurrency = options.concurrency ?? 8;
    this.#baseDelayMs = options.baseDelayMs ?? 5_000;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
    this.#jitter = options.jitter ?? 0.1;
    this.#metrics = options.onMetrics ?? {};
    this.#random = options.random ?? Math.random;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${this.#concurrency}`);
    }
  }

  /** Keys waiting for a worker. */
  get depth(): number {
    return this.#high.size + this.#normal.size;
  }

  /** Keys being processed right now. */
  get running(): number {
    return this.#running.size;
  }

  /** Keys waiting for a delayed add (backoff, retryAfter, addAfter). */
  get delayed(): number {
    return this.#delayed.size;
  }

  add(key: K, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (this.#running.has(key)) {
      const before = this.#dirty.get(key);
      this.#dirty.set(key, before === 'high' || priority === 'high' ? 'high' : 'normal');
      if (!this.#enqueuedAt.has(key)) this.#enqueuedAt.set(key, Date.now());
      return;
    }
    if (this.#high.has(key)) return;
    if (this.#normal.has(key)) {
      if (priority === 'normal') return;
      this.#normal.delete(key); // promotion: the same key, now urgent
    }
    // Keep the earliest time: a dirty key's wait counts from the add that arrived mid-run.
    if (!this.#enqueuedAt.has(key)) this.#enqueuedAt.set(key, Date.now());
    (priority === 'high' ? this.#high : this.#normal).add(key);
    this.#metrics.depth?.(this.depth);
    this.#pump();
  }

  /**
   * Add `key` after `ms`. One pending delayed add per key: the earlier deadline wins, so a long delay never
   * postpones a short one already scheduled.
   */
  addAfter(key: K, ms: number, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key, priority);
      return;
    }
    const dueAt = Date.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.dueAt <= dueAt) {
      if (priority === 'high') pending.priority = 'high';
      return;
    }
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      const entry = this.#delayed.get(key);
      this.#delayed.delete(key);
      this.add(key, entry?.priority ?? priority);
    }, ms);
    timer.unref();
    this.#delayed.set(key, { timer, dueAt, priority: pending?.priority === 'high' ? 'high' : priority });
  }

  /** Reset the key's backoff (e.g. the Service was deleted, or the user changed its spec). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** Begin handing keys to workers. Keys added before start() wait (the leader starts it once its provider has started). */
  start(): void {
    if (this.#shuttingDown) return;
    this.#started = true;
    this.#pump();
  }

  /** Stop taking work, drop queued and delayed keys, and wait for the running workers to finish. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    this.#abort.abort();
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#high.clear();
    this.#normal.clear();
    this.#dirty.clear();
    this.#enqueuedAt.clear();
    this.#metrics.depth?.(0);
    await Promise.all(this.#running.values());
  }

  #pump(): void {
    while (this.#started && !this.#shuttingDown && this.#running.size < this.#concurrency) {
      const next = this.#takeNext();
      if (!next) return;
      this.#run(next.key, next.priority);
    }
  }

  #takeNext(): { key: K; priority: Priority } | undefined {
    for (const [set, priority] of [
      [this.#high, 'high'],
      [this.#normal, 'normal'],
    ] as const) {
      const first = set.values().next();
      if (!first.done) {
        set.delete(first.value);
        this.#metrics.depth?.(this.depth);
        return { key: first.value, priority };
      }
    }
    return undefined;
  }

  #run(key: K, priority: Priority): void {
    const enqueuedAt = this.#enqueuedAt.get(key);
    this.#enqueuedAt.delete(key);
    if (enqueuedAt !== undefined) this.#metrics.waited?.(Date.now() - enqueuedAt);
    // This run reads the world afresh, so any retry scheduled before it is redundant: its outcome reschedules.
    const pending = this.#delayed.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.#delayed.delete(key);
    }
    const ctx: WorkContext = { priority, failures: this.#failures.get(key) ?? 0, signal: this.#abort.signal };
    const run = this.#invoke(key, ctx).then((outcome) => this.#finish(key, priority, outcome));
    this.#running.set(key, run);
  }

  async #invoke(key: K, ctx: WorkContext): Promise<Outcome> {
    try {
      return await this.#worker(key, ctx);
    } catch {
      // The worker owns logging and events; for the queue a throw is just an unclassified transient failure.
      return { kind: 'retry' };
    }
  }

  #finish(key: K, priority: Priority, outcome: Outcome): void {
    this.#running.delete(key);
    if (!this.#shuttingDown) {
      this.#requeue(key, priority, outcome);
      const dirty = this.#dirty.get(key);
      if (dirty) {
        this.#dirty.delete(key);
        this.add(key, dirty);
      }
    }
    this.#pump();
  }

  #requeue(key: K, priority: Priority, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'done':
        this.#failures.delete(key);
        return;
      case 'retryAfter':
        // A fixed wait ("still provisioning"), not a failure of ours: the backoff does not grow.
        this.addAfter(key, Math.max(0, outcome.seconds) * 1000, priority);
        return;
      case 'retry':
        this.addAfter(key, this.#nextBackoff(key, 1), priority);
        return;
      case 'throttled':
        // The cloud asked us to slow down: wait twice the plain backoff so other keys' calls get through.
        this.addAfter(key, this.#nextBackoff(key, 2), priority);
        return;
    }
  }

  /** baseDelay * 2^failures * factor, capped at maxDelay, ± jitter; counts one more failure for the key. */
  #nextBackoff(key: K, factor: number): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const exponential = this.#baseDelayMs * 2 ** Math.min(failures, 52) * factor;
    const capped = Math.min(this.#maxDelayMs, exponential);
    const spread = 1 + this.#jitter * (2 * this.#random() - 1);
    return Math.round(capped * spread);
  }
}
