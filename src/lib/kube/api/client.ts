// The apiserver client the long-running processes (controller, speaker) use instead of @kubernetes/client-node:
// loading client-node costs ~85 MB of RSS (every generated model and its serializer) and it builds a class
// instance for every object it reads. Here requests take a path (paths.ts builds them) and plain JSON objects,
// and answer plain JSON objects: timestamps stay the RFC 3339 strings the apiserver sent, even where
// client-node's types (still used here, type-only: they cost nothing at run time) declare a Date.

import type { IncomingMessage } from 'node:http';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeApiError } from './errors.ts';
import type { KubeAccess } from './kubeconfig.ts';
import { type SendOptions, Transport } from './transport.ts';
import { readWatchStream, type WatchEvent } from './watch.ts';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ListOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (default 500); 0: one unpaged LIST. */
  limit?: number;
}

export interface WriteOptions extends CallOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

/** merge: RFC 7386 JSON merge patch; strategic: Kubernetes strategic merge; json: RFC 6902; apply: server-side apply. */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions extends WriteOptions {
  /** Server-side apply only: take over fields other managers own. */
  force?: boolean;
}

export interface DeleteOptions extends CallOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /** Delete only this exact object (Conflict if it was replaced meanwhile). */
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask for BOOKMARK events, so a quiet watch still advances its resourceVersion (default true). */
  allowWatchBookmarks?: boolean;
  /** The apiserver ends the watch cleanly after this long. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export class KubeClient {
  readonly transport: Transport;

  constructor(access: KubeAccess) {
    this.transport = new Transport(access);
  }

  get server(): string {
    return this.transport.access.server;
  }

  get<T = KubernetesObject>(path: string, o: CallOptions = {}): Promise<T> {
    return this.transport.send<T>('GET', path, o);
  }

  /** One page of a LIST; `continueToken` from the previous page's metadata.continue. */
  listPage<T = KubernetesObject>(
    path: string,
    o: ListOptions & { continueToken?: string } = {},
  ): Promise<ObjectList<T>> {
    const query = {
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.limit === 0 ? undefined : (o.limit ?? 500),
      continue: o.continueToken,
    };
    return this.transport.send<ObjectList<T>>('GET', path, { query, signal: o.signal, timeoutMs: o.timeoutMs });
  }

  /**
   * Every object, a page at a time, as one list at the resourceVersion of the first page. If the continue token
   * expires mid-way (410: the apiserver compacted past it), the LIST starts over unpaged, as client-go's pager does.
   */
  async list<T = KubernetesObject>(path: string, o: ListOptions = {}): Promise<ObjectList<T>> {
    const first = await this.listPage<T>(path, o);
    const items = [...first.items];
    let token = first.metadata?.continue;
    while (token) {
      let page: ObjectList<T>;
      try {
        page = await this.listPage<T>(path, { ...o, continueToken: token });
      } catch (error) {
        if (error instanceof KubeApiError && error.code === 410) return this.listPage<T>(path, { ...o, limit: 0 });
        throw error;
      }
      items.push(...page.items);
      token = page.metadata?.continue;
    }
    return { ...first, metadata: { ...first.metadata, continue: undefined }, items };
  }

  create<T = KubernetesObject>(path: string, body: unknown, o: WriteOptions = {}): Promise<T> {
    return this.transport.send<T>('POST', path, this.write(body, o));
  }

  /** POST where nothing is created: TokenReview, SubjectAccessReview. */
  post<T = unknown>(path: string, body: unknown, o: CallOptions = {}): Promise<T> {
    return this.transport.send<T>('POST', path, { ...o, body });
  }

  /** PUT: the whole object, with the resourceVersion read (409 Conflict if it changed since). */
  replace<T = KubernetesObject>(path: string, body: unknown, o: WriteOptions = {}): Promise<T> {
    return this.transport.send<T>('PUT', path, this.write(body, o));
  }

  patch<T = KubernetesObject>(path: string, patch: unknown, type: PatchType, o: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && !o.fieldManager) throw new Error('server-side apply needs a fieldManager');
    const send = this.write(patch, o);
    if (o.force !== undefined) send.query = { ...send.query, force: o.force };
    return this.transport.send<T>('PATCH', path, { ...send, contentType: PATCH_CONTENT_TYPES[type] });
  }

  delete<T = unknown>(path: string, o: DeleteOptions = {}): Promise<T> {
    const body =
      o.propagationPolicy || o.preconditions
        ? {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            propagationPolicy: o.propagationPolicy,
            preconditions: o.preconditions,
          }
        : undefined;
    return this.transport.send<T>('DELETE', path, { body, signal: o.signal, timeoutMs: o.timeoutMs });
  }

  /** GET /version: the cheapest "does the apiserver answer". */
  version(o: CallOptions = {}): Promise<{ gitVersion?: string; major?: string; minor?: string }> {
    return this.transport.send('GET', '/version', o);
  }

  /**
   * Opens a watch; resolves once the apiserver accepted it, with `done`, which settles when the stream ends:
   * resolved when the apiserver closed it (timeoutSeconds), rejected when the connection broke or was aborted.
   * An ERROR event (410 Gone among them) is handed to `onEvent` like any other.
   */
  async watch<T = KubernetesObject>(
    path: string,
    o: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<{ done: Promise<void> }> {
    const query = {
      watch: 1,
      resourceVersion: o.resourceVersion,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      allowWatchBookmarks: o.allowWatchBookmarks ?? true,
      timeoutSeconds: o.timeoutSeconds,
    };
    const response: IncomingMessage = await this.transport.open('GET', path, { query, signal: o.signal });
    const done = readWatchStream<T>(response, onEvent).catch((error: unknown) => {
      response.destroy();
      // Aborted by the caller: say so (an AbortError), not the "aborted" of the torn-down response.
      throw o.signal?.aborted ? o.signal.reason : error;
    });
    // A caller that aborts and walks away must not leave an unhandled rejection behind; awaiting still throws.
    done.catch(() => {});
    return { done };
  }

  /** Closes every connection. */
  close(): void {
    this.transport.close();
  }

  private write(body: unknown, o: WriteOptions): SendOptions {
    return {
      body,
      signal: o.signal,
      timeoutMs: o.timeoutMs,
      query: { fieldManager: o.fieldManager, dryRun: o.dryRun ? 'All' : undefined },
    };
  }
}
