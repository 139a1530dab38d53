// Which nodes hold a Service's ready endpoints. Pure: the controller feeds cached objects.
import type { V1EndpointSlice } from '@kubernetes/client-node';

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
