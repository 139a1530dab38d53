// What a failed apiserver request throws. `code` is the HTTP status under the same name client-node's ApiException
// uses, so the checks the rest of the code makes (`statusCodeOf(e) === 409`, `e.code !== 404`) read either.

/** The apiserver's Status object (the body of every error answer). */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { retryAfterSeconds?: number; causes?: { field?: string; message?: string; reason?: string }[] };
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status. */
  readonly code: number;
  /** Status.reason: NotFound, AlreadyExists, Conflict, Invalid, Expired, TooManyRequests, ... */
  readonly reason: string | undefined;
  /** The Status (or whatever the apiserver answered), parsed when it was JSON. */
  readonly body: unknown;
  /** From the Retry-After header or Status.details.retryAfterSeconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(method: string, path: string, code: number, body: unknown, retryAfterHeader?: string) {
    const status = (typeof body === 'object' && body !== null ? body : {}) as KubeStatus;
    const detail = status.message ?? (typeof body === 'string' ? body.slice(0, 300) : '');
    super(`${method} ${path}: HTTP ${code}${status.reason ? ` ${status.reason}` : ''}${detail ? `: ${detail}` : ''}`);
    this.code = code;
    this.reason = status.reason;
    this.body = body;
    const header = retryAfterHeader === undefined ? Number.NaN : Number(retryAfterHeader);
    this.retryAfterSeconds = Number.isFinite(header) ? header : status.details?.retryAfterSeconds;
  }
}

/** HTTP status of a KubeApiError (or a client-node ApiException), or undefined for anything else. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
