// reconcile(namespace/name): one code path for create, update and delete. It reads the world (the informer
// caches), never the event that queued it, decides, then writes once:
//   serve    -> core + provider validation (invalid: Warning Events, no provider call)
//            -> finalizer on (before any provider call) -> ensure, or updateHosts when only nodes changed
//            -> status if it changed; Events only for real changes
//   cleanUp  -> ensureDeleted -> clear status -> finalizer off (only after success)
//   retain   -> nothing: a Service we provisioned but no longer serve because of a flag change (see decide())
// Every provider call gets an AbortSignal: aborted on shutdown or leadership loss (the queue's) and when the
// Service is deleted mid-flight (abort()). After an abort nothing more is written.
import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import { type EventPort, LoadBalancerNotFoundError, type Provider, ProviderError } from '../../contract/provider.ts';
import type { LoadBalancerIdentity, LoadBalancerSpec, SpecProblem } from '../../contract/spec.ts';
import type { ObjectRef } from '../../lib/kube/events.ts';
import { statusCodeOf } from '../../lib/kube/patch.ts';
import { forService, type Logger } from '../../lib/observe/logging.ts';
import {
  LOAD_BALANCER_CLEANUP_FINALIZER,
  OWNER_CLASS_ANNOTATION,
  RELEASE_ANNOTATION,
} from '../../lib/service/annotations.ts';
import { eligibleNodes } from '../../lib/service/eligibility.ts';
import { serviceRefOf } from '../../lib/service/keys.ts';
import { decideOwnership, type Ownership, type OwnershipDecision } from '../../lib/service/ownership.ts';
import { buildSpec, endpointNodesFromSlices } from '../desired/build.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import { marksOf, type OwnWrites } from './changes.ts';
import { outcomeOf } from './outcome.ts';
import { callProvider, countChange } from './provider-call.ts';
import type { Outcome } from './queue.ts';
import { EventReason, type ReconcileResult } from './reasons.ts';
import { currentIngress, describeIngress, ingressEqual, ingressKey, toIngress } from './status.ts';

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

/** What this controller does with a Service; see decide(). */
export type Decision = OwnershipDecision;

/** What we last converged for a Service: lets a resync with no change skip provider writes, events and status. */
interface Applied {
  identity: LoadBalancerIdentity;
  specHash: string;
  hostsHash: string;
}

/** An ensure still running after this long on a Service with no address yet records EnsuringLoadBalancer. */
export const ENSURING_EVENT_AFTER_MS = 1000;

export class Reconciler {
  private readonly applied = new Map<string, Applied>();
  /**
   * Every Service this process has asked the provider to ensure and not torn down since: the provider may hold
   * state for it even when the reconcile never got as far as `applied` (its status write failed, or it was
   * aborted). Set before the provider call, so a Service that vanishes at any point after it is still cleaned
   * up: the apiserver can delete a Service that carries our finalizer when the delete races the finalizer write
   * (kubernetes/kubernetes#77988, still open in the v1.33 apiserver the tests run).
   */
  private readonly provisioned = new Map<string, LoadBalancerIdentity>();
  private readonly inFlight = new Map<string, AbortController>();
  /** Keys whose in-flight reconcile is a teardown: deletion needs it to finish, so abort() leaves it alone. */
  private readonly tearingDown = new Set<string>();
  private readonly retained = new Set<string>();
  /** What we last wrote to each Service, so the update filter can tell our own writes' echoes (changes.ts). */
  private readonly written = new Map<string, OwnWrites>();
  private readonly deps: ReconcileDeps;

  constructor(deps: ReconcileDeps) {
    this.deps = deps;
  }

  /** Whether the Service is one this controller serves, must clean up, or keeps. */
  owns(svc: V1Service): boolean {
    return this.decide(svc) !== 'ignore';
  }

  /** What to do with the Service: the one answer to "is this Service ours?" (src/lib/service/ownership.ts). */
  decide(svc: V1Service): Decision {
    return decideOwnership(svc, this.ownership());
  }

  /** Never provisioned, or being torn down: these go ahead of periodic resyncs. */
  isUrgent(svc: V1Service | undefined): boolean {
    if (!svc) return true;
    return Boolean(svc.metadata?.deletionTimestamp) || !hasFinalizer(svc) || currentIngress(svc).length === 0;
  }

  /** What reconcile last wrote, or found already right, for `key`'s finalizer, owner annotation and status. */
  ownWrites(key: string): OwnWrites | undefined {
    return this.written.get(key);
  }

  /** The Service is gone or no longer ours: nothing of ours to recognise any more. */
  forgetWrites(key: string): void {
    this.written.delete(key);
  }

