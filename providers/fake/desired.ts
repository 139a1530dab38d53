// What the fake holds for a spec: the record a cloud would keep for the Service (pure).
import type { LoadBalancerIdentity, LoadBalancerSpec } from '../../src/contract/provider.ts';

/** One load balancer as the fake keeps it: what a cloud would hold for the Service. */
export interface FakeLoadBalancer {
  identity: LoadBalancerIdentity;
  addresses: string[];
  ports: string[];
  sourceRanges: string[];
  sessionAffinity: string;
  healthCheck: string;
  backends: string[];
}

export function desiredFor(spec: Readonly<LoadBalancerSpec>, addresses: string[]): FakeLoadBalancer {
  return {
    identity: { ...spec.identity },
    addresses,
    ports: spec.ports.map((p) => `${p.port}/${p.protocol}->${p.nodePort ?? '-'}`),
    sourceRanges: [...spec.sourceRanges],
    sessionAffinity: spec.sessionAffinity,
    healthCheck: `${spec.healthCheck.port}${spec.healthCheck.path}`,
    backends: backendsOf(spec),
  };
}

/** `Local` traffic goes only to nodes with a ready endpoint, as a cloud health check would make it. */
export function backendsOf(spec: Readonly<LoadBalancerSpec>): string[] {
  const names = spec.nodes.map((n) => n.name);
  if (spec.externalTrafficPolicy !== 'Local') return names;
  return names.filter((n) => spec.endpointNodes.includes(n));
}
