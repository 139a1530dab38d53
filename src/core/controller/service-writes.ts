// The writes reconcile makes to a Service: our finalizer and owner annotation on (serve.ts), its
// status.loadBalancer.ingress (serve.ts, cleanup.ts), the finalizer off (cleanup.ts). Each is recorded as ours
// before it is sent, because its echo may come back through the informer before the write returns and the update
// filter (changes.ts) must recognise it; each write sent is counted in drawbridge_service_writes_total.
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import { statusCodeOf } from '../../lib/kube/patch.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION } from '../../lib/service/annotations.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import { marksOf, type OwnWrites } from './changes.ts';
import type { ServiceWriter } from './reconcile-deps.ts';
import { currentIngress, ingressEqual, ingressKey } from './status.ts';

export class ServiceWrites {
  /** What we last wrote (or found already right) to each Service, by key. */
  private readonly written = new Map<string, OwnWrites>();
  private readonly writer: ServiceWriter;
  private readonly metrics: Metrics;

  constructor(writer: ServiceWriter, metrics: Metrics) {
    this.writer = writer;
    this.metrics = metrics;
  }

  /** What reconcile last wrote, or found already right, for `key`'s finalizer, owner annotation and status. */
  ownWrites(key: string): OwnWrites | undefined {
    return this.written.get(key);
  }

  /** The Service is gone or no longer ours: nothing of ours to recognise any more. */
  forget(key: string): void {
    this.written.delete(key);
  }

  /**
   * Our finalizer and owner annotation on, unless the Service already carries both; returns the Service as it now
   * is. The signal is checked just before the write, so an aborted reconcile does not add it.
   */
  async finalize(key: string, svc: V1Service, loadBalancerClass: string, signal: AbortSignal): Promise<V1Service> {
    const meta = svc.metadata ?? {};
    this.record(key, { marks: marksOf(true, { [OWNER_CLASS_ANNOTATION]: loadBalancerClass }) });
    if (hasFinalizer(svc) && meta.annotations?.[OWNER_CLASS_ANNOTATION] === loadBalancerClass) return svc;
    const finalizers = [...new Set([...(meta.finalizers ?? []), LOAD_BALANCER_CLEANUP_FINALIZER])];
    signal.throwIfAborted();
    const written = await this.writer.setFinalizers(svc, finalizers, { [OWNER_CLASS_ANNOTATION]: loadBalancerClass });
    this.metrics.serviceWrites.inc({ write: 'finalizer' });
    return written;
  }

  /** Sets the Service's ingress to `ingress` when it differs; true when it did. */
  async publish(key: string, svc: V1Service, ingress: V1LoadBalancerIngress[]): Promise<boolean> {
    const changed = !ingressEqual(currentIngress(svc), ingress);
    this.record(key, { ingress: ingressKey(ingress) });
    if (!changed) return false;
    await this.writer.setIngress(svc, ingress);
    this.metrics.serviceWrites.inc({ write: 'status' });
    return true;
  }

  /** Our finalizer and owner annotation off; a Service already gone (404) has nothing left to release. */
  async release(key: string, svc: V1Service): Promise<void> {
    const remaining = (svc.metadata?.finalizers ?? []).filter((f) => f !== LOAD_BALANCER_CLEANUP_FINALIZER);
    this.record(key, { marks: marksOf(false, {}) });
    try {
      await this.writer.setFinalizers(svc, remaining, { [OWNER_CLASS_ANNOTATION]: null });
      this.metrics.serviceWrites.inc({ write: 'finalizer' });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
  }

  private record(key: string, writes: OwnWrites): void {
    this.written.set(key, { ...this.written.get(key), ...writes });
  }
}

export function hasFinalizer(svc: V1Service): boolean {
  return svc.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
}