  /**
   * Aborts the ensure running for `key`, if any (the Service is being deleted under it). A teardown is left to
   * finish: it is what the deletion needs, and its own finalizer removal is what sends the Service's delete event
   * (aborting it then cost an Error per deleted Service: 6% of the metal burst's CPU profile).
   */
  abort(key: string, why: string): void {
    if (this.tearingDown.has(key)) return;
    this.inFlight.get(key)?.abort(new Error(why));
  }

  async reconcile(key: string, work: { signal?: AbortSignal } = {}): Promise<Outcome> {
    const { metrics, config } = this.deps;
    // Every line logged for this reconcile carries `service: <key>`.
    const log = forService(this.deps.log, key);
    const stop = metrics.reconcileDuration.startTimer({ provider: config.provider });
    const startedAt = performance.now();
    const own = new AbortController();
    this.inFlight.set(key, own);
    const signal = work.signal ? AbortSignal.any([work.signal, own.signal]) : own.signal;
    let result: ReconcileResult = 'error';
    try {
      result = await this.converge(key, log, signal);
      return { kind: 'done' };
    } catch (error) {
      if (signal.aborted) {
        // Shutdown, lost leadership, or the Service is being deleted: whoever aborted us requeues if needed.
        result = 'aborted';
        log.info({ why: String((signal.reason as Error)?.message ?? signal.reason) }, 'reconcile aborted');
        return { kind: 'done' };
      }
      const svc = this.lookup(key);
      log.warn({ err: describeError(error) }, 'reconcile failed');
      if (svc) await this.warnFailure(svc, error);
      if (statusCodeOf(error) === 409) return { kind: 'retryAfter', seconds: 1 }; // stale read: retry promptly
      return outcomeOf(error);
    } finally {
      if (this.inFlight.get(key) === own) this.inFlight.delete(key);
      stop({ outcome: result });
      metrics.reconcileTotal.inc({ provider: config.provider, outcome: result });
      log.debug({ outcome: result, ms: Math.round(performance.now() - startedAt) }, 'reconciled');
    }
  }

  private async converge(key: string, log: Logger, signal: AbortSignal): Promise<ReconcileResult> {
    const svc = this.lookup(key);
    if (!svc) return this.forgetVanished(key, signal);
    const decision = this.decide(svc);
    if (decision !== 'retain') this.setRetained(key, false);
    switch (decision) {
      case 'serve':
        return this.ensure(key, svc, log, signal);
      case 'cleanUp':
        this.tearingDown.add(key);
        try {
          return await this.teardown(key, svc, log, signal);
        } finally {
          this.tearingDown.delete(key);
        }
      case 'retain':
        return this.retain(key, svc, log);
      case 'ignore':
        this.applied.delete(key);
        this.written.delete(key);
        return 'ignored';
    }
  }

  /**
   * The Service's desired load balancer, or every problem with it (the core's and the provider's): exactly what
   * ensure acts on. `drawbridge plan` asks the same question.
   */
  desired(svc: V1Service): { ok: true; spec: LoadBalancerSpec } | { ok: false; problems: SpecProblem[] } {
    const { view, config, provider } = this.deps;
    const meta = svc.metadata ?? {};
    const check = provider.checkService(svc);
    const built = buildSpec({
      service: svc,
      nodes: eligibleNodes([...view.nodes()]),
      endpointNodes: endpointNodesFromSlices([...view.endpointSlices(meta.namespace ?? '', meta.name ?? '')]),
      clusterName: config.clusterName,
      loadBalancerClass: config.loadBalancerClass,
      providerOptions: check.options,
    });
    const problems = [...(built.ok ? [] : built.problems), ...check.problems];
    return built.ok && problems.length === 0 ? built : { ok: false, problems };
  }

