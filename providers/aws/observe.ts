// What exists in AWS for one Service, as ensure() starts from it: the EC2 instances behind its target nodes and
// its NLB (found by name). The rest (groups, listeners, targets) each step reads for itself (see plan.ts).
import type { LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerSpec, LoadBalancerStatus, LogPort } from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { findLoadBalancer, registeredTargets, targetGroupsOf } from './elbv2.ts';
import type { InstanceCache } from './instance-cache.ts';
import type { NodeInstance } from './network.ts';

/** The status an NLB gives its Service: its DNS name. */
export const statusOf = (lb: LoadBalancer): LoadBalancerStatus => ({
  ingress: [{ hostname: (lb.DNSName ?? '').toLowerCase() }],
});

export interface Observed {
  instances: NodeInstance[];
  lb: LoadBalancer | null;
}

/** The running instances of a spec's target nodes, remembering each one's node name for get(). */
export class TargetInstances {
  /** instance id -> node name, as last resolved; lets get() report node names without a Node lookup. */
  private readonly nodeNames = new Map<string, string>();
  private readonly cache: InstanceCache;
  private readonly log: LogPort;

  constructor(cache: InstanceCache, log: LogPort) {
    this.cache = cache;
    this.log = log;
  }

  async resolve(spec: Readonly<LoadBalancerSpec<AwsOptions>>, signal: AbortSignal): Promise<NodeInstance[]> {
    const wanted = Object.entries(spec.providerOptions.targetNodeLabels);
    // target-node-labels as in-tree: every pair must match; an empty value only needs the key.
    const nodes = spec.nodes.filter((n) =>
      wanted.every(([k, v]) => n.labels?.[k] !== undefined && (v === '' || n.labels[k] === v)),
    );
    const found = await this.cache.resolve(nodes, signal);
    for (const i of found) this.nodeNames.set(i.instanceId, i.node);
    const missing = nodes.length - found.length;
    if (missing > 0)
      this.log.warn(
        { service: `${spec.identity.namespace}/${spec.identity.name}`, missing },
        'nodes without a running EC2 instance are not registered',
      );
    return found;
  }

  nodeName(instanceId: string): string {
    return this.nodeNames.get(instanceId) ?? instanceId;
  }
}

export async function observe(
  clients: Sender,
  targets: TargetInstances,
  spec: Readonly<LoadBalancerSpec<AwsOptions>>,
  name: string,
  signal: AbortSignal,
): Promise<Observed> {
  const instances = await targets.resolve(spec, signal);
  const lb = await findLoadBalancer(clients, name, signal);
  return { instances, lb };
}

/** Instance ids registered in any target group of the NLB. */
export async function registeredInstances(clients: Sender, lbArn: string, signal: AbortSignal): Promise<string[]> {
  const ids = new Set<string>();
  for (const g of await targetGroupsOf(clients, lbArn, signal)) {
    for (const key of await registeredTargets(clients, g.TargetGroupArn!, signal)) ids.add(key.split(':')[0]!);
  }
  return [...ids];
}
