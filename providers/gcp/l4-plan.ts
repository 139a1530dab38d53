// Over 300 lines: one ordered plan; its steps depend on each other (a rule deleted before its service changes).
// The plan of a backend-service load balancer, in cloud-provider-gcp's ILB order: a target-pool load balancer of
// the same Service torn down first (a switch), then the instance groups and their members, the health check and
// its firewall, the backend service, the forwarding rules (IPv4, and IPv6 where the subnet has a range), the
// traffic firewalls; a rule GCE cannot change in place is deleted before the backend service is patched.
import { type LoadBalancerSpec, ProviderError } from '../../src/contract/provider.ts';
import { chunks, HEALTH_CHECK_TIMINGS, instanceKey } from './desired.ts';
import type { Firewall, ForwardingRule } from './gce.ts';
import type { BackendService, HealthCheck } from './gce-backends.ts';
import type { DesiredL4 } from './l4-desired.ts';
import { type ObservedL4, zoneOf } from './l4-observe.ts';
import type { L4Context } from './l4-teardown.ts';
import { deleteL4SharedIfUnused } from './l4-teardown.ts';
import { clusterDescription, ownerDescription } from './names.ts';
import type { AddressState, Step } from './plan.ts';
import { firewallDiffers, firewallFor, tierOf, URL_BASE } from './resources.ts';
import { deleteLoadBalancer } from './teardown.ts';

export interface L4State extends AddressState {
  ipv6: string | null;
}

