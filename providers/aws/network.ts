// EC2 side of an NLB: which instances stand behind the nodes, which subnets the NLB goes in, and the node
// security-group ingress rules we own (found by their description, so we never touch anyone else's).
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  type CreateSecurityGroupCommandOutput,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandOutput,
  DescribeSubnetsCommand,
  type DescribeSubnetsCommandOutput,
  DescribeVpcsCommand,
  type DescribeVpcsCommandOutput,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { type LoadBalancerSpec, RetryAfterError, TerminalError } from '../provider.ts';
import type { AwsOptions } from './annotations.ts';
import { errorCode, type Sender } from './clients.ts';
import type { RuleKey } from './desired.ts';
import { backendGroupName, clusterTag, ruleDescription, TagKeys } from './names.ts';

// The contract does not re-export BackendNode; take it from the spec rather than reach into src/.
type BackendNode = LoadBalancerSpec['nodes'][number];

export interface NodeInstance {
  node: string;
  instanceId: string;
  zone: string;
  vpcId: string;
}

const PROVIDER_ID = /^aws:\/\/\/([^/]*)\/(i-[0-9a-f]+)$/;

/**
 * The running instances behind `nodes`: by providerID (aws:///<zone>/<instance-id>), else by InternalIP within
 * the account. Nodes with no running instance are left out: registering them would fail (TargetNotRunning).
 */
export async function resolveInstances(
  clients: Sender,
  nodes: readonly BackendNode[],
  signal: AbortSignal,
): Promise<NodeInstance[]> {
  const byId = new Map<string, string>();
  const byIp = new Map<string, string>();
  for (const n of nodes) {
    const id = n.providerID?.match(PROVIDER_ID)?.[2];
    if (id) byId.set(id, n.name);
    else if (n.internalIP) byIp.set(n.internalIP, n.name);
  }
  const out: NodeInstance[] = [];
  const running = { Name: 'instance-state-name', Values: ['running'] };
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
    const res = await clients.send<DescribeInstancesCommandOutput>(
      'ec2',
      new DescribeInstancesCommand({ Filters: [{ Name: filter, Values: [...wanted.keys()] }, running] }),
      signal,
    );
    for (const i of (res.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const node = wanted.get(keyOf(i) ?? '');
      if (node && i.InstanceId) {
        out.push({ node, instanceId: i.InstanceId, zone: i.Placement?.AvailabilityZone ?? '', vpcId: i.VpcId ?? '' });
      }
    }
  }
  return out.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

const zones = (subnets: Subnet[]) => new Map(subnets.map((s) => [s.SubnetId!, s.AvailabilityZone ?? '']));
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
): Promise<{ subnetIds: string[]; vpcId: string; zoneOf: Map<string, string> }> {
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
    return { subnetIds: found.map((s) => s.SubnetId!).sort(), vpcId: found[0]!.VpcId!, zoneOf: zones(found) };
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
  return { subnetIds: chosen.map((s) => s.SubnetId!).sort(), vpcId: chosen[0]!.VpcId!, zoneOf: zones(chosen) };
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

function permission(key: RuleKey, description: string): IpPermission {
  const [proto, port, cidr] = key.split(':') as [string, string, string];
  return {
    IpProtocol: proto,
    FromPort: Number(port),
    ToPort: Number(port),
    IpRanges: [{ CidrIp: cidr, Description: description }],
  };
}

/**
 * Converges our rules on the cluster's node security groups (tagged kubernetes.io/cluster/<name>, in `vpcId`
 * when given) to `want`; `want=[]` removes them all. Returns whether anything changed.
 */
export async function syncRules(
  clients: Sender,
  cluster: string,
  vpcId: string | null,
  lbName: string,
  want: readonly RuleKey[],
  signal: AbortSignal,
): Promise<boolean> {
  const description = ruleDescription(lbName);
  const res = await clients.send<DescribeSecurityGroupsCommandOutput>(
    'ec2',
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'tag-key', Values: [clusterTag(cluster)] },
        ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ],
    }),
    signal,
  );
  let changed = false;
  for (const group of res.SecurityGroups ?? []) {
    const have = new Set<RuleKey>();
    for (const p of group.IpPermissions ?? []) {
      for (const r of p.IpRanges ?? []) {
        if (r.Description === description) have.add(`${p.IpProtocol as 'tcp'}:${p.FromPort ?? 0}:${r.CidrIp}`);
      }
    }
    const add = want.filter((k) => !have.has(k));
    const remove = [...have].filter((k) => !want.includes(k));
    if (remove.length) {
      await clients.send(
        'ec2',
        new RevokeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: remove.map((k) => permission(k, description)),
        }),
        signal,
      );
    }
    if (add.length) {
      await clients.send(
        'ec2',
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: add.map((k) => permission(k, description)),
        }),
        signal,
      );
    }
    changed ||= add.length + remove.length > 0;
  }
  return changed;
}

