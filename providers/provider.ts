// The provider contract: one small interface every adapter implements, mirroring the Kubernetes
// cloud-provider LoadBalancer interface, with a provider-neutral spec as input.
//
// Rules every implementation follows:
// - Idempotent: calling ensure() twice with the same spec changes nothing the second time;
//   ensureDeleted() succeeds when nothing is there.
// - Deterministic resource names from identity.clusterName + identity.uid, within the cloud's limits.
// - Every resource it creates records its owner (cluster, namespace/name, uid).
// - Failures are thrown as the typed errors below; the controller maps them to queue behaviour in one place
//   (src/controller/outcome.ts). Anything else thrown is treated as retryable.
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import type { LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus } from '../src/desired/types.ts';
import type { EventRecorder } from '../src/kube/events.ts';
import type { Logger } from '../src/observe/logging.ts';
import type { Metrics } from '../src/observe/metrics.ts';

export type { LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus };

/** One change ensure() would make; `drawbridge plan` prints these. */
export interface PlannedAction {
  action: 'create' | 'update' | 'delete';
  resource: string;
  name: string;
  detail?: string;
}

/** What exists for a load balancer right now. */
export interface ObservedLoadBalancer {
  identity: LoadBalancerIdentity;
  status: LoadBalancerStatus;
}

export interface Provider {
  readonly name: string;
  /**
   * Called once after the controller's caches have synced and before the first reconcile
   * (e.g. metal rebuilds its address allocations from Service statuses here).
   */
  start?(): Promise<void>;
  /** Stop background work (watches, timers). */
  stop?(): Promise<void>;
  /** Create or converge the load balancer to `spec`; returns the status to publish. */
  ensure(spec: LoadBalancerSpec): Promise<LoadBalancerStatus>;
  /** Converge only backend membership to spec.nodes (a node set changed). */
  updateHosts(spec: LoadBalancerSpec): Promise<void>;
  /** Remove everything owned by this identity. Succeeds when nothing is there. */
  ensureDeleted(identity: LoadBalancerIdentity): Promise<void>;
  get(identity: LoadBalancerIdentity): Promise<ObservedLoadBalancer | null>;
  /** What ensure(spec) would change, without changing anything. */
  plan(spec: LoadBalancerSpec): Promise<PlannedAction[]>;
  /** Every load balancer this cluster owns in the provider, for orphan collection. */
  listOwned(): Promise<LoadBalancerIdentity[]>;
}

/** What a provider factory is handed by the controller. */
export interface ProviderContext {
  clusterName: string;
  /** The loadBalancerClass values this controller serves for the provider. */
  loadBalancerClass: string;
  kubeConfig: KubeConfig;
  /** The controller's Service cache (read-only; never mutate what it returns). */
  services(): readonly V1Service[];
  /** Whether the controller serves (or must clean up) this Service. */
  owns(svc: V1Service): boolean;
  /** Ask the controller to reconcile these Services (`namespace/name`) again, e.g. an address freed up. */
  requeue(serviceKeys: Iterable<string>, reason: string): void;
  events: EventRecorder;
  log: Logger;
  metrics: Metrics;
}

export type ProviderFactory = (context: ProviderContext) => Promise<Provider>;

// ---- Typed errors. Each says how the work queue should treat the failure. ----

export type ErrorDisposition = 'retry' | 'retryAfter' | 'throttled' | 'terminal';

export abstract class ProviderError extends Error {
  abstract readonly disposition: ErrorDisposition;
  /** Stable, CamelCase reason used for the Warning Event. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.name = new.target.name;
  }
}

/** Transient: retry with the per-key exponential backoff. */
export class RetryableError extends ProviderError {
  readonly disposition = 'retry' as const;
}

/** Not ready yet (e.g. still provisioning, no free address): retry after a fixed delay. */
export class RetryAfterError extends ProviderError {
  readonly disposition = 'retryAfter' as const;
  readonly retryAfterSeconds: number;
  constructor(reason: string, message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(reason, message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The cloud throttled us: back off (longer than a plain retry) and let others go first. */
export class ThrottledError extends ProviderError {
  readonly disposition = 'throttled' as const;
}

/** The user must change the Service; retrying the same input cannot succeed. */
export class TerminalError extends ProviderError {
  readonly disposition = 'terminal' as const;
}