  private async ensure(key: string, svc: V1Service, log: Logger, signal: AbortSignal): Promise<ReconcileResult> {
    const { config, provider, events } = this.deps;
    const meta = svc.metadata ?? {};
    const built = this.desired(svc);
    if (!built.ok) {
      for (const p of built.problems) events.record(serviceRefOf(svc), 'Warning', p.reason, `${p.path}: ${p.message}`);
      log.info({ problems: built.problems }, 'invalid Service: no load balancer change');
      return 'invalid';
    }
    const spec = built.spec;
    const specHash = hashOf({ ...spec, nodes: [], endpointNodes: [], currentAddresses: [] });
    const hostsHash = hashOf([spec.nodes, spec.endpointNodes]);
    const before = this.applied.get(key);

    // Finalizer first: from here on a provider may create something, and deletion must come back to us.
    let current = svc;
    // Recorded before the write goes out: its echo may come back through the informer before the write returns.
    this.wrote(key, { marks: marksOf(true, { [OWNER_CLASS_ANNOTATION]: config.loadBalancerClass }) });
    if (!hasFinalizer(svc) || meta.annotations?.[OWNER_CLASS_ANNOTATION] !== config.loadBalancerClass) {
      const finalizers = [...new Set([...(meta.finalizers ?? []), LOAD_BALANCER_CLEANUP_FINALIZER])];
      signal.throwIfAborted();
      current = await this.deps.writer.setFinalizers(svc, finalizers, {
        [OWNER_CLASS_ANNOTATION]: config.loadBalancerClass,
      });
      this.deps.metrics.serviceWrites.inc({ write: 'finalizer' });
    }

    let hostsOnly = before !== undefined && before.specHash === specHash && before.hostsHash !== hostsHash;
    this.provisioned.set(key, spec.identity);
    if (hostsOnly && provider.updateHosts) {
      const updated = await this.call('updateHosts', signal, (o) => provider.updateHosts!(spec, o)).catch(
        (error: unknown) => {
          // Gone behind our back (deleted in the cloud console): rebuilt below by ensure, as a creation is.
          if (!(error instanceof LoadBalancerNotFoundError)) throw error;
          log.warn({ reason: error.message }, 'load balancer missing on a node update: rebuilding it');
          hostsOnly = false;
          return null;
        },
      );
      if (updated) {
        this.applied.set(key, { identity: spec.identity, specHash, hostsHash });
        if (!updated.changed) return 'unchanged';
        return this.hostsUpdated(svc, spec.nodes.length);
      }
    }

    const provisioning = currentIngress(svc).length === 0;
    // "Ensuring" tells a user watching a slow cloud create that work is under way; an address handed out at once
    // (metal, a converged cloud load balancer) would only pay an extra Event write for it.
    const ensuring = provisioning
      ? setTimeout(
          () => events.record(serviceRefOf(svc), 'Normal', EventReason.EnsuringLoadBalancer, 'Ensuring load balancer'),
          ENSURING_EVENT_AFTER_MS,
        )
      : undefined;
    // Said once per change, not at every resync or restart.
    const nodesChanged = before !== undefined && before.hostsHash !== hostsHash;
    if (spec.nodes.length === 0 && (provisioning || nodesChanged)) {
      events.record(
        serviceRefOf(svc),
        'Warning',
        EventReason.UnAvailableLoadBalancer,
        'There are no available nodes for LoadBalancer',
      );
    }
    const ensured = await this.call('ensure', signal, (o) => provider.ensure(spec, o)).finally(() =>
      clearTimeout(ensuring),
    );
    signal.throwIfAborted(); // nothing half-written: an aborted reconcile publishes no status
    const ingress = toIngress(ensured.status);
    const statusChanged = !ingressEqual(currentIngress(current), ingress);
    this.wrote(key, { ingress: ingressKey(ingress) });
    if (statusChanged) {
      await this.deps.writer.setIngress(current, ingress);
      this.deps.metrics.serviceWrites.inc({ write: 'status' });
    }
    this.applied.set(key, { identity: spec.identity, specHash, hostsHash });
    if (!ensured.changed && !statusChanged) return 'unchanged';
    if (hostsOnly) {
      return this.hostsUpdated(svc, spec.nodes.length);
    }
    events.record(
      serviceRefOf(svc),
      'Normal',
      EventReason.EnsuredLoadBalancer,
      `Ensured load balancer: ${describeIngress(ingress)}`,
    );
    log.info({ ingress: describeIngress(ingress) }, 'ensured load balancer');
    return 'ensured';
  }

  private hostsUpdated(svc: V1Service, nodes: number): ReconcileResult {
    this.deps.events.record(
      serviceRefOf(svc),
      'Normal',
      EventReason.UpdatedLoadBalancer,
      `Updated load balancer with ${nodes} node(s)`,
    );
    return 'hosts-updated';
  }

