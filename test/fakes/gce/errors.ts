// Google's JSON error shape for Compute Engine, and the few reasons the fake answers with. The messages follow
// what GCE says (the provider matches some of them, e.g. "being used by"), so keep their wording.

export interface GoogleErrorItem {
  reason: string;
  message: string;
  domain: string;
}

/** Thrown inside the fake; the router turns it into {error:{code,message,errors:[...]}} with that HTTP status. */
export class GceError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly domain: string;
  constructor(code: number, reason: string, message: string, domain = 'global') {
    super(message);
    this.code = code;
    this.reason = reason;
    this.domain = domain;
  }

  body(): { error: { code: number; message: string; errors: GoogleErrorItem[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        errors: [{ reason: this.reason, message: this.message, domain: this.domain }],
      },
    };
  }
}

export const notFound = (what: string) => new GceError(404, 'notFound', `The resource '${what}' was not found`);

export const alreadyExists = (what: string) =>
  new GceError(409, 'alreadyExists', `The resource '${what}' already exists`);

export const invalid = (message: string) => new GceError(400, 'invalid', message);

export const invalidField = (field: string, value: unknown, why: string) =>
  invalid(`Invalid value for field 'resource.${field}': '${String(value)}'. ${why}`);

export const unknownField = (field: string) =>
  new GceError(400, 'invalid', `Invalid JSON payload received. Unknown name "${field}": Cannot find field.`);

export const required = (field: string) =>
  new GceError(400, 'required', `Required field 'resource.${field}' not specified`);

export const inUse = (what: string, user: string) =>
  new GceError(400, 'resourceInUseByAnotherResource', `The ${what} resource is already being used by '${user}'`);

export const rateLimited = (metric: string) =>
  new GceError(
    403,
    'rateLimitExceeded',
    `Quota exceeded for quota metric '${metric}' and limit '${metric} per minute' of service 'compute.googleapis.com'.`,
    'usageLimits',
  );

export const backendError = () => new GceError(503, 'backendError', 'Internal error. Please try again.');
