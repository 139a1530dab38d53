// The legacy global httpHealthChecks resource, over REST: target pools accept only these, and
// @google-cloud/compute has no client for them (libs.md 2). Same auth client and endpoint as the gax clients.
import { OperationError } from './errors.ts';

export interface HttpHealthCheck {
  name: string;
  description?: string;
  port?: number;
  requestPath?: string;
  checkIntervalSec?: number;
  timeoutSec?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  selfLink?: string;
}

/** Anything that can send an authorised request the way google-auth-library clients do. */
export interface AuthFetcher {
  fetch(url: string, init: RequestInit): Promise<unknown>;
}

export interface HttpHealthCheckList {
  items?: HttpHealthCheck[];
  nextPageToken?: string;
}

export interface RestOperation {
  name: string;
  status: string;
}

export class HttpHealthChecks {
  private readonly auth: AuthFetcher;
  private readonly base: string;

  /** `root` is e.g. https://compute.googleapis.com or http://127.0.0.1:PORT for the fake. */
  constructor(auth: AuthFetcher, root: string, project: string) {
    this.auth = auth;
    this.base = `${root}/compute/v1/projects/${encodeURIComponent(project)}/global/httpHealthChecks`;
  }

  get(name: string, signal: AbortSignal): Promise<HttpHealthCheck> {
    return this.send('GET', `/${encodeURIComponent(name)}`, signal);
  }

  /** One page (GCE: up to 500 items); pass its `nextPageToken` back for the next, until there is none. */
  list(pageToken: string | undefined, signal: AbortSignal): Promise<HttpHealthCheckList> {
    return this.send('GET', pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : '', signal);
  }

  insert(check: HttpHealthCheck, signal: AbortSignal): Promise<RestOperation> {
    return this.send('POST', '', signal, check);
  }

  update(check: HttpHealthCheck, signal: AbortSignal): Promise<RestOperation> {
    return this.send('PUT', `/${encodeURIComponent(check.name)}`, signal, check);
  }

  delete(name: string, signal: AbortSignal): Promise<RestOperation> {
    return this.send('DELETE', `/${encodeURIComponent(name)}`, signal);
  }

  private async send<T>(method: string, suffix: string, signal: AbortSignal, body?: unknown): Promise<T> {
    try {
      // retry: false: gaxios must not retry on its own either; the core's queue owns the retry policy.
      const init = { method, signal, headers: { 'content-type': 'application/json' }, retry: false } as RequestInit;
      if (body !== undefined) init.body = JSON.stringify(body);
      const response = (await this.auth.fetch(`${this.base}${suffix}`, init)) as { data: T };
      return response.data;
    } catch (error) {
      // gaxios errors carry the status and Google's JSON body; normalise them to the gax error's fields.
      type Body = { error?: { message?: string; errors?: { reason?: string }[] } };
      const e = error as { status?: number; response?: { status?: number; data?: Body } };
      const status = e.response?.status ?? e.status;
      if (status === undefined) throw error;
      const body = e.response?.data?.error;
      throw new OperationError(status, body?.message ?? `HTTP ${status}`, body?.errors?.[0]?.reason);
    }
  }
}
