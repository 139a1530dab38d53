// Event reasons the controller itself emits (validation failures use src/desired/reasons.ts, provider failures
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
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** Values of the reconcile_total{outcome} label. */
export type ReconcileOutcome = 'ensured' | 'unchanged' | 'hosts-updated' | 'deleted' | 'ignored' | 'invalid' | 'error';
