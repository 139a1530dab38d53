// Pure pieces of the gcp provider: the GCE resources it wants, and how it tells a stale one from a current one.
import { TerminalError } from '../../src/contract/provider.ts';
import { NETWORK_TIER_ANNOTATION } from './annotations.ts';
import { instanceKey } from './desired.ts';
import type { Firewall, HttpHealthCheck } from './gce.ts';

export const URL_BASE = 'https://www.googleapis.com/compute/v1/';

/** Where the firewall rules apply: the VPC network and, when set, only instances with these tags. */
export interface FirewallScope {
  project: string;
  network: string;
  nodeTags: readonly string[];
}

export interface FirewallRule {
  name: string;
  description: string;
  sourceRanges: readonly string[];
  destinationRanges: readonly string[];
  protocol: string;
  ports: string[];
}

export function firewallFor(scope: FirewallScope, rule: FirewallRule): Firewall {
  const firewall: Firewall = {
    name: rule.name,
    description: rule.description,
    network: `${URL_BASE}projects/${scope.project}/global/networks/${scope.network}`,
    sourceRanges: [...rule.sourceRanges].sort(),
    allowed: [{ IPProtocol: rule.protocol, ports: rule.ports }],
  };
  if (rule.destinationRanges.length > 0) firewall.destinationRanges = [...rule.destinationRanges];
  if (scope.nodeTags.length > 0) firewall.targetTags = [...scope.nodeTags].sort();
  return firewall;
}

/** A regional external address's or rule's tier; GCE reports PREMIUM when none was asked for. */
export function tierOf(resource: { networkTier?: string | null }): string {
  return resource.networkTier || 'PREMIUM';
}

export function wrongTier(ip: string, has: string, wanted: string): TerminalError {
  return new TerminalError(
    'NetworkTierMismatch',
    `the requested address ${ip} is a ${has} tier address and an address cannot change tier; ` +
      `request a ${wanted} tier address or set ${NETWORK_TIER_ANNOTATION}: ${has === 'STANDARD' ? 'Standard' : 'Premium'}`,
  );
}

export function healthCheckDiffers(observed: HttpHealthCheck, desired: HttpHealthCheck): boolean {
  return (
    observed.port !== desired.port ||
    observed.requestPath !== desired.requestPath ||
    observed.checkIntervalSec !== desired.checkIntervalSec ||
    observed.timeoutSec !== desired.timeoutSec ||
    observed.healthyThreshold !== desired.healthyThreshold ||
    observed.unhealthyThreshold !== desired.unhealthyThreshold
  );
}

export function firewallDiffers(observed: Firewall, desired: Firewall): boolean {
  const norm = (f: Firewall) =>
    JSON.stringify({
      network: instanceKey(f.network ?? ''),
      sourceRanges: [...(f.sourceRanges ?? [])].sort(),
      destinationRanges: [...(f.destinationRanges ?? [])].sort(),
      targetTags: [...(f.targetTags ?? [])].sort(),
      allowed: (f.allowed ?? []).map((a) => ({ IPProtocol: a.IPProtocol, ports: [...(a.ports ?? [])] })),
    });
  return norm(observed) !== norm(desired);
}
