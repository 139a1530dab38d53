// What the controller does with each informer event: a Service change that is news for reconcile (changes.ts)
// queues its key, a deletion aborts its in-flight ensure and queues it at high priority, a Node change goes to the
// node-set watch (src/core/nodes/node-set.ts), and an EndpointSlice change queues its Service when that Service is
// ours and `Local`.
import type { V1Service } from '@kubernetes/client-node';
import type { EventRecorder } from '../../lib/kube/events.ts';
import { serviceKey, serviceRefOf } from '../../lib/service/keys.ts';
import { ServiceUpdateFilter } from './changes.ts';
import { type Caches, serviceNameOfSlice } from './informers.ts';
import type { OwnedServiceIndex } from './ownership.ts';
import type { Reconciler } from './reconcile.ts';

export interface CacheWatch {
  caches: Caches;
  index: OwnedServiceIndex;
  reconciler: Reconciler;
  events: EventRecorder;
  /** Queues a key if this replica leads; without a priority, the key's urgency decides. */
  enqueue(key: string, priority?: 'high' | 'normal'): void;
  /** A Node was added, changed or deleted. */
  nodeChanged(): void;
}

export function watchCaches(w: CacheWatch): void {
  const { caches, index, reconciler } = w;
  /** Drops Service updates reconcile has nothing to do about (our own writes' echoes among them). */
  const updates = new ServiceUpdateFilter((key) => reconciler.ownWrites(key));
  const onService = (svc: V1Service) => {
    const key = serviceKey(svc);
    const owned = reconciler.owns(svc);
    index.upsert(svc, owned);
    if (!owned) {
      updates.forget(key);
      reconciler.forgetWrites(key);
      return;
    }
    const news = updates.observe(key, svc);
    if (!news) return; // e.g. the echo of our own finalizer or status write: nothing for reconcile to do
    // Deletion started: an ensure still in flight for it is pointless; the requeue below tears it down.
    if (news === 'input' && svc.metadata?.deletionTimestamp) reconciler.abort(key, 'Service is being deleted');
    w.enqueue(key);
  };
  caches.services.on('add', onService);
  caches.services.on('update', onService);
  // A deleted Service that carried our finalizer was already cleaned up; one without it may still hold
  // provider state from this process (reconcile asks the provider to forget it).
  caches.services.on('delete', (svc) => {
    index.delete(svc);
    updates.forget(serviceKey(svc));
    reconciler.forgetWrites(serviceKey(svc));
    reconciler.abort(serviceKey(svc), 'Service was deleted');
    // Its Events can no longer be aggregated into (they are garbage too): keep nothing about them.
    w.events.forget(serviceRefOf(svc));
    w.enqueue(serviceKey(svc), 'high');
  });
  const onNode = () => w.nodeChanged();
  caches.nodes.on('add', onNode);
  caches.nodes.on('update', onNode);
  caches.nodes.on('delete', onNode);
  const onSlice = (slice: { metadata?: { namespace?: string } } & Parameters<typeof serviceNameOfSlice>[0]) => {
    const name = serviceNameOfSlice(slice);
    const namespace = slice.metadata?.namespace;
    if (!name || !namespace) return;
    const svc = caches.view.service(namespace, name);
    // Only `Local` Services care where their endpoints are.
    if (svc && svc.spec?.externalTrafficPolicy === 'Local' && index.has(serviceKey(svc))) w.enqueue(serviceKey(svc));
  };
  caches.slices.on('add', onSlice);
  caches.slices.on('update', onSlice);
  caches.slices.on('delete', onSlice);
}
