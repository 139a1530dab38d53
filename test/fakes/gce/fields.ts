// Which request fields each resource accepts, from the Compute Engine v1 REST reference. GCE answers 400 for an
// unknown field, so the fake does too: a typo in the provider's request body fails here, not silently.
import { required, unknownField } from './errors.ts';

/** Output-only fields: GCE ignores them in a request body (clients often echo a resource back on update). */
const OUTPUT_ONLY = [
  'kind',
  'id',
  'selfLink',
  'creationTimestamp',
  'status',
  'users',
  'fingerprint',
  'region',
  'zone',
  'size',
];

export const WRITABLE = {
  address: [
    'name',
    'description',
    'address',
    'addressType',
    'networkTier',
    'purpose',
    'subnetwork',
    'network',
    'ipVersion',
    'prefixLength',
    'labels',
    'ipv6EndpointType',
  ],
  httpHealthCheck: [
    'name',
    'description',
    'host',
    'port',
    'requestPath',
    'checkIntervalSec',
    'timeoutSec',
    'healthyThreshold',
    'unhealthyThreshold',
  ],
  firewall: [
    'name',
    'description',
    'network',
    'priority',
    'sourceRanges',
    'destinationRanges',
    'sourceTags',
    'targetTags',
    'sourceServiceAccounts',
    'targetServiceAccounts',
    'allowed',
    'denied',
    'direction',
    'logConfig',
    'disabled',
  ],
  targetPool: [
    'name',
    'description',
    'healthChecks',
    'instances',
    'sessionAffinity',
    'failoverRatio',
    'backupPool',
    'securityPolicy',
  ],
  forwardingRule: [
    'name',
    'description',
    'IPAddress',
    'IPProtocol',
    'portRange',
    'ports',
    'allPorts',
    'target',
    'backendService',
    'loadBalancingScheme',
    'networkTier',
    'network',
    'subnetwork',
    'labels',
    'ipVersion',
    'allowGlobalAccess',
    'serviceLabel',
    'sourceIpRanges',
  ],
  backendService: [
    'name',
    'description',
    'protocol',
    'loadBalancingScheme',
    'healthChecks',
    'backends',
    'sessionAffinity',
    'connectionDraining',
    'network',
    'timeoutSec',
    'failoverPolicy',
    'logConfig',
    'localityLbPolicy',
    'connectionTrackingPolicy',
    'metadatas',
  ],
  healthCheck: [
    'name',
    'description',
    'type',
    'httpHealthCheck',
    'httpsHealthCheck',
    'tcpHealthCheck',
    'checkIntervalSec',
    'timeoutSec',
    'healthyThreshold',
    'unhealthyThreshold',
    'logConfig',
  ],
  instanceGroup: ['name', 'description', 'namedPorts', 'network', 'subnetwork'],
} as const;

export type ResourceKind = keyof typeof WRITABLE;

/**
 * Rejects unknown fields (400 invalid) and a missing name (400 required); drops output-only fields.
 * `partial` is for PATCH, where every field is optional.
 */
export function checkFields(
  kind: ResourceKind,
  body: Record<string, unknown>,
  partial = false,
): Record<string, unknown> {
  const allowed = new Set<string>(WRITABLE[kind]);
  const clean: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    if (OUTPUT_ONLY.includes(field)) continue;
    if (!allowed.has(field)) throw unknownField(field);
    if (value !== undefined && value !== null) clean[field] = value;
  }
  if (!partial && (typeof clean.name !== 'string' || clean.name === '')) throw required('name');
  if (typeof clean.name === 'string' && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(clean.name)) {
    throw required(`name' must match [a-z]([-a-z0-9]{0,61}[a-z0-9])? (got '${clean.name}')`);
  }
  return clean;
}
