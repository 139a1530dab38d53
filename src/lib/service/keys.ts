// The one spelling of a Service's key (`namespace/name`: the work queue, logs and providers all use it) and the one
// builder of an object reference to a Service (what Events are recorded against).
import type { V1Service } from '@kubernetes/client-node';
import type { ObjectRef } from '../kube/events.ts';

export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function serviceKey(svc: Pick<V1Service, 'metadata'>): string {
  return keyOf(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '');
}

/** The reference Events about a Service point at, from its coordinates (uid optional: Kubernetes accepts none). */
export function serviceRef(service: { namespace: string; name: string; uid?: string | undefined }): ObjectRef {
  const ref: ObjectRef = { kind: 'Service', apiVersion: 'v1', name: service.name, namespace: service.namespace };
  if (service.uid !== undefined) ref.uid = service.uid;
  return ref;
}

/** serviceRef of a Service object. */
export function serviceRefOf(svc: Pick<V1Service, 'metadata'>): ObjectRef {
  const m = svc.metadata ?? {};
  return serviceRef({ namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid });
}
