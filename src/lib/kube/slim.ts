// What the informers keep of each object. The apiserver sends whole objects; the controller reads a small part of
// them. Two parts are large, grow with the cluster, and are read by nothing here:
// - metadata.managedFields: server-side-apply bookkeeping, often larger than the rest of the object;
// - a Node's status.images (every image on the node, with sizes: up to 50 entries of long digests) and
//   status.nodeInfo (kernel, OS, runtime versions).
// Everything else stays, in particular what the reconciler's merge patches are built from (resourceVersion,
// finalizers, annotations) and what node eligibility and health read (labels, spec, addresses, conditions).
import type { KubernetesObject, V1Node } from '@kubernetes/client-node';

/** Removes metadata.managedFields in place (the object came fresh off the wire and is ours). */
export function slimObject<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

/** slimObject, and a Node's status.images and status.nodeInfo. */
export function slimNode(node: V1Node): V1Node {
  slimObject(node);
  if (node.status?.images !== undefined) delete node.status.images;
  if (node.status?.nodeInfo !== undefined) delete node.status.nodeInfo;
  return node;
}

/**
 * Wraps a watch callback so every object event (ADDED, MODIFIED, DELETED) passes through `transform` before the
 * cache sees it. BOOKMARK and ERROR carry no object of the watched kind and pass untouched.
 */
export function transformWatchCallback<T>(
  transform: (obj: T) => T,
  callback: (phase: string, obj: unknown, watchObj?: unknown) => void,
): (phase: string, obj: unknown, watchObj?: unknown) => void {
  return (phase, obj, watchObj) => {
    const isObjectEvent = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED';
    callback(phase, isObjectEvent && obj ? transform(obj as T) : obj, watchObj);
  };
}
