// EC2 side of an NLB: which instances stand behind the nodes and which subnets the NLB goes in. Security groups
// and their rules are security-groups.ts.
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeSubnetsCommand,
  type DescribeSubnetsCommandOutput,
  DescribeVpcsCommand,
  type DescribeVpcsCommandOutput,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { type LoadBalancerSpec, RetryAfterError, TerminalError } from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { clusterTag } from './names.ts';

// The contract does not re-export BackendNode; take it from the spec rather than reach into src/.
export type BackendNode = LoadBalancerSpec['nodes'][number];

export interface NodeInstance {
  node: string;
  instanceId: string;
  zone: string;
  vpcId: string;
}

const PROVIDER_ID = /^aws:\/\/\/([^/]*)\/(i-[0-9a-f]+)$/;

/**
 * The running instances behind `nodes`: by providerID (aws:///<zone>/<instance-id>), else by InternalIP within
 * the account. Nodes with no running instance are left out (registering them would fail: TargetNotRunning), each
 * with its reason in `skipped` (node name -> why) when given.
 */
export async function resolveInstances(
  clients: Sender,
  nodes: readonly BackendNode[],
  signal: AbortSignal,
  skipped?: Map<string, string>,
): Promise<NodeInstance[]> {
  const byId = new Map<string, string>();
  const byIp = new Map<string, string>();
  const why = new Map<string, string>();
  for (const n of nodes) {
    const id = n.providerID?.match(PROVIDER_ID)?.[2];
    if (id) {
      byId.set(id, n.name);
      why.set(n.name, `instance ${id} (from its providerID) not found`);
    } else if (n.internalIP) {
      byIp.set(n.internalIP, n.name);
      why.set(n.name, `no providerID, and no instance found with its InternalIP ${n.internalIP}`);
    } else why.set(n.name, 'no providerID and no InternalIP');
  }
  const found = new Map<string, NodeInstance>();
  const lookups: [
    string,
    Map<string, string>,
    (i: { InstanceId?: string; PrivateIpAddress?: string }) => string | undefined,
  ][] = [
    ['instance-id', byId, (i) => i.InstanceId],
    ['private-ip-address', byIp, (i) => i.PrivateIpAddress],
  ];
  for (const [filter, wanted, keyOf] of lookups) {
    if (wanted.size === 0) continue;
    // Every state, not only running: a stopped instance is reported as such rather than as "not found".
    const res = await clients.send<DescribeInstancesCommandOutput>(
      'ec2',
      new DescribeInstancesCommand({ Filters: [{ Name: filter, Values: [...wanted.keys()] }] }),
      signal,
    );
    for (const i of (res.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const node = wanted.get(keyOf(i) ?? '');
      if (!node || !i.InstanceId || found.has(node)) continue;
      const state = i.State?.Name ?? 'unknown';
      if (state === 'running') {
        found.set(node, {
          node,
          instanceId: i.InstanceId,
          zone: i.Placement?.AvailabilityZone ?? '',
          vpcId: i.VpcId ?? '',
        });
      } else why.set(node, `instance ${i.InstanceId} is not running (${state})`);
    }
  }
  for (const [node, reason] of why) if (!found.has(node)) skipped?.set(node, reason);
  return [...found.values()].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

const zones = (subnets: Subnet[]) => new Map(subnets.map((s) => [s.SubnetId!, s.AvailabilityZone ?? '']));
/**
 * A dualstack NLB needs an IPv6 CIDR on every subnet it is in. A block counts unless it is going or gone
 * (disassociating, disassociated, failing, failed): moto 5.2.5 reports an associated subnet block's state as the
 * text of a dict ("{'State': 'associated'}"), so matching `associated` exactly would refuse every moto subnet.
 */
const withoutIpv6 = (subnets: Subnet[]) =>
  subnets
    .filter(
      (s) =>
        !s.Ipv6CidrBlockAssociationSet?.some(
          (a) => a.Ipv6CidrBlock && !/disassociat|fail/.test(a.Ipv6CidrBlockState?.State ?? ''),
        ),
    )
    .map((s) => s.SubnetId!);
const tagOf = (s: Subnet, key: string) => s.Tags?.find((t) => t.Key === key)?.Value;
const taggedForCluster = (s: Subnet, cluster: string) => tagOf(s, clusterTag(cluster)) !== undefined;
const taggedForOther = (s: Subnet, cluster: string) =>
  (s.Tags ?? []).some((t) => t.Key?.startsWith('kubernetes.io/cluster/') && t.Key !== clusterTag(cluster));

/**
 * Subnets for a new NLB: the annotation's (IDs or Name tags), else discovery as ALBC does it: the role tag for
 * the scheme, not tagged for another cluster only, one per AZ (cluster-tagged first, then the lowest ID), and
 * only the AZs that have nodes when any do.
 */
export async function chooseSubnets(
  clients: Sender,
  cluster: string,
  options: AwsOptions,
  instances: readonly NodeInstance[],
  signal: AbortSignal,
): Promise<{ subnetIds: string[]; vpcId: string; zoneOf: Map<string, string>; withoutIpv6: string[] }> {
  const describe = async (Filters: { Name: string; Values: string[] }[]) =>
    (await clients.send<DescribeSubnetsCommandOutput>('ec2', new DescribeSubnetsCommand({ Filters }), signal))
      .Subnets ?? [];
  if (options.subnets) {
    const ids = options.subnets.filter((s) => s.startsWith('subnet-'));
    const names = options.subnets.filter((s) => !s.startsWith('subnet-'));
    const found = [
      ...(ids.length ? await describe([{ Name: 'subnet-id', Values: ids }]) : []),
      ...(names.length ? await describe([{ Name: 'tag:Name', Values: names }]) : []),
    ];
    const missing = options.subnets.filter((s) => !found.some((f) => f.SubnetId === s || tagOf(f, 'Name') === s));
    if (missing.length) throw new TerminalError('SubnetNotFound', `subnets not found: ${missing.join(', ')}`);
    const subnetIds = found.map((s) => s.SubnetId!).sort();
    return { subnetIds, vpcId: found[0]!.VpcId!, zoneOf: zones(found), withoutIpv6: withoutIpv6(found) };
  }
  const role = options.scheme === 'internal' ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb';
  const vpcs = [...new Set(instances.map((i) => i.vpcId).filter(Boolean))];
  const candidates = (
    await describe([
      { Name: `tag:${role}`, Values: ['1', ''] },
      ...(vpcs.length ? [{ Name: 'vpc-id', Values: vpcs }] : []),
    ])
  ).filter((s) => !taggedForOther(s, cluster) || taggedForCluster(s, cluster));
  const nodeZones = new Set(instances.map((i) => i.zone));
  const inNodeZones = candidates.filter((s) => nodeZones.has(s.AvailabilityZone ?? ''));
  const pool = inNodeZones.length ? inNodeZones : candidates;
  const perZone = new Map<string, Subnet>();
  const rank = (s: Subnet) => `${taggedForCluster(s, cluster) ? 0 : 1}${s.SubnetId}`;
  for (const s of pool) {
    const held = perZone.get(s.AvailabilityZone ?? '');
    if (!held || rank(s) < rank(held)) perZone.set(s.AvailabilityZone ?? '', s);
  }
  const chosen = [...perZone.values()];
  if (!chosen.length) {
    throw new RetryAfterError('NoSubnets', `no subnet tagged ${role}=1 (and not for another cluster) was found`, 60);
  }
  const subnetIds = chosen.map((s) => s.SubnetId!).sort();
  return { subnetIds, vpcId: chosen[0]!.VpcId!, zoneOf: zones(chosen), withoutIpv6: withoutIpv6(chosen) };
}

const vpcCidrs = new Map<string, string>();
/** The VPC's primary CIDR: NLB health checks come from inside it. Cached: it never changes. */
export async function vpcCidr(clients: Sender, vpcId: string, signal: AbortSignal): Promise<string> {
  let cidr = vpcCidrs.get(vpcId);
  if (!cidr) {
    const res = await clients.send<DescribeVpcsCommandOutput>(
      'ec2',
      new DescribeVpcsCommand({ VpcIds: [vpcId] }),
      signal,
    );
    cidr = res.Vpcs?.[0]?.CidrBlock ?? '0.0.0.0/0';
    vpcCidrs.set(vpcId, cidr);
  }
  return cidr;
}
