// Stable reasons for every way a Service can fail validation. Each becomes the `reason` of a Warning Event,
// so users and alerts can match on it: never rename a value, only add new ones.

export const Reason = {
  /** The Service has no ports: there is nothing to balance. */
  NoPorts: 'NoPorts',
  /** A port number is not an integer in 1-65535, or a port name is missing or repeated. */
  InvalidPort: 'InvalidPort',
  /** A NodePort is out of range, or missing while the Service still allocates NodePorts. */
  InvalidNodePort: 'InvalidNodePort',
  /** Two ports share the same port number and protocol. */
  DuplicatePort: 'DuplicatePort',
  /** A port protocol other than TCP, UDP or SCTP. */
  UnsupportedProtocol: 'UnsupportedProtocol',
  /** sessionAffinity is not None/ClientIP, or its timeout is outside 1-86400 seconds. */
  InvalidSessionAffinity: 'InvalidSessionAffinity',
  /** externalTrafficPolicy is not Cluster/Local. */
  InvalidTrafficPolicy: 'InvalidTrafficPolicy',
  /** externalTrafficPolicy Local without a usable healthCheckNodePort. */
  InvalidHealthCheckNodePort: 'InvalidHealthCheckNodePort',
  /** A source range (spec or annotation) is not a CIDR. */
  InvalidSourceRange: 'InvalidSourceRange',
  /** spec.loadBalancerIP is not a usable IP address. */
  InvalidLoadBalancerIP: 'InvalidLoadBalancerIP',
  /** A requested address is of an IP family the Service does not have. */
  AddressFamilyConflict: 'AddressFamilyConflict',
  /** A drawbridge.io annotation has a value we cannot use. */
  InvalidAnnotation: 'InvalidAnnotation',
  /** spec.ipFamilies holds something other than IPv4/IPv6. */
  InvalidIpFamily: 'InvalidIpFamily',
  /** namespace, name or uid is missing: without them no deterministic, owned cloud name can be derived. */
  MissingMetadata: 'MissingMetadata',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];

import type { SpecProblem } from '../../contract/spec.ts';

export type { SpecProblem } from '../../contract/spec.ts';

/** A partial result of validation: the value (best effort) plus every problem found while building it. */
export interface Checked<T> {
  value: T;
  problems: SpecProblem[];
}
