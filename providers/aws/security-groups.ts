// The security groups on every NLB made since NLBs carry them (the per-NLB node rules of older NLBs are
// node-rules.ts). Each NLB gets two groups: its own frontend group (named like the NLB) holding the listener ports
// open to the Service's source ranges, and the cluster's one backend group (per VPC). The node security groups get
// exactly two rules of ours, tcp and udp 0-65535 from the backend group, whatever the number of Services: an NLB
// only ever sends to the ports its target groups and health checks name, all of which we set, and no one but our
// NLBs carries the backend group. So no node rule belongs to a Service, none is ever revoked while a Service is
// deleted, and concurrent reconciles can only race to add the same thing (InvalidGroup.Duplicate /
// InvalidPermission.Duplicate are taken as "already there").
import {
  CreateSecurityGroupCommand,
  type CreateSecurityGroupCommandOutput,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { RetryAfterError } from '../../src/contract/provider.ts';
import { errorCode, type Sender } from './clients.ts';
import type { RuleKey } from './desired.ts';
import { authorize, convergeIngress, describeGroups, isDuplicate, nodeGroups, ruleKeys } from './ec2-groups.ts';
import { backendGroupName, clusterTag, ruleDescription, TagKeys } from './names.ts';

const BACKEND_RULE = 'drawbridge.io/nlb-backend';

async function groupsNamed(
  clients: Sender,
  vpcId: string,
  names: string[],
  signal: AbortSignal,
): Promise<SecurityGroup[]> {
  return describeGroups(
    clients,
    [
      { Name: 'vpc-id', Values: [vpcId] },
      { Name: 'group-name', Values: names },
    ],
    signal,
  );
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
  const backendTags = backendGroupTags(cluster);
  if (!backend) {
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

  // Groups made before they carried every owner tag get the missing ones (once).
  if (await tagMissing(clients, frontend, tags, signal)) changed = true;
  if (await tagMissing(clients, backend, backendTags, signal)) changed = true;
  const have = ruleKeys(frontend);
  if (await convergeIngress(clients, frontend.GroupId!, have, want, ruleDescription(lbName), signal)) changed = true;
  if (await ensureBackendRules(clients, cluster, vpcId, backend.GroupId!, signal)) changed = true;
  return { frontend: frontend.GroupId!, backend: backend.GroupId!, changed };
}

export const backendGroupTags = (cluster: string) => ({
  [TagKeys.cluster]: cluster,
  [TagKeys.backend]: 'true',
  [clusterTag(cluster)]: 'owned',
});

/** CreateTags for the tags a group we found lacks; a group just created (no Tags read) has them. */
async function tagMissing(
  clients: Sender,
  group: SecurityGroup,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<boolean> {
  if (!group.Tags || group.GroupId?.startsWith('planned:')) return false;
  const missing = Object.entries(tags).filter(([k, v]) => !group.Tags!.some((t) => t.Key === k && t.Value === v));
  if (!missing.length) return false;
  const Tags = missing.map(([Key, Value]) => ({ Key, Value }));
  await clients.send('ec2', new CreateTagsCommand({ Resources: [group.GroupId!], Tags }), signal);
  return true;
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

/**
 * Deletes the frontend group(s) of one Service (found by its uid tag). AWS refuses while the deleted NLB's network
 * interfaces still hold the group (DependencyViolation, for a few minutes): that is retried, not a failure.
 */
export async function deleteFrontendGroups(
  clients: Sender,
  cluster: string,
  uid: string,
  signal: AbortSignal,
): Promise<{ changed: boolean; vpcIds: string[] }> {
  const groups = await describeGroups(
    clients,
    [
      { Name: `tag:${TagKeys.uid}`, Values: [uid] },
      { Name: `tag:${TagKeys.cluster}`, Values: [cluster] },
    ],
    signal,
  );
  let changed = false;
  for (const g of groups) {
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
  return { changed, vpcIds: [...new Set(groups.map((g) => g.VpcId!).filter(Boolean))] };
}
