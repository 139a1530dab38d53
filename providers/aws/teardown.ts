// Deleting one Service's NLB and everything of it (listeners, the NLB, every target group with its prefix, its
// security group, the node rules of an NLB without groups), and listing the NLBs this cluster owns for orphan
// collection (read back into Service identities from their tags), with any lone backend group (backend-group.ts).
import {
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  type DescribeLoadBalancersCommandOutput,
  DescribeTagsCommand,
  type DescribeTagsCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerIdentity } from '../../src/contract/provider.ts';
import { deleteUnusedBackendGroup, isBackendGroupIdentity, loneBackendGroups } from './backend-group.ts';
import { errorCode, type Sender } from './clients.ts';
import { findLoadBalancer, listenersOf, targetGroupsByPrefix } from './elbv2.ts';
import { loadBalancerName, TagKeys, targetGroupPrefix } from './names.ts';
import { syncRules } from './node-rules.ts';
import { deleteFrontendGroups } from './security-groups.ts';

/** Listeners, then the NLB, then every target group with our prefix (attached or stray), then our SG rules. */
export async function deleteLoadBalancer(
  clients: Sender,
  cluster: string,
  identity: Readonly<LoadBalancerIdentity>,
  signal: AbortSignal,
): Promise<boolean> {
  // A lone backend group listed by listOwned: deleted if still unused, nothing else to do.
  if (isBackendGroupIdentity(identity)) return deleteUnusedBackendGroup(clients, cluster, identity.namespace, signal);
  const name = loadBalancerName(identity);
  let changed = false;
  const lb = await findLoadBalancer(clients, name, signal);
  if (lb) {
    for (const l of await listenersOf(clients, lb.LoadBalancerArn!, signal)) {
      await clients.send('elbv2', new DeleteListenerCommand({ ListenerArn: l.ListenerArn }), signal);
    }
    await clients.send('elbv2', new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }), signal);
    changed = true;
  }
  for (const g of await targetGroupsByPrefix(clients, targetGroupPrefix(identity), signal)) {
    try {
      await clients.send('elbv2', new DeleteTargetGroupCommand({ TargetGroupArn: g.TargetGroupArn }), signal);
      changed = true;
    } catch (e) {
      if (errorCode(e) !== 'TargetGroupNotFoundException') throw e;
    }
  }
  const frontends = await deleteFrontendGroups(clients, cluster, identity.uid, signal);
  if (frontends.changed) changed = true;
  // The last NLB of the cluster in its VPC takes the backend group with it.
  for (const vpcId of new Set([...(lb?.VpcId ? [lb.VpcId] : []), ...frontends.vpcIds])) {
    if (await deleteUnusedBackendGroup(clients, cluster, vpcId, signal)) changed = true;
  }
  // Rules of an NLB made before our groups existed (none for newer ones: this is one read then).
  if (await syncRules(clients, cluster, null, name, [], signal)) changed = true;
  return changed;
}
/** DescribeTags takes at most 20 ARNs per call. */
const TAGS_PER_CALL = 20;

export async function listOwnedLoadBalancers(
  clients: Sender,
  cluster: string,
  signal: AbortSignal,
): Promise<LoadBalancerIdentity[]> {
  const arns: string[] = [];
  /** Every security group any NLB carries: a backend group in none of them is lone. */
  const carried = new Set<string>();
  let Marker: string | undefined;
  do {
    const res = await clients.send<DescribeLoadBalancersCommandOutput>(
      'elbv2',
      new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }),
      signal,
    );
    for (const lb of res.LoadBalancers ?? []) for (const g of lb.SecurityGroups ?? []) carried.add(g);
    arns.push(
      ...(res.LoadBalancers ?? [])
        .filter((lb) => lb.LoadBalancerName?.startsWith('db-'))
        .map((lb) => lb.LoadBalancerArn!),
    );
    Marker = res.NextMarker;
  } while (Marker);
  const owned: LoadBalancerIdentity[] = [];
  for (let i = 0; i < arns.length; i += TAGS_PER_CALL) {
    const res = await clients.send<DescribeTagsCommandOutput>(
      'elbv2',
      new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + TAGS_PER_CALL) }),
      signal,
    );
    for (const d of res.TagDescriptions ?? []) {
      const tag = (k: string) => d.Tags?.find((t) => t.Key === k)?.Value;
      const [namespace, name] = (tag(TagKeys.serviceName) ?? '').split('/');
      const uid = tag(TagKeys.uid);
      if (tag(TagKeys.cluster) === cluster && namespace && name && uid)
        owned.push({ clusterName: cluster, namespace, name, uid });
    }
  }
  owned.push(...(await loneBackendGroups(clients, cluster, carried, signal)));
  return owned;
}
