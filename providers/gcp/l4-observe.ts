// What exists in GCE for one backend-service load balancer, read at once: its rules, backend service, health
// check, firewalls, our address, the subnetwork (for its IPv6 range) and the cluster's instance group per zone.
import type { Address, Call, Firewall, ForwardingRule, TargetPool } from './gce.ts';
import type { BackendService, GceBackends, HealthCheck, Subnetwork } from './gce-backends.ts';
import type { DesiredL4 } from './l4-desired.ts';

export interface ObservedGroup {
  zone: string;
  exists: boolean;
  /** Members' instance URLs. */
  members: string[];
}

export interface ObservedL4 {
  rule: ForwardingRule | null;
  ipv6Rule: ForwardingRule | null;
  backendService: BackendService | null;
  healthCheck: HealthCheck | null;
  healthCheckFirewall: Firewall | null;
  trafficFirewall: Firewall | null;
  ipv6TrafficFirewall: Firewall | null;
  address: Address | null;
  /** The same name's target pool: the Service was a target-pool load balancer until now. */
  pool: TargetPool | null;
  subnet: Subnetwork | null;
  groups: ObservedGroup[];
}

/** `instances`: the wanted members' URLs; every zone they are in, and every zone the service uses, is read. */
export async function observeL4(
  gce: GceBackends,
  desired: DesiredL4,
  instances: string[],
  call: Call,
): Promise<ObservedL4> {
  const { names, healthCheck } = desired;
  const [rule, ipv6Rule, backendService, hc, hcFirewall, trafficFirewall, ipv6Firewall, address, pool, subnet] =
    await Promise.all([
      gce.getRule(names.lb, call),
      gce.getRule(names.ipv6Rule, call),
      gce.getBackendService(names.lb, call),
      gce.getRegionHealthCheck(healthCheck.name, call),
      gce.getFirewall(healthCheck.firewall, call),
      gce.getFirewall(names.trafficFirewall, call),
      gce.getFirewall(names.ipv6TrafficFirewall, call),
      gce.getAddress(names.lb, call),
      gce.getPool(names.lb, call),
      desired.ipv6 || desired.scheme === 'INTERNAL' ? gce.getSubnetwork(desired.subnet, call) : null,
    ]);
  const zones = new Set(instances.map(zoneOf));
  for (const b of backendService?.backends ?? []) zones.add(zoneOf(b.group ?? ''));
  zones.delete('');
  const groups = await Promise.all(
    [...zones].sort().map(async (zone) => {
      const group = await gce.getGroup(zone, names.instanceGroup, call);
      return {
        zone,
        exists: group !== null,
        members: group ? await gce.groupMembers(zone, names.instanceGroup, call) : [],
      };
    }),
  );
  return {
    rule,
    ipv6Rule,
    backendService,
    healthCheck: hc,
    healthCheckFirewall: hcFirewall,
    trafficFirewall,
    ipv6TrafficFirewall: ipv6Firewall,
    address,
    pool,
    subnet,
    groups,
  };
}

/** The zone of an instance or instance-group URL, or ''. */
export function zoneOf(url: string): string {
  return /\/zones\/([^/]+)\//.exec(url)?.[1] ?? '';
}
