// Converting provider status to the Service's status.loadBalancer.ingress, and comparing the two so we patch
// only when something changed (cloud-provider's LoadBalancerStatusEqual, extended to ipMode and ports).
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import type { LoadBalancerStatus } from '../../contract/spec.ts';

export function toIngress(status: LoadBalancerStatus): V1LoadBalancerIngress[] {
  return status.ingress.map((i) => {
    const out: V1LoadBalancerIngress = {};
    if (i.ip) out.ip = i.ip;
    if (i.hostname) out.hostname = i.hostname;
    if (i.ipMode) out.ipMode = i.ipMode;
    if (i.ports?.length)
      out.ports = i.ports.map((p) =>
        p.error ? { port: p.port, protocol: p.protocol, error: p.error } : { port: p.port, protocol: p.protocol },
      );
    return out;
  });
}

/** A canonical string of an ingress list: equal strings mean equal ingress (see ingressEqual). */
export function ingressKey(ingress: readonly V1LoadBalancerIngress[] | undefined): string {
  return JSON.stringify(
    (ingress ?? []).map((i) => [
      i.ip ?? '',
      i.hostname ?? '',
      i.ipMode ?? '',
      (i.ports ?? []).map((p) => [p.port, p.protocol, p.error ?? '']),
    ]),
  );
}

export function ingressEqual(
  a: readonly V1LoadBalancerIngress[] | undefined,
  b: readonly V1LoadBalancerIngress[] | undefined,
): boolean {
  return ingressKey(a) === ingressKey(b);
}

export function currentIngress(svc: V1Service): V1LoadBalancerIngress[] {
  return svc.status?.loadBalancer?.ingress ?? [];
}

export function describeIngress(ingress: readonly V1LoadBalancerIngress[]): string {
  return ingress.map((i) => i.ip ?? i.hostname).join(', ') || '(none)';
}
