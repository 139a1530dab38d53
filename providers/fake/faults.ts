// The fake's injected failures: which call fails (by operation, rate from a seeded generator, first N times), the
// typed error it fails with, and the abortable wait that stands in for latency or a hang.
import { once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import {
  type ProviderError,
  RetryAfterError,
  RetryableError,
  TerminalError,
  ThrottledError,
} from '../../src/contract/provider.ts';
import type { Fault, Operation } from './index.ts';

export class FaultInjector {
  private faults: (Fault & { hits: number })[];
  private readonly random: () => number;

  constructor(faults: readonly Fault[], random: () => number) {
    this.faults = faults.map((f) => ({ ...f, hits: 0 }));
    this.random = random;
  }

  /** Applies to calls from now on. */
  add(fault: Partial<Fault> & Pick<Fault, 'operation' | 'kind'>): void {
    this.faults.push({ rate: 1, retryAfterSeconds: 1, ...fault, hits: 0 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault that applies to this call of `operation`, if any (counted as a hit). */
  pick(operation: Operation): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.operation !== '*' && fault.operation !== operation) continue;
      if (fault.times !== undefined && fault.hits >= fault.times) continue;
      if (fault.rate < 1 && this.random() >= fault.rate) continue;
      fault.hits++;
      return fault;
    }
    return undefined;
  }
}

export function errorFor(fault: Fault, operation: Operation): ProviderError {
  const what = `injected ${fault.kind} fault on ${operation}`;
  switch (fault.kind) {
    case 'retryable':
      return new RetryableError('FakeUnavailable', `${what} (503)`);
    case 'throttled':
      return new ThrottledError('FakeThrottled', `${what} (rate exceeded)`);
    case 'retryAfter':
      return new RetryAfterError('FakeNotReady', what, fault.retryAfterSeconds);
    case 'terminal':
    case 'hang':
      return new TerminalError('FakeRejected', what);
  }
}

/** Resolves after `ms` (never, for Infinity: a hung call), or rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  try {
    await (Number.isFinite(ms) ? setTimeout(ms, undefined, { signal }) : once(signal, 'abort'));
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  }
  signal.throwIfAborted(); // a hung call ends only by its abort
}
