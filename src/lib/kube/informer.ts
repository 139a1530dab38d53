// An informer that keeps itself running: LIST, then WATCH from the list's resourceVersion, keeping a cache by
// namespace and name and telling handlers what was added, updated and deleted.
//
// - The watch asks for bookmarks and a server-side timeout of 5-10 minutes (as client-go), and resumes from the
//   last resourceVersion it saw when the apiserver ends it, so a long-lived cache never replays what it has.
// - 410 Gone (the resourceVersion was compacted away) relists: objects that vanished meanwhile are deleted (and
//   handlers told), the rest added or updated (only those whose resourceVersion changed).
// - Any other failure (apiserver restarting, connection refused or reset, 5xx, a failed LIST) restarts it after an
//   exponential backoff, resuming the watch from the last resourceVersion when there is one.
// - A watch silent for quietRestartMs (no event, no bookmark) is restarted too: a half-open TCP connection looks
//   exactly like a quiet resource.
// - `transform` runs on every object before the cache keeps it (see slim.ts).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from './api/client.ts';
import { KubeApiError, statusCodeOf } from './api/errors.ts';
import type { WatchEvent } from './api/watch.ts';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  client: KubeClient;
  /** The collection: /api/v1/services, /apis/discovery.k8s.io/v1/endpointslices, /api/v1/namespaces/x/configmaps. */
  path: string;
  labelSelector?: string;
  /** Restart the watch after this long without any event (bookmarks count). */
  quietRestartMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown, retryInMs: number) => void;
  /**
   * Applied to every object, listed or watched, before the cache keeps it: drop what the process never reads
   * (see slim.ts), so the cache costs what the process needs rather than what the apiserver sends.
   */
  transform?: (obj: T) => T;
  /** LIST page size (default 500). */
  pageSize?: number;
}

export interface ResilientInformer<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Resolves once the first LIST has completed (retrying until it does). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The first LIST has completed (stays true while later relists run). */
  readonly synced: boolean;
  readonly restarts: number;
}

type Verb = 'add' | 'update' | 'delete';

/** The apiserver ends each watch after 5-10 minutes (randomised so many watches do not reconnect together). */
const watchTimeoutSeconds = () => 300 + Math.floor(Math.random() * 300);
/** A watch the apiserver closes sooner than this without a single event counts as a failure (no tight loop). */
const MIN_CLEAN_WATCH_MS = 1000;

