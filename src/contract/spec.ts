// The provider-neutral description of one load balancer: what a Service (plus the cluster around it) asks for.
// Built by `buildSpec` (src/core/desired/build.ts: pure, validated); consumed by every provider. Nothing here knows
// about a cloud.

import type { IpFamily, Protocol } from '../lib/net/ip.ts';
import type { BackendNode } from '../lib/service/eligibility.ts';

// The library's vocabulary the spec is written in, so a provider reads one module for it.
export type { BackendNode, IpFamily, Protocol };

/** Who a load balancer belongs to. Cloud names are derived from clusterName + uid, so they are deterministic. */
export interface LoadBalancerIdentity {
  clusterName: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface PortSpec {
  name: string;
  protocol: Protocol;
  port: number;
  /** null when `allocateLoadBalancerNodePorts: false` left the port without a NodePort. */
  nodePort: number | null;
}

export interface HealthCheckSpec {
  /** kube-proxy's 10256 for `Cluster`, the Service's healthCheckNodePort for `Local`. */
  port: number;
  path: string;
}

/** One problem with a Service, located by a JSON-ish path into it (e.g. `spec.ports[1].nodePort`). */
export interface SpecProblem {
  path: string;
  /** Stable CamelCase reason: the Warning Event's reason. */
  reason: string;
  message: string;
}

/**
 * `Options` is the provider's own typed reading of the Service (from its checkService): the core never looks
 * inside it, it only carries it to the provider.
 */
export interface LoadBalancerSpec<Options = unknown> {
  identity: LoadBalancerIdentity;
  loadBalancerClass: string;
  ports: PortSpec[];
  sessionAffinity: 'None' | 'ClientIP';
  /** Only meaningful with ClientIP affinity. */
  sessionAffinityTimeoutSeconds: number | null;
  externalTrafficPolicy: 'Cluster' | 'Local';
  healthCheck: HealthCheckSpec;
  /** Normalised CIDRs; empty means "from anywhere". */
  sourceRanges: string[];
  /** Addresses the user asked for (spec.loadBalancerIP and the drawbridge.io/load-balancer-ips annotation). */
  requestedAddresses: string[];
  /** Addresses the Service already holds in its status: keeping them makes ensure() stable across restarts. */
  currentAddresses: string[];
  ipFamilies: IpFamily[];
  nodes: BackendNode[];
  /** For `Local`: nodes that have a ready endpoint of this Service. */
  endpointNodes: string[];
  /** The provider's own options for this Service, as its checkService read them. */
  providerOptions: Options;
}

export interface IngressPortStatus {
  port: number;
  protocol: Protocol;
  error?: string;
}

export interface IngressStatus {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
  ports?: IngressPortStatus[];
}

/** What ensure() reports; written to status.loadBalancer.ingress when it differs from what is there. */
export interface LoadBalancerStatus {
  ingress: IngressStatus[];
}
