// Pure: what a spec asks AWS for. One listener and one target group per Service port (TCP and UDP on the same
// port with the same NodePort merge into TCP_UDP, the only way an NLB serves both), health checks per traffic
// policy with the annotation overrides, and the node security-group rules.
import { type LoadBalancerSpec, TerminalError } from '../../src/contract/provider.ts';
import type { AwsOptions, HealthProtocol } from './annotations.ts';
import { clusterTag, type ListenerProtocol, loadBalancerName, ownerTags, targetGroupName, toAwsTags } from './names.ts';

export interface HealthCheck {
  protocol: HealthProtocol;
  /** A port number as a string, or 'traffic-port' (the target's registered port, i.e. its NodePort). */
  port: string;
  path: string | undefined;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface DesiredPort {
  /** Listener port on the NLB. */
  port: number;
  /** The target group's protocol (TCP behind a TLS listener: the NLB terminates TLS, targets see plain TCP). */
  protocol: ListenerProtocol;
  /** TLS termination on this port's listener (ssl-cert, ssl-ports, ssl-negotiation-policy), else null. */
  tls: { certificates: string[]; policy: string } | null;
  nodePort: number;
  targetGroupName: string;
  healthCheck: HealthCheck;
}

/** One node security-group ingress rule, as a comparable key `proto:port:cidr`. */
export type RuleKey = `${'tcp' | 'udp'}:${number}:${string}`;

export const DesiredReasons = {
  unsupportedProtocol: 'UnsupportedProtocol',
  noNodePort: 'NodePortRequired',
  mixedNodePorts: 'TcpUdpNodePortMismatch',
  sessionAffinity: 'UnsupportedSessionAffinity',
  requestedAddress: 'UnsupportedLoadBalancerIP',
} as const;

export function desiredPorts(spec: Readonly<LoadBalancerSpec<AwsOptions>>): DesiredPort[] {
  // Refusals mirror the in-tree NLB path (cloud-provider-aws EnsureLoadBalancer): the user must change the Service.
  if (spec.requestedAddresses.length > 0) {
    throw new TerminalError(
      DesiredReasons.requestedAddress,
      'an NLB cannot take spec.loadBalancerIP or a requested IP',
    );
  }
  const byPort = new Map<number, { protocols: Set<string>; nodePorts: Set<number>; names: Set<string> }>();
  for (const p of spec.ports) {
    if (p.protocol === 'SCTP') {
      throw new TerminalError(
        DesiredReasons.unsupportedProtocol,
        `port ${p.port}: an NLB with instance targets cannot serve SCTP`,
      );
    }
    if (p.nodePort === null) {
      throw new TerminalError(
        DesiredReasons.noNodePort,
        `port ${p.port}: instance targets need a NodePort (allocateLoadBalancerNodePorts is false)`,
      );
    }
    const entry = byPort.get(p.port) ?? { protocols: new Set(), nodePorts: new Set(), names: new Set() };
    entry.protocols.add(p.protocol);
    entry.names.add(p.name);
    entry.nodePorts.add(p.nodePort);
    byPort.set(p.port, entry);
  }
  return [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, { protocols, nodePorts, names }]) => {
      if (nodePorts.size > 1) {
        throw new TerminalError(
          DesiredReasons.mixedNodePorts,
          `port ${port}: TCP and UDP must share one NodePort to be served by one TCP_UDP listener`,
        );
      }
      const protocol: ListenerProtocol = protocols.size > 1 ? 'TCP_UDP' : protocols.has('UDP') ? 'UDP' : 'TCP';
      const t = spec.providerOptions.tls;
      // ssl-ports absent or "*": every TCP port (as ALBC); a named port must be TCP-only (checkService refuses else).
      const tlsHere = t && protocol === 'TCP' && (!t.ports || t.ports.some((x) => x === String(port) || names.has(x)));
      return {
        port,
        protocol,
        tls: tlsHere ? { certificates: t.certificates, policy: t.policy } : null,
        nodePort: [...nodePorts][0]!,
        targetGroupName: targetGroupName(spec.identity, protocol, port),
        healthCheck: healthCheckFor(spec, protocol),
      };
    });
}

/**
 * Defaults as cloud-provider-aws: Cluster -> TCP on the traffic port, 30s, 3/3; Local -> HTTP on the
 * healthCheckNodePort at /healthz, 10s, 2/2 (answers only where endpoints run). A UDP NodePort cannot be
 * probed over TCP, so UDP-only groups with Cluster probe kube-proxy's healthz (spec.healthCheck) over HTTP.
 */
