// Which Services are ours, and which nodes hold their ready endpoints. Pure: the controller feeds cached objects.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

export interface OwnershipOptions {
  /** loadBalancerClass values this controller serves (e.g. `drawbridge.io/gcp`). */
  classes: string[];
  /** Also serve Services with no loadBalancerClass (the "default cloud provider" deployment). */
  ownClassless: boolean;
}

/**
 * True when this controller should converge a load balancer for the Service. False for a Service being deleted:
 * that one goes down the cleanup path (ensureDeleted, then the finalizer comes off) instead.
 */
export function wantsLoadBalancer(service: V1Service, ownership: OwnershipOptions): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  if (service.metadata?.deletionTimestamp) return false;
  const loadBalancerClass = service.spec.loadBalancerClass;
  if (loadBalancerClass === undefined || loadBalancerClass === '') return ownership.ownClassless;
  return ownership.classes.includes(loadBalancerClass);
}

/**
 * Names of nodes with at least one ready endpoint, sorted and unique. Per the EndpointSlice API, an unset
 * `ready` condition "should be interpreted as ready", so only an explicit `false` excludes an endpoint.
 */
export function endpointNodesFromSlices(slices: V1EndpointSlice[]): string[] {
  const nodes = new Set<string>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      if (endpoint.nodeName) nodes.add(endpoint.nodeName);
    }
  }
  return [...nodes].sort();
}
