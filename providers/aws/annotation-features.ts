// The listener and attribute annotations (TLS, proxy protocol, target-group and load-balancer attributes, IP
// address type), read as the AWS Load Balancer Controller reads them (pkg/service/model_build_*.go), and the
// port refusals an NLB with instance targets implies, so a Service that can never be served is refused by
// checkService (a Warning Event, no provider call) instead of failing every resync.
import type { V1Service } from '@kubernetes/client-node';
import type { SpecProblem } from '../../src/contract/provider.ts';

export interface TlsOptions {
  /** ACM (or IAM) certificate ARNs; the first is the listeners' default certificate. */
  certificates: string[];
  /** Port names or numbers that get TLS; null means every TCP port. */
  ports: string[] | null;
  /** ELBSecurityPolicy-...; ALBC's and the in-tree default when absent. */
  policy: string;
}

export type IpAddressType = 'ipv4' | 'dualstack';

export interface FeatureOptions {
  tls: TlsOptions | null;
  /** proxy-protocol "*": proxy_protocol_v2.enabled=true on every target group. */
  proxyProtocol: boolean;
  /** target-group-attributes, applied to every target group of the Service. */
  targetGroupAttributes: Record<string, string>;
  /** aws-load-balancer-attributes (cross-zone-load-balancing-enabled folds into it). */
  loadBalancerAttributes: Record<string, string>;
  ipAddressType: IpAddressType;
}

export const FEATURE_ANNOTATIONS = [
  'ssl-cert',
  'ssl-ports',
  'ssl-negotiation-policy',
  'proxy-protocol',
  'target-group-attributes',
  'attributes',
  'ip-address-type',
] as const;

export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

/** Target-group attribute keys an NLB with instance targets accepts, with the value AWS starts them at. */
export const TARGET_GROUP_DEFAULTS: Record<string, string> = {
  'proxy_protocol_v2.enabled': 'false',
  'deregistration_delay.timeout_seconds': '300',
  'deregistration_delay.connection_termination.enabled': 'false',
  'preserve_client_ip.enabled': 'true',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
};

/** Load-balancer attribute keys of an NLB. */
export const LOAD_BALANCER_KEYS = new Set([
  'load_balancing.cross_zone.enabled',
  'deletion_protection.enabled',
  'access_logs.s3.enabled',
  'access_logs.s3.bucket',
  'access_logs.s3.prefix',
  'dns_record.client_routing_policy',
]);

type Get = (suffix: (typeof FEATURE_ANNOTATIONS)[number]) => string | undefined;
type Bad = (suffix: string, message: string) => void;

/** `k=v,k=v` into a record; a pair without `=` or with an unknown key is reported. */
function pairs(value: string | undefined, known: (k: string) => boolean, suffix: string, bad: Bad) {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',').filter((p) => p.trim())) {
    const at = pair.indexOf('=');
    const [k, v] = at < 0 ? [pair.trim(), ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
    if (at < 0 || !k || !v) bad(suffix, `bad attribute "${pair.trim()}": expected key=value`);
    else if (!known(k)) bad(suffix, `attribute "${k}" does not apply to an NLB with instance targets`);
    else out[k] = v;
  }
  return out;
}

