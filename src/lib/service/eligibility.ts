// Which nodes may carry load-balancer traffic. Mirrors the upstream service controller's stable node-set
// predicates. Node Ready is deliberately NOT a criterion (KEP-3458): churning backend pools on readiness flaps
// drops connections and burns API quota, and the load balancer's own health check already routes around a node
// whose kube-proxy is down.
import type { V1Node } from '@kubernetes/client-node';
import { parseAddress } from '../net/ip.ts';

/** A node that may carry traffic for the load balancer (eligibility already decided). */
export interface BackendNode {
  name: string;
  providerID: string | null;
  internalIP: string | null;
  externalIP: string | null;
  /** The Node's labels, present only when it has any (providers that pick targets by label read them). */
  labels?: Readonly<Record<string, string>>;
}

export const EXCLUDE_FROM_LOAD_BALANCERS_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
/** Set by cluster-autoscaler on a node it is about to remove. */
export const AUTOSCALER_DELETION_TAINT = 'ToBeDeletedByClusterAutoscaler';

export const NodeIneligibleReason = {
  MissingName: 'MissingName',
  BeingDeleted: 'BeingDeleted',
  ExcludedByLabel: 'ExcludedByLabel',
  ToBeDeletedByAutoscaler: 'ToBeDeletedByAutoscaler',
  NoUsableAddress: 'NoUsableAddress',
} as const;
export type NodeIneligibleReason = (typeof NodeIneligibleReason)[keyof typeof NodeIneligibleReason];

export type NodeEligibility =
  | { eligible: true; backend: BackendNode }
  | { eligible: false; reason: NodeIneligibleReason };

/** Go's strconv.ParseBool "false" spellings: upstream parses the label value with it. */
const GO_FALSE_VALUES = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

export function nodeEligibility(node: V1Node): NodeEligibility {
  const name = node.metadata?.name ?? '';
  if (name === '') return { eligible: false, reason: NodeIneligibleReason.MissingName };
  if (node.metadata?.deletionTimestamp) return { eligible: false, reason: NodeIneligibleReason.BeingDeleted };
  const exclude = node.metadata?.labels?.[EXCLUDE_FROM_LOAD_BALANCERS_LABEL];
  // Present means excluded unless it parses as false: an unparsable value (even "") fails safe, as upstream.
  if (exclude !== undefined && !GO_FALSE_VALUES.has(exclude)) {
    return { eligible: false, reason: NodeIneligibleReason.ExcludedByLabel };
  }
  if (node.spec?.taints?.some((taint) => taint.key === AUTOSCALER_DELETION_TAINT)) {
    return { eligible: false, reason: NodeIneligibleReason.ToBeDeletedByAutoscaler };
  }
  const backend: BackendNode = {
    name,
    providerID: node.spec?.providerID || null,
    internalIP: firstAddress(node, 'InternalIP'),
    externalIP: firstAddress(node, 'ExternalIP'),
  };
  const labels = node.metadata?.labels;
  if (labels && Object.keys(labels).length > 0) backend.labels = { ...labels };
  // Clouds target instances by providerID, metal by IP: with neither, no provider can reach the node.
  if (backend.providerID === null && backend.internalIP === null && backend.externalIP === null) {
    return { eligible: false, reason: NodeIneligibleReason.NoUsableAddress };
  }
  return { eligible: true, backend };
}

/** The backends for every eligible node, sorted by name so plans and diffs are stable. */
export function eligibleNodes(nodes: V1Node[]): BackendNode[] {
  const backends: BackendNode[] = [];
  for (const node of nodes) {
    const result = nodeEligibility(node);
    if (result.eligible) backends.push(result.backend);
  }
  return backends.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The kubelet lists the primary family first, so on dual-stack nodes the first valid address is the primary one. */
function firstAddress(node: V1Node, type: 'InternalIP' | 'ExternalIP'): string | null {
  for (const address of node.status?.addresses ?? []) {
    if (address.type !== type) continue;
    const parsed = parseAddress(address.address);
    if (parsed.ok) return parsed.address;
  }
  return null;
}