export function planL4(
  ctx: L4Context,
  spec: Readonly<LoadBalancerSpec>,
  desired: DesiredL4,
  observed: ObservedL4,
  instances: string[],
  state: L4State,
): Step[] {
  const { gce, call } = ctx;
  const { names } = desired;
  const owner = ownerDescription(spec.identity);
  const region = `${URL_BASE}projects/${gce.project}/regions/${gce.region}`;
  const steps: Step[] = [];
  const step = (
    action: 'create' | 'update' | 'delete',
    resource: string,
    name: string,
    run: () => Promise<void>,
    detail?: string,
  ) => steps.push({ action: { action, resource, name, ...(detail ? { detail } : {}) }, run });

  // 0. A target-pool load balancer of this Service (it was external until now): all of it goes, its address too.
  if (observed.pool || (observed.rule && !observed.rule.backendService)) {
    step(
      'delete',
      'targetPool',
      names.lb,
      async () => void (await deleteLoadBalancer(gce, ctx.poolLock, spec.identity, call)),
      'switch',
    );
    observed = { ...observed, rule: null, trafficFirewall: null, address: null };
  }

  // 1. The cluster's instance group in each zone of the nodes, holding exactly the nodes of that zone.
  const byZone = new Map<string, string[]>();
  for (const i of instances) byZone.set(zoneOf(i), [...(byZone.get(zoneOf(i)) ?? []), i]);
  for (const group of observed.groups) {
    const wanted = byZone.get(group.zone) ?? [];
    if (!group.exists) {
      if (wanted.length === 0) continue;
      step('create', 'instanceGroup', `${group.zone}/${names.instanceGroup}`, () =>
        tolerate(
          gce.insertGroup(
            group.zone,
            {
              name: names.instanceGroup,
              description: clusterDescription(spec.identity.clusterName),
              network: ctx.networkUrl,
            },
            call,
          ),
        ),
      );
    }
    const have = new Set(group.members.map(instanceKey));
    const want = new Set(wanted.map(instanceKey));
    const add = wanted.filter((i) => !have.has(instanceKey(i)));
    const remove = group.members.filter((i) => !want.has(instanceKey(i)));
    for (const batch of chunks(add, 1000)) {
      step(
        'update',
        'instanceGroup',
        `${group.zone}/${names.instanceGroup}`,
        () => tolerate(gce.addToGroup(group.zone, names.instanceGroup, batch, call)),
        `add ${batch.length}`,
      );
    }
    for (const batch of chunks(remove, 1000)) {
      step(
        'update',
        'instanceGroup',
        `${group.zone}/${names.instanceGroup}`,
        () => tolerate(gce.removeFromGroup(group.zone, names.instanceGroup, batch, call)),
        `remove ${batch.length}`,
      );
    }
  }
  const groupLinks = [...byZone.keys()]
    .sort()
    .map((z) => `${URL_BASE}projects/${gce.project}/zones/${z}/instanceGroups/${names.instanceGroup}`);

  // 2. The regional health check and the firewall that lets Google's checkers reach it.
  const shared = desired.healthCheck.shared;
  const hcDescription = shared ? clusterDescription(spec.identity.clusterName) : owner;
  const hc: HealthCheck = {
    name: desired.healthCheck.name,
    description: hcDescription,
    type: 'HTTP',
    httpHealthCheck: { port: desired.healthCheck.port, requestPath: desired.healthCheck.path },
    ...HEALTH_CHECK_TIMINGS,
  };
  const hcLink = `${region}/healthChecks/${hc.name}`;
  if (!observed.healthCheck) {
    step('create', 'healthCheck', hc.name!, () =>
      shared ? tolerate(gce.insertRegionHealthCheck(hc, call)) : gce.insertRegionHealthCheck(hc, call),
    );
  } else if (
    observed.healthCheck.httpHealthCheck?.port !== hc.httpHealthCheck?.port ||
    observed.healthCheck.httpHealthCheck?.requestPath !== hc.httpHealthCheck?.requestPath ||
    observed.healthCheck.checkIntervalSec !== hc.checkIntervalSec
  ) {
    step('update', 'healthCheck', hc.name!, () => gce.patchRegionHealthCheck(hc, call));
  }
  const hcFirewall = firewallFor(ctx.scope, {
    name: desired.healthCheck.firewall,
    description: hcDescription,
    sourceRanges: desired.healthCheck.ranges,
    destinationRanges: [],
    protocol: 'tcp',
    ports: [String(desired.healthCheck.port)],
  });
  if (!observed.healthCheckFirewall) {
    step('create', 'firewall', hcFirewall.name!, () =>
      shared ? tolerate(gce.insertFirewall(hcFirewall, call)) : gce.insertFirewall(hcFirewall, call),
    );
  } else if (firewallDiffers(observed.healthCheckFirewall, hcFirewall)) {
    step('update', 'firewall', hcFirewall.name!, () => gce.patchFirewall(hcFirewall, call));
  }

  // 3. The rules GCE cannot change in place go before the backend service changes under them.
  const bsLink = `${region}/backendServices/${names.lb}`;
  const bs = observed.backendService;
  const schemeChanged = bs !== null && bs.loadBalancingScheme !== desired.scheme;
  const subnetLink = `${region}/subnetworks/${desired.subnet}`;
  const ruleStale = (rule: ForwardingRule, v6: boolean) =>
    schemeChanged ||
    rule.IPProtocol !== desired.ruleProtocol ||
    (rule.loadBalancingScheme ?? 'EXTERNAL') !== desired.scheme ||
    portsKey(rule) !== portsKey(desired.rulePorts) ||
    instanceKey(rule.backendService ?? '') !== instanceKey(bsLink) ||
    (desired.scheme === 'INTERNAL' &&
      (Boolean(rule.allowGlobalAccess) !== desired.globalAccess ||
        instanceKey(rule.subnetwork ?? '') !== instanceKey(subnetLink))) ||
    (!v6 && desired.scheme === 'EXTERNAL' && tierOf(rule) !== desired.networkTier) ||
    (!v6 && desired.staticIp !== null && rule.IPAddress !== desired.staticIp);
  const v4Rule = observed.rule;
  const recreateV4 = v4Rule !== null && (!desired.ipv4 || ruleStale(v4Rule, false));
  const v6Prefix =
    desired.scheme === 'INTERNAL' ? observed.subnet?.internalIpv6Prefix : observed.subnet?.externalIpv6Prefix;
  const wantV6 = desired.ipv6 && Boolean(v6Prefix);
  const recreateV6 = observed.ipv6Rule !== null && (!wantV6 || ruleStale(observed.ipv6Rule, true));
  // Keep the IPv4 address across a recreation: internal rules name it again; an external one is reserved first.
  let ruleIp = desired.staticIp;
  let release = false;
  if (recreateV4 && ruleIp === null && v4Rule.IPAddress && desired.ipv4) {
    ruleIp = v4Rule.IPAddress;
    if (
      desired.scheme === 'EXTERNAL' &&
      v4Rule.loadBalancingScheme !== 'INTERNAL' &&
      tierOf(v4Rule) === desired.networkTier
    ) {
      release = true;
      if (observed.address?.address !== ruleIp) {
        step('create', 'address', names.lb, () =>
          gce.insertAddress(
            { name: names.lb, address: ruleIp, description: owner, networkTier: desired.networkTier },
            call,
          ),
        );
      }
    } else if (
      desired.scheme === 'EXTERNAL' ||
      v4Rule.loadBalancingScheme !== 'INTERNAL' ||
      // An internal IP belongs to its subnetwork: a rule moved to another one takes an address there.
      instanceKey(v4Rule.subnetwork ?? '') !== instanceKey(subnetLink)
    )
      ruleIp = null;
  }
  if (desired.scheme === 'EXTERNAL' && desired.staticIp && observed.address?.address !== desired.staticIp) {
    if (observed.address) step('delete', 'address', names.lb, () => gce.deleteAddress(names.lb, call));
    step('create', 'address', names.lb, () =>
      tolerate(
        gce.insertAddress(
          { name: names.lb, address: desired.staticIp, description: owner, networkTier: desired.networkTier },
          call,
        ),
      ),
    );
  }
  if (recreateV4) step('delete', 'forwardingRule', names.lb, () => gce.deleteRule(names.lb, call));
  if (recreateV6) step('delete', 'forwardingRule', names.ipv6Rule, () => gce.deleteRule(names.ipv6Rule, call));

  // 4. The backend service over the groups.
  const service: BackendService = {
    name: names.lb,
    description: owner,
    loadBalancingScheme: desired.scheme,
    protocol: desired.serviceProtocol,
    sessionAffinity: desired.sessionAffinity,
    healthChecks: [hcLink],
    backends: groupLinks.map((group) => ({ group, balancingMode: 'CONNECTION' })),
  };
  if (schemeChanged) step('delete', 'backendService', names.lb, () => gce.deleteBackendService(names.lb, call));
  if (!bs || schemeChanged) {
    step('create', 'backendService', names.lb, () => gce.insertBackendService(service, call));
  } else if (
    bs.protocol !== service.protocol ||
    (bs.sessionAffinity ?? 'NONE') !== service.sessionAffinity ||
    (bs.healthChecks ?? []).map(instanceKey).join() !== instanceKey(hcLink) ||
    (bs.backends ?? [])
      .map((b) => instanceKey(b.group ?? ''))
      .sort()
      .join() !== groupLinks.map(instanceKey).join()
  ) {
    step('update', 'backendService', names.lb, () => gce.patchBackendService(service, call));
  }

  // 5. The forwarding rules.
  const ruleFor = (name: string, v6: boolean): ForwardingRule => {
    const rule: ForwardingRule = {
      name,
      description: owner,
      IPProtocol: desired.ruleProtocol,
      loadBalancingScheme: desired.scheme,
      backendService: bsLink,
      ...desired.rulePorts,
    };
    if (desired.scheme === 'INTERNAL') {
      rule.subnetwork = subnetLink;
      if (desired.globalAccess) rule.allowGlobalAccess = true;
    } else rule.networkTier = desired.networkTier;
    if (v6) {
      rule.ipVersion = 'IPV6';
      rule.subnetwork = subnetLink;
    } else if (ruleIp) rule.IPAddress = ruleIp;
    return rule;
  };
  // The plan says which kind of rule: an internal one names its subnetwork.
  const ruleKind = (v6: boolean) =>
    [desired.scheme === 'INTERNAL' ? `internal in ${desired.subnet}` : 'external', ...(v6 ? ['IPv6'] : [])].join(', ');
  if (desired.ipv4 && (!v4Rule || recreateV4)) {
    step(
      'create',
      'forwardingRule',
      names.lb,
      async () => {
        await gce.insertRule(ruleFor(names.lb, false), call);
        state.ip = (await gce.getRule(names.lb, call))?.IPAddress ?? null;
      },
      ruleKind(false),
    );
  }
  if (wantV6 && (!observed.ipv6Rule || recreateV6)) {
    step(
      'create',
      'forwardingRule',
      names.ipv6Rule,
      async () => {
        await gce.insertRule(ruleFor(names.ipv6Rule, true), call);
        state.ipv6 = (await gce.getRule(names.ipv6Rule, call))?.IPAddress ?? null;
      },
      ruleKind(true),
    );
  }

  // 6. The traffic firewalls: the Service ports per protocol, to the rules' addresses.
  const traffic = (name: string, dest: string | null, v6: boolean): Firewall => {
    const fw = firewallFor(ctx.scope, {
      name,
      description: owner,
      sourceRanges: [],
      destinationRanges: dest ? [dest] : [],
      protocol: 'tcp',
      ports: [],
    });
    const v6Sources = spec.sourceRanges.filter((r) => r.includes(':'));
    fw.sourceRanges = v6
      ? v6Sources.length > 0
        ? v6Sources.sort()
        : ['::/0']
      : desired.sourceRanges.length > 0
        ? desired.sourceRanges
        : ['0.0.0.0/0'];
    fw.allowed = desired.allowed;
    return fw;
  };
  const firewallStep = (
    name: string,
    observedFw: Firewall | null,
    known: string | null | undefined,
    wanted: boolean,
    v6: boolean,
    ip: () => string | null,
  ) => {
    if (!wanted) {
      if (observedFw) step('delete', 'firewall', name, () => gce.deleteFirewall(name, call));
    } else if (!observedFw) {
      step('create', 'firewall', name, () => gce.insertFirewall(traffic(name, ip(), v6), call));
    } else if (!known || firewallDiffers(observedFw, traffic(name, known, v6))) {
      step('update', 'firewall', name, () => gce.patchFirewall(traffic(name, ip(), v6), call));
    }
  };
  firewallStep(
    names.trafficFirewall,
    observed.trafficFirewall,
    recreateV4 ? (ruleIp ?? null) : v4Rule?.IPAddress,
    desired.ipv4,
    false,
    () => state.ip,
  );
  firewallStep(
    names.ipv6TrafficFirewall,
    observed.ipv6TrafficFirewall,
    recreateV6 ? null : observed.ipv6Rule?.IPAddress,
    wantV6,
    true,
    () => state.ipv6,
  );

  // 7. A temporary reservation, and an address no longer requested, go: the rule keeps the IP.
  if (release || (observed.address && !desired.staticIp && !release && desired.scheme === 'EXTERNAL')) {
    step('delete', 'address', names.lb, () => gce.deleteAddress(names.lb, call));
  }
  // 8. A Local <-> Cluster flip leaves the other health check unused.
  const usedBefore = (name: string) => (bs?.healthChecks ?? []).some((l) => l.endsWith(`/healthChecks/${name}`));
  if (shared && usedBefore(names.localHealthCheck)) {
    step('delete', 'healthCheck', names.localHealthCheck, () =>
      gce.deleteRegionHealthCheck(names.localHealthCheck, call),
    );
    step('delete', 'firewall', names.localHealthCheckFirewall, () =>
      gce.deleteFirewall(names.localHealthCheckFirewall, call),
    );
  }
  if (!shared && usedBefore(names.nodeHealthCheck)) {
    step(
      'delete',
      'healthCheck',
      names.nodeHealthCheck,
      async () => void (await deleteL4SharedIfUnused(ctx, names, null, false)),
      'if unused',
    );
  }
  return steps;
}

/** Shared resources (groups, the node check) and memberships raced by another Service's ensure are fine. */
async function tolerate(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (error) {
    const raced = /already exists|already a member|not a member/i.test(String((error as Error)?.message));
    if (!(error instanceof ProviderError && raced)) throw error;
  }
}

/** A rule's ports as one comparable string: `ports`, `portRange` or every port. */
function portsKey(r: { ports?: string[] | null; portRange?: string | null; allPorts?: boolean | null }): string {
  if (r.allPorts) return 'all';
  if (r.ports && r.ports.length > 0) return [...r.ports].join(',');
  return r.portRange ?? '';
}
