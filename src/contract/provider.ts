// The provider contract: the one seam between the provider-neutral core (src/) and an adapter (providers/<name>/).
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
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { KubeSource } from '../lib/kube/api/source.ts';
import type { IpFamily, LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus, SpecProblem } from './spec.ts';

export type { IpFamily, LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus, SpecProblem };

/** Handed to every call. Aborted when leadership is lost, the Service is deleted mid-flight, or shutdown begins. */
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
  /** Once, after the core's caches synced and before the first reconcile (e.g. metal loads pools here). */
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
  /** What ensure(spec) would change, without changing anything. */
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

// ---- Ports: the narrow views of the process a provider is handed. ----

export interface ObjectRef {
  kind: string;
  apiVersion: string;
  name: string;
  /** Cluster-scoped objects record their Events in `default`, as Kubernetes does. */
  namespace?: string;
  uid?: string;
}

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
  /**
   * For providers that read their own Kubernetes objects (metal's AddressPools): the controller's KubeClient
   * (src/lib/kube/api), or a client-node KubeConfig in tests; kubeClientOf() turns either into a client.
   */
  kubeConfig: KubeSource;
  services: ServiceIndex;
  /** Ask the core to reconcile these Services (`namespace/name`) again, e.g. an address freed up. */
  requeue(serviceKeys: Iterable<string>, reason: string): void;
  events: EventPort;
  log: LogPort;
  metrics: MetricsPort;
}

/** A documented command-line flag that sets one field of the provider's configuration. */
export interface ProviderFlag {
  /** Flag name without the leading dashes and provider prefix: `latency-ms` becomes `--fake-latency-ms`. */
  name: string;
  /** The configuration field it sets (top level of the provider's section). */
  field: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  description: string;
}

/** What `drawbridge demo --provider <name>` needs from a provider beyond the controller itself. */
export interface DemoHooks {
  /** Objects the provider needs in a fresh cluster (metal: the AddressPool CRD and a pool). */
  prepareCluster?(kubeConfig: KubeConfig): Promise<void>;
  /** Configuration for the demo's controller. */
  config?: Record<string, unknown>;
  /** A one-line description of what the demo sets up, printed as it starts. */
  describe: string;
  /** A stand-in for the provider's cloud API, run next to the demo's controller (gcp: the GCE fake). */
  backend?: DemoBackend;
  /** The providerID of a demo Node (gcp: `gce://<project>/<zone>/<name>`, an instance the backend holds). */
  providerID?(nodeName: string): string;
  /** The Service's load balancer as the provider's API reports it (`config` is the demo controller's). */
  show?(service: V1Service, config: Record<string, unknown>): Promise<string[]>;
  /**
   * Starts what the demo needs outside the cluster, from the demo command itself (aws: a seeded moto endpoint, a
   * separate process that outlives the command with --keep). With `keep` it is left running and may be called
   * again by the background controller, so it must reuse what is already there. A backend that has to live in the
   * controller's own process uses `backend` instead (gcp: the in-process GCE fake).
   */
  setUp?(options: { keep: boolean }): Promise<DemoSetup>;
}

/** Runs in the process that runs the demo's controller (for `--keep`, the background one). */
export interface DemoBackend {
  /** The provider configuration pointing at a backend on 127.0.0.1:`port` (replaces `DemoHooks.config`). */
  config(port: number): Record<string, unknown>;
  /** Starts it on 127.0.0.1:`port`, holding what the demo Nodes need (gcp: their instances). */
  start(port: number, nodeNames: readonly string[]): Promise<{ stop(): Promise<void> }>;
}

/** What a provider's demo set-up hands back to the generic demo. */
export interface DemoSetup {
  /** providerIDs for the demo Nodes, in order (aws: the seeded EC2 instances); the default Nodes have none. */
  providerIDs?: string[];
  /** Controller provider-config, over DemoHooks.config (aws: the endpoint it started). */
  config?: Record<string, unknown>;
  /** Lines describing what the backend holds for the Service, read back from it, printed after the Events. */
  show?(service: Readonly<V1Service>, clusterName: string): Promise<string[]>;
  /** Stops what setUp started (skipped with --keep). */
  tearDown?(): Promise<void>;
  /** With --keep: the command that stops what setUp left running, printed with the others. */
  stopCommand?: string;
}

/**
 * One entry of the registry (providers/index.ts). Kept light: the schema and flags load with the CLI so --help
 * can list them and bad values fail before anything starts; `create` imports the heavy parts (cloud SDKs) lazily.
 */
export interface ProviderDefinition<Config = unknown, Options = unknown> {
  name: string;
  /** One-line summary for --help. */
  summary: string;
  /** The provider's section of --provider-config; unknown fields are errors, defaults are filled in. */
  configSchema: z.ZodType<Config>;
  flags?: readonly ProviderFlag[];
  create(context: ProviderContext, config: Config): Promise<Provider<Options>>;
  /** The cloud load balancer's name for a Service, computed without a call (`drawbridge status` shows it). */
  loadBalancerName?(identity: Pick<LoadBalancerIdentity, 'clusterName' | 'uid'>): string;
  demo?: DemoHooks;
}

/** Service key `namespace/name` of an identity; the one spelling the core uses too. */
export function identityKey(identity: Pick<LoadBalancerIdentity, 'namespace' | 'name'>): string {
  return `${identity.namespace}/${identity.name}`;
}

/** The Event target for the Service behind an identity. */
export function serviceRef(identity: Readonly<LoadBalancerIdentity>): ObjectRef {
  return { kind: 'Service', apiVersion: 'v1', name: identity.name, namespace: identity.namespace, uid: identity.uid };
}

// ---- Typed errors. Each says how the work queue should treat the failure. ----

export type ErrorDisposition = 'retry' | 'retryAfter' | 'throttled' | 'terminal';

export abstract class ProviderError extends Error {
  abstract readonly disposition: ErrorDisposition;
  /** Stable, CamelCase reason used for the Warning Event and the provider_calls_total{result} label. */
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

/**
 * From updateHosts: the load balancer is gone or incomplete (deleted in the cloud console, a crash half-way through
 * a create), so there is no membership to update. The core then runs ensure at once, which rebuilds it and
 * publishes its (possibly new) address; retrying updateHosts could never succeed.
 */
export class LoadBalancerNotFoundError extends RetryableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LoadBalancerNotFound', message, options);
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
