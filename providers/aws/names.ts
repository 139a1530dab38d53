// Deterministic AWS names and ownership tags. ELBv2 names are at most 32 characters of [A-Za-z0-9-], so they
// carry a hash of (cluster, Service UID) rather than the Service's name; the tags say whose they are.
import { createHash } from 'node:crypto';
import type { LoadBalancerIdentity } from '../../src/contract/provider.ts';

/** 16 hex characters of sha256(cluster/uid): 64 bits, collisions are not a practical concern. */
function stem(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): string {
  return `db-${createHash('sha256').update(`${identity.clusterName}/${identity.uid}`).digest('hex').slice(0, 16)}`;
}

/** `db-<16 hex>`: 19 characters. */
export function loadBalancerName(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): string {
  return stem(identity);
}

export type ListenerProtocol = 'TCP' | 'UDP' | 'TCP_UDP';

/** `db-<16 hex>-<proto><port>`: at most 31 characters (`tcpudp65535`). Every target group of an LB shares the prefix. */
export function targetGroupName(
  identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>,
  protocol: ListenerProtocol,
  port: number,
): string {
  return `${targetGroupPrefix(identity)}${protocol.replace('_', '').toLowerCase()}${port}`;
}

export function targetGroupPrefix(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): string {
  return `${stem(identity)}-`;
}

export const TagKeys = {
  serviceName: 'kubernetes.io/service-name',
  uid: 'drawbridge.io/service-uid',
  cluster: 'drawbridge.io/cluster',
  /** On the cluster's backend security group (the one every NLB carries). */
  backend: 'drawbridge.io/nlb-backend',
  /** On an NLB created with Elastic IPs: the allocation ids, space-separated (AWS cannot change them later). */
  eipAllocations: 'drawbridge.io/eip-allocations',
} as const;

/** The cluster's backend security group, one per VPC: every NLB carries it, the node SGs admit it. */
export const backendGroupName = (clusterName: string) => `drawbridge-${clusterName}-nlb-backend`;

export const clusterTag = (clusterName: string) => `kubernetes.io/cluster/${clusterName}`;

/** The ownership tags on everything we create (the in-tree provider's keys plus our own uid/cluster). */
export function ownerTags(identity: LoadBalancerIdentity, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...extra,
    [clusterTag(identity.clusterName)]: 'owned',
    [TagKeys.cluster]: identity.clusterName,
    [TagKeys.serviceName]: `${identity.namespace}/${identity.name}`,
    [TagKeys.uid]: identity.uid,
  };
}

export const toAwsTags = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** Security-group rules we own carry this description, so we can find and revoke exactly ours. */
export const ruleDescription = (lbName: string) => `drawbridge.io/lb=${lbName}`;
