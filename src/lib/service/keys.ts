// The one spelling of a Service's key, `namespace/name`: the work queue, logs and providers all use it.
import type { V1Service } from '@kubernetes/client-node';

export { identityKey } from '../../contract/provider.ts';

export function serviceKey(svc: Pick<V1Service, 'metadata'>): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}
