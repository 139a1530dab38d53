// Service (+ eligible nodes, endpoint nodes, config) -> LoadBalancerSpec. Pure and total: it never throws on
// bad input, it reports every problem with its path so one Warning Event can tell the user all of them.
import type { V1Service } from '@kubernetes/client-node';
import type { BackendNode, LoadBalancerIdentity, LoadBalancerSpec } from '../../contract/spec.ts';
import { buildRequestedAddresses, buildSourceRanges, currentAddresses, familyConflicts } from './addresses.ts';
import { buildPorts } from './ports.ts';
import { type Checked, Reason, type SpecProblem } from './reasons.ts';
import { buildIpFamilies, buildSessionAffinity, buildTrafficPolicy } from './traffic.ts';

export type { SpecProblem } from './reasons.ts';
export { endpointNodesFromSlices } from './select.ts';

export interface BuildInput<Options = unknown> {
  service: V1Service;
  /** Eligible nodes (see src/lib/service/eligibility.ts). */
  nodes: BackendNode[];
  /** Nodes with a ready endpoint of this Service (see endpointNodesFromSlices). */
  endpointNodes: string[];
  clusterName: string;
  loadBalancerClass: string;
  /** The provider's reading of the Service (its checkService), carried through unopened. */
  providerOptions: Options;
}

export type BuildResult<Options = unknown> =
  | { ok: true; spec: LoadBalancerSpec<Options> }
  | { ok: false; problems: SpecProblem[] };

export function buildSpec<Options>(input: BuildInput<Options>): BuildResult<Options> {
  const { service, clusterName, loadBalancerClass } = input;
  const spec = service.spec ?? {};
  const identity = buildIdentity(service, clusterName);
  const ports = buildPorts(spec);
  const affinity = buildSessionAffinity(spec);
  const policy = buildTrafficPolicy(spec);
  const sourceRanges = buildSourceRanges(service);
  const requested = buildRequestedAddresses(service);
  const ipFamilies = buildIpFamilies(spec);
  const problems = [identity, ports, affinity, policy, sourceRanges, requested, ipFamilies].flatMap(
    (part) => part.problems,
  );
  // Only once both are known good: a requested address of a family the Service does not have cannot be served.
  if (problems.length === 0) problems.push(...familyConflicts(service, requested.value, ipFamilies.value));
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
      providerOptions: input.providerOptions,
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

/** Code-unit order, independent of the process locale (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
