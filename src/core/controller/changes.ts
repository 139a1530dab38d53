// Which Service updates are news for reconcile (upstream's service controller `needsUpdate`, made exact for what
// our reconcile reads). Without this filter every Service in a burst would be reconciled twice: the echoes of our own
// finalizer and status writes come back as update events and would queue a second, read-only ensure (a provider call).
//
// An update is news when, compared with the last version this controller saw of the Service, one of these changed:
// - `input`: everything a user writes that decide() or the desired state reads: the whole spec (only users write
//   it; buildSpec and the providers' checkService read most of it, so no field can be forgotten), metadata.uid,
//   metadata.deletionTimestamp, and metadata.annotations except the two Drawbridge writes itself (the owner
//   annotation, compared below, and the metal speaker's announcing-node, which reconcile never reads);
// - `marks`: our finalizer's presence and the owner annotation's value, unless they now equal what reconcile last
//   wrote for this Service (its own write's echo);
// - `ingress`: status.loadBalancer.ingress, unless it now equals what reconcile last converged for this Service.
//   A user (or another controller) clearing or changing it is news, so it is repaired at once.
// Labels, other finalizers, other status fields and resourceVersion-only updates are not news. The periodic
// resync still reconciles every Service, whatever its events said.
import { hash } from 'node:crypto';
import type { V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION } from '../../lib/service/annotations.ts';
import { currentIngress, ingressKey } from './status.ts';

/** Written by the metal speaker (src/speaker): which node announces the address. Not a reconcile input. */
const ANNOUNCING_NODE_ANNOTATION = 'drawbridge.io/announcing-node';

/** The parts of a Service the update filter compares, each as a string so comparing is cheap and exact. */
export interface ServiceFacts {
  input: string;
  marks: string;
  ingress: string;
}

/** What reconcile last wrote (or found already right) for a Service, recorded before the write is sent. */
export interface OwnWrites {
  marks?: string;
  ingress?: string;
}

export function factsOf(svc: V1Service): ServiceFacts {
  const meta = svc.metadata ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.annotations ?? {}))
    if (k !== OWNER_CLASS_ANNOTATION && k !== ANNOUNCING_NODE_ANNOTATION) annotations[k] = v;
  return {
    // Hashed: the filter keeps one of these per Service, and the informer cache already holds the object itself.
    input: hash(
      'sha256',
      JSON.stringify([svc.spec ?? {}, meta.uid ?? '', meta.deletionTimestamp ?? '', annotations]),
      'base64url',
    ),
    marks: marksOf(meta.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false, meta.annotations),
    ingress: ingressKey(currentIngress(svc)),
  };
}

/** Our finalizer's presence and the owner annotation, as one comparable string. */
export function marksOf(finalized: boolean, annotations: Record<string, string | null> | undefined): string {
  return `${finalized}|${annotations?.[OWNER_CLASS_ANNOTATION] ?? ''}`;
}

/** Why an update is news (what changed), or undefined when it is not. */
export function newsIn(
  before: ServiceFacts | undefined,
  after: ServiceFacts,
  own: OwnWrites | undefined,
): string | undefined {
  if (!before) return 'unseen';
  if (before.input !== after.input) return 'input';
  if (before.marks !== after.marks && after.marks !== own?.marks) return 'marks';
  if (before.ingress !== after.ingress && after.ingress !== own?.ingress) return 'ingress';
  return undefined;
}

/** Remembers the facts of every Service we own, as last seen, and tells which updates are news. */
export class ServiceUpdateFilter {
  private readonly seen = new Map<string, ServiceFacts>();
  private readonly own: (key: string) => OwnWrites | undefined;

  /** `own` is what reconcile last wrote for a key (Reconciler.ownWrites). */
  constructor(own: (key: string) => OwnWrites | undefined) {
    this.own = own;
  }

  /** Records the Service as seen now; returns why it is news for reconcile, or undefined when it is not. */
  observe(key: string, svc: V1Service): string | undefined {
    const after = factsOf(svc);
    const news = newsIn(this.seen.get(key), after, this.own(key));
    this.seen.set(key, after);
    return news;
  }

  /** The Service was deleted or is no longer ours. */
  forget(key: string): void {
    this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }
}
