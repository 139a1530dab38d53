// The few writes the controller makes to Services, each a JSON merge patch of exactly the fields it owns.
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import type { KubeClient } from './api/client.ts';
import { core as corePath } from './api/paths.ts';

export { statusCodeOf } from './api/errors.ts';

/** Replaces status.loadBalancer.ingress through the status subresource. */
export async function patchServiceIngress(
  client: KubeClient,
  svc: V1Service,
  ingress: V1LoadBalancerIngress[],
): Promise<void> {
  const { name = '', namespace = '' } = svc.metadata ?? {};
  await client.patch(
    corePath('services', namespace, name, 'status'),
    { status: { loadBalancer: { ingress } } },
    'merge',
  );
}

/**
 * Sets metadata.finalizers. A merge patch replaces the whole list, so it carries the resourceVersion we read:
 * if someone else changed the object meanwhile the apiserver answers 409 and we retry from a fresh read
 * instead of dropping their finalizer.
 */
export async function patchServiceFinalizers(
  client: KubeClient,
  svc: V1Service,
  finalizers: string[],
  annotations?: Record<string, string | null>,
): Promise<V1Service> {
  const { name = '', namespace = '', resourceVersion } = svc.metadata ?? {};
  const metadata = annotations ? { finalizers, resourceVersion, annotations } : { finalizers, resourceVersion };
  return client.patch<V1Service>(corePath('services', namespace, name), { metadata }, 'merge');
}

/** The ServiceWriter reconcile uses, over the real API. */
export function kubeServiceWriter(client: KubeClient): {
  setFinalizers(svc: V1Service, finalizers: string[], annotations: Record<string, string | null>): Promise<V1Service>;
  setIngress(svc: V1Service, ingress: V1LoadBalancerIngress[]): Promise<void>;
} {
  return {
    setFinalizers: (svc, finalizers, annotations) => patchServiceFinalizers(client, svc, finalizers, annotations),
    setIngress: (svc, ingress) => patchServiceIngress(client, svc, ingress),
  };
}
