// Reads of GCE are safe to repeat: a 5xx answer to a get, a list page or an operation wait is tried again here,
// with jittered exponential backoff; a write answered 5xx is not repeated (the core's queue retries it). Throttles
// (403 rateLimitExceeded / 429) are sent again by the limiters (limits.ts), reads and writes alike.
import { setTimeout as sleep } from 'node:timers/promises';
import { statusOf } from './errors.ts';

/** Reads are safe to repeat: a 5xx answer is retried here, up to `attempts` tries in all, with jittered backoff. */
export interface ReadRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const READ_RETRY: ReadRetry = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

/**
 * Runs a read again while GCE answers 5xx, at most `attempts` tries, sleeping a jittered exponential backoff
 * in between; an abort ends the sleep at once. Other failures (404, 403 rate limits) are the caller's.
 */
export async function retryingRead<T>(retry: ReadRetry, signal: AbortSignal, read: () => Promise<T>): Promise<T> {
  const { attempts, baseDelayMs, maxDelayMs } = retry;
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      const status = statusOf(error);
      if (attempt >= attempts || status === undefined || status < 500) throw error;
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      // An abort ends the sleep with the signal's own reason (what every other aborted call rejects with).
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2), undefined, { signal }).catch((e: unknown) => {
        throw signal.aborted ? signal.reason : e;
      });
    }
  }
}
