// What GCE should hold for a backend-service load balancer (internal passthrough, or external behind
// `cloud.google.com/l4-rbs`): pure, no I/O. As cloud-provider-gcp's ILB and ingress-gce's L4/L4 NetLB build them.
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import type { GcpOptions } from './annotations.ts';
import { HEALTH_CHECK_RANGES } from './desired.ts';
import { type L4Names, l4NamesFor } from './names.ts';

/** Google's health-check ranges for internal passthrough load balancers (upstream's L4 ILB firewall). */
export const INTERNAL_HEALTH_CHECK_RANGES = ['130.211.0.0/22', '35.191.0.0/16'];
/** kube-proxy's health server, what the cluster's node check probes for Cluster policy. */
export const KUBE_PROXY_HEALTH = { port: 10256, path: '/healthz' };

export interface DesiredL4 {
  names: L4Names;
  scheme: 'INTERNAL' | 'EXTERNAL';
  /** The rule's protocol: L3_DEFAULT when the Service mixes TCP and UDP. */
  ruleProtocol: 'TCP' | 'UDP' | 'L3_DEFAULT';
  /** The backend service's protocol: UNSPECIFIED under an L3_DEFAULT rule. */
  serviceProtocol: 'TCP' | 'UDP' | 'UNSPECIFIED';
  /** How the rule names its ports: `ports` (internal, at most 5), `portRange` (external) or every port. */
  rulePorts: { ports?: string[]; portRange?: string; allPorts?: boolean };
  /** The traffic firewall's allowed entries: the Service ports per protocol. */
  allowed: { IPProtocol: string; ports: string[] }[];
  sourceRanges: string[];
  sessionAffinity: 'NONE' | 'CLIENT_IP';
  /** A requested IPv4 address, if any (internal: taken on the rule directly; external: reserved). */
  staticIp: string | null;
  networkTier: 'PREMIUM' | 'STANDARD';
  /** Internal: the subnetwork of the rule. External: the subnetwork read for an IPv6 range. */
  subnet: string;
  globalAccess: boolean;
  /** The Service asks for IPv6 (dual-stack or IPv6 single-stack): a second rule where the subnet has a range. */
  ipv6: boolean;
  /** The Service asks for IPv4. */
  ipv4: boolean;
  healthCheck: { name: string; firewall: string; shared: boolean; port: number; path: string; ranges: string[] };
}

export function l4DesiredFor(spec: Readonly<LoadBalancerSpec<GcpOptions>>, defaultSubnet: string): DesiredL4 {
  const names = l4NamesFor(spec.identity);
  const options = spec.providerOptions;
  const scheme = options.scheme ?? 'EXTERNAL';
  const protocols = [...new Set(spec.ports.map((p) => p.protocol))].sort();
  const mixed = protocols.length > 1;
  const single = protocols[0] === 'UDP' ? 'UDP' : 'TCP';
  const ports = [...new Set(spec.ports.map((p) => p.port))].sort((a, b) => a - b).map(String);
  let rulePorts: DesiredL4['rulePorts'];
  if (mixed) rulePorts = { allPorts: true };
  else if (scheme === 'INTERNAL') rulePorts = ports.length <= 5 ? { ports } : { allPorts: true };
  else rulePorts = { portRange: `${ports[0]}-${ports.at(-1)}` };
  const local = spec.externalTrafficPolicy === 'Local';
  const ranges = scheme === 'INTERNAL' && local ? INTERNAL_HEALTH_CHECK_RANGES : HEALTH_CHECK_RANGES;
  const families = spec.ipFamilies.length > 0 ? spec.ipFamilies : ['IPv4'];
  return {
    names,
    scheme,
    ruleProtocol: mixed ? 'L3_DEFAULT' : single,
    serviceProtocol: mixed ? 'UNSPECIFIED' : single,
    rulePorts,
    allowed: protocols.map((p) => ({
      IPProtocol: p.toLowerCase(),
      ports: [...new Set(spec.ports.filter((x) => x.protocol === p).map((x) => x.port))]
        .sort((a, b) => a - b)
        .map(String),
    })),
    sourceRanges: spec.sourceRanges.filter((r) => !r.includes(':')).sort(),
    sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'CLIENT_IP' : 'NONE',
    staticIp: spec.requestedAddresses.find((a) => !a.includes(':')) ?? null,
    networkTier: scheme === 'INTERNAL' ? 'PREMIUM' : (options.networkTier ?? 'PREMIUM'),
    subnet: options.subnet ?? defaultSubnet,
    globalAccess: options.globalAccess === true,
    ipv4: families.includes('IPv4'),
    ipv6: families.includes('IPv6'),
    healthCheck: {
      name: local ? names.localHealthCheck : names.nodeHealthCheck,
      firewall: local ? names.localHealthCheckFirewall : names.nodeHealthCheckFirewall,
      shared: !local,
      // The shared check serves internal and external services alike: it admits every checker range.
      ranges,
      port: local ? spec.healthCheck.port : KUBE_PROXY_HEALTH.port,
      path: local ? spec.healthCheck.path : KUBE_PROXY_HEALTH.path,
    },
  };
}

/** Why this spec cannot be a backend-service load balancer, or null. */
export function l4Unsupported(spec: Readonly<LoadBalancerSpec>): string | null {
  if (spec.ports.length === 0) return 'the Service has no ports';
  if (spec.ports.some((p) => p.protocol === 'SCTP')) return 'GCE passthrough load balancers forward TCP or UDP';
  return null;
}