export function readFeatures(get: Get, bad: Bad, crossZone: boolean | undefined): FeatureOptions {
  let tls: TlsOptions | null = null;
  const certs = get('ssl-cert');
  if (certs !== undefined) {
    const certificates = certs
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const wrong = certificates.filter((a) => !/^arn:aws[a-z-]*:(acm|iam):/.test(a));
    if (!certificates.length) bad('ssl-cert', 'lists no certificate');
    else if (wrong.length) bad('ssl-cert', `not ACM or IAM certificate ARNs: ${wrong.join(', ')}`);
    const portList = get('ssl-ports');
    const ports =
      portList === undefined || portList === '*'
        ? null
        : portList
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    const policy = get('ssl-negotiation-policy') ?? DEFAULT_SSL_POLICY;
    if (!/^ELBSecurityPolicy-[A-Za-z0-9-]+$/.test(policy))
      bad('ssl-negotiation-policy', `must name an ELBSecurityPolicy-..., got "${policy}"`);
    tls = { certificates, ports, policy };
  } else {
    for (const s of ['ssl-ports', 'ssl-negotiation-policy'] as const)
      if (get(s) !== undefined) bad(s, 'has no effect without service.beta.kubernetes.io/aws-load-balancer-ssl-cert');
  }

  const proxy = get('proxy-protocol');
  if (proxy !== undefined && proxy !== '*') bad('proxy-protocol', `only "*" (every port) is supported, got "${proxy}"`);
  const targetGroupAttributes = pairs(
    get('target-group-attributes'),
    (k) => k in TARGET_GROUP_DEFAULTS,
    'target-group-attributes',
    bad,
  );
  if (proxy === '*') {
    if (targetGroupAttributes['proxy_protocol_v2.enabled'] === 'false')
      bad('proxy-protocol', 'contradicts proxy_protocol_v2.enabled=false in target-group-attributes');
    targetGroupAttributes['proxy_protocol_v2.enabled'] = 'true';
  }
  const loadBalancerAttributes = pairs(get('attributes'), (k) => LOAD_BALANCER_KEYS.has(k), 'attributes', bad);
  const key = 'load_balancing.cross_zone.enabled';
  if (crossZone !== undefined) {
    if (loadBalancerAttributes[key] !== undefined && loadBalancerAttributes[key] !== String(crossZone))
      bad('attributes', `${key} contradicts cross-zone-load-balancing-enabled`);
    loadBalancerAttributes[key] = String(crossZone);
  }

  const type = get('ip-address-type') ?? 'ipv4';
  let ipAddressType: IpAddressType = 'ipv4';
  if (type === 'ipv4' || type === 'dualstack') ipAddressType = type;
  else bad('ip-address-type', `must be "ipv4" or "dualstack", got "${type}"`);
  return { tls, proxyProtocol: proxy === '*', targetGroupAttributes, loadBalancerAttributes, ipAddressType };
}

/**
 * What an NLB with instance targets cannot serve, from the Service alone (the in-tree NLB path refuses the same):
 * refused before any call, so a Service in such a state costs one Warning per change, not a failure per resync.
 */
export function portProblems(service: Readonly<V1Service>, tls: TlsOptions | null): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const ports = service.spec?.ports ?? [];
  const nodePorts = new Map<number, Set<number>>();
  for (const [i, p] of ports.entries()) {
    const path = `spec.ports[${i}]`;
    if (p.protocol === 'SCTP')
      problems.push({ path, reason: 'UnsupportedProtocol', message: 'an NLB with instance targets cannot serve SCTP' });
    if (p.nodePort) nodePorts.set(p.port, (nodePorts.get(p.port) ?? new Set()).add(p.nodePort));
  }
  for (const [port, set] of nodePorts) {
    if (set.size > 1)
      problems.push({
        path: 'spec.ports',
        reason: 'TcpUdpNodePortMismatch',
        message: `port ${port}: TCP and UDP must share one NodePort to be served by one TCP_UDP listener`,
      });
  }
  for (const wanted of tls?.ports ?? []) {
    const p = ports.find((x) => x.name === wanted || String(x.port) === wanted);
    const path = "metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-ports']";
    if (!p) problems.push({ path, reason: 'InvalidAwsAnnotation', message: `names no port of the Service: ${wanted}` });
    else if (ports.some((x) => x.port === p.port && (x.protocol ?? 'TCP') !== 'TCP'))
      problems.push({ path, reason: 'InvalidAwsAnnotation', message: `port ${p.port} is not TCP-only: TLS needs TCP` });
  }
  return problems;
}
