// What reconcile is handed (the cluster it reads, the writer, the Event port, its settings), and what its paths
// (serve.ts, cleanup.ts) share while they run: reconcile.ts builds one ReconcileContext per Reconciler.
import type { V1EndpointSlice, V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import type { CallOptions, EventPort, Provider } from '../../contract/provider.ts';
import type { LoadBalancerIdentity } from '../../contract/spec.ts';
import type { ObjectRef } from '../../lib/kube/events.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import type { FailureLog } from './failure-log.ts';
import type { ServiceWrites } from './service-writes.ts';

/** Read-only views of the informer caches. */
export interface ClusterView {
  service(namespace: string, name: string): V1Service | undefined;
  nodes(): readonly V1Node[];
  endpointSlices(namespace: string, serviceName: string): readonly V1EndpointSlice[];
}

/** The two writes reconcile makes to a Service (src/lib/kube/patch.ts in production, memory in unit tests). */
export interface ServiceWriter {
  /** Sets metadata.finalizers (and the given annotations; null removes one); returns the Service as written. */
  setFinalizers(svc: V1Service, finalizers: string[], annotations: Record<string, string | null>): Promise<V1Service>;
  /** Replaces status.loadBalancer.ingress. */
  setIngress(svc: V1Service, ingress: V1LoadBalancerIngress[]): Promise<void>;
}

export interface ReconcileSettings {
  provider: string;
  /** Deadline of one provider call (see callProvider); 0 or unset: none. */
  providerCallTimeoutSeconds?: number;
  clusterName: string;
  loadBalancerClass: string;
  ownClassless: boolean;
}

/** Where the reconciler records Events; forget() lets go of what the recorder keeps about a Service that is gone. */
export interface ServiceEvents extends EventPort {
  forget(target: ObjectRef): void;
}

export interface ReconcileDeps {
  config: ReconcileSettings;
  provider: Provider;
  writer: ServiceWriter;
  events: ServiceEvents;
  log: Logger;
  metrics: Metrics;
  view: ClusterView;
}

/** What we last converged for a Service: lets a resync with no change skip provider writes, events and status. */
export interface Applied {
  identity: LoadBalancerIdentity;
  specHash: string;
  hostsHash: string;
}

export type ProviderOperation = 'ensure' | 'updateHosts' | 'ensureDeleted';

/** The Reconciler's state the serve and clean-up paths read and update. */
export interface ReconcileContext {
  readonly deps: ReconcileDeps;
  /** By Service key: what was last converged (see Applied). */
  readonly applied: Map<string, Applied>;
  /**
   * Every Service this process has asked the provider to ensure and not torn down since: the provider may hold
   * state for it even when the reconcile never got as far as `applied` (its status write failed, or it was
   * aborted). Set before the provider call, so a Service that vanishes at any point after it is still cleaned
   * up: the apiserver can delete a Service that carries our finalizer when the delete races the finalizer write
   * (kubernetes/kubernetes#77988, still open in the v1.33 apiserver the tests run).
   */
  readonly provisioned: Map<string, LoadBalancerIdentity>;
  readonly writes: ServiceWrites;
  /** Failures already logged, so a Service stuck in one is not logged again at every resync (failure-log.ts). */
  readonly failures: FailureLog;
  /** One provider call: timed, counted, bounded by --provider-call-timeout (provider-call.ts). */
  call<T extends { changed: boolean }>(
    operation: ProviderOperation,
    signal: AbortSignal,
    fn: (options: CallOptions) => Promise<T>,
  ): Promise<T>;
}
