// GCE failures as the contract's typed errors (reference 2.8: 404 = absent, 400 "being used by" = in use,
// 403 rateLimitExceeded = throttled). Both transports (the gax clients and the legacy health-check REST module)
// come through here, so the mapping lives in one place.
import { type ProviderError, RetryableError, TerminalError, ThrottledError } from '../../src/contract/provider.ts';

/** What both transports' errors carry: the HTTP status and Google's message. */
export interface GceFailure {
  httpStatusCode?: number;
  message?: string;
  reason?: string;
}

export function statusOf(error: unknown): number | undefined {
  const e = error as GceFailure & { status?: number; response?: { status?: number } };
  return e?.httpStatusCode ?? e?.response?.status ?? (typeof e?.status === 'number' ? e.status : undefined);
}

export const isNotFound = (error: unknown) => statusOf(error) === 404;

export const isInUse = (error: unknown) =>
  statusOf(error) === 400 && /being used by/i.test(String((error as GceFailure)?.message));

/** GCE's throttle: 429, or 403 rateLimitExceeded / "Quota exceeded" (gax drops errors[].reason: message too). */
export function isRateLimited(error: unknown): boolean {
  const status = statusOf(error);
  const text = `${(error as GceFailure)?.reason ?? ''} ${(error as GceFailure)?.message ?? ''}`;
  return status === 429 || (status === 403 && /rate_?limit|quota exceeded/i.test(text));
}

/** `what` names the call, e.g. "insert targetPools/a123". */
export function toProviderError(error: unknown, what: string): ProviderError | unknown {
  const status = statusOf(error);
  if (status === undefined) return error; // aborts and programming errors pass through (the core retries those)
  const message = `${what}: ${(error as GceFailure).message ?? `HTTP ${status}`}`;
  const options = { cause: error };
  if (isRateLimited(error)) {
    return new ThrottledError('GceRateLimited', message, options);
  }
  if (status >= 500) return new RetryableError('GceUnavailable', message, options);
  if (status === 409) return new RetryableError('GceConflict', message, options);
  if (isInUse(error)) return new RetryableError('GceResourceInUse', message, options);
  if (status === 403 || status === 401) return new RetryableError('GcePermissionDenied', message, options);
  if (status === 404) return new RetryableError('GceNotFound', message, options);
  return new TerminalError('GceRejected', message, options);
}

/**
 * A failure with the HTTP status it would have had: a DONE operation that carries an error (its
 * httpErrorStatusCode and errors[0].code) or the legacy health-check module's gaxios error (errors[0].reason).
 */
export class OperationError extends Error implements GceFailure {
  readonly httpStatusCode: number;
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.httpStatusCode = status;
    this.reason = reason;
  }
}
