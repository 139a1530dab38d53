// What exists in AWS for one Service, as ensure() starts from it: the EC2 instances behind its target nodes and
// its NLB (found by name). The rest (groups, listeners, targets) each step reads for itself (see plan.ts).
import type { LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerSpec, LoadBalancerStatus } from '../../src/contract/provider.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { findLoadBalancer, registeredTargets, targetGroupsOf } from './elbv2.ts';
import type { InstanceCache } from './instance-cache.ts';
import type { NodeInstance } from './network.ts';
import type { Notices } from './notices.ts';

/** The Warning on a Service for each node left out of its targets. */
export const NODE_NOTICE = { topic: 'nodes', reason: 'NodeNotTargeted' } as const;

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

  constructor(cache: InstanceCache) {
    this.cache = cache;
  }

  /** With `notices` (ensure and updateHosts, not plan), each node left out is a Warning on the Service, once. */
  async resolve(
    spec: Readonly<LoadBalancerSpec<AwsOptions>>,
    signal: AbortSignal,
    notices?: Notices,
  ): Promise<NodeInstance[]> {
    const wanted = Object.entries(spec.providerOptions.targetNodeLabels);
    // target-node-labels as in-tree: every pair must match; an empty value only needs the key.
    const nodes = spec.nodes.filter((n) =>
      wanted.every(([k, v]) => n.labels?.[k] !== undefined && (v === '' || n.labels[k] === v)),
    );
    const found = await this.cache.resolve(nodes, signal);
    for (const i of found) this.nodeNames.set(i.instanceId, i.node);
    if (notices) {
      const targeted = new Set(found.map((i) => i.node));
      const left = nodes
        .filter((n) => !targeted.has(n.name))
        .map((n) => `node ${n.name} is not a target: ${this.cache.reasonFor(n.name) ?? 'no running instance found'}`);
      notices.set(spec.identity, NODE_NOTICE.topic, NODE_NOTICE.reason, left);
    }
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
  notices?: Notices,
): Promise<Observed> {
  const instances = await targets.resolve(spec, signal, notices);
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
