// Records core/v1 Events on the objects we act on, so `kubectl describe svc` tells the story.
// Repeats of the same (object, type, reason, message) within the aggregation window bump the existing Event's
// count instead of creating new objects, as client-go's recorder does. Events are best effort: a failure to
// record one is logged, never thrown into the reconcile.
import { randomBytes } from 'node:crypto';
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1ObjectReference } from '@kubernetes/client-node';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  kind: string;
  apiVersion: string;
  name: string;
  /** Cluster-scoped objects record their Events in `default`, as Kubernetes does. */
  namespace?: string;
  uid?: string;
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export class EventRecorder {
  private readonly recent = new Map<string, Recent>();
  private readonly core: CoreV1Api;
  private readonly component: string;
  private readonly instance: string;
  private readonly windowMs: number;
  private readonly onError: (error: unknown) => void;

  constructor(options: {
    core: CoreV1Api;
    component: string;
    instance: string;
    windowMs?: number;
    onError?: (error: unknown) => void;
  }) {
    this.core = options.core;
    this.component = options.component;
    this.instance = options.instance;
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.onError = options.onError ?? (() => {});
  }

  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${target.uid ?? `${target.namespace}/${target.name}`}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen && now.getTime() - seen.lastSeen < this.windowMs) {
        seen.count++;
        seen.lastSeen = now.getTime();
        await this.core.patchNamespacedEvent(
          { name: seen.name, namespace: seen.namespace, body: { count: seen.count, lastTimestamp: now } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      const namespace = target.namespace ?? 'default';
      const name = `${target.name}.${randomBytes(8).toString('hex')}`;
      const involvedObject: V1ObjectReference = {
        kind: target.kind,
        apiVersion: target.apiVersion,
        name: target.name,
        namespace: target.namespace,
        uid: target.uid,
      };
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject,
          type,
          reason,
          message: message.slice(0, 1024),
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      });
      this.remember(key, { name, namespace, count: 1, lastSeen: now.getTime() });
    } catch (error) {
      // The aggregated Event may have expired (default TTL 1h): forget it so the next one is created afresh.
      this.recent.delete(key);
      this.onError(error);
    }
  }

  private remember(key: string, entry: Recent): void {
    this.recent.set(key, entry);
    if (this.recent.size > 4096) {
      const cutoff = Date.now() - this.windowMs;
      for (const [k, v] of this.recent) if (v.lastSeen < cutoff) this.recent.delete(k);
    }
  }
}