  private async teardown(key: string, svc: V1Service, log: Logger, signal: AbortSignal): Promise<ReconcileResult> {
    const { provider, events, writer, metrics } = this.deps;
    const identity = identityOf(svc, this.deps.config.clusterName);
    events.record(serviceRefOf(svc), 'Normal', EventReason.DeletingLoadBalancer, 'Deleting load balancer');
    await this.call('ensureDeleted', signal, (o) => provider.ensureDeleted(identity, o));
    signal.throwIfAborted();
    // A Service that is going away takes its status with it; one that merely stopped being ours is left clean.
    if (!svc.metadata?.deletionTimestamp && currentIngress(svc).length > 0) {
      this.wrote(key, { ingress: ingressKey([]) });
      await writer.setIngress(svc, []);
      metrics.serviceWrites.inc({ write: 'status' });
    }
    const remaining = (svc.metadata?.finalizers ?? []).filter((f) => f !== LOAD_BALANCER_CLEANUP_FINALIZER);
    this.wrote(key, { marks: marksOf(false, {}) });
    try {
      await writer.setFinalizers(svc, remaining, { [OWNER_CLASS_ANNOTATION]: null });
      metrics.serviceWrites.inc({ write: 'finalizer' });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error; // already gone: nothing left to release
    }
    this.applied.delete(key);
    this.provisioned.delete(key);
    events.record(serviceRefOf(svc), 'Normal', EventReason.DeletedLoadBalancer, 'Deleted load balancer');
    // Going away: nothing will be aggregated into its Events again, so the recorder keeps nothing about it once they
    // are written (the informer's delete, which also forgets it, usually arrives before this Event is recorded).
    if (svc.metadata?.deletionTimestamp) events.forget(serviceRefOf(svc));
    log.info('deleted load balancer');
    return 'deleted';
  }

  private async retain(key: string, svc: V1Service, log: Logger): Promise<ReconcileResult> {
    if (this.setRetained(key, true)) {
      const message =
        'Not served: this controller runs without --own-classless, so it no longer serves class-less Services. ' +
        'The load balancer is kept as it is. To release it, annotate the Service ' +
        `${RELEASE_ANNOTATION}=true; to serve it again, restart the controller with --own-classless.`;
      log.warn('kept a class-less load balancer this controller no longer serves');
      this.deps.events.record(serviceRefOf(svc), 'Warning', EventReason.LoadBalancerRetained, message);
    }
    return 'retained';
  }

  private wrote(key: string, writes: OwnWrites): void {
    this.written.set(key, { ...this.written.get(key), ...writes });
  }

  /** Returns true when `key` newly became retained. */
  private setRetained(key: string, retained: boolean): boolean {
    const had = this.retained.has(key);
    if (retained) this.retained.add(key);
    else this.retained.delete(key);
    this.deps.metrics.retainedServices.set(this.retained.size);
    return retained && !had;
  }

  /**
   * The Service object is gone entirely without our teardown: it never had our finalizer, the finalizer was
   * removed by hand, or the apiserver deleted it while our finalizer write raced the user's delete (seen under
   * etcd outages). Whatever this process provisioned for it is released.
   */
  private async forgetVanished(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    this.setRetained(key, false);
    this.written.delete(key);
    const identity = this.provisioned.get(key);
    this.applied.delete(key);
    if (!identity) return 'ignored';
    await this.call('ensureDeleted', signal, (o) => this.deps.provider.ensureDeleted(identity, o));
    this.provisioned.delete(key);
    return 'deleted';
  }

  private async warnFailure(svc: V1Service, error: unknown): Promise<void> {
    const deleting = this.decide(svc) === 'cleanUp';
    const reason =
      error instanceof ProviderError && error.disposition === 'terminal'
        ? error.reason
        : deleting
          ? EventReason.DeleteLoadBalancerFailed
          : EventReason.SyncLoadBalancerFailed;
    this.deps.events.record(serviceRefOf(svc), 'Warning', reason, describeError(error));
  }

  private async call<T extends { changed: boolean }>(
    operation: 'ensure' | 'updateHosts' | 'ensureDeleted',
    signal: AbortSignal,
    fn: (options: { signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const name = this.deps.provider.name;
    const timeoutMs = (this.deps.config.providerCallTimeoutSeconds ?? 0) * 1000;
    const result = await callProvider(this.deps.metrics, name, operation, signal, fn, timeoutMs);
    countChange(this.deps.metrics, name, operation, result.changed);
    return result;
  }

  private lookup(key: string): V1Service | undefined {
    const [namespace = '', name = ''] = key.split('/');
    return this.deps.view.service(namespace, name);
  }

  private ownership(): Ownership {
    return { loadBalancerClass: this.deps.config.loadBalancerClass, ownClassless: this.deps.config.ownClassless };
  }
}

export function hasFinalizer(svc: V1Service): boolean {
  return svc.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
}

export function identityOf(svc: V1Service, clusterName: string): LoadBalancerIdentity {
  const m = svc.metadata ?? {};
  return { clusterName, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
}

/** The Service as the object its Events are recorded on. */

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
