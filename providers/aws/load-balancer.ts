// The NLB itself, as the plan's steps converge it: its creation (subnets, security groups, Elastic IPs), the
// subnets it serves, the security groups it carries and its cross-zone attribute. Each reads what it needs and
// writes only the difference.
import {
  CreateLoadBalancerCommand,
  type CreateLoadBalancerCommandOutput,
  DescribeLoadBalancerAttributesCommand,
  type DescribeLoadBalancerAttributesCommandOutput,
  type LoadBalancer,
  ModifyLoadBalancerAttributesCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type SetSubnetsCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type LogPort, TerminalError } from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import type { DesiredLoadBalancer } from './desired.ts';
import { TagKeys } from './names.ts';
import { chooseSubnets, type NodeInstance } from './network.ts';
import { ensureGroups } from './security-groups.ts';

/** Subnets (one per zone with target nodes), the NLB's security groups, then the NLB. */
export async function createLoadBalancer(
  clients: Sender,
  cluster: string,
  options: AwsOptions,
  desired: DesiredLoadBalancer,
  instances: readonly NodeInstance[],
  signal: AbortSignal,
): Promise<LoadBalancer> {
  const { subnetIds, vpcId, withoutIpv6 } = await chooseSubnets(clients, cluster, options, instances, signal);
  if (options.ipAddressType === 'dualstack' && withoutIpv6.length) {
    throw new TerminalError(
      'SubnetWithoutIpv6',
      `a dualstack NLB needs an IPv6 CIDR on each of its subnets; ${withoutIpv6.join(', ')} has none ` +
        '(add one, or name subnets that have one in service.beta.kubernetes.io/aws-load-balancer-subnets)',
    );
  }
  const eips = options.eipAllocations;
  if (eips && eips.length !== subnetIds.length) {
    throw new TerminalError(
      'EipAllocationCount',
      `eip-allocations lists ${eips.length} allocation(s) but the NLB gets ${subnetIds.length} subnet(s) ` +
        `(${subnetIds.join(', ')}): list exactly one per subnet`,
    );
  }
  const { name, groupTags, frontendRules } = desired;
  const sg = await ensureGroups(clients, cluster, vpcId, name, groupTags, frontendRules, signal);
  const res = await clients.send<CreateLoadBalancerCommandOutput>(
    'elbv2',
    new CreateLoadBalancerCommand({
      Name: name,
      Type: 'network',
      Scheme: options.scheme,
      SecurityGroups: [sg.frontend, sg.backend],
      // Elastic IPs pair with the subnets in subnet-ID order (chooseSubnets sorts them).
      ...(eips
        ? { SubnetMappings: subnetIds.map((SubnetId, i) => ({ SubnetId, AllocationId: eips[i]! })) }
        : { Subnets: subnetIds }),
      ...(options.ipAddressType === 'dualstack' ? { IpAddressType: 'dualstack' as const } : {}),
      // What was asked for, as AWS cannot change it later (addresses.ts compares the annotation with it).
      Tags: eips ? [...desired.tags, { Key: TagKeys.eipAllocations, Value: [...eips].sort().join(' ') }] : desired.tags,
    }),
    signal,
  );
  return res.LoadBalancers![0]!;
}

/** The NLB's own and the cluster's backend group converged, and both on the NLB; true when anything changed. */
export async function syncSecurityGroups(
  clients: Sender,
  cluster: string,
  lb: LoadBalancer,
  desired: DesiredLoadBalancer,
  signal: AbortSignal,
): Promise<boolean> {
  const { name, groupTags, frontendRules } = desired;
  const sg = await ensureGroups(clients, cluster, lb.VpcId!, name, groupTags, frontendRules, signal);
  let changed = sg.changed;
  const want = [sg.frontend, sg.backend].sort();
  if ([...lb.SecurityGroups!].sort().join() !== want.join()) {
    // Drift: a group swapped or dropped behind our back (an NLB with groups can change them, never lose all).
    await clients.send(
      'elbv2',
      new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: want }),
      signal,
    );
    changed = true;
  }
  return changed;
}

/**
 * One subnet per zone that has target nodes, kept current: a zone with nodes and no subnet of the NLB gets its
 * discovered subnet added (SetSubnets with the current ones plus the new). Zones are never removed (in-flight
 * connections); subnets named by annotation, or paired with Elastic IPs, are the user's fixed choice.
 */
export async function extendSubnets(
  clients: Sender,
  cluster: string,
  log: LogPort,
  lb: LoadBalancer,
  options: AwsOptions,
  instances: readonly NodeInstance[],
  signal: AbortSignal,
): Promise<boolean> {
  if (options.subnets || options.eipAllocations) return false;
  const served = new Set((lb.AvailabilityZones ?? []).map((z) => z.ZoneName));
  const newZones = new Set(instances.map((i) => i.zone).filter((z) => z && !served.has(z)));
  if (newZones.size === 0) return false;
  const inNewZones = instances.filter((i) => newZones.has(i.zone));
  const { subnetIds, zoneOf } = await chooseSubnets(clients, cluster, options, inNewZones, signal);
  const current = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!);
  // chooseSubnets falls back to any zone when none of the new zones has a tagged subnet: add nothing then.
  const usable = subnetIds.filter((s) => !current.includes(s) && newZones.has(zoneOf.get(s) ?? ''));
  if (usable.length === 0) {
    log.warn({ zones: [...newZones] }, 'nodes in zones with no discoverable subnet get no NLB traffic');
    return false;
  }
  const res = await clients.send<SetSubnetsCommandOutput>(
    'elbv2',
    new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [...current, ...usable].sort() }),
    signal,
  );
  lb.AvailabilityZones = res.AvailabilityZones ?? lb.AvailabilityZones;
  return true;
}

/**
 * The NLB's attributes to `want` (cross-zone always; others when annotated): one read, one write of the keys that
 * differ. A key dropped from the annotation keeps its value (AWS has no "default" to go back to for most).
 */
export async function syncAttributes(
  clients: Sender,
  lbArn: string,
  want: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<boolean> {
  const res = await clients.send<DescribeLoadBalancerAttributesCommandOutput>(
    'elbv2',
    new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn }),
    signal,
  );
  const have = new Map((res.Attributes ?? []).map((a) => [a.Key!, a.Value ?? '']));
  const differ = Object.entries(want).filter(
    ([k, v]) => (have.get(k) ?? (k === 'load_balancing.cross_zone.enabled' ? 'false' : '')) !== v,
  );
  if (differ.length === 0) return false;
  await clients.send(
    'elbv2',
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerArn: lbArn,
      Attributes: differ.map(([Key, Value]) => ({ Key, Value })),
    }),
    signal,
  );
  return true;
}

/** The attributes an NLB is converged to: the annotation's, cross-zone always (absent = false, as in-tree). */
export const wantedAttributes = (o: AwsOptions): Record<string, string> => ({
  ...o.loadBalancerAttributes,
  'load_balancing.cross_zone.enabled':
    o.loadBalancerAttributes['load_balancing.cross_zone.enabled'] ?? String(o.crossZone),
});
