// The one spelling of a Service's key, `namespace/name`: the work queue, logs and providers all use it.
import type { V1Service } from '@kubernetes/client-node';
import type { LoadBalancerIdentity } from './types.ts';

export function serviceKey(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

export function identityKey(identity: Pick<LoadBalancerIdentity, 'namespace' | 'name'>): string {
  return `${identity.namespace}/${identity.name}`;
}
