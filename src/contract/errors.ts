// Typed provider errors. Each says how the work queue should treat the failure; the core maps them to queue
// behaviour in one place (src/core/controller/outcome.ts).
export type ErrorDisposition = 'retry' | 'retryAfter' | 'throttled' | 'terminal';

export abstract class ProviderError extends Error {
  abstract readonly disposition: ErrorDisposition;
  /**
   * Stable, CamelCase reason: the drawbridge_provider_calls_total{result} label, and the Warning Event's reason when
   * the error is terminal (other failures record SyncLoadBalancerFailed or DeleteLoadBalancerFailed).
   */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.name = new.target.name;
  }
}

/** Transient: retry with the per-key exponential backoff. */
export class RetryableError extends ProviderError {
  readonly disposition = 'retry' as const;
}

/** Not ready yet (e.g. still provisioning, no free address): retry after a fixed delay. */
export class RetryAfterError extends ProviderError {
  readonly disposition = 'retryAfter' as const;
  readonly retryAfterSeconds: number;
  constructor(reason: string, message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(reason, message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * From updateHosts: the load balancer is gone or incomplete (deleted in the cloud console, a crash half-way through
 * a create), so there is no membership to update. The core then runs ensure at once, which rebuilds it and
 * publishes its (possibly new) address; retrying updateHosts could never succeed.
 */
export class LoadBalancerNotFoundError extends RetryableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LoadBalancerNotFound', message, options);
  }
}

/** The cloud throttled us: back off (longer than a plain retry) and let others go first. */
export class ThrottledError extends ProviderError {
  readonly disposition = 'throttled' as const;
}

/** The user must change the Service; retrying the same input cannot succeed. */
export class TerminalError extends ProviderError {
  readonly disposition = 'terminal' as const;
}
