// The aws-load-balancer-* annotations this provider honours, read once into typed options (checkService).
// Any other aws-load-balancer-* annotation is reported as a problem rather than silently ignored: a user who
// asks for, say, an ssl-cert must learn it is not applied.
import type { V1Service } from '@kubernetes/client-node';
import type { SpecProblem } from '../../src/contract/provider.ts';
import { FEATURE_ANNOTATIONS, type FeatureOptions, portProblems, readFeatures } from './annotation-features.ts';

export const PREFIX = 'service.beta.kubernetes.io/aws-load-balancer-';

export type Scheme = 'internet-facing' | 'internal';
export type HealthProtocol = 'TCP' | 'HTTP' | 'HTTPS';

/** Health-check overrides from annotations; unset fields take the defaults for the traffic policy. */
export interface HealthCheckOverrides {
  protocol?: HealthProtocol;
  /** A port number, or 'traffic-port'. */
  port?: number | 'traffic-port';
  path?: string;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export interface AwsOptions extends FeatureOptions {
  scheme: Scheme;
  /** Subnet IDs or Name tags from the annotation; null means discover by tags. */
  subnets: string[] | null;
  healthCheck: HealthCheckOverrides;
  /** From additional-resource-tags, added to everything we create. */
  extraTags: Record<string, string>;
  /** load_balancing.cross_zone.enabled; the annotation absent means false (the NLB default), as in-tree. */
  crossZone: boolean;
  /** target-node-labels: only nodes carrying every label are targets; an empty value means "key present". */
  targetNodeLabels: Record<string, string>;
  /** eip-allocations: one Elastic IP allocation per subnet, paired in subnet-ID order; null when absent. */
  eipAllocations: string[] | null;
}

export const SUPPORTED = [
  'type',
  'internal',
  'scheme',
  'subnets',
  'additional-resource-tags',
  'healthcheck-protocol',
  'healthcheck-port',
  'healthcheck-path',
  'healthcheck-interval',
  'healthcheck-timeout',
  'healthcheck-healthy-threshold',
  'healthcheck-unhealthy-threshold',
  'cross-zone-load-balancing-enabled',
  'target-node-labels',
  'eip-allocations',
  ...FEATURE_ANNOTATIONS,
] as const;

export const AnnotationReasons = {
  unsupported: 'UnsupportedAwsAnnotation',
  invalid: 'InvalidAwsAnnotation',
} as const;

export function readAnnotations(service: Readonly<V1Service>): { options: AwsOptions; problems: SpecProblem[] } {
  const all = service.metadata?.annotations ?? {};
  const problems: SpecProblem[] = [];
  const at = (suffix: string) => `metadata.annotations['${PREFIX}${suffix}']`;
  const bad = (suffix: string, message: string) =>
    problems.push({ path: at(suffix), reason: AnnotationReasons.invalid, message: `${PREFIX}${suffix}: ${message}` });
  const get = (suffix: (typeof SUPPORTED)[number]) => all[PREFIX + suffix]?.trim();

  for (const key of Object.keys(all)) {
    if (!key.startsWith(PREFIX)) continue;
    const suffix = key.slice(PREFIX.length);
    if (!(SUPPORTED as readonly string[]).includes(suffix)) {
      problems.push({
        path: at(suffix),
        reason: AnnotationReasons.unsupported,
        message: `${key} is not supported by the drawbridge aws provider (supported: ${SUPPORTED.join(', ')})`,
      });
    }
  }

  const type = get('type');
  if (type !== undefined && type !== 'nlb') bad('type', `only "nlb" is supported, got "${type}"`);

  // In-tree semantics: internal "false" means external, any other non-empty value means internal.
  let scheme: Scheme = 'internet-facing';
  const internal = get('internal');
  if (internal) scheme = internal === 'false' ? 'internet-facing' : 'internal';
  const schemeValue = get('scheme');
  if (schemeValue !== undefined) {
    if (schemeValue === 'internal' || schemeValue === 'internet-facing') {
      if (internal && schemeValue !== scheme) bad('scheme', `contradicts ${PREFIX}internal`);
      scheme = schemeValue;
    } else bad('scheme', `must be "internal" or "internet-facing", got "${schemeValue}"`);
  }

  const subnetList = get('subnets');
  const subnets = subnetList
    ? subnetList
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  if (subnetList !== undefined && !subnets?.length) bad('subnets', 'lists no subnet');

  const extraTags: Record<string, string> = {};
  for (const pair of (get('additional-resource-tags') ?? '').split(',').filter((p) => p.trim())) {
    const [k, v = ''] = pair.split('=').map((s) => s.trim());
    if (!k || k.startsWith('aws:')) bad('additional-resource-tags', `bad tag "${pair}"`);
    else extraTags[k] = v;
  }

  const healthCheck: HealthCheckOverrides = {};
  const protocol = get('healthcheck-protocol')?.toUpperCase();
  if (protocol !== undefined) {
    if (protocol === 'TCP' || protocol === 'HTTP' || protocol === 'HTTPS') healthCheck.protocol = protocol;
    else bad('healthcheck-protocol', `must be TCP, HTTP or HTTPS, got "${protocol}"`);
  }
  const port = get('healthcheck-port');
  if (port !== undefined) {
    if (port === 'traffic-port') healthCheck.port = 'traffic-port';
    else if (/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) healthCheck.port = Number(port);
    else bad('healthcheck-port', `must be a port number or "traffic-port", got "${port}"`);
  }
  const path = get('healthcheck-path');
  if (path !== undefined) {
    if (path.startsWith('/')) healthCheck.path = path;
    else bad('healthcheck-path', 'must start with /');
  }
  const numbers = [
    ['healthcheck-interval', 'intervalSeconds', 5, 300],
    ['healthcheck-timeout', 'timeoutSeconds', 2, 120],
    ['healthcheck-healthy-threshold', 'healthyThreshold', 2, 10],
    ['healthcheck-unhealthy-threshold', 'unhealthyThreshold', 2, 10],
  ] as const;
  for (const [suffix, field, min, max] of numbers) {
    const value = get(suffix);
    if (value === undefined) continue;
    const n = Number(value);
    if (Number.isInteger(n) && n >= min && n <= max) healthCheck[field] = n;
    else bad(suffix, `must be an integer from ${min} to ${max}, got "${value}"`);
  }

  const crossZoneValue = get('cross-zone-load-balancing-enabled');
  let crossZone = false;
  if (crossZoneValue !== undefined) {
    if (crossZoneValue === 'true' || crossZoneValue === 'false') crossZone = crossZoneValue === 'true';
    else bad('cross-zone-load-balancing-enabled', `must be "true" or "false", got "${crossZoneValue}"`);
  }

  // In-tree (cloud-provider-aws filterTargetNodes): "k=v" needs label k with value v, "k=" or "k" needs label k
  // with any value; every pair must match.
  const targetNodeLabels: Record<string, string> = {};
  for (const pair of (get('target-node-labels') ?? '').split(',').filter((p) => p.trim())) {
    const [k, v = ''] = pair.split('=').map((s) => s.trim());
    if (!k) bad('target-node-labels', `bad label "${pair}"`);
    else targetNodeLabels[k] = v;
  }
  if (get('target-node-labels') !== undefined && Object.keys(targetNodeLabels).length === 0)
    bad('target-node-labels', 'lists no label');

  const eipList = get('eip-allocations');
  let eipAllocations: string[] | null = null;
  if (eipList !== undefined) {
    eipAllocations = eipList
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const malformed = eipAllocations.filter((a) => !/^eipalloc-[0-9a-f]+$/.test(a));
    if (!eipAllocations.length) bad('eip-allocations', 'lists no allocation');
    else if (malformed.length) bad('eip-allocations', `not Elastic IP allocation ids: ${malformed.join(', ')}`);
    else if (new Set(eipAllocations).size !== eipAllocations.length) bad('eip-allocations', 'lists an id twice');
    else if (scheme === 'internal') bad('eip-allocations', 'Elastic IPs need an internet-facing NLB');
    else if (subnets && subnets.length !== eipAllocations.length) {
      bad(
        'eip-allocations',
        `lists ${eipAllocations.length} allocation(s) for ${subnets.length} subnet(s) in ${PREFIX}subnets; ` +
          'there must be exactly one per subnet',
      );
    }
  }
  const features = readFeatures(get, bad, crossZoneValue === undefined ? undefined : crossZone);
  const zoneKey = 'load_balancing.cross_zone.enabled';
  // Absent means false (the NLB default), as in-tree: the attribute is always converged.
  features.loadBalancerAttributes[zoneKey] ??= 'false';
  crossZone = features.loadBalancerAttributes[zoneKey] === 'true';
  problems.push(...portProblems(service, features.tls));
  return {
    options: { scheme, subnets, healthCheck, extraTags, crossZone, targetNodeLabels, eipAllocations, ...features },
    problems,
  };
}
