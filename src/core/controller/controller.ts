// The controller's lifecycle: caches on every replica; the work (queue, provider, prober, resync) only on the
// leader. A replica that is not the leader reads but never writes.
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { identityKey, type Provider, type ProviderContext } from '../../contract/provider.ts';
import type { KubeClient } from '../../lib/kube/api/client.ts';
import { type KubeSource, kubeClientOf } from '../../lib/kube/api/source.ts';
import { EventRecorder, kubeEventsApi } from '../../lib/kube/events.ts';
import { LeaderElector } from '../../lib/kube/lease.ts';
import { kubeServiceWriter } from '../../lib/kube/patch.ts';
import { createLogger, type Logger } from '../../lib/observe/logging.ts';
import { eligibleNodes } from '../../lib/service/eligibility.ts';
import { serviceKey, serviceRefOf } from '../../lib/service/keys.ts';
import { createMetrics, type Metrics, queueMetricsHooks } from '../metrics/controller-metrics.ts';
import { createMetricsPort } from '../metrics/provider-metrics.ts';
import { Debouncer } from '../nodes/debounce.ts';
import { createNodeHealthProber } from '../nodes/health.ts';
import type { NodeProber } from '../nodes/prober.ts';
import { ServiceUpdateFilter } from './changes.ts';
import type { ControllerConfig } from './config.ts';
import { type Caches, createCaches, serviceNameOfSlice } from './informers.ts';
import { OwnedServiceIndex } from './ownership.ts';
import { callProvider } from './provider-call.ts';
import { WorkQueue } from './queue.ts';
import { Reconciler } from './reconcile.ts';

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
  /** Aborted when leadership ends: orphan collection and other leader-only provider calls. */
  private leadership: AbortController | undefined;
  private reconciler: Reconciler | undefined;
  private queue: WorkQueue<string> | undefined;
  private elector: LeaderElector | undefined;
  private prober: NodeProber | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly nodeDebouncer: Debouncer;
  /** Drops Service updates reconcile has nothing to do about (our own writes' echoes among them). */
  private readonly updates = new ServiceUpdateFilter((key) => this.reconciler?.ownWrites(key));
  private lastEligibleNodes = '';
  /** Bumped whenever leadership starts or ends, so a slow lead() notices it was overtaken and stops. */
  private generation = 0;
  private providerStarted: Promise<void> | undefined;
  private started = false;
  private leading = false;

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
      // Senders scale with the workers (one per two, as the 4 senders for 8 workers before): a burst records two
      // Events per new Service, and with 32 workers 4 senders fell behind until the 1,000-Event queue overflowed.
      concurrency: Math.max(4, Math.ceil(options.config.concurrency / 2)),
    });
    this.nodeDebouncer = new Debouncer({
      windowMs: this.config.nodeDebounceSeconds * 1000,
      maxWaitMs: this.config.nodeDebounceMaxSeconds * 1000,
      flush: () => this.onNodesSettled(),
    });
  }

  get isLeader(): boolean {
    return this.leading;
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
    this.reconciler = new Reconciler({
      config: this.config,
      provider,
      writer: kubeServiceWriter(this.client),
      events: this.events,
      log: this.log,
      metrics: this.metrics,
      view: this.caches.view,
    });
    this.watchCaches();
    await this.caches.start();
    this.started = true;
    this.log.info(
      { provider: this.config.provider, class: this.config.loadBalancerClass, identity: this.config.identity },
      'caches synced',
    );

    const le = this.config.leaderElection;
    if (!le.enabled) {
      await this.lead();
      return;
    }
    this.elector = new LeaderElector({
      client: this.client,
      namespace: le.namespace,
      name: le.name,
      identity: this.config.identity,
      leaseDurationMs: le.leaseDurationSeconds * 1000,
      renewDeadlineMs: le.renewDeadlineSeconds * 1000,
      retryPeriodMs: le.retryPeriodSeconds * 1000,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: (why) => this.unlead(why === 'lost'),
      onError: (e) => this.log.warn({ err: String((e as Error)?.message ?? e) }, 'leader election error'),
    });
    this.elector.start();
  }

  /** Graceful shutdown: finish in-flight work, hand back the lease, stop watching. */
  async stop(): Promise<void> {
    this.lifetime.abort(new Error('controller stopping'));
    this.nodeDebouncer.stop();
    if (this.elector) await this.elector.stop();
    else await this.unlead(false);
    await this.caches.stop();
    await this.providerInstance?.stop?.();
    // Events still queued get a moment to be written (they are best effort: a stuck apiserver must not hang us).
    await Promise.race([this.events.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.started = false;
  }

  /** Node changes waiting for the debounce window to close (tests wait for 0 to know the controller settled). */
  get nodeChangesPending(): number {
    return this.nodeDebouncer.pending;
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
    if (!this.queue) return; // not leading: the new leader lists everything when it starts
    const [namespace = '', name = ''] = key.split('/');
    const urgent = this.reconciler?.isUrgent(this.caches.view.service(namespace, name)) ?? false;
    this.queue.add(key, priority ?? (urgent ? 'high' : 'normal'));
  }

  private watchCaches(): void {
    const onService = (svc: V1Service) => {
      const key = serviceKey(svc);
      const owned = this.reconciler?.owns(svc) ?? false;
      this.index.upsert(svc, owned);
      if (!owned) {
        this.updates.forget(key);
        this.reconciler?.forgetWrites(key);
        return;
      }
      const news = this.updates.observe(key, svc);
      if (!news) return; // e.g. the echo of our own finalizer or status write: nothing for reconcile to do
      // Deletion started: an ensure still in flight for it is pointless; the requeue below tears it down.
      if (news === 'input' && svc.metadata?.deletionTimestamp) this.reconciler?.abort(key, 'Service is being deleted');
      this.enqueue(key);
    };
    this.caches.services.on('add', onService);
    this.caches.services.on('update', onService);
    // A deleted Service that carried our finalizer was already cleaned up; one without it may still hold
    // provider state from this process (reconcile asks the provider to forget it).
    this.caches.services.on('delete', (svc) => {
      this.index.delete(svc);
      this.updates.forget(serviceKey(svc));
      this.reconciler?.forgetWrites(serviceKey(svc));
      this.reconciler?.abort(serviceKey(svc), 'Service was deleted');
      // Its Events can no longer be aggregated into (they are garbage too): keep nothing about them.
      this.events.forget(serviceRefOf(svc));
      this.enqueue(serviceKey(svc), 'high');
    });
    const onNode = () => this.nodeDebouncer.push();
    this.caches.nodes.on('add', onNode);
    this.caches.nodes.on('update', onNode);
    this.caches.nodes.on('delete', onNode);
    const onSlice = (slice: { metadata?: { namespace?: string } } & Parameters<typeof serviceNameOfSlice>[0]) => {
      const name = serviceNameOfSlice(slice);
      const namespace = slice.metadata?.namespace;
      if (!name || !namespace) return;
      const svc = this.caches.view.service(namespace, name);
      // Only `Local` Services care where their endpoints are.
      if (svc && svc.spec?.externalTrafficPolicy === 'Local' && this.index.has(serviceKey(svc)))
        this.enqueue(serviceKey(svc));
    };
    this.caches.slices.on('add', onSlice);
    this.caches.slices.on('update', onSlice);
    this.caches.slices.on('delete', onSlice);
  }

  /** A burst of node events settled: if the eligible set changed, every Service of ours re-converges its hosts. */
  private onNodesSettled(): void {
    const eligible = nodeSetKey([...this.caches.nodes.list()]);
    if (eligible === this.lastEligibleNodes) return;
    this.lastEligibleNodes = eligible;
    this.enqueueAll('normal');
  }

  private async lead(): Promise<void> {
    if (this.leading || !this.providerInstance || !this.reconciler) return;
    this.leading = true;
    const generation = ++this.generation;
    this.metrics.leader.set({ identity: this.config.identity }, 1);
    this.log.info({ identity: this.config.identity }, 'leading');
    const reconciler = this.reconciler;
    this.queue = new WorkQueue<string>({
      worker: (key, work) => reconciler.reconcile(key, work),
      concurrency: this.config.concurrency,
      baseDelayMs: this.config.backoffBaseSeconds * 1000,
      maxDelayMs: this.config.backoffMaxSeconds * 1000,
      onMetrics: queueMetricsHooks(this.metrics),
    });
    // Once per process: a provider keeps its watches across leadership changes.
    const provider = this.providerInstance;
    const leadership = new AbortController();
    this.leadership = leadership;
    if (!(await this.startProvider(provider, generation, leadership.signal))) return; // leadership ended first
    await this.collectOrphans(leadership.signal);
    if (generation !== this.generation) return;
    this.lastEligibleNodes = nodeSetKey([...this.caches.nodes.list()]);
    this.enqueueAll();
    this.queue.start();
    if (this.config.resyncSeconds > 0) {
      this.resyncTimer = setInterval(() => this.enqueueAll('normal'), this.config.resyncSeconds * 1000);
      this.resyncTimer.unref();
    }
    this.prober = createNodeHealthProber({
      settings: this.config.health,
      nodes: () => this.caches.nodes.list(),
      localServices: () =>
        this.caches.services
          .list()
          .filter((svc) => svc.spec?.externalTrafficPolicy === 'Local' && this.index.has(serviceKey(svc))),
      metrics: this.metrics,
      events: this.events,
      log: this.log,
    });
    this.prober.start();
  }

  /**
   * Starts the provider once per process, retrying with backoff (1 s doubling to 30 s) while this replica leads: a
   * throttled or briefly unreachable cloud at start-up must delay the work, not wedge a leader that does nothing.
   * False when leadership ended before it started.
   */
  private async startProvider(provider: Provider, generation: number, signal: AbortSignal): Promise<boolean> {
    for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
      this.providerStarted ??= Promise.resolve(provider.start?.({ signal: this.lifetime.signal })).catch((e) => {
        this.providerStarted = undefined;
        throw e;
      });
      try {
        await this.providerStarted;
        return generation === this.generation;
      } catch (error) {
        if (generation !== this.generation || signal.aborted) return false;
        this.metrics.providerCallsTotal.inc({ provider: provider.name, operation: 'start', result: 'error' });
        this.log.warn({ err: String((error as Error)?.message ?? error), retryInMs: delayMs }, 'provider start failed');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          const wake = () => {
            clearTimeout(timer);
            resolve();
          };
          signal.addEventListener('abort', wake, { once: true });
        });
        if (generation !== this.generation || signal.aborted) return false;
      }
    }
  }

  private async unlead(lost: boolean): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.generation++;
    this.metrics.leader.set({ identity: this.config.identity }, 0);
    this.leadership?.abort(new Error('leadership ended'));
    clearInterval(this.resyncTimer);
    const queue = this.queue;
    this.queue = undefined;
    await Promise.all([queue?.shutdown(), this.prober?.stop()]);
    this.prober = undefined;
    this.log.info({ identity: this.config.identity, lost }, 'stopped leading');
    if (lost) this.options.onLostLeadership?.();
  }

  /** Load balancers the provider holds for Services that no longer exist (e.g. removed while we were down). */
  private async collectOrphans(signal: AbortSignal): Promise<void> {
    const provider = this.providerInstance;
    if (!provider) return;
    const call = <T>(operation: string, fn: (o: { signal: AbortSignal }) => Promise<T>) =>
      callProvider(this.metrics, provider.name, operation, signal, fn, this.config.providerCallTimeoutSeconds * 1000);
    const owned = await call('listOwned', (o) => provider.listOwned(o)).catch((e) => {
      this.log.warn({ err: String(e) }, 'listing owned load balancers failed; orphans are collected at next start');
      return [];
    });
    for (const identity of owned) {
      if (signal.aborted) return;
      const svc = this.caches.view.service(identity.namespace, identity.name);
      if (svc && (!identity.uid || svc.metadata?.uid === identity.uid)) continue;
      this.log.info({ service: identityKey(identity), uid: identity.uid }, 'deleting orphaned load balancer');
      await call('ensureDeleted', (o) => provider.ensureDeleted(identity, o)).catch((e) =>
        this.log.warn({ err: String(e) }, 'orphan cleanup failed; will retry at next start'),
      );
    }
  }
}

/**
 * The eligible node set as compared for "did it change": without labels, so relabelling nodes (often cosmetic)
 * costs no reconcile. Providers that pick targets by label (aws target-node-labels) see a label change at the
 * Service's next resync or change, as with the in-tree provider (its node filter watches only the exclude label).
 */
function nodeSetKey(nodes: V1Node[]): string {
  return JSON.stringify(eligibleNodes(nodes).map(({ labels: _labels, ...backend }) => backend));
}
