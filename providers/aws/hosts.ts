// updateHosts: only target membership (and the subnet of a zone the NLB does not serve yet), nothing else written.
import {
  type ChangeResult,
  LoadBalancerNotFoundError,
  type LoadBalancerSpec,
  type LogPort,
} from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { desiredPorts } from './desired.ts';
import { findLoadBalancer, syncTargets, targetGroupsOf } from './elbv2.ts';
import { extendSubnets } from './load-balancer.ts';
import { loadBalancerName } from './names.ts';
import type { Notices } from './notices.ts';
import type { TargetInstances } from './observe.ts';

/** Register/Deregister for the difference; throws LoadBalancerNotFoundError when the NLB is not complete. */
export async function updateHosts(
  clients: Sender,
  cluster: string,
  log: LogPort,
  targets: TargetInstances,
  spec: Readonly<LoadBalancerSpec<AwsOptions>>,
  signal: AbortSignal,
  notices?: Notices,
): Promise<ChangeResult> {
  const ports = desiredPorts(spec);
  const lb = await findLoadBalancer(clients, loadBalancerName(spec.identity), signal);
  if (!lb) throw new LoadBalancerNotFoundError(`no NLB ${loadBalancerName(spec.identity)} to update`);
  const attached = new Map(
    (await targetGroupsOf(clients, lb.LoadBalancerArn!, signal)).map((g) => [g.TargetGroupName!, g]),
  );
  if (ports.some((p) => !attached.has(p.targetGroupName))) {
    throw new LoadBalancerNotFoundError(`the NLB ${lb.LoadBalancerName} lacks a target group of the Service's ports`);
  }
  const instances = await targets.resolve(spec, signal, notices);
  const ids = instances.map((i) => i.instanceId);
  // A node in a zone the NLB does not serve yet: add that zone's subnet, or its targets would get no traffic.
  let changed = await extendSubnets(clients, cluster, log, lb, spec.providerOptions, instances, signal);
  for (const p of ports) {
    if (await syncTargets(clients, attached.get(p.targetGroupName)!.TargetGroupArn!, ids, p.nodePort, signal))
      changed = true;
  }
  return { changed };
}
