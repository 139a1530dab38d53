// "Is this Service ours?": the one answer, used by the controller (serve, clean up, keep, or leave alone) and by the
// speaker (announce or not). Pure: it reads the Service and the class this process serves, nothing else.
import type { V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION, RELEASE_ANNOTATION } from './annotations.ts';

export interface Ownership {
  /** The loadBalancerClass this controller (and its speakers) serve, e.g. `drawbridge.io/metal`. */
  loadBalancerClass: string;
  /** Also serve Services with no loadBalancerClass (the "default cloud provider" deployment). */
  ownClassless: boolean;
}

/**
 * - serve: a LoadBalancer of our class (or class-less with ownClassless), not being deleted.
 * - cleanUp: carries our finalizer and is being deleted, stopped being a LoadBalancer, changed class, or asks to be
 *   released (RELEASE_ANNOTATION).
 * - retain: carries our finalizer, is still a class-less LoadBalancer, but this controller runs without
 *   ownClassless. Releasing a serving load balancer because of a flag change would hand its address to someone
 *   else; it is left exactly as it is until the operator releases it or the flag comes back.
 * - ignore: not ours.
 */
export type OwnershipDecision = 'serve' | 'cleanUp' | 'retain' | 'ignore';

export function decideOwnership(svc: V1Service, ownership: Ownership): OwnershipDecision {
  if (wantsLoadBalancer(svc, ownership)) return 'serve';
  if (!carriesOurFinalizer(svc, ownership)) return 'ignore';
  if (svc.metadata?.deletionTimestamp || svc.spec?.type !== 'LoadBalancer') return 'cleanUp';
  if (svc.metadata?.annotations?.[RELEASE_ANNOTATION] === 'true') return 'cleanUp';
  return svc.spec.loadBalancerClass ? 'cleanUp' : 'retain';
}

/** A LoadBalancer Service of our class (or class-less with ownClassless) that is not being deleted. */
export function wantsLoadBalancer(svc: V1Service, ownership: Ownership): boolean {
  return !svc.metadata?.deletionTimestamp && isLoadBalancerOfClass(svc, ownership);
}

/** type LoadBalancer and our class (or class-less with ownClassless), whether or not it is being deleted. */
function isLoadBalancerOfClass(svc: V1Service, ownership: Ownership): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined || cls === '') return ownership.ownClassless;
  return cls === ownership.loadBalancerClass;
}

/**
 * Carries the (shared) Drawbridge finalizer for OUR class. The owner annotation decides; without it (written by hand,
 * or by an older version) the Service's class does, and a class-less one is ours only with ownClassless.
 */
function carriesOurFinalizer(svc: V1Service, ownership: Ownership): boolean {
  if (!(svc.metadata?.finalizers ?? []).includes(LOAD_BALANCER_CLEANUP_FINALIZER)) return false;
  const owner = svc.metadata?.annotations?.[OWNER_CLASS_ANNOTATION];
  if (owner !== undefined) return owner === ownership.loadBalancerClass;
  const cls = svc.spec?.loadBalancerClass;
  return cls ? cls === ownership.loadBalancerClass : ownership.ownClassless;
}

/**
 * For the speaker, which does not know the controller's --own-classless: a Service is announced when the controller
 * serving `loadBalancerClass` serves it. That controller marks every Service it serves with its class (the owner
 * annotation, written before any address is allocated), so the mark stands in for ownClassless. A Service no longer
 * a LoadBalancer of that class is not announced even while the mark is still on it; one being deleted is announced
 * until the controller has released its address (the mark comes off with the finalizer).
 */
export function announcedBy(svc: V1Service, loadBalancerClass: string): boolean {
  if (svc.metadata?.annotations?.[OWNER_CLASS_ANNOTATION] !== loadBalancerClass) return false;
  return isLoadBalancerOfClass(svc, { loadBalancerClass, ownClassless: true });
}
