// The provider contract: the one seam between the provider-neutral core (src/core) and an adapter (providers/<name>/).
// It mirrors the Kubernetes cloud-provider LoadBalancer interface, with a provider-neutral spec as input.
// docs/writing-a-provider.md walks through it with providers/fake as the worked example.
//
// Rules every implementation follows:
// - Idempotent: ensure() twice with the same spec changes nothing the second time (and says so: changed=false);
//   ensureDeleted() succeeds when nothing is there.
// - Deterministic resource names from identity.clusterName + identity.uid, within the cloud's limits.
// - Every resource it creates records its owner (cluster, namespace/name, uid).
// - Every network call gets the AbortSignal it was handed; an aborted call rejects promptly.
// - Failures are thrown as the typed errors below; the core maps them to queue behaviour in one place
//   (src/core/controller/outcome.ts). Anything else thrown is treated as retryable.
// - Inputs are read-only. A provider talks to the rest of the process only through the ports in ProviderContext.
import type { V1Service } from '@kubernetes/client-node';
import { keyOf } from '../lib/service/keys.ts';
import type { LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus, SpecProblem } from './spec.ts';

export * from './definition.ts';
export * from './errors.ts';
export * from './ports.ts';
export type * from './spec.ts';

/**
 * Handed to every call. Aborted when leadership is lost, the Service is deleted mid-flight, shutdown begins, or the
 * call outlives --provider-call-timeout (src/core/controller/provider-call.ts).
 */
export interface CallOptions {
  readonly signal: AbortSignal;
}

/** What ensure() converged to, and whether it had to change anything in the provider to get there. */
export interface EnsureResult {
  status: LoadBalancerStatus;
  /** False when everything was already as asked: no Event, no write counted. */
  changed: boolean;
}

export interface ChangeResult {
  changed: boolean;
}

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
  /** Names of the nodes currently behind it, for providers that place nodes behind a load balancer. */
  backends?: readonly string[];
}

/**
 * The provider's own reading of a Service: its typed options (from its annotations) and any problems with them.
 * The core turns each problem into a Warning Event and calls no provider operation while there is one.
 */
export interface ServiceCheck<Options> {
  options: Options;
  problems: SpecProblem[];
}

export interface Provider<Options = unknown> {
  readonly name: string;
  /** Pure and synchronous: read the provider-specific parts of a Service (annotations, requested addresses). */
  checkService(service: Readonly<V1Service>): ServiceCheck<Options>;
  /**
   * Once per process, when it first leads: after the core's caches synced and before the first reconcile (e.g. metal
   * loads pools here). Retried with backoff while it throws (src/core/controller/leadership.ts).
   */
  start?(options: CallOptions): Promise<void>;
  /** Stop background work (watches, timers). */
  stop?(): Promise<void>;
  /** Create or converge the load balancer to `spec`. */
  ensure(spec: Readonly<LoadBalancerSpec<Options>>, options: CallOptions): Promise<EnsureResult>;
  /** Remove everything owned by this identity. Succeeds when nothing is there. */
  ensureDeleted(identity: Readonly<LoadBalancerIdentity>, options: CallOptions): Promise<ChangeResult>;
  /** Every load balancer this cluster owns in the provider, for orphan collection. */
  listOwned(options: CallOptions): Promise<LoadBalancerIdentity[]>;

  // ---- Optional capabilities. The core falls back to ensure() without updateHosts; CLI verbs that need
  // get or plan say so when a provider lacks them (see requireCapability). ----

  /**
   * Converge only backend membership to spec.nodes / spec.endpointNodes (the node set changed). Throws
   * LoadBalancerNotFoundError when there is no complete load balancer to update (the core then calls ensure).
   */
  updateHosts?(spec: Readonly<LoadBalancerSpec<Options>>, options: CallOptions): Promise<ChangeResult>;
  get?(identity: Readonly<LoadBalancerIdentity>, options: CallOptions): Promise<ObservedLoadBalancer | null>;
  /**
   * What ensure(spec) would change, without changing anything. Throws the TerminalError ensure would throw when
   * ensure would refuse the spec (`drawbridge plan` shows it on that Service's line).
   */
  plan?(spec: Readonly<LoadBalancerSpec<Options>>, options: CallOptions): Promise<PlannedAction[]>;
}

export type Capability = 'updateHosts' | 'get' | 'plan';

export class MissingCapabilityError extends Error {}

/** For CLI verbs: the provider's optional operation, or a clear error naming what it lacks. */
export function requireCapability<C extends Capability>(provider: Provider, capability: C): NonNullable<Provider[C]> {
  const fn = provider[capability];
  if (typeof fn !== 'function') {
    throw new MissingCapabilityError(`provider "${provider.name}" does not support "${capability}"`);
  }
  return fn.bind(provider) as NonNullable<Provider[C]>;
}

/** Service key `namespace/name` of an identity; the one spelling the core uses too (src/lib/service/keys.ts). */
export function identityKey(identity: Pick<LoadBalancerIdentity, 'namespace' | 'name'>): string {
  return keyOf(identity.namespace, identity.name);
}
