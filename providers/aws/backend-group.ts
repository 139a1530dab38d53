// The cluster's backend security group of a VPC goes with the last NLB of the cluster in that VPC: its node rules
// are revoked (a group another group's rules name cannot be deleted), then the group. A Service created at the
// same moment in that VPC is not lost: its next ensure creates the group and its node rules again. A backend group
// left behind with no NLB of ours at all (the process ended between the last NLB's deletion and the group's) has
// no Service to be deleted with: listOwned reports it as an owned "load balancer" of its own (loneBackendGroups),
// so orphan collection and `drawbridge gc` hand it back to ensureDeleted, which deletes it if it is still unused.
import { DeleteSecurityGroupCommand, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  type DescribeLoadBalancersCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type LoadBalancerIdentity, RetryAfterError } from '../../src/contract/provider.ts';
import { errorCode, type Sender } from './clients.ts';
import { describeGroups, nodeGroups } from './ec2-groups.ts';
import { backendGroupName, TagKeys } from './names.ts';

/** Whether any NLB in the account still carries `groupId`. */
async function inUse(clients: Sender, groupId: string, signal: AbortSignal): Promise<boolean> {
  let Marker: string | undefined;
  do {
    const res = await clients.send<DescribeLoadBalancersCommandOutput>(
      'elbv2',
      new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }),
      signal,
    );
    if ((res.LoadBalancers ?? []).some((lb) => lb.SecurityGroups?.includes(groupId))) return true;
    Marker = res.NextMarker;
  } while (Marker);
  return false;
}

/** Deletes the backend group of `vpcId` when no NLB carries it any more; true when it deleted anything. */
export async function deleteUnusedBackendGroup(
  clients: Sender,
  cluster: string,
  vpcId: string,
  signal: AbortSignal,
): Promise<boolean> {
  const filters = [
    { Name: 'vpc-id', Values: [vpcId] },
    { Name: 'group-name', Values: [backendGroupName(cluster)] },
  ];
  const backend = (await describeGroups(clients, filters, signal))[0];
  if (!backend?.GroupId || (await inUse(clients, backend.GroupId, signal))) return false;
  for (const group of await nodeGroups(clients, cluster, vpcId, signal)) {
    const ours = (group.IpPermissions ?? []).filter((p) =>
      p.UserIdGroupPairs?.some((u) => u.GroupId === backend.GroupId),
    );
    if (!ours.length) continue;
    const IpPermissions = ours.map((p) => ({
      IpProtocol: p.IpProtocol,
      FromPort: p.FromPort,
      ToPort: p.ToPort,
      // The pairs as read (moto matches the whole pair, description included).
      UserIdGroupPairs: p.UserIdGroupPairs!.filter((u) => u.GroupId === backend.GroupId),
    }));
    await clients.send('ec2', new RevokeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions }), signal);
  }
  try {
    await clients.send('ec2', new DeleteSecurityGroupCommand({ GroupId: backend.GroupId }), signal);
  } catch (e) {
    if (errorCode(e) === 'InvalidGroup.NotFound') return true;
    // AWS keeps the group while the deleted NLB's network interfaces are being released (a few minutes).
    if (errorCode(e) === 'DependencyViolation')
      throw new RetryAfterError('SecurityGroupInUse', `${backend.GroupId} is still held by a deleted NLB`, 30, {
        cause: e,
      });
    throw e;
  }
  return true;
}

/**
 * The identity under which a lone backend group is listed: `<vpc-id>/<group name>`, with the group's id as uid
 * (`sg-...` never looks like a Service UID, so no Service can match it and ensureDeleted can tell it apart).
 */
export const isBackendGroupIdentity = (identity: Pick<LoadBalancerIdentity, 'uid'>) => identity.uid.startsWith('sg-');

/** This cluster's backend groups that no NLB in `carried` (every NLB's security groups) carries. */
export async function loneBackendGroups(
  clients: Sender,
  cluster: string,
  carried: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<LoadBalancerIdentity[]> {
  const filters = [
    { Name: 'group-name', Values: [backendGroupName(cluster)] },
    { Name: `tag:${TagKeys.cluster}`, Values: [cluster] },
  ];
  return (await describeGroups(clients, filters, signal))
    .filter((g) => g.GroupId && !carried.has(g.GroupId))
    .map((g) => ({ clusterName: cluster, namespace: g.VpcId ?? '', name: g.GroupName ?? '', uid: g.GroupId! }));
}
