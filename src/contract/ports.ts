// The ports: the narrow views of the process a provider is handed (Events, logs, metrics, the owned Services, the
// apiserver client). The controller builds them (src/core/controller/controller.ts hands them to the ProviderFactory);
// a provider sees nothing else of the process.
import type { V1Service } from '@kubernetes/client-node';
import type { KubeClient } from '../lib/kube/api/client.ts';
import type { ObjectRef } from '../lib/kube/events.ts';

export type { ObjectRef };

/**
 * Records Kubernetes Events. Fire and forget: it queues and returns at once, never throws, and never blocks the
 * caller on the apiserver; repeats are aggregated and each object is rate-limited (src/lib/kube/events.ts).
 */
export interface EventPort {
  record(target: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

type LogFn = {
  (obj: object, msg?: string): void;
  (msg: string): void;
};

/** Structured logs (JSON lines); fields such as `service` go in the object. */
export interface LogPort {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): LogPort;
}

export interface CounterPort<L extends string> {
  inc(labels?: Partial<Record<L, string | number>>, value?: number): void;
}
export interface GaugePort<L extends string> {
  set(labels: Partial<Record<L, string | number>>, value: number): void;
  /** Drops one labelled series (e.g. for a deleted pool), so /metrics stops showing it. */
  remove(labels: Partial<Record<L, string | number>>): void;
}
export interface HistogramPort<L extends string> {
  observe(labels: Partial<Record<L, string | number>>, value: number): void;
}

export interface MetricDefinition<L extends string> {
  /** Without prefix: `pool_addresses_total` is exported as `drawbridge_<provider>_pool_addresses_total`. */
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** Registers a provider's own metrics, always under `drawbridge_<provider>_`, on the controller's registry. */
export interface MetricsPort {
  counter<L extends string = never>(definition: MetricDefinition<L>): CounterPort<L>;
  gauge<L extends string = never>(definition: MetricDefinition<L>): GaugePort<L>;
  histogram<L extends string = never>(definition: MetricDefinition<L> & { buckets?: number[] }): HistogramPort<L>;
}

export interface ServiceChange {
  type: 'upsert' | 'delete';
  service: Readonly<V1Service>;
  /** Whether this controller serves (or must clean up) the Service after the change. */
  owned: boolean;
}

/**
 * The Services this controller owns, kept up to date by the core as its cache changes: O(1) lookups by
 * `namespace/name`, never a scan of the cluster per call.
 */
export interface ServiceIndex {
  get(key: string): Readonly<V1Service> | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  readonly size: number;
  /**
   * Every Service change in the cluster (owned or not), in order. With `replay`, the listener first receives an
   * upsert for every Service in the cache. Returns the unsubscribe function.
   */
  subscribe(listener: (change: ServiceChange) => void, options?: { replay?: boolean }): () => void;
}

/** What a provider factory is handed by the core. */
export interface ProviderContext {
  clusterName: string;
  /** The loadBalancerClass this controller serves. */
  loadBalancerClass: string;
  /** For providers that read their own Kubernetes objects (metal's AddressPools): the controller's apiserver client. */
  kube: KubeClient;
  services: ServiceIndex;
  /** Ask the core to reconcile these Services (`namespace/name`) again, e.g. an address freed up. */
  requeue(serviceKeys: Iterable<string>, reason: string): void;
  events: EventPort;
  log: LogPort;
  metrics: MetricsPort;
}
