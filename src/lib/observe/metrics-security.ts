// How /metrics is protected, for every Drawbridge process that serves it (`drawbridge controller`, `drawbridge
// speaker`): the same two flags with the same meaning, and the same TLS + delegated-access set-up behind them.
import { InvalidArgumentError, Option } from 'commander';
import type { KubeSource } from '../kube/api/source.ts';
import { delegatedAccess } from './access.ts';
import type { ObservabilityServerOptions } from './server.ts';
import { servingCertificate } from './serving-cert.ts';

export interface MetricsSecurityFlags {
  metricsSecure?: boolean;
  metricsCertDir?: string;
}

/** What startObservabilityServer needs to serve HTTPS and gate /metrics; empty for plain, open HTTP. */
export type MetricsSecurity = Pick<ObservabilityServerOptions, 'tls' | 'authorize'>;

/** --metrics-secure and --metrics-cert-dir, to add to a command next to its --metrics-bind-address. */
export function metricsSecurityOptions(defaultSecure: boolean): [secure: Option, certDir: Option] {
  return [
    new Option(
      '--metrics-secure <bool>',
      'HTTPS, and /metrics only for callers whose token the apiserver authenticates (TokenReview) and allows ' +
        '`get` on the /metrics non-resource URL (SubjectAccessReview); false: plain HTTP, open to anyone ' +
        `(default: ${defaultSecure})`,
    ).argParser(bool),
    new Option(
      '--metrics-cert-dir <dir>',
      'tls.crt and tls.key for the HTTPS metrics server (default: a self-signed certificate generated at start)',
    ),
  ];
}

/** The certificate and access check for a secure server (reads --metrics-cert-dir now, so a bad one fails fast). */
export async function metricsSecurity(
  options: { secure: boolean; certDir?: string },
  kube: KubeSource,
): Promise<MetricsSecurity> {
  if (!options.secure) return {};
  return { tls: await servingCertificate(options.certDir), authorize: delegatedAccess(kube) };
}

/** `--metrics-secure=false` as Go flags spell it; commander would otherwise take any string as true. */
function bool(value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new InvalidArgumentError(`"${value}" is not true or false`);
}
