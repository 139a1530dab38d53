// Leadership: with leader election on, a Lease decides which replica leads; without it this replica leads at once.
// Only the leader works: it starts the provider (once per process), collects orphans, then runs the work queue, the
// periodic resync and the node health prober. When leadership ends all of that stops; a lost lease also calls
// onLostLeadership (the CLI exits, as client-go based controllers do).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider } from '../../contract/provider.ts';
import type { KubeClient } from '../../lib/kube/api/client.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import { LeaderElector } from '../../lib/kube/lease.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import { serviceKey } from '../../lib/service/keys.ts';
import { type Metrics, queueMetricsHooks } from '../metrics/controller-metrics.ts';
import { createNodeHealthProber } from '../nodes/health.ts';
import type { NodeSetWatch } from '../nodes/node-set.ts';
import type { NodeProber } from '../nodes/prober.ts';
import type { ControllerConfig } from './config.ts';
import type { Caches } from './informers.ts';
import { collectOrphans } from './orphans.ts';
import type { OwnedServiceIndex } from './ownership.ts';
import { WorkQueue } from './queue.ts';
import type { Reconciler } from './reconcile.ts';

export interface LeadershipOptions {
  config: ControllerConfig;
  client: KubeClient;
  caches: Caches;
  index: OwnedServiceIndex;
  nodeSet: NodeSetWatch;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Aborted when the controller stops: provider start-up lives as long as the process. */
  lifetime: AbortSignal;
  /** Queues every Service of ours (the first list when leading starts, and each resync). */
  enqueueAll: () => void;
  onLostLeadership?: (() => void) | undefined;
}

export class Leadership {
  private readonly o: LeadershipOptions;
  /** Aborted when leadership ends: orphan collection and other leader-only provider calls. */
  private leadership: AbortController | undefined;
  private workQueue: WorkQueue<string> | undefined;
  private elector: LeaderElector | undefined;
  private prober: NodeProber | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Bumped whenever leadership starts or ends, so a slow lead() notices it was overtaken and stops. */
  private generation = 0;
  private providerStarted: Promise<void> | undefined;
  private leading = false;

  constructor(options: LeadershipOptions) {
    this.o = options;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The work queue while this replica leads; undefined otherwise (the next leader lists everything). */
  get queue(): WorkQueue<string> | undefined {
    return this.workQueue;
  }

  /** Leads at once without leader election; with it, campaigns for the Lease (returns without waiting to win). */
  async run(provider: Provider, reconciler: Reconciler): Promise<void> {
    const { config, log } = this.o;
    const le = config.leaderElection;
    if (!le.enabled) {
      await this.lead(provider, reconciler);
      return;
    }
    this.elector = new LeaderElector({
      client: this.o.client,
      namespace: le.namespace,
      name: le.name,
      identity: config.identity,
      leaseDurationMs: le.leaseDurationSeconds * 1000,
      renewDeadlineMs: le.renewDeadlineSeconds * 1000,
      retryPeriodMs: le.retryPeriodSeconds * 1000,
      onStartedLeading: () => this.lead(provider, reconciler),
      onStoppedLeading: (why) => this.unlead(why === 'lost'),
      onError: (e) => log.warn({ err: String((e as Error)?.message ?? e) }, 'leader election error'),
    });
    this.elector.start();
  }

  /** Stops leading (handing back the Lease when there is one) and waits for the work in flight. */
  async stop(): Promise<void> {
    if (this.elector) await this.elector.stop();
    else await this.unlead(false);
  }

  private async lead(provider: Provider, reconciler: Reconciler): Promise<void> {
    if (this.leading) return;
    const { config, metrics, log, caches, index } = this.o;
    this.leading = true;
    const generation = ++this.generation;
    metrics.leader.set({ identity: config.identity }, 1);
    log.info({ identity: config.identity }, 'leading');
    this.workQueue = new WorkQueue<string>({
      worker: (key, work) => reconciler.reconcile(key, work),
      concurrency: config.concurrency,
      baseDelayMs: config.backoffBaseSeconds * 1000,
      maxDelayMs: config.backoffMaxSeconds * 1000,
      onMetrics: queueMetricsHooks(metrics),
    });
    const leadership = new AbortController();
    this.leadership = leadership;
    // Once per process: a provider keeps its watches across leadership changes.
    if (!(await this.startProvider(provider, generation, leadership.signal))) return; // leadership ended first
    await collectOrphans(
      { provider, view: caches.view, metrics, log, providerCallTimeoutSeconds: config.providerCallTimeoutSeconds },
      leadership.signal,
    );
    if (generation !== this.generation) return;
    this.o.nodeSet.remember();
    this.o.enqueueAll();
    this.workQueue.start();
    if (config.resyncSeconds > 0) {
      this.resyncTimer = setInterval(() => this.o.enqueueAll(), config.resyncSeconds * 1000);
      this.resyncTimer.unref();
    }
    this.prober = createNodeHealthProber({
      settings: config.health,
      nodes: () => caches.nodes.list(),
      localServices: () =>
        caches.services
          .list()
          .filter((svc) => svc.spec?.externalTrafficPolicy === 'Local' && index.has(serviceKey(svc))),
      metrics,
      events: this.o.events,
      log,
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
      this.providerStarted ??= Promise.resolve(provider.start?.({ signal: this.o.lifetime })).catch((e) => {
        this.providerStarted = undefined;
        throw e;
      });
      try {
        await this.providerStarted;
        return generation === this.generation;
      } catch (error) {
        if (generation !== this.generation || signal.aborted) return false;
        this.o.metrics.providerCallsTotal.inc({ provider: provider.name, operation: 'start', result: 'error' });
        this.o.log.warn(
          { err: String((error as Error)?.message ?? error), retryInMs: delayMs },
          'provider start failed',
        );
        // Wakes early when leadership ends (rejects on abort, which the check below turns into a return).
        await sleep(delayMs, undefined, { signal }).catch(() => {});
        if (generation !== this.generation || signal.aborted) return false;
      }
    }
  }

  private async unlead(lost: boolean): Promise<void> {
    if (!this.leading) return;
    const { config, metrics, log } = this.o;
    this.leading = false;
    this.generation++;
    metrics.leader.set({ identity: config.identity }, 0);
    this.leadership?.abort(new Error('leadership ended'));
    clearInterval(this.resyncTimer);
    const queue = this.workQueue;
    this.workQueue = undefined;
    await Promise.all([queue?.shutdown(), this.prober?.stop()]);
    this.prober = undefined;
    log.info({ identity: config.identity, lost }, 'stopped leading');
    if (lost) this.o.onLostLeadership?.();
  }
}
