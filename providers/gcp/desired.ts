// What GCE should hold for one spec: pure, no I/O. The provider compares this with what it observed.
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import { type LoadBalancerNames, namesFor } from './names.ts';

/** Google's health-check and L4 proxy source ranges (reference 2.3). */
export const HEALTH_CHECK_RANGES = ['35.191.0.0/16', '209.85.152.0/22', '209.85.204.0/22', '130.211.0.0/22'];

/** Upstream's health-check timings (reference 2.3: 3 x 8 s before traffic is steered away). */
export const HEALTH_CHECK_TIMINGS = { checkIntervalSec: 8, timeoutSec: 1, healthyThreshold: 1, unhealthyThreshold: 3 };

export interface DesiredLoadBalancer {
  names: LoadBalancerNames;
  protocol: 'TCP' | 'UDP';
  /** `min-max` of the Service ports: a target-pool rule forwards one contiguous range. */
  portRange: string;
  /** Service ports for the traffic firewall (not NodePorts: the target pool keeps the destination port). */
  ports: string[];
  sourceRanges: string[];
  sessionAffinity: 'NONE' | 'CLIENT_IP';
  /** The requested static IPv4 address, if any. */
  staticIp: string | null;
  /** The forwarding rule's and our reservation's network tier (annotation cloud.google.com/network-tier). */
  networkTier: 'PREMIUM' | 'STANDARD';
  healthCheck: { name: string; firewall: string; shared: boolean; port: number; path: string };
}

export function desiredFor(
  spec: Readonly<LoadBalancerSpec<{ networkTier?: 'PREMIUM' | 'STANDARD' }>>,
): DesiredLoadBalancer {
  const names = namesFor(spec.identity);
  const ports = [...new Set(spec.ports.map((p) => p.port))].sort((a, b) => a - b);
  const local = spec.externalTrafficPolicy === 'Local';
  return {
    names,
    protocol: spec.ports[0]?.protocol === 'UDP' ? 'UDP' : 'TCP',
    portRange: `${ports[0]}-${ports.at(-1)}`,
    ports: ports.map(String),
    sourceRanges: spec.sourceRanges.length > 0 ? [...spec.sourceRanges].sort() : ['0.0.0.0/0'],
    sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'CLIENT_IP' : 'NONE',
    staticIp: spec.requestedAddresses.find((a) => !a.includes(':')) ?? null,
    networkTier: spec.providerOptions.networkTier ?? 'PREMIUM',
    healthCheck: {
      name: local ? names.localHealthCheck : names.nodeHealthCheck,
      firewall: local ? names.localHealthCheckFirewall : names.nodeHealthCheckFirewall,
      shared: !local,
      port: spec.healthCheck.port,
      path: spec.healthCheck.path,
    },
  };
}

/** Why this spec cannot be a target-pool load balancer, or null. Mixed protocols: see README ("one protocol"). */
export function unsupported(spec: Readonly<LoadBalancerSpec>): string | null {
  const protocols = new Set(spec.ports.map((p) => p.protocol));
  if (protocols.has('SCTP')) return 'target-pool load balancers forward TCP or UDP, not SCTP';
  if (protocols.size > 1) return 'a Service mixing TCP and UDP ports is not supported by the gcp provider';
  if (spec.ports.length === 0) return 'the Service has no ports';
  if (spec.requestedAddresses.length > 0 && spec.requestedAddresses.every((a) => a.includes(':'))) {
    return 'the gcp provider serves IPv4 only';
  }
  return null;
}

/** `gce://<project>/<zone>/<name>` -> the instance's path, or null for another provider's ID. */
export function instanceFromProviderId(providerID: string | null): { zone: string; path: string } | null {
  const m = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(providerID ?? '');
  if (!m) return null;
  return { zone: m[2]!, path: `projects/${m[1]}/zones/${m[2]}/instances/${m[3]}` };
}

/** The comparable part of an instance URL (reference 2.5 diffs by `/zones/<z>/instances/<name>`). */
export function instanceKey(url: string): string {
  const at = url.indexOf('projects/');
  return at >= 0 ? url.slice(at) : url;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
