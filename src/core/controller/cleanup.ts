// The clean-up paths of reconcile: tearing down the load balancer of a Service that carries our finalizer
// (ensureDeleted -> clear status -> finalizer off, only after success), and releasing what this process
// provisioned for a Service that vanished without that teardown.
import type { V1Service } from '@kubernetes/client-node';
import type { LoadBalancerIdentity } from '../../contract/spec.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import { serviceRefOf } from '../../lib/service/keys.ts';
import { EventReason, type ReconcileResult } from './reasons.ts';
import type { ReconcileContext } from './reconcile-deps.ts';
import { currentIngress } from './status.ts';

export async function teardown(
  ctx: ReconcileContext,
  key: string,
  svc: V1Service,
  log: Logger,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const { provider, events, config } = ctx.deps;
  const identity = identityOf(svc, config.clusterName);
  events.record(serviceRefOf(svc), 'Normal', EventReason.DeletingLoadBalancer, 'Deleting load balancer');
  await ctx.call('ensureDeleted', signal, (o) => provider.ensureDeleted(identity, o));
  signal.throwIfAborted();
  // A Service that is going away takes its status with it; one that merely stopped being ours is left clean.
  if (!svc.metadata?.deletionTimestamp && currentIngress(svc).length > 0) await ctx.writes.publish(key, svc, []);
  await ctx.writes.release(key, svc);
  ctx.applied.delete(key);
  ctx.provisioned.delete(key);
  events.record(serviceRefOf(svc), 'Normal', EventReason.DeletedLoadBalancer, 'Deleted load balancer');
  // Going away: nothing will be aggregated into its Events again, so the recorder keeps nothing about it once they
  // are written (the informer's delete, which also forgets it, usually arrives before this Event is recorded).
  if (svc.metadata?.deletionTimestamp) events.forget(serviceRefOf(svc));
  log.info('deleted load balancer');
  return 'deleted';
}

/**
 * The Service object is gone entirely without our teardown: it never had our finalizer, the finalizer was
 * removed by hand, or the apiserver deleted it while our finalizer write raced the user's delete (seen under
 * etcd outages). Whatever this process provisioned for it is released.
 */
export async function forgetVanished(
  ctx: ReconcileContext,
  key: string,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  ctx.writes.forget(key);
  const identity = ctx.provisioned.get(key);
  ctx.applied.delete(key);
  if (!identity) return 'ignored';
  await ctx.call('ensureDeleted', signal, (o) => ctx.deps.provider.ensureDeleted(identity, o));
  ctx.provisioned.delete(key);
  return 'deleted';
}

export function identityOf(svc: V1Service, clusterName: string): LoadBalancerIdentity {
  const m = svc.metadata ?? {};
  return { clusterName, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
}
