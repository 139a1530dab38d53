// What the gcp provider reads from a Service beyond the neutral spec, and what it refuses before any GCE call.
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceCheck, SpecProblem } from '../../src/contract/provider.ts';

/** GKE's annotation for the forwarding rule's (and a reserved address's) network tier: Standard or Premium. */
export const NETWORK_TIER_ANNOTATION = 'cloud.google.com/network-tier';

/** GKE's and cloud-provider-gcp's annotations asking for an internal passthrough load balancer (value Internal). */
export const INTERNAL_ANNOTATIONS = [
  'networking.gke.io/load-balancer-type',
  'cloud.google.com/load-balancer-type',
] as const;
/** GKE: a backend-service (RBS) external passthrough load balancer instead of a target pool. */
export const RBS_ANNOTATION = 'cloud.google.com/l4-rbs';
export const SUBNET_ANNOTATION = 'networking.gke.io/internal-load-balancer-subnet';
export const GLOBAL_ACCESS_ANNOTATION = 'networking.gke.io/internal-load-balancer-allow-global-access';
/** Upstream annotations the gcp provider does not implement: refused by name rather than silently ignored. */
export const REFUSED_ANNOTATIONS = [
  'networking.gke.io/load-balancer-ip-addresses',
  'networking.gke.io/weighted-load-balancing',
  'cloud.google.com/l4-rbs-weighted',
  'networking.gke.io/l4-strong-session-affinity',
  'networking.gke.io/load-balancer-subnet',
  'networking.gke.io/l4lb-config',
  'networking.gke.io/custom-forwarding-rule',
  'networking.gke.io/ip-collection-v6',
] as const;

/** What checkService reads from a Service's annotations. */
export interface GcpOptions {
  /** Absent: PREMIUM, GCE's and GKE's default. */
  networkTier?: 'PREMIUM' | 'STANDARD';
  /** INTERNAL: an internal passthrough load balancer; EXTERNAL with `backendService`: l4-rbs. */
  scheme?: 'INTERNAL' | 'EXTERNAL';
  /** A backend-service load balancer (internal, or external behind l4-rbs) rather than a target pool. */
  backendService?: boolean;
  /** The internal rule's subnetwork (name in the provider's region); absent: the configured `subnetwork`. */
  subnet?: string;
  globalAccess?: boolean;
}

export function checkGcpService(service: Readonly<V1Service>): ServiceCheck<GcpOptions> {
  const protocols = new Set((service.spec?.ports ?? []).map((p) => p.protocol ?? 'TCP'));
  const problems: SpecProblem[] = [];
  const annotations = service.metadata?.annotations ?? {};
  const options: GcpOptions = {};
  // cloud-provider-gcp takes Internal or internal (anything else is external).
  if (INTERNAL_ANNOTATIONS.some((key) => annotations[key]?.toLowerCase() === 'internal')) {
    options.scheme = 'INTERNAL';
    options.backendService = true;
  } else if (annotations[RBS_ANNOTATION] === 'enabled') {
    options.scheme = 'EXTERNAL';
    options.backendService = true;
  }
  const subnet = annotations[SUBNET_ANNOTATION];
  if (subnet !== undefined) {
    if (options.scheme !== 'INTERNAL' || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(subnet)) {
      problems.push({
        reason: 'InvalidSubnetAnnotation',
        ...problem(SUBNET_ANNOTATION, 'must name a subnetwork of the region, on an internal load balancer'),
      });
    } else options.subnet = subnet;
  }
  const global = annotations[GLOBAL_ACCESS_ANNOTATION];
  if (global !== undefined) {
    if (options.scheme !== 'INTERNAL' || !['true', 'false'].includes(global)) {
      problems.push({
        reason: 'InvalidGlobalAccessAnnotation',
        ...problem(GLOBAL_ACCESS_ANNOTATION, 'must be "true" or "false", on an internal load balancer'),
      });
    } else options.globalAccess = global === 'true';
  }
  for (const key of REFUSED_ANNOTATIONS) {
    if (annotations[key] !== undefined) {
      problems.push({
        reason: 'UnsupportedGcpAnnotation',
        ...problem(key, 'is not implemented by the gcp provider, so nothing is built (remove it)'),
      });
    }
  }
  if (protocols.size > 1 && !options.backendService) {
    problems.push({
      path: 'spec.ports',
      reason: 'MixedProtocolNotSupported',
      message:
        'a target-pool forwarding rule carries one protocol: use TCP or UDP ports, not both, or ' +
        `${RBS_ANNOTATION}: enabled (or an internal load balancer) for one L3_DEFAULT rule`,
    });
  } else if (protocols.has('SCTP')) {
    problems.push({
      path: 'spec.ports',
      reason: 'ProtocolNotSupported',
      message: 'GCE passthrough load balancers forward TCP or UDP',
    });
  }
  const tier = service.metadata?.annotations?.[NETWORK_TIER_ANNOTATION];
  if (tier !== undefined) {
    // GKE's values, exactly (cloud-provider-gcp's GetServiceNetworkTier is case-sensitive too).
    if (options.scheme === 'INTERNAL') {
      problems.push({
        reason: 'InvalidNetworkTier',
        ...problem(NETWORK_TIER_ANNOTATION, 'applies to external load balancers only'),
      });
    } else if (tier === 'Standard' || tier === 'Premium')
      options.networkTier = tier === 'Standard' ? 'STANDARD' : 'PREMIUM';
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

function problem(key: string, why: string): Omit<SpecProblem, 'reason'> {
  return { path: `metadata.annotations['${key}']`, message: `${key} ${why}` };
}
