// ELBv2 reads and the target-membership diff. Lookups are by our deterministic names, and always come before a
// create: a blind retry after a lost response would duplicate the NLB (moto creates a second one with the same
// name; AWS returns the first) or fail (DuplicateTargetGroupName).
import {
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  type DescribeListenersCommandOutput,
  DescribeLoadBalancersCommand,
  type DescribeLoadBalancersCommandOutput,
  DescribeTargetGroupsCommand,
  type DescribeTargetGroupsCommandOutput,
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
  type Listener,
  type LoadBalancer,
  RegisterTargetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorCode, type Sender } from './clients.ts';

/** AWS accepts at most 100 targets per Register/Deregister call in the in-tree provider's experience. */
const TARGET_CHUNK = 100;

export async function findLoadBalancer(
  clients: Sender,
  name: string,
  signal: AbortSignal,
): Promise<LoadBalancer | null> {
  try {
    const res = await clients.send<DescribeLoadBalancersCommandOutput>(
      'elbv2',
      new DescribeLoadBalancersCommand({ Names: [name] }),
      signal,
    );
    return res.LoadBalancers?.[0] ?? null;
  } catch (e) {
    if (errorCode(e) === 'LoadBalancerNotFoundException' || errorCode(e) === 'LoadBalancerNotFound') return null;
    throw e;
  }
}

export async function findTargetGroup(clients: Sender, name: string, signal: AbortSignal): Promise<TargetGroup | null> {
  try {
    const res = await clients.send<DescribeTargetGroupsCommandOutput>(
      'elbv2',
      new DescribeTargetGroupsCommand({ Names: [name] }),
      signal,
    );
    return res.TargetGroups?.[0] ?? null;
  } catch (e) {
    if (errorCode(e) === 'TargetGroupNotFoundException' || errorCode(e) === 'TargetGroupNotFound') return null;
    throw e;
  }
}

/** Every target group whose name starts with `prefix` (ours for one Service), attached to a listener or not. */
export async function targetGroupsByPrefix(
  clients: Sender,
  prefix: string,
  signal: AbortSignal,
): Promise<TargetGroup[]> {
  const out: TargetGroup[] = [];
  let Marker: string | undefined;
  do {
    const res = await clients.send<DescribeTargetGroupsCommandOutput>(
      'elbv2',
      new DescribeTargetGroupsCommand({ Marker, PageSize: 400 }),
      signal,
    );
    out.push(...(res.TargetGroups ?? []).filter((g) => g.TargetGroupName?.startsWith(prefix)));
    Marker = res.NextMarker;
  } while (Marker);
  return out;
}

/** The groups the NLB's listeners forward to. moto answers TargetGroupNotFound when there are none (AWS: []). */
export async function targetGroupsOf(
  clients: Sender,
  loadBalancerArn: string,
  signal: AbortSignal,
): Promise<TargetGroup[]> {
  try {
    const res = await clients.send<DescribeTargetGroupsCommandOutput>(
      'elbv2',
      new DescribeTargetGroupsCommand({ LoadBalancerArn: loadBalancerArn }),
      signal,
    );
    return res.TargetGroups ?? [];
  } catch (e) {
    if (errorCode(e) === 'TargetGroupNotFoundException' || errorCode(e) === 'TargetGroupNotFound') return [];
    throw e;
  }
}

export async function listenersOf(clients: Sender, loadBalancerArn: string, signal: AbortSignal): Promise<Listener[]> {
  const res = await clients.send<DescribeListenersCommandOutput>(
    'elbv2',
    new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }),
    signal,
  );
  return res.Listeners ?? [];
}

/** Registered targets as `instanceId:port`, leaving out those already on their way out. */
export async function registeredTargets(
  clients: Sender,
  targetGroupArn: string,
  signal: AbortSignal,
): Promise<Set<string>> {
  const res = await clients.send<DescribeTargetHealthCommandOutput>(
    'elbv2',
    new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
    signal,
  );
  const live = (res.TargetHealthDescriptions ?? []).filter(
    (d) => d.TargetHealth?.State !== 'draining' && d.TargetHealth?.Reason !== 'Target.NotRegistered',
  );
  return new Set(live.map((d) => `${d.Target?.Id}:${d.Target?.Port}`));
}

/**
 * Makes the group's targets exactly `instanceIds` on `port`, touching only the difference. Deregisters first so a
 * node replacement works at the per-NLB target limit (cloud-provider-aws#1328).
 */
export async function syncTargets(
  clients: Sender,
  targetGroupArn: string,
  instanceIds: readonly string[],
  port: number,
  signal: AbortSignal,
): Promise<boolean> {
  const have = await registeredTargets(clients, targetGroupArn, signal);
  const want = new Set(instanceIds.map((id) => `${id}:${port}`));
  const toTarget = (key: string) => ({ Id: key.split(':')[0]!, Port: Number(key.split(':')[1]) });
  const remove = [...have].filter((k) => !want.has(k)).map(toTarget);
  const add = [...want].filter((k) => !have.has(k)).map(toTarget);
  for (let i = 0; i < remove.length; i += TARGET_CHUNK) {
    await clients.send(
      'elbv2',
      new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: remove.slice(i, i + TARGET_CHUNK) }),
      signal,
    );
  }
  for (let i = 0; i < add.length; i += TARGET_CHUNK) {
    await clients.send(
      'elbv2',
      new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: add.slice(i, i + TARGET_CHUNK) }),
      signal,
    );
  }
  return remove.length + add.length > 0;
}
