// What a Service asks of metal, in the allocator's terms: pure. Its sharing claim (key, ports, what sharing
// depends on), the request for one family, and the family of an address.
import type { V1Service } from '@kubernetes/client-node';
import type { IpFamily, LoadBalancerSpec } from '../../src/contract/provider.ts';
import type { MetalOptions } from './annotations.ts';
import type { AssignRequest, PortClaim } from './ipam/allocator.ts';

type ServicePort = { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' };

export function claimOf(spec: { providerOptions: MetalOptions; ports: readonly ServicePort[] }): {
  sharingKey: string | null;
  ports: PortClaim[];
  trafficPolicy: 'Cluster' | 'Local';
  selectorKey: string;
} {
  return {
    sharingKey: spec.providerOptions.sharingKey,
    ports: spec.ports.map((p) => ({ port: p.port, protocol: p.protocol })),
    // Local Services are announced from nodes with their endpoints: sharing needs the same selector.
    trafficPolicy: spec.providerOptions.trafficPolicy,
    selectorKey: spec.providerOptions.selectorKey,
  };
}

/** What ensure asks the allocator for one family of a Service (plan asks the same, without allocating). */
export function requestFor(
  key: string,
  spec: Readonly<LoadBalancerSpec<MetalOptions>>,
  family: IpFamily,
): AssignRequest {
  return {
    key,
    namespace: spec.identity.namespace,
    requested: [...spec.requestedAddresses],
    current: [...spec.currentAddresses],
    pool: spec.providerOptions.pool,
    ...claimOf(spec),
    family,
  };
}

/** A Service's ports as its spec lists them (for Services read from the cache, not handed in as a spec). */
export function portsOf(svc: Readonly<V1Service>): ServicePort[] {
  return (svc.spec?.ports ?? []).map((p) => ({ port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' }));
}

export function familyOf(ip: string): IpFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}
