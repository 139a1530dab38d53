// Event reasons the controller itself emits (validation failures use src/core/desired/reasons.ts, provider failures
// the typed error's own reason). Stable strings: users alert on them.
export const EventReason = {
  EnsuringLoadBalancer: 'EnsuringLoadBalancer',
  EnsuredLoadBalancer: 'EnsuredLoadBalancer',
  UpdatedLoadBalancer: 'UpdatedLoadBalancer',
  SyncLoadBalancerFailed: 'SyncLoadBalancerFailed',
  DeletingLoadBalancer: 'DeletingLoadBalancer',
  DeletedLoadBalancer: 'DeletedLoadBalancer',
  DeleteLoadBalancerFailed: 'DeleteLoadBalancerFailed',
  UnAvailableLoadBalancer: 'UnAvailableLoadBalancer',
  /** A load balancer we provisioned but no longer serve is kept as it is (see Reconciler.decide). */
  LoadBalancerRetained: 'LoadBalancerRetained',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/**
 * What one reconcile did: the reconcile_total{outcome} label. (The queue's Outcome is what happens to the key
 * next; this is what happened to the Service.)
 */
export type ReconcileResult =
  | 'ensured'
  | 'unchanged'
  | 'hosts-updated'
  | 'deleted'
  | 'retained'
  | 'ignored'
  | 'invalid'
  | 'aborted'
  | 'error';
