// The ONE place where a failure becomes queue behaviour. Providers throw the typed errors of
// src/contract/errors.ts; reconcile catches whatever it gets (theirs, the apiserver's) and hands it here.
import { ProviderError, RetryAfterError } from '../../contract/provider.ts';
import { statusCodeOf } from '../../lib/kube/patch.ts';
import type { Outcome } from './queue.ts';

export type { Outcome };

/**
 * How long a terminal failure waits before the key is looked at again.
 *
 * Terminal means "the same input cannot succeed", so the user must act. We still recheck slowly rather than
 * dropping the key ('done'), because the fix is not always an edit to this Service: another Service may free
 * the requested address, an operator may grow an address pool or raise a cloud quota, and none of those send
 * an event for this key. Five minutes matches the queue's maximum backoff, so a terminal key costs no more
 * than a key that keeps failing transiently. A change to the Service itself still requeues it at once.
 */
export const TERMINAL_RECHECK_SECONDS = 300;

/** The shortest fixed delay honoured, so a provider returning 0 (or garbage) cannot make a key spin. */
export const MIN_RETRY_AFTER_SECONDS = 1;

/**
 * A Service write refused for a stale resourceVersion (409) is retried after this long rather than with backoff:
 * it was made from a cached copy that was behind, and nothing is wrong but the timing.
 */
export const CONFLICT_RETRY_SECONDS = 1;

export function outcomeOf(error: unknown): Outcome {
  if (statusCodeOf(error) === 409) return { kind: 'retryAfter', seconds: CONFLICT_RETRY_SECONDS }; // stale read
  if (!(error instanceof ProviderError)) {
    // Untyped failures (network resets, bugs, the Kubernetes API) are treated as transient: back off and retry.
    return { kind: 'retry' };
  }
  switch (error.disposition) {
    case 'retry':
      return { kind: 'retry' };
    case 'throttled':
      return { kind: 'throttled' };
    case 'retryAfter': {
      const seconds = error instanceof RetryAfterError ? error.retryAfterSeconds : Number.NaN;
      return {
        kind: 'retryAfter',
        seconds: Number.isFinite(seconds) ? Math.max(MIN_RETRY_AFTER_SECONDS, seconds) : MIN_RETRY_AFTER_SECONDS,
      };
    }
    case 'terminal':
      return { kind: 'retryAfter', seconds: TERMINAL_RECHECK_SECONDS };
  }
}
