// The metal provider's own Service annotations, and checkService: reading them (with what sharing depends on) once
// into typed MetalOptions. Pure. The core never reads them.
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceCheck, SpecProblem } from '../../src/contract/provider.ts';
import { selectorKeyOf } from './ipam/sharing.ts';

/** Name of the AddressPool to allocate from. */
export const ADDRESS_POOL_ANNOTATION = 'drawbridge.io/address-pool';

/** Sharing key: Services with the same key may share one address when their ports do not collide. */
export const ALLOW_SHARED_IP_ANNOTATION = 'drawbridge.io/allow-shared-ip';

export interface MetalOptions {
  /** The AddressPool named by the Service, if any. */
  pool: string | undefined;
  /** Services with the same key may share an address (ports permitting). */
  sharingKey: string | null;
  /** Sharing also depends on these: `Local` Services share only with `Local` ones of the same selector. */
  trafficPolicy: 'Cluster' | 'Local';
  selectorKey: string;
}

/** A DNS-1123 subdomain: what a Kubernetes object name (an AddressPool) may be. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function checkMetalService(service: Readonly<V1Service>): ServiceCheck<MetalOptions> {
  const annotations = service.metadata?.annotations ?? {};
  const problems: SpecProblem[] = [];
  const pool = annotations[ADDRESS_POOL_ANNOTATION];
  if (pool !== undefined && (pool.length > 253 || !OBJECT_NAME.test(pool))) {
    problems.push({
      path: `metadata.annotations[${JSON.stringify(ADDRESS_POOL_ANNOTATION)}]`,
      reason: 'InvalidAnnotation',
      message: `${JSON.stringify(pool)} is not a valid AddressPool name (lowercase DNS subdomain)`,
    });
  }
  const sharingKey = annotations[ALLOW_SHARED_IP_ANNOTATION];
  return {
    options: {
      pool,
      sharingKey: sharingKey === undefined || sharingKey === '' ? null : sharingKey,
      trafficPolicy: service.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      selectorKey: selectorKeyOf(service.spec?.selector),
    },
    problems,
  };
}
