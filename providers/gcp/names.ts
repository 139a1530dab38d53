// Deterministic GCE names and ownership records. Names follow cloud-provider-gcp (reference 2.2) so an operator
// who knows the upstream layout finds them: "a" + the Service UID without dashes. Upstream cuts that to 32
// characters, dropping the UID's last hex digit; we keep all 33 (still within GCE's 63, with `k8s-fw-` and
// `-http-hc` around it) so two UIDs differing only at the end never share a load balancer.
// GCE names must match [a-z]([-a-z0-9]{0,61}[a-z0-9])?, at most 63 characters.
import { createHash } from 'node:crypto';
import type { LoadBalancerIdentity } from '../../src/contract/provider.ts';

export interface LoadBalancerNames {
  /** Forwarding rule, target pool, static address and the Local health check share it. */
  lb: string;
  trafficFirewall: string;
  localHealthCheck: string;
  localHealthCheckFirewall: string;
  nodeHealthCheck: string;
  nodeHealthCheckFirewall: string;
}

/** The cluster name as a GCE name fragment: lowercase, [a-z0-9-], short enough for `k8s-<x>-node-http-hc`. */
export function clusterSlug(clusterName: string): string {
  const slug = clusterName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return slug || 'cluster';
}

export function namesFor(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): LoadBalancerNames {
  const lb = `a${identity.uid.replaceAll('-', '').toLowerCase()}`.slice(0, 33);
  const cluster = clusterSlug(identity.clusterName);
  return {
    lb,
    trafficFirewall: `k8s-fw-${lb}`,
    localHealthCheck: lb,
    localHealthCheckFirewall: `k8s-${lb}-http-hc`,
    nodeHealthCheck: `k8s-${cluster}-node`,
    nodeHealthCheckFirewall: `k8s-${cluster}-node-http-hc`,
  };
}

const SERVICE = 'kubernetes.io/service-name';
const CLUSTER = 'drawbridge.io/cluster';
const UID = 'drawbridge.io/service-uid';

/** The description JSON of a per-Service resource: who owns it (upstream's key plus ours). */
export function ownerDescription(identity: LoadBalancerIdentity): string {
  return JSON.stringify({
    [SERVICE]: `${identity.namespace}/${identity.name}`,
    [CLUSTER]: identity.clusterName,
    [UID]: identity.uid,
  });
}

/** The description of the cluster-shared node health check and its firewall. */
export function clusterDescription(clusterName: string): string {
  return JSON.stringify({ 'kubernetes.io/cluster-id': clusterName, [CLUSTER]: clusterName });
}

/** The owner recorded in a description, when it is one of ours for this cluster; null otherwise. */
export function ownerOf(description: string | null | undefined, clusterName: string): LoadBalancerIdentity | null {
  if (!description) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(description) as Record<string, unknown>;
  } catch {
    return null;
  }
  const service = parsed[SERVICE];
  const uid = parsed[UID];
  if (parsed[CLUSTER] !== clusterName || typeof service !== 'string' || typeof uid !== 'string') return null;
  const [namespace, name] = service.split('/');
  if (!namespace || !name) return null;
  return { clusterName, namespace, name, uid };
}

/** Names of a backend-service load balancer (internal passthrough, or external behind l4-rbs), as upstream's ILB. */
export interface L4Names {
  /** The backend service, the IPv4 forwarding rule, our static address and the Local health check share it. */
  lb: string;
  ipv6Rule: string;
  trafficFirewall: string;
  ipv6TrafficFirewall: string;
  localHealthCheck: string;
  localHealthCheckFirewall: string;
  /** The cluster's regional node health check (kube-proxy :10256/healthz) and its firewall. */
  nodeHealthCheck: string;
  nodeHealthCheckFirewall: string;
  /** One unmanaged instance group per zone, shared by the cluster's backend services. */
  instanceGroup: string;
}

export function l4NamesFor(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): L4Names {
  const { lb, trafficFirewall, nodeHealthCheck } = namesFor(identity);
  return {
    lb,
    ipv6Rule: `${lb}-ipv6`,
    trafficFirewall,
    ipv6TrafficFirewall: `${trafficFirewall}-ipv6`,
    localHealthCheck: lb,
    localHealthCheckFirewall: `${lb}-hc`,
    nodeHealthCheck,
    nodeHealthCheckFirewall: `${nodeHealthCheck}-hc`,
    instanceGroup: instanceGroupName(identity.clusterName),
  };
}

/** `k8s-ig--` and 16 hex digits of the cluster name's SHA-256 (upstream: `k8s-ig--<cluster id>`). */
export function instanceGroupName(clusterName: string): string {
  return `k8s-ig--${createHash('sha256').update(clusterName).digest('hex').slice(0, 16)}`;
}