// ---- Security groups on the NLB (every NLB made since these existed).
//
// Each NLB gets two groups: its own frontend group (named like the NLB) holding the listener ports open to the
// Service's source ranges, and the cluster's one backend group (per VPC). The node security groups get exactly two
// rules of ours, tcp and udp 0-65535 from the backend group, whatever the number of Services: an NLB only ever sends
// to the ports its target groups and health checks name, all of which we set, and no one but our NLBs carries the
// backend group. So no node rule belongs to a Service, none is ever revoked while a Service is deleted, and
// concurrent reconciles can only race to add the same thing (InvalidGroup.Duplicate / InvalidPermission.Duplicate
// are taken as "already there").

const BACKEND_RULE = 'drawbridge.io/nlb-backend';
const isDuplicate = (e: unknown) =>
  errorCode(e) === 'InvalidGroup.Duplicate' || errorCode(e) === 'InvalidPermission.Duplicate';

async function groupsNamed(
  clients: Sender,
  vpcId: string,
  names: string[],
  signal: AbortSignal,
): Promise<SecurityGroup[]> {
  const res = await clients.send<DescribeSecurityGroupsCommandOutput>(
    'ec2',
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: names },
      ],
    }),
    signal,
  );
  return res.SecurityGroups ?? [];
}

async function createGroup(
  clients: Sender,
  vpcId: string,
  name: string,
  description: string,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<SecurityGroup> {
  try {
    const res = await clients.send<CreateSecurityGroupCommandOutput>(
      'ec2',
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: description,
        VpcId: vpcId,
        TagSpecifications: [
          { ResourceType: 'security-group', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        ],
      }),
      signal,
    );
    return { GroupId: res.GroupId ?? `planned:${name}`, GroupName: name, IpPermissions: [] };
  } catch (e) {
    const existing = isDuplicate(e) ? (await groupsNamed(clients, vpcId, [name], signal))[0] : undefined;
    if (existing) return existing;
    throw e;
  }
}

const portKey = (p: IpPermission, cidr: string): RuleKey => `${p.IpProtocol as 'tcp'}:${p.FromPort ?? 0}:${cidr}`;

/**
 * The NLB's frontend group (created when missing) and the cluster's backend group with its node rules; the
 * frontend's ingress converged to `want` (listener port from each source range; everything in it is ours).
 */
export async function ensureGroups(
  clients: Sender,
  cluster: string,
  vpcId: string,
  lbName: string,
  tags: Record<string, string>,
  want: readonly RuleKey[],
  signal: AbortSignal,
): Promise<{ frontend: string; backend: string; changed: boolean }> {
  const backendName = backendGroupName(cluster);
  const found = await groupsNamed(clients, vpcId, [lbName, backendName], signal);
  let changed = false;
  let frontend = found.find((g) => g.GroupName === lbName);
  if (!frontend) {
    frontend = await createGroup(clients, vpcId, lbName, `drawbridge: NLB ${tags[TagKeys.serviceName]}`, tags, signal);
    changed = true;
  }
  let backend = found.find((g) => g.GroupName === backendName);
  if (!backend) {
    const backendTags = { [TagKeys.cluster]: cluster, [TagKeys.backend]: 'true' };
    backend = await createGroup(
      clients,
      vpcId,
      backendName,
      'drawbridge: every NLB of the cluster',
      backendTags,
      signal,
    );
    changed = true;
  }

  const have = new Set<RuleKey>();
  for (const p of frontend.IpPermissions ?? []) for (const r of p.IpRanges ?? []) have.add(portKey(p, r.CidrIp ?? ''));
  const add = want.filter((k) => !have.has(k));
  const remove = [...have].filter((k) => !want.includes(k));
  const description = ruleDescription(lbName);
  if (remove.length) {
    await clients.send(
      'ec2',
      new RevokeSecurityGroupIngressCommand({
        GroupId: frontend.GroupId,
        IpPermissions: remove.map((k) => permission(k, description)),
      }),
      signal,
    );
  }
  if (add.length)
    await authorize(
      clients,
      frontend.GroupId!,
      add.map((k) => permission(k, description)),
      signal,
    );
  changed ||= add.length + remove.length > 0;
  if (await ensureBackendRules(clients, cluster, vpcId, backend.GroupId!, signal)) changed = true;
  return { frontend: frontend.GroupId!, backend: backend.GroupId!, changed };
}

