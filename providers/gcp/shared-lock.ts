// A per-process read-write lock around the cluster's shared node health check. Every Service that uses the check
// holds it shared while it ensures (from observing the check to its target pool referencing it); deleting the
// check when no pool uses it holds it exclusively (from listing the pools to the check and its firewall gone).
// So a Service deleting the last user and a Service being created cannot interleave: either the creation sees
// the check gone and makes it again, or the deletion sees the new pool and keeps it. Users run in parallel with
// each other; a waiting deletion goes before users that come after it, so resyncs cannot starve it.

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

export class SharedCheckLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  /** Runs `fn` while holding the lock shared (a user of the check). */
  shared<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return this.with(false, signal, fn);
  }

  /** Runs `fn` while holding the lock alone (deciding and deleting the check). */
  exclusive<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return this.with(true, signal, fn);
  }

  /** For tests: who holds it and how many wait. */
  state(): { readers: number; writer: boolean; waiting: number } {
    return { readers: this.readers, writer: this.writer, waiting: this.queue.length };
  }

  private async with<T>(exclusive: boolean, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive, signal);
    try {
      return await fn();
    } finally {
      if (exclusive) this.writer = false;
      else this.readers--;
      this.pump();
    }
  }

  private acquire(exclusive: boolean, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.queue.length === 0 && this.free(exclusive)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(signal.reason);
        this.pump(); // readers queued behind an aborted writer may go now
      };
      const waiter: Waiter = {
        exclusive,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private free(exclusive: boolean): boolean {
    return exclusive ? !this.writer && this.readers === 0 : !this.writer;
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.writer = true;
    else this.readers++;
  }

  /** Grants waiters in arrival order: consecutive readers together, a writer alone. */
  private pump(): void {
    while (this.queue.length > 0 && this.free(this.queue[0]!.exclusive)) {
      const next = this.queue.shift()!;
      this.take(next.exclusive);
      next.grant();
      if (next.exclusive) return;
    }
  }
}
