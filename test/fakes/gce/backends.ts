// The fake's backend-service load-balancer kinds, from the Compute v1 REST reference: unmanaged zonal instance
// groups, regional backend services, regional health checks, seeded subnetworks, and the checks a forwarding
// rule that points at a backend service must pass. compute.ts calls these; what references what (and so what
// cannot be deleted while used) is `referencesOf`.
import { invalid, invalidField, notFound, required } from './errors.ts';
import { hostRange, toInt, toIp } from './ipv4.ts';

export type Resource = Record<string, unknown> & { name: string; selfLink: string };

/** What these rules need from the fake's state. */
export interface Store {
  has(path: string): boolean;
  at(path: string): Resource | undefined;
  all(): Iterable<Resource>;
  ref(ref: string, project: string): string;
  base: string;
}

const SCHEMES = ['INTERNAL', 'EXTERNAL'];

/** Every path a resource refers to: deleting any of them is refused while it does (resourceInUseByAnotherResource). */
export function referencesOf(r: Resource): string[] {
  const backends = (r.backends as { group?: string }[] | undefined) ?? [];
  return [
    r.target,
    r.backendService,
    ...((r.healthChecks as string[] | undefined) ?? []),
    ...backends.map((b) => b.group),
  ].filter((x): x is string => typeof x === 'string');
}

export function buildHealthCheck(r: Resource, region: string): Resource {
  r.region = region;
  const type = String(r.type ?? '');
  const sub = { HTTP: 'httpHealthCheck', TCP: 'tcpHealthCheck', HTTPS: 'httpsHealthCheck' }[type];
  if (!sub) throw invalidField('type', r.type, 'Must be HTTP, HTTPS or TCP.');
  if (!r[sub]) throw required(sub);
  return { checkIntervalSec: 5, timeoutSec: 5, healthyThreshold: 2, unhealthyThreshold: 2, ...r };
}

export function buildInstanceGroup(r: Resource, project: string, zone: string, store: Store): Resource {
  r.zone = `${store.base}/projects/${project}/zones/${zone}`;
  if (r.network !== undefined) r.network = `${store.base}/${store.ref(String(r.network), project)}`;
  r.size ??= 0;
  return r;
}

export function buildBackendService(r: Resource, project: string, region: string, store: Store): Resource {
  r.region = region;
  r.loadBalancingScheme ??= 'EXTERNAL';
  r.protocol ??= 'TCP';
  r.sessionAffinity ??= 'NONE';
  if (!SCHEMES.includes(String(r.loadBalancingScheme))) {
    throw invalidField('loadBalancingScheme', r.loadBalancingScheme, 'The fake serves INTERNAL and EXTERNAL.');
  }
  if (!['TCP', 'UDP', 'UNSPECIFIED'].includes(String(r.protocol))) {
    throw invalidField('protocol', r.protocol, 'Passthrough backend services take TCP, UDP or UNSPECIFIED.');
  }
  const checks = (r.healthChecks as string[] | undefined) ?? [];
  if (checks.length !== 1) throw invalidField('healthChecks', checks.length, 'Exactly one health check is required.');
  const hc = store.ref(checks[0]!, project);
  if (!hc.includes(`/regions/${region.split('/').at(-1)}/healthChecks/`)) {
    throw invalidField('healthChecks', checks[0], 'A regional backend service needs a health check of its region.');
  }
  if (!store.has(hc)) throw notFound(hc);
  r.healthChecks = [`${store.base}/${hc}`];
  const backends = (r.backends as Record<string, unknown>[] | undefined) ?? [];
  const groups = new Set<string>();
  r.backends = backends.map((b, i) => {
    if (typeof b.group !== 'string') throw required(`backends[${i}].group`);
    const group = store.ref(b.group, project);
    if (!group.includes('/instanceGroups/')) throw invalidField(`backends[${i}].group`, b.group, 'Not a group.');
    if (!store.has(group)) throw notFound(group);
    if (groups.has(group)) throw invalid(`Duplicate backend group '${group}'.`);
    groups.add(group);
    const mode = b.balancingMode ?? 'CONNECTION';
    if (mode !== 'CONNECTION') {
      throw invalidField(`backends[${i}].balancingMode`, mode, 'Passthrough load balancers need CONNECTION.');
    }
    return { ...b, group: `${store.base}/${group}`, balancingMode: mode };
  });
  return r;
}