export function healthCheckFor(spec: Readonly<LoadBalancerSpec<AwsOptions>>, protocol: ListenerProtocol): HealthCheck {
  const local = spec.externalTrafficPolicy === 'Local';
  const viaHttp = local || protocol === 'UDP';
  const o = spec.providerOptions.healthCheck;
  const hcProtocol = o.protocol ?? (viaHttp ? 'HTTP' : 'TCP');
  const port = o.port ?? (viaHttp ? spec.healthCheck.port : 'traffic-port');
  return {
    protocol: hcProtocol,
    port: String(port),
    path: hcProtocol === 'TCP' ? undefined : (o.path ?? spec.healthCheck.path),
    intervalSeconds: o.intervalSeconds ?? (local ? 10 : 30),
    timeoutSeconds: o.timeoutSeconds ?? (hcProtocol === 'TCP' ? 10 : 6),
    healthyThreshold: o.healthyThreshold ?? (local ? 2 : 3),
    unhealthyThreshold: o.unhealthyThreshold ?? (local ? 2 : 3),
  };
}

/**
 * Only for NLBs made before NLBs had security groups of ours (they cannot gain any): node SG ingress, each NodePort from the source ranges (anywhere when none), and for Local the health-check
 * NodePort from the VPC (the NLB probes from its subnets). kube-proxy's shared 10256 is left to the cluster's
 * own node SG rules: one Service's rule must not be revoked when another Service still needs it.
 */
export function desiredRules(
  spec: Readonly<LoadBalancerSpec<AwsOptions>>,
  ports: DesiredPort[],
  vpcCidr: string,
): RuleKey[] {
  const sources = spec.sourceRanges.filter((c) => !c.includes(':'));
  const from = sources.length > 0 ? sources : ['0.0.0.0/0'];
  const rules = new Set<RuleKey>();
  for (const p of ports) {
    const protos =
      p.protocol === 'TCP_UDP' ? (['tcp', 'udp'] as const) : ([p.protocol.toLowerCase() as 'tcp' | 'udp'] as const);
    for (const proto of protos) for (const cidr of from) rules.add(`${proto}:${p.nodePort}:${cidr}`);
  }
  if (spec.externalTrafficPolicy === 'Local') rules.add(`tcp:${spec.healthCheck.port}:${vpcCidr}`);
  return [...rules].sort();
}

/** The NLB's own (frontend) group: each listener port from the source ranges (anywhere when none). */
export function frontendRules(spec: Readonly<LoadBalancerSpec<AwsOptions>>, ports: DesiredPort[]): RuleKey[] {
  // A dualstack NLB takes IPv6 clients too: IPv6 source ranges (or ::/0 when none) are kept for it.
  const dual = spec.providerOptions.ipAddressType === 'dualstack';
  const sources = spec.sourceRanges.filter((c) => dual || !c.includes(':'));
  const from = sources.length > 0 ? sources : dual ? ['0.0.0.0/0', '::/0'] : ['0.0.0.0/0'];
  const rules = new Set<RuleKey>();
  for (const p of ports) {
    const protos =
      p.protocol === 'TCP_UDP' ? (['tcp', 'udp'] as const) : ([p.protocol.toLowerCase() as 'tcp' | 'udp'] as const);
    for (const proto of protos) for (const cidr of from) rules.add(`${proto}:${p.port}:${cidr}`);
  }
  return [...rules].sort();
}

/** The NLB one spec asks for, in AWS's terms. */
export interface DesiredLoadBalancer {
  name: string;
  ports: DesiredPort[];
  /** The NLB's and its target groups' tags: the Service's owner tags and the extra tags of its annotation. */
  tags: { Key: string; Value: string }[];
  /** The NLB's own security group's tags: the same owner tags. */
  groupTags: Record<string, string>;
  /** The NLB's own security group's ingress. */
  frontendRules: RuleKey[];
}

/** Throws TerminalError for what an NLB cannot do (desiredPorts), so a refused spec costs no call. */
export function desiredLoadBalancer(
  spec: Readonly<LoadBalancerSpec<AwsOptions>>,
  cluster: string,
): DesiredLoadBalancer {
  const ports = desiredPorts(spec);
  const owner = ownerTags(spec.identity, spec.providerOptions.extraTags);
  // The same owner tags, kubernetes.io/cluster/<name>=owned included (as documented): node groups are found by
  // that tag key too, but nodeGroups() leaves out every group carrying drawbridge.io/cluster, i.e. ours.
  const groupTags = { ...owner, [clusterTag(cluster)]: 'owned' };
  return {
    name: loadBalancerName(spec.identity),
    ports,
    tags: toAwsTags(owner),
    groupTags,
    frontendRules: frontendRules(spec, ports),
  };
}
