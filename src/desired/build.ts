// Service (+ eligible nodes, endpoint nodes, config) -> LoadBalancerSpec. Pure and total: it never throws on
// bad input, it reports every problem with its path so one Warning Event can tell the user all of them.
import type { V1Service } from '@kubernetes/client-node';
import { buildRequestedAddresses, buildSourceRanges, currentAddresses } from './addresses.ts';
import { ADDRESS_POOL_ANNOTATION, annotationPath, DRAWBRIDGE_PREFIX, OWNER_CLASS_ANNOTATION } from './annotations.ts';
import { buildPorts } from './ports.ts';
import { type Checked, Reason, type SpecProblem } from './reasons.ts';
import { buildIpFamilies, buildSessionAffinity, buildTrafficPolicy } from './traffic.ts';
import type { BackendNode, LoadBalancerIdentity, LoadBalancerSpec } from './types.ts';

export type { SpecProblem } from './reasons.ts';
export { endpointNodesFromSlices, type OwnershipOptions, wantsLoadBalancer } from './select.ts';

export interface BuildInput {
  service: V1Service;
  /** Eligible nodes (see src/nodes/eligibility.ts). */
  nodes: BackendNode[];
  /** Nodes with a ready endpoint of this Service (see endpointNodesFromSlices). */
  endpointNodes: string[];
  clusterName: string;
  loadBalancerClass: string;
}

export type BuildResult = { ok: true; spec: LoadBalancerSpec } | { ok: false; problems: SpecProblem[] };

/** A DNS-1123 subdomain: what a Kubernetes object name (here an AddressPool) may be. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function buildSpec(input: BuildInput): BuildResult {
  const { service, clusterName, loadBalancerClass } = input;
  const spec = service.spec ?? {};
  const identity = buildIdentity(service, clusterName);
  const ports = buildPorts(spec);
  const affinity = buildSessionAffinity(spec);
  const policy = buildTrafficPolicy(spec);
  const sourceRanges = buildSourceRanges(service);
  const requested = buildRequestedAddresses(service);
  const ipFamilies = buildIpFamilies(spec);
  const options = buildOptions(service);
  const problems = [identity, ports, affinity, policy, sourceRanges, requested, ipFamilies, options].flatMap(
    (part) => part.problems,
  );
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      identity: identity.value,
      loadBalancerClass,
      ports: ports.value,
      ...affinity.value,
      ...policy.value,
      sourceRanges: sourceRanges.value,
      requestedAddresses: requested.value,
      currentAddresses: currentAddresses(service),
      ipFamilies: ipFamilies.value,
      // Copies, sorted: the inputs may be shared, and a stable order keeps plans and diffs stable.
      nodes: [...input.nodes].sort((a, b) => compareText(a.name, b.name)),
      endpointNodes: [...new Set(input.endpointNodes)].sort(compareText),
      options: options.value,
    },
  };
}

/** Cloud names derive from clusterName + uid, so a Service without them must not reach a provider. */
function buildIdentity(service: V1Service, clusterName: string): Checked<LoadBalancerIdentity> {
  const metadata = service.metadata ?? {};
  const value = {
    clusterName,
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    uid: metadata.uid ?? '',
  };
  const problems = (['namespace', 'name', 'uid'] as const)
    .filter((field) => value[field] === '')
    .map((field) => ({ path: `metadata.${field}`, reason: Reason.MissingMetadata, message: `${field} is empty` }));
  return { value, problems };
}

/**
 * Every drawbridge.io/* annotation the user wrote, keys sorted, for provider-specific options; the neutral ones
 * are checked. The owner annotation is the controller's own bookkeeping, not an option.
 */
function buildOptions(service: V1Service): Checked<Record<string, string>> {
  const annotations = service.metadata?.annotations ?? {};
  const value: Record<string, string> = {};
  for (const key of Object.keys(annotations).sort(compareText)) {
    if (key.startsWith(DRAWBRIDGE_PREFIX) && key !== OWNER_CLASS_ANNOTATION) value[key] = annotations[key]!;
  }
  const problems: SpecProblem[] = [];
  const pool = value[ADDRESS_POOL_ANNOTATION];
  if (pool !== undefined && (pool.length > 253 || !OBJECT_NAME.test(pool))) {
    problems.push({
      path: annotationPath(ADDRESS_POOL_ANNOTATION),
      reason: Reason.InvalidAnnotation,
      message: `${JSON.stringify(pool)} is not a valid AddressPool name (lowercase DNS subdomain)`,
    });
  }
  return { value, problems };
}

/** Code-unit order, independent of the process locale (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
