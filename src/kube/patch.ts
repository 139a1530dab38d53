// The few writes the controller makes to Services, each a JSON merge patch of exactly the fields it owns.
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1LoadBalancerIngress,
  type V1Service,
} from '@kubernetes/client-node';

const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Replaces status.loadBalancer.ingress through the status subresource. */
export async function patchServiceIngress(
  core: CoreV1Api,
  svc: V1Service,
  ingress: V1LoadBalancerIngress[],
): Promise<void> {
  const { name = '', namespace = '' } = svc.metadata ?? {};
  await core.patchNamespacedServiceStatus(
    { name, namespace, body: { status: { loadBalancer: { ingress } } } },
    mergePatch(),
  );
}

/**
 * Sets metadata.finalizers. A merge patch replaces the whole list, so it carries the resourceVersion we read:
 * if someone else changed the object meanwhile the apiserver answers 409 and we retry from a fresh read
 * instead of dropping their finalizer.
 */
export async function patchServiceFinalizers(
  core: CoreV1Api,
  svc: V1Service,
  finalizers: string[],
  annotations?: Record<string, string | null>,
): Promise<V1Service> {
  const { name = '', namespace = '', resourceVersion } = svc.metadata ?? {};
  const metadata = annotations ? { finalizers, resourceVersion, annotations } : { finalizers, resourceVersion };
  return core.patchNamespacedService({ name, namespace, body: { metadata } }, mergePatch());
}

/** HTTP status of a client-node ApiException, or undefined for anything else. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The ServiceWriter reconcile uses, over the real API. */
export function kubeServiceWriter(core: CoreV1Api): {
  setFinalizers(svc: V1Service, finalizers: string[], annotations: Record<string, string | null>): Promise<V1Service>;
  setIngress(svc: V1Service, ingress: V1LoadBalancerIngress[]): Promise<void>;
} {
  return {
    setFinalizers: (svc, finalizers, annotations) => patchServiceFinalizers(core, svc, finalizers, annotations),
    setIngress: (svc, ingress) => patchServiceIngress(core, svc, ingress),
  };
}
