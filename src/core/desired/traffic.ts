// How traffic reaches the backends: session affinity, external traffic policy (and so the health check),
// and the address families to serve.
import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { HealthCheckSpec, IpFamily, LoadBalancerSpec } from '../../contract/spec.ts';
import { isPortNumber } from './ports.ts';
import { type Checked, Reason } from './reasons.ts';

/** kube-proxy's healthz port: what GCE probes for `Cluster` (AWS only for UDP-only target groups). */
export const KUBE_PROXY_HEALTH_PORT = 10256;
export const HEALTH_CHECK_PATH = '/healthz';
/** The apiserver's default and maximum for sessionAffinityConfig.clientIP.timeoutSeconds. */
const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

type Affinity = Pick<LoadBalancerSpec, 'sessionAffinity' | 'sessionAffinityTimeoutSeconds'>;
type Policy = Pick<LoadBalancerSpec, 'externalTrafficPolicy' | 'healthCheck'>;

export function buildSessionAffinity(spec: V1ServiceSpec): Checked<Affinity> {
  const affinity = spec.sessionAffinity ?? 'None';
  if (affinity === 'None')
    return { value: { sessionAffinity: 'None', sessionAffinityTimeoutSeconds: null }, problems: [] };
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  const value: Affinity = { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: timeout };
  if (affinity !== 'ClientIP') {
    const message = `sessionAffinity ${JSON.stringify(affinity)} is not None or ClientIP`;
    return { value, problems: [{ path: 'spec.sessionAffinity', reason: Reason.InvalidSessionAffinity, message }] };
  }
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_AFFINITY_TIMEOUT_SECONDS) {
    return {
      value,
      problems: [
        {
          path: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
          reason: Reason.InvalidSessionAffinity,
          message: `timeout ${timeout} is not an integer in 1-${MAX_AFFINITY_TIMEOUT_SECONDS}`,
        },
      ],
    };
  }
  return { value, problems: [] };
}

/** `Local` is probed on the Service's own healthCheckNodePort (it answers only where endpoints run). */
export function buildTrafficPolicy(spec: V1ServiceSpec): Checked<Policy> {
  const policy = spec.externalTrafficPolicy ?? 'Cluster';
  const clusterValue: Policy = {
    externalTrafficPolicy: 'Cluster',
    healthCheck: { port: KUBE_PROXY_HEALTH_PORT, path: HEALTH_CHECK_PATH },
  };
  if (policy === 'Cluster') return { value: clusterValue, problems: [] };
  if (policy !== 'Local') {
    const message = `externalTrafficPolicy ${JSON.stringify(policy)} is not Cluster or Local`;
    return {
      value: clusterValue,
      problems: [{ path: 'spec.externalTrafficPolicy', reason: Reason.InvalidTrafficPolicy, message }],
    };
  }
  const port = spec.healthCheckNodePort;
  const healthCheck: HealthCheckSpec = { port: port ?? 0, path: HEALTH_CHECK_PATH };
  const value: Policy = { externalTrafficPolicy: 'Local', healthCheck };
  if (isPortNumber(port)) return { value, problems: [] };
  return {
    value,
    problems: [
      {
        path: 'spec.healthCheckNodePort',
        reason: Reason.InvalidHealthCheckNodePort,
        message:
          port === undefined || port === 0
            ? 'externalTrafficPolicy Local needs a healthCheckNodePort; it may not be allocated yet'
            : `healthCheckNodePort ${JSON.stringify(port)} is not an integer in 1-65535`,
      },
    ],
  };
}

export function buildIpFamilies(spec: V1ServiceSpec): Checked<IpFamily[]> {
  const families = spec.ipFamilies ?? [];
  // Single-stack IPv4 is the apiserver's default on clusters that predate dual stack.
  if (families.length === 0) return { value: ['IPv4'], problems: [] };
  const value: IpFamily[] = [];
  const problems = families.flatMap((family, index) => {
    if (family === 'IPv4' || family === 'IPv6') {
      if (!value.includes(family)) value.push(family);
      return [];
    }
    const message = `ipFamily ${JSON.stringify(family)} is not IPv4 or IPv6`;
    return [{ path: `spec.ipFamilies[${index}]`, reason: Reason.InvalidIpFamily, message }];
  });
  return { value, problems };
}
