// The retain path of reconcile: a Service we provisioned but no longer serve because this controller now runs
// without --own-classless (see decideOwnership in src/lib/service/ownership.ts). Nothing is written to it or to the
// provider; the first time it is seen retained, a Warning Event says how to release it or serve it again, and
// drawbridge_retained_services counts them.
import type { V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../lib/observe/logging.ts';
import { RELEASE_ANNOTATION } from '../../lib/service/annotations.ts';
import { serviceRefOf } from '../../lib/service/keys.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import { EventReason, type ReconcileResult } from './reasons.ts';
import type { ServiceEvents } from './reconcile-deps.ts';

export class RetainedServices {
  private readonly keys = new Set<string>();
  private readonly metrics: Metrics;
  private readonly events: ServiceEvents;

  constructor(metrics: Metrics, events: ServiceEvents) {
    this.metrics = metrics;
    this.events = events;
  }

  /** The Service is retained now: warned about once, when it becomes so. */
  keep(key: string, svc: V1Service, log: Logger): ReconcileResult {
    if (this.set(key, true)) {
      const message =
        'Not served: this controller runs without --own-classless, so it no longer serves class-less Services. ' +
        'The load balancer is kept as it is. To release it, annotate the Service ' +
        `${RELEASE_ANNOTATION}=true; to serve it again, restart the controller with --own-classless.`;
      log.warn('kept a class-less load balancer this controller no longer serves');
      this.events.record(serviceRefOf(svc), 'Warning', EventReason.LoadBalancerRetained, message);
    }
    return 'retained';
  }

  /** The Service is served, cleaned up, ignored or gone: no longer retained. */
  release(key: string): void {
    this.set(key, false);
  }

  /** Returns true when `key` newly became retained. */
  private set(key: string, retained: boolean): boolean {
    const had = this.keys.has(key);
    if (retained) this.keys.add(key);
    else this.keys.delete(key);
    this.metrics.retainedServices.set(this.keys.size);
    return retained && !had;
  }
}