async function authorize(clients: Sender, groupId: string, perms: IpPermission[], signal: AbortSignal) {
  try {
    await clients.send(
      'ec2',
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: perms }),
      signal,
    );
  } catch (e) {
    // A concurrent reconcile added it first (a batch with one duplicate is refused whole: add them one by one).
    if (!isDuplicate(e)) throw e;
    if (perms.length > 1) for (const p of perms) await authorize(clients, groupId, [p], signal);
  }
}

/** tcp and udp 0-65535 from the backend group on every node SG of the cluster (ours excluded). */
async function ensureBackendRules(
  clients: Sender,
  cluster: string,
  vpcId: string,
  backend: string,
  signal: AbortSignal,
): Promise<boolean> {
  let changed = false;
  for (const group of await nodeGroups(clients, cluster, vpcId, signal)) {
    const missing = (['tcp', 'udp'] as const).filter(
      (proto) =>
        !(group.IpPermissions ?? []).some(
          (p) =>
            p.IpProtocol === proto &&
            p.FromPort === 0 &&
            p.ToPort === 65535 &&
            p.UserIdGroupPairs?.some((u) => u.GroupId === backend),
        ),
    );
    if (!missing.length) continue;
    const perms = missing.map((proto) => ({
      IpProtocol: proto,
      FromPort: 0,
      ToPort: 65535,
      UserIdGroupPairs: [{ GroupId: backend, Description: BACKEND_RULE }],
    }));
    await authorize(clients, group.GroupId!, perms, signal);
    changed = true;
  }
  return changed;
}

/** The cluster's node security groups: tagged kubernetes.io/cluster/<name>, not one of our own groups. */
async function nodeGroups(
  clients: Sender,
  cluster: string,
  vpcId: string | null,
  signal: AbortSignal,
): Promise<SecurityGroup[]> {
  const res = await clients.send<DescribeSecurityGroupsCommandOutput>(
    'ec2',
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'tag-key', Values: [clusterTag(cluster)] },
        ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ],
    }),
    signal,
  );
  return (res.SecurityGroups ?? []).filter((g) => !g.Tags?.some((t) => t.Key === TagKeys.cluster));
}

/**
 * Deletes the frontend group(s) of one Service (found by its uid tag). AWS refuses while the deleted NLB's network
 * interfaces still hold the group (DependencyViolation, for a few minutes): that is retried, not a failure.
 */
export async function deleteFrontendGroups(
  clients: Sender,
  cluster: string,
  uid: string,
  signal: AbortSignal,
): Promise<boolean> {
  const res = await clients.send<DescribeSecurityGroupsCommandOutput>(
    'ec2',
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: `tag:${TagKeys.uid}`, Values: [uid] },
        { Name: `tag:${TagKeys.cluster}`, Values: [cluster] },
      ],
    }),
    signal,
  );
  let changed = false;
  for (const g of res.SecurityGroups ?? []) {
    try {
      await clients.send('ec2', new DeleteSecurityGroupCommand({ GroupId: g.GroupId }), signal);
      changed = true;
    } catch (e) {
      if (errorCode(e) === 'InvalidGroup.NotFound') continue;
      if (errorCode(e) === 'DependencyViolation') {
        throw new RetryAfterError('SecurityGroupInUse', `${g.GroupId} is still held by the deleted NLB`, 30, {
          cause: e,
        });
      }
      throw e;
    }
  }
  return changed;
}