/**
 * A forwarding rule with a backendService: the service must exist in the rule's region with the same scheme;
 * L3_DEFAULT needs allPorts and an UNSPECIFIED service, TCP/UDP the service's protocol; `ports` (at most 5),
 * `portRange` and `allPorts` exclude each other. An INTERNAL rule takes its IP from its subnetwork; an IPv6 rule
 * (either scheme) from the subnetwork's IPv6 prefix. Answers the IP to use, or undefined for the external pool.
 */
export function checkBackendRule(r: Resource, project: string, region: string, store: Store): string | undefined {
  const bs = store.ref(String(r.backendService), project);
  if (!bs.includes(`/regions/${region.split('/').at(-1)}/backendServices/`)) {
    throw invalidField('backendService', r.backendService, 'Must be a backend service of the rule’s region.');
  }
  const service = store.at(bs);
  if (!service) throw notFound(bs);
  r.backendService = `${store.base}/${bs}`;
  if (r.target) throw invalid('A forwarding rule cannot have both a target and a backendService.');
  if (service.loadBalancingScheme !== r.loadBalancingScheme) {
    throw invalidField('loadBalancingScheme', r.loadBalancingScheme, 'Must equal the backend service’s scheme.');
  }
  const protocol = String(r.IPProtocol);
  if (protocol === 'L3_DEFAULT') {
    if (r.allPorts !== true) throw invalidField('allPorts', r.allPorts, 'L3_DEFAULT needs allPorts.');
    if (service.protocol !== 'UNSPECIFIED') {
      throw invalidField('IPProtocol', protocol, 'L3_DEFAULT needs a backend service of protocol UNSPECIFIED.');
    }
  } else if (protocol !== 'TCP' && protocol !== 'UDP') {
    throw invalidField('IPProtocol', protocol, 'Passthrough rules forward TCP, UDP or L3_DEFAULT.');
  } else if (service.protocol !== protocol) {
    throw invalidField('IPProtocol', protocol, `The backend service's protocol is ${service.protocol}.`);
  }
  const ports = r.ports as string[] | undefined;
  if (ports !== undefined) {
    if (!Array.isArray(ports) || ports.length === 0 || ports.length > 5) {
      throw invalidField('ports', ports, 'Between 1 and 5 ports.');
    }
    if (r.portRange !== undefined || r.allPorts) throw invalid("'ports' excludes 'portRange' and 'allPorts'.");
  }
  if (r.allowGlobalAccess !== undefined && r.loadBalancingScheme !== 'INTERNAL') {
    throw invalidField('allowGlobalAccess', r.allowGlobalAccess, 'Only INTERNAL rules have global access.');
  }
  const v6 = r.ipVersion === 'IPV6';
  if (r.loadBalancingScheme !== 'INTERNAL' && !v6) return undefined;
  if (r.loadBalancingScheme === 'INTERNAL' && r.networkTier !== undefined && r.networkTier !== 'PREMIUM') {
    throw invalidField('networkTier', r.networkTier, 'Internal rules are PREMIUM.');
  }
  if (typeof r.subnetwork !== 'string') throw required('subnetwork');
  const subnetPath = store.ref(r.subnetwork, project);
  const subnet = store.at(subnetPath);
  if (!subnet) throw notFound(subnetPath);
  r.subnetwork = `${store.base}/${subnetPath}`;
  r.network = subnet.network;
  const taken = new Set([...store.all()].map((x) => x.IPAddress).filter((ip) => typeof ip === 'string'));
  if (v6) {
    const prefix = String(
      (r.loadBalancingScheme === 'INTERNAL' ? subnet.internalIpv6Prefix : subnet.externalIpv6Prefix) ?? '',
    );
    if (!prefix) throw invalidField('ipVersion', 'IPV6', `The subnetwork ${subnet.name} has no IPv6 range.`);
    const head = prefix.split('::')[0];
    for (let n = 1; n < 65536; n++) {
      const ip = `${head}:${n.toString(16)}::/96`;
      if (!taken.has(ip)) return ip;
    }
    throw invalid('No free IPv6 range left in the subnetwork.');
  }
  const range = hostRange(String(subnet.ipCidrRange));
  if (r.IPAddress !== undefined) {
    const ip = String(r.IPAddress);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || toInt(ip) < range.first || toInt(ip) > range.last) {
      throw invalidField('IPAddress', ip, `Not in the subnetwork's range ${subnet.ipCidrRange}.`);
    }
    if (taken.has(ip)) throw invalidField('IPAddress', ip, 'The address is already in use.');
    return ip;
  }
  // The first two and the last host addresses are Google's (network gateway, reserved).
  for (let n = range.first + 1; n < range.last; n++) if (!taken.has(toIp(n))) return toIp(n);
  throw invalid('No free address left in the subnetwork.');
}
