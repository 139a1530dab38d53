// What the gcp provider reads from a Service beyond the neutral spec, and what it refuses before any GCE call.
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceCheck, SpecProblem } from '../../src/contract/provider.ts';

/** GKE's annotation for the forwarding rule's (and a reserved address's) network tier: Standard or Premium. */
export const NETWORK_TIER_ANNOTATION = 'cloud.google.com/network-tier';

/**
 * Annotations that ask GKE / cloud-provider-gcp for an internal (ILB) load balancer. The gcp provider builds only
 * the external target-pool load balancer; building that for a Service that asked to stay inside the VPC would
 * expose it, so such a Service is refused with a Warning instead.
 */
export const INTERNAL_ANNOTATIONS = [
  'networking.gke.io/load-balancer-type',
  'cloud.google.com/load-balancer-type',
] as const;

/** What checkService reads from a Service's annotations. */
export interface GcpOptions {
  /** Absent: PREMIUM, GCE's and GKE's default. */
  networkTier?: 'PREMIUM' | 'STANDARD';
}

export function checkGcpService(service: Readonly<V1Service>): ServiceCheck<GcpOptions> {
  const protocols = new Set((service.spec?.ports ?? []).map((p) => p.protocol ?? 'TCP'));
  const problems: SpecProblem[] = [];
  if (protocols.size > 1) {
    problems.push({
      path: 'spec.ports',
      reason: 'MixedProtocolNotSupported',
      message: 'the gcp provider builds one target-pool forwarding rule per Service: use TCP or UDP ports, not both',
    });
  } else if (protocols.has('SCTP')) {
    problems.push({ path: 'spec.ports', reason: 'ProtocolNotSupported', message: 'target pools forward TCP or UDP' });
  }
  for (const key of INTERNAL_ANNOTATIONS) {
    const value = service.metadata?.annotations?.[key];
    // cloud-provider-gcp takes Internal or internal (anything else is external); any casing of it is refused here,
    // since building an external load balancer for it would be the unsafe mistake.
    if (value?.toLowerCase() === 'internal') {
      problems.push({
        path: `metadata.annotations['${key}']`,
        reason: 'InternalLoadBalancerNotSupported',
        message:
          `${key}: Internal asks for an internal load balancer; the gcp provider builds external target-pool ` +
          'load balancers only, so nothing is built (remove the annotation to get an external one)',
      });
    }
  }
  const options: GcpOptions = {};
  const tier = service.metadata?.annotations?.[NETWORK_TIER_ANNOTATION];
  if (tier !== undefined) {
    // GKE's values, exactly (cloud-provider-gcp's GetServiceNetworkTier is case-sensitive too).
    if (tier === 'Standard' || tier === 'Premium') options.networkTier = tier === 'Standard' ? 'STANDARD' : 'PREMIUM';
    else {
      problems.push({
        path: `metadata.annotations['${NETWORK_TIER_ANNOTATION}']`,
        reason: 'InvalidNetworkTier',
        message: `${NETWORK_TIER_ANNOTATION}: "${tier}" is not a network tier: use Standard or Premium`,
      });
    }
  }
  return { options, problems };
}