export function resilientInformer<T extends KubernetesObject>(
  options: ResilientInformerOptions<T>,
): ResilientInformer<T> {
  const {
    client,
    path,
    labelSelector,
    quietRestartMs = 10 * 60_000,
    minBackoffMs = 500,
    maxBackoffMs = 30_000,
  } = options;
  const transform = options.transform ?? ((obj: T) => obj);
  const objects = new Map<string, Map<string, T>>();
  const handlers: Record<Verb, ((obj: T) => void)[]> = { add: [], update: [], delete: [] };
  let resourceVersion = '';
  let synced = false;
  let stopped = true;
  let backoffMs = minBackoffMs;
  let restarts = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  let firstSync: (() => void) | undefined;
  /** The running session's abort, and its end. One session at a time: a restart aborts the old one first. */
  let session: { abort: AbortController; ended: Promise<void> } | undefined;

  const emit = (verb: Verb, obj: T) => {
    for (const cb of handlers[verb]) cb(obj);
  };
  const keyOf = (obj: T) => [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''] as const;

  const upsert = (obj: T) => {
    const [namespace, name] = keyOf(obj);
    let inNamespace = objects.get(namespace);
    if (!inNamespace) {
      inNamespace = new Map();
      objects.set(namespace, inNamespace);
    }
    const found = inNamespace.get(name);
    if (
      found &&
      found.metadata?.resourceVersion !== undefined &&
      found.metadata.resourceVersion === obj.metadata?.resourceVersion
    )
      return;
    inNamespace.set(name, obj);
    emit(found ? 'update' : 'add', obj);
  };

  const remove = (obj: T) => {
    const [namespace, name] = keyOf(obj);
    const inNamespace = objects.get(namespace);
    const found = inNamespace?.get(name);
    if (!inNamespace || !found) return;
    inNamespace.delete(name);
    if (inNamespace.size === 0) objects.delete(namespace);
    emit('delete', obj);
  };

  const armQuietTimer = () => {
    clearTimeout(quietTimer);
    if (stopped) return;
    quietTimer = setTimeout(() => restart(), quietRestartMs);
    quietTimer.unref();
  };

  const onActivity = () => {
    backoffMs = minBackoffMs;
    armQuietTimer();
  };

  const relist = async (signal: AbortSignal) => {
    const list = await client.list<T>(path, { labelSelector, signal, limit: options.pageSize });
    if (signal.aborted) return;
    const items = list.items.map(transform);
    const present = new Set(items.map((obj) => keyOf(obj).join('/')));
    for (const inNamespace of [...objects.values()]) {
      for (const obj of [...inNamespace.values()]) if (!present.has(keyOf(obj).join('/'))) remove(obj);
    }
    for (const obj of items) upsert(obj);
    resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!synced) {
      synced = true;
      firstSync?.();
      firstSync = undefined;
    }
  };

  const onEvent = (event: WatchEvent<T>) => {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number };
      throw new KubeApiError('WATCH', path, status.code ?? 500, status);
    }
    const obj = event.type === 'BOOKMARK' ? event.object : transform(event.object);
    // Before the handlers run: one that throws restarts the watch after this event, not before it.
    resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
    if (event.type === 'ADDED' || event.type === 'MODIFIED') upsert(obj);
    else if (event.type === 'DELETED') remove(obj);
    onActivity();
  };

  const run = async (signal: AbortSignal) => {
    if (resourceVersion === '') await relist(signal);
    while (!signal.aborted) {
      const openedAt = performance.now();
      let seen = false;
      try {
        const { done } = await client.watch<T>(
          path,
          { resourceVersion, labelSelector, timeoutSeconds: watchTimeoutSeconds(), signal },
          (event) => {
            seen = true;
            onEvent(event);
          },
        );
        armQuietTimer();
        await done;
      } catch (error) {
        if (statusCodeOf(error) !== 410 || signal.aborted) throw error;
        resourceVersion = '';
        await relist(signal);
        continue;
      }
      if (!seen && performance.now() - openedAt < MIN_CLEAN_WATCH_MS && !signal.aborted) {
        throw new Error(`the apiserver closed the watch of ${path} at once`);
      }
    }
  };

  const launch = () => {
    const abort = new AbortController();
    const ended = run(abort.signal).catch((error: unknown) => {
      if (!abort.signal.aborted) scheduleRestart(error);
    });
    session = { abort, ended };
  };

  const scheduleRestart = (error: unknown) => {
    if (stopped) return;
    clearTimeout(retryTimer);
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    options.onError?.(error, delay);
    retryTimer = setTimeout(() => restart(), delay);
    retryTimer.unref();
  };

  // The quiet timer and a retry timer can both fire: either way the running session is aborted first, so there is
  // never more than one watch.
  const restart = () => {
    if (stopped) return;
    clearTimeout(retryTimer);
    restarts++;
    session?.abort.abort();
    launch();
  };

  return {
    on: (verb, cb) => void handlers[verb].push(cb),
    get: (name, namespace) => objects.get(namespace ?? '')?.get(name),
    list: (namespace) => {
      if (namespace) return [...(objects.get(namespace)?.values() ?? [])];
      const all: T[] = [];
      for (const inNamespace of objects.values()) all.push(...inNamespace.values());
      return all;
    },
    get synced() {
      return synced;
    },
    get restarts() {
      return restarts;
    },
    start() {
      stopped = false;
      const ready = synced ? Promise.resolve() : new Promise<void>((resolve) => (firstSync = resolve));
      launch();
      return ready;
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(quietTimer);
      const current = session;
      session = undefined;
      current?.abort.abort();
      await current?.ended;
      firstSync?.();
      firstSync = undefined;
    },
  };
}
