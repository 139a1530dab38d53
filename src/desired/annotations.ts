// Annotation keys Drawbridge reads, and the finalizer it writes. Every drawbridge.io/* annotation is also
// handed to providers verbatim as spec.options, so provider-specific keys need no change here.

export const DRAWBRIDGE_PREFIX = 'drawbridge.io/';

/** Comma-separated IPv4/IPv6 addresses the Service asks for (the multi-address successor of spec.loadBalancerIP). */
export const LOAD_BALANCER_IPS_ANNOTATION = 'drawbridge.io/load-balancer-ips';

/** Name of the AddressPool (metal) to allocate from. */
export const ADDRESS_POOL_ANNOTATION = 'drawbridge.io/address-pool';

/** Sharing key: Services with the same key may share one address when their ports do not collide. */
export const ALLOW_SHARED_IP_ANNOTATION = 'drawbridge.io/allow-shared-ip';

/** The upstream fallback for spec.loadBalancerSourceRanges: comma-separated CIDRs. */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** Added before any cloud call, removed only after ensureDeleted succeeded. */
export const LOAD_BALANCER_CLEANUP_FINALIZER = 'drawbridge.io/load-balancer-cleanup';

/** The path used in SpecProblem for an annotation, e.g. `metadata.annotations["drawbridge.io/address-pool"]`. */
export function annotationPath(key: string): string {
  return `metadata.annotations[${JSON.stringify(key)}]`;
}

/** Splits a comma-separated annotation value; blanks are dropped so `"a, b,"` means `["a", "b"]`. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Written with the finalizer: which loadBalancerClass provisioned this Service. Several Drawbridge controllers
 * (one per provider) share the finalizer name; this says which of them must clean up, even after the Service's
 * class was cleared by a type change.
 */
export const OWNER_CLASS_ANNOTATION = 'drawbridge.io/owner-class';
