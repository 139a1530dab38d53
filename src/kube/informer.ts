// A client-node informer that keeps itself running.
//
// client-node's ListWatch reconnects on its own only after a clean close, a 410 Gone or a client-side timeout; on
// any other error (apiserver restarting, connection refused, 5xx, a failed LIST) it calls its error callbacks and
// stops for good. We restart it with exponential backoff, and also restart a watch that has been silent for too
// long (a half-open TCP connection looks exactly like a quiet resource). Restarting keeps the last resourceVersion,
// so it resumes the watch; only a 410 makes it relist.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { transformWatchCallback } from './slim.ts';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** Restart the watch after this long without any event. */
  quietRestartMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown, retryInMs: number) => void;
  /**
   * Applied to every object, listed or watched, before the cache keeps it: drop what the controller never reads
   * (see slim.ts), so the cache costs what the controller needs rather than what the apiserver sends.
   */
  transform?: (obj: T) => T;
}

export interface ResilientInformer<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Resolves once the first LIST has completed (retrying until it does). */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;
  readonly restarts: number;
}

/** A Watch whose object events pass through `transform` before ListWatch caches them. */
class TransformingWatch<T> extends Watch {
  readonly #transform: (obj: T) => T;

  constructor(kubeConfig: KubeConfig, transform: (obj: T) => T) {
    super(kubeConfig);
    this.#transform = transform;
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return super.watch(path, query, transformWatchCallback(this.#transform, callback), done);
  }
}

export function resilientInformer<T extends KubernetesObject>(
  options: ResilientInformerOptions<T>,
): ResilientInformer<T> {
  const { quietRestartMs = 10 * 60_000, minBackoffMs = 500, maxBackoffMs = 30_000 } = options;
  const transform = options.transform;
  const list = transform
    ? async () => {
        const result = await options.list();
        result.items = result.items.map(transform);
        return result;
      }
    : options.list;
  const watch = transform ? new TransformingWatch(options.kubeConfig, transform) : new Watch(options.kubeConfig);
  // autoStart=false: start() below owns the lifecycle.
  const inner = new ListWatch<T>(options.path, watch, list, false, options.labelSelector);
  let stopped = true;
  let backoffMs = minBackoffMs;
  let restarts = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  let firstSync: { resolve: () => void } | undefined;

  const synced = () => inner.latestResourceVersion() !== '';

  const armQuietTimer = () => {
    clearTimeout(quietTimer);
    if (stopped) return;
    quietTimer = setTimeout(() => void restart(), quietRestartMs);
    quietTimer.unref();
  };

  const onActivity = () => {
    backoffMs = minBackoffMs;
    armQuietTimer();
  };

  const scheduleRestart = (error: unknown) => {
    if (stopped) return;
    clearTimeout(retryTimer);
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    options.onError?.(error, delay);
    retryTimer = setTimeout(() => void restart(), delay);
    retryTimer.unref();
  };

  const run = async () => {
    try {
      await inner.start();
    } catch (error) {
      scheduleRestart(error);
      return;
    }
    if (synced()) {
      firstSync?.resolve();
      firstSync = undefined;
      armQuietTimer();
    }
  };

  // The quiet timer and a retry timer can both fire while a restart is still connecting; one at a time, or two
  // watches would run and one would leak.
  let restarting = false;
  const restart = async () => {
    if (stopped || restarting) return;
    restarting = true;
    restarts++;
    try {
      await inner.stop();
      await run();
    } finally {
      restarting = false;
    }
  };

  // ListWatch reports the abort of its own watch request, which only its stop() does (our restart or stop), as an
  // error. Treating that as a failure would make every restart of a live watch schedule another one, forever.
  inner.on('error', (error) => {
    if ((error as Error)?.name !== 'AbortError') scheduleRestart(error);
  });
  for (const verb of ['add', 'update', 'delete'] as const) inner.on(verb, onActivity);
  inner.on('connect', () => armQuietTimer());

  return {
    on: (verb, cb) => inner.on(verb, cb),
    get: (name, namespace) => inner.get(name, namespace),
    list: (namespace) => inner.list(namespace),
    get synced() {
      return synced();
    },
    get restarts() {
      return restarts;
    },
    start() {
      stopped = false;
      const ready = new Promise<void>((resolve) => {
        firstSync = { resolve };
      });
      void run();
      return ready;
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(quietTimer);
      await inner.stop();
      firstSync?.resolve();
    },
  };
}
