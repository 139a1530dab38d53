// Every provider operation the core makes goes through here: counted, timed, labelled by result, and handed the
// AbortSignal of the reconcile (or start-up) it belongs to.
import { type CallOptions, ProviderError } from '../../providers/provider.ts';
import type { Metrics } from '../observe/metrics.ts';

/**
 * Runs one provider operation and records its count, duration and result. The result label is 'ok', the typed
 * error's stable reason (a bounded set of CamelCase strings), 'aborted', or 'error' for anything untyped; the
 * error is rethrown unchanged.
 */
export async function callProvider<T>(
  metrics: Metrics,
  provider: string,
  operation: string,
  signal: AbortSignal,
  fn: (options: CallOptions) => Promise<T>,
): Promise<T> {
  const stop = metrics.providerCallDuration.startTimer({ provider, operation });
  let result = 'ok';
  try {
    return await fn({ signal });
  } catch (error) {
    result = error instanceof ProviderError ? error.reason : signal.aborted ? 'aborted' : 'error';
    throw error;
  } finally {
    stop();
    metrics.providerCallsTotal.inc({ provider, operation, result });
  }
}

/** Counts a provider operation that changed something. */
export function countChange(metrics: Metrics, provider: string, operation: string, changed: boolean): void {
  if (changed) metrics.loadBalancerChanges.inc({ provider, operation });
}
