// The controller's wiring and lifecycle: caches on every replica; the work (queue, provider, prober, resync) only on
// the leader (leadership.ts). A replica that is not the leader reads but never writes. What each informer event does
// is in watch.ts; node changes are coalesced by src/core/nodes/node-set.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider, ProviderContext } from '../../contract/provider.ts';
import type { KubeClient } from '../../lib/kube/api/client.ts';
import { type KubeSource, kubeClientOf } from '../../lib/kube/api/source.ts';
import { EventRecorder, kubeEventsApi } from '../../lib/kube/events.ts';
import { kubeServiceWriter } from '../../lib/kube/patch.ts';
import { createLogger, type Logger } from '../../lib/observe/logging.ts';
import { createMetrics, type Metrics } from '../metrics/controller-metrics.ts';
import { createMetricsPort } from '../metrics/provider-metrics.ts';
import { NodeSetWatch } from '../nodes/node-set.ts';
import type { ControllerConfig } from './config.ts';
import { type Caches, createCaches } from './informers.ts';
import { Leadership } from './leadership.ts';
import { OwnedServiceIndex } from './ownership.ts';
import { Reconciler } from './reconcile.ts';
import { watchCaches } from './watch.ts';

export interface ControllerOptions {
  config: ControllerConfig;
  /** The apiserver: our client (the CLI), or a client-node KubeConfig it is built from (tests, the bench). */
  kubeConfig: KubeSource;
  /**
   * Builds the provider from the ports the controller hands it. The controller never picks a provider itself: the
   * commands (the composition root) look the name up in the registry and validate its configuration.
   */
  provider: ProviderFactory;
  log?: Logger;
  metrics?: Metrics;
  /** Called when this replica loses the lease it held (the CLI exits, as client-go based controllers do). */
  onLostLeadership?: () => void;
}

export type ProviderFactory = (context: ProviderContext) => Promise<Provider>;

export class Controller {
  readonly config: ControllerConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly caches: Caches;
  readonly events: EventRecorder;
  private readonly client: KubeClient;
  private readonly options: ControllerOptions;
  private providerInstance: Provider | undefined;
  private readonly index: OwnedServiceIndex;
  /** Aborted by stop(): provider start-up and anything else that lives as long as the process. */
  private readonly lifetime = new AbortController();
  private reconciler: Reconciler | undefined;
  private readonly nodeSet: NodeSetWatch;
  private readonly leadership: Leadership;
  private started = false;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.config = options.config;
    this.log = options.log ?? createLogger({ level: options.config.logLevel });
    this.metrics = options.metrics ?? createMetrics();
    // One client, so one connection pool, for everything the controller asks of the apiserver.
    this.client = kubeClientOf(options.kubeConfig);
    this.caches = createCaches(this.client, this.log);
    this.index = new OwnedServiceIndex(
      (key) => {
        const [namespace = '', name = ''] = key.split('/');
        return this.caches.view.service(namespace, name);
      },
      () => this.caches.services.list(),
    );
    this.events = new EventRecorder({
      core: kubeEventsApi(this.client),
      component: 'drawbridge',
      instance: options.config.identity,
      onError: (e) => this.log.debug({ err: String(e) }, 'could not record event'),
      onDropped: (reason) => this.metrics.eventsDropped.inc({ reason }),
      onWritten: (verb) => this.metrics.eventsWritten.inc({ verb }),
      // Senders scale with the workers (one per two, at least 4): a burst records two Events per new Service, and
      // with 32 workers 4 senders fall behind until the recorder's 1,000-Event queue overflows.
      concurrency: Math.max(4, Math.ceil(options.config.concurrency / 2)),
    });
    // A burst of node events settled and the eligible set changed: every Service of ours re-converges its hosts.
    this.nodeSet = new NodeSetWatch({
      windowMs: this.config.nodeDebounceSeconds * 1000,
      maxWaitMs: this.config.nodeDebounceMaxSeconds * 1000,
      nodes: () => this.caches.nodes.list(),
      onChange: () => this.enqueueAll('normal'),
    });
    this.leadership = new Leadership({
      config: this.config,
      client: this.client,
      caches: this.caches,
      index: this.index,
      nodeSet: this.nodeSet,
      events: this.events,
      metrics: this.metrics,
      log: this.log,
      lifetime: this.lifetime.signal,
      enqueueAll: () => this.enqueueAll('normal'),
      onLostLeadership: options.onLostLeadership,
    });
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  /** Ready once the caches are synced (a standby is ready too: it is doing its job by waiting). */
  get isReady(): boolean {
    return this.started && this.caches.services.synced && this.caches.nodes.synced && this.caches.slices.synced;
  }

  get isHealthy(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    const provider = await this.options.provider({
      clusterName: this.config.clusterName,
      loadBalancerClass: this.config.loadBalancerClass,
      kube: this.client,
      services: this.index,
      requeue: (keys, reason) => {
        for (const key of keys) this.enqueue(key, 'normal');
        this.log.debug({ reason }, 'provider requested requeue');
      },
      events: this.events,
      log: this.log.child({ provider: this.config.provider }),
      metrics: createMetricsPort(this.metrics.registry, this.config.provider),
    });
    this.providerInstance = provider;
    const reconciler = new Reconciler({
      config: this.config,
      provider,
      writer: kubeServiceWriter(this.client),
      events: this.events,
      log: this.log,
      metrics: this.metrics,
      view: this.caches.view,
    });
    this.reconciler = reconciler;
    watchCaches({
      caches: this.caches,
      index: this.index,
      reconciler,
      events: this.events,
      enqueue: (key, priority) => this.enqueue(key, priority),
      nodeChanged: () => this.nodeSet.push(),
    });
    await this.caches.start();
    this.started = true;
    this.log.info(
      { provider: this.config.provider, class: this.config.loadBalancerClass, identity: this.config.identity },
      'caches synced',
    );
    await this.leadership.run(provider, reconciler);
  }

  /** Graceful shutdown: finish in-flight work, hand back the lease, stop watching. */
  async stop(): Promise<void> {
    this.lifetime.abort(new Error('controller stopping'));
    this.nodeSet.stop();
    await this.leadership.stop();
    await this.caches.stop();
    await this.providerInstance?.stop?.();
    // Events still queued get a moment to be written (they are best effort: a stuck apiserver must not hang us).
    await Promise.race([this.events.flush(), sleep(2000, undefined, { ref: false })]);
    this.started = false;
  }

  /** Node changes waiting for the debounce window to close (tests wait for 0 to know the controller settled). */
  get nodeChangesPending(): number {
    return this.nodeSet.pending;
  }

  /** The provider this controller drives (tests reach the fake's fault injection and call log through it). */
  get provider(): Provider | undefined {
    return this.providerInstance;
  }

  /** Reconcile every Service of ours now (what the periodic resync does): the owned index, not a scan. */
  enqueueAll(priority: 'high' | 'normal' = 'normal'): void {
    for (const key of this.index.keys()) this.enqueue(key, priority);
  }

  private enqueue(key: string, priority?: 'high' | 'normal'): void {
    const queue = this.leadership.queue;
    if (!queue) return; // not leading: the new leader lists everything when it starts
    const [namespace = '', name = ''] = key.split('/');
    const urgent = this.reconciler?.isUrgent(this.caches.view.service(namespace, name)) ?? false;
    queue.add(key, priority ?? (urgent ? 'high' : 'normal'));
  }
}
