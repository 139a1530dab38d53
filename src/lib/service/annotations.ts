// Provider-neutral annotation keys the core reads, and the finalizer it writes. Provider-specific annotations
// live with their provider (providers/<name>/annotations.ts) and reach it through its checkService.

/** Comma-separated IPv4/IPv6 addresses the Service asks for (the multi-address successor of spec.loadBalancerIP). */
export const LOAD_BALANCER_IPS_ANNOTATION = 'drawbridge.io/load-balancer-ips';

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

/**
 * Set to "true" on a Service that this controller keeps but no longer serves (it was provisioned while the
 * controller owned class-less Services and the controller now runs without --own-classless): its load balancer
 * is then torn down and the finalizer removed. Without it such a Service is left exactly as it is.
 */
export const RELEASE_ANNOTATION = 'drawbridge.io/release-load-balancer';
