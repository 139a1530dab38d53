// The aws-load-balancer-* annotations this provider honours, read once into typed options (checkService).
// Any other aws-load-balancer-* annotation is reported as a problem rather than silently ignored: a user who
// asks for, say, an ssl-cert must learn it is not applied.
import type { V1Service } from '@kubernetes/client-node';
import type { SpecProblem } from '../provider.ts';

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

export interface AwsOptions {
  scheme: Scheme;
  /** Subnet IDs or Name tags from the annotation; null means discover by tags. */
  subnets: string[] | null;
  healthCheck: HealthCheckOverrides;
  /** From additional-resource-tags, added to everything we create. */
  extraTags: Record<string, string>;
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
  return { options: { scheme, subnets, healthCheck, extraTags }, problems };
}
