// Every provider call the core makes with a signal (ensure, updateHosts, ensureDeleted from reconcile; listOwned and
// ensureDeleted from orphan collection) goes through here: counted, timed, labelled by result, handed the AbortSignal
// of the work it belongs to, and bounded by the per-call deadline. (Provider start-up is retried by leadership.ts,
// which counts its failures in the same provider_calls_total, operation "start".)
import { type CallOptions, ProviderError, RetryableError } from '../../contract/provider.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';

/** A provider call that did not answer within --provider-call-timeout: transient, retried with backoff. */
export function providerCallTimeout(operation: string, timeoutMs: number): RetryableError {
  return new RetryableError(
    'ProviderCallTimeout',
    `${operation} did not answer within ${timeoutMs / 1000} s (--provider-call-timeout)`,
  );
}

/**
 * Runs one provider operation and records its count, duration and result. The result label is 'ok', the typed
 * error's stable reason (a bounded set of CamelCase strings; 'ProviderCallTimeout' for a call past its deadline),
 * 'aborted', or 'error' for anything untyped; the error is rethrown unchanged.
 *
 * With `timeoutMs` > 0 the call gets that long: then its signal is aborted and a retryable ProviderCallTimeout is thrown at
 * once, even if the provider ignores the signal, so a hung cloud call never holds a worker (and its key) forever.
 */
export async function callProvider<T>(
  metrics: Metrics,
  provider: string,
  operation: string,
  signal: AbortSignal,
  fn: (options: CallOptions) => Promise<T>,
  timeoutMs = 0,
): Promise<T> {
  const stop = metrics.providerCallDuration.startTimer({ provider, operation });
  let result = 'ok';
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!(timeoutMs > 0)) return await fn({ signal });
    const deadline = new AbortController();
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = providerCallTimeout(operation, timeoutMs);
        metrics.providerCallTimeouts.inc({ provider, operation });
        deadline.abort(error);
        reject(error);
      }, timeoutMs);
    });
    // Promise.race handles a late rejection of the abandoned call, so it is never an unhandled rejection.
    return await Promise.race([fn({ signal: AbortSignal.any([signal, deadline.signal]) }), expired]);
  } catch (error) {
    result = error instanceof ProviderError ? error.reason : signal.aborted ? 'aborted' : 'error';
    throw error;
  } finally {
    clearTimeout(timer);
    stop();
    metrics.providerCallsTotal.inc({ provider, operation, result });
  }
}

/** Counts a provider operation that changed something. */
export function countChange(metrics: Metrics, provider: string, operation: string, changed: boolean): void {
  if (changed) metrics.loadBalancerChanges.inc({ provider, operation });
}
