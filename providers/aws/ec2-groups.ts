// EC2 security-group primitives the provider's rules share: reading groups, the cluster's node groups, and
// converging one group's ingress to a set of rules (revoke the extra, authorize the missing, duplicates being
// "already there", as concurrent reconciles race to add the same rule).
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandOutput,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { errorCode, type Sender } from './clients.ts';
import type { RuleKey } from './desired.ts';
import { clusterTag, TagKeys } from './names.ts';

function permission(key: RuleKey, description: string): IpPermission {
  // The CIDR is everything after the second colon: an IPv6 one has colons of its own.
  const [proto = '', port = '', ...rest] = key.split(':');
  const cidr = rest.join(':');
  return {
    IpProtocol: proto,
    FromPort: Number(port),
    ToPort: Number(port),
    ...(cidr.includes(':')
      ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
      : { IpRanges: [{ CidrIp: cidr, Description: description }] }),
  };
}

/** Every IPv4 and IPv6 range of a group's ingress as rule keys, optionally only those with `description`. */
export function ruleKeys(group: SecurityGroup, description?: string): Set<RuleKey> {
  const have = new Set<RuleKey>();
  for (const p of group.IpPermissions ?? []) {
    for (const r of p.IpRanges ?? [])
      if (!description || r.Description === description) have.add(portKey(p, r.CidrIp ?? ''));
    for (const r of p.Ipv6Ranges ?? [])
      if (!description || r.Description === description) have.add(portKey(p, r.CidrIpv6 ?? ''));
  }
  return have;
}

export const portKey = (p: IpPermission, cidr: string): RuleKey =>
  `${p.IpProtocol as 'tcp'}:${p.FromPort ?? 0}:${cidr}`;

export const isDuplicate = (e: unknown) =>
  errorCode(e) === 'InvalidGroup.Duplicate' || errorCode(e) === 'InvalidPermission.Duplicate';

export async function describeGroups(
  clients: Sender,
  Filters: { Name: string; Values: string[] }[],
  signal: AbortSignal,
): Promise<SecurityGroup[]> {
  const res = await clients.send<DescribeSecurityGroupsCommandOutput>(
    'ec2',
    new DescribeSecurityGroupsCommand({ Filters }),
    signal,
  );
  return res.SecurityGroups ?? [];
}

/** Revokes the rules in `have` that are not wanted and authorizes the wanted ones missing; true when any changed. */
export async function convergeIngress(
  clients: Sender,
  groupId: string,
  have: ReadonlySet<RuleKey>,
  want: readonly RuleKey[],
  description: string,
  signal: AbortSignal,
): Promise<boolean> {
  const add = want.filter((k) => !have.has(k));
  const remove = [...have].filter((k) => !want.includes(k));
  if (remove.length) {
    await clients.send(
      'ec2',
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: remove.map((k) => permission(k, description)),
      }),
      signal,
    );
  }
  if (add.length) {
    await authorize(
      clients,
      groupId,
      add.map((k) => permission(k, description)),
      signal,
    );
  }
  return add.length + remove.length > 0;
}

export async function authorize(clients: Sender, groupId: string, perms: IpPermission[], signal: AbortSignal) {
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

/** The cluster's node security groups: tagged kubernetes.io/cluster/<name>, not one of our own groups. */
export async function nodeGroups(
  clients: Sender,
  cluster: string,
  vpcId: string | null,
  signal: AbortSignal,
): Promise<SecurityGroup[]> {
  const filters = [
    { Name: 'tag-key', Values: [clusterTag(cluster)] },
    ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
  ];
  return (await describeGroups(clients, filters, signal)).filter(
    (g) => !g.Tags?.some((t) => t.Key === TagKeys.cluster),
  );
}
