// reconcile(namespace/name): one code path for create, update and delete. It reads the world (the informer
// caches), never the event that queued it, decides (src/lib/service/ownership.ts), then takes one path:
//   serve    -> serve.ts: validation, finalizer on, ensure or updateHosts, status, Events
//   cleanUp  -> cleanup.ts: ensureDeleted -> clear status -> finalizer off (only after success)
//   retain   -> retain.ts: nothing written; a Service we provisioned but no longer serve because of a flag change
//   (gone)   -> cleanup.ts forgetVanished: release what this process provisioned for it
// The Service writes themselves are in service-writes.ts. Every provider call gets an AbortSignal: aborted on
// shutdown or leadership loss (the queue's) and when the Service is deleted mid-flight (abort()). After an abort
// nothing more is written.
import type { V1Service } from '@kubernetes/client-node';
import { ProviderError } from '../../contract/provider.ts';
import type { LoadBalancerIdentity, LoadBalancerSpec, SpecProblem } from '../../contract/spec.ts';
import { forService, type Logger } from '../../lib/observe/logging.ts';
import { serviceRefOf } from '../../lib/service/keys.ts';
import { decideOwnership, type Ownership, type OwnershipDecision } from '../../lib/service/ownership.ts';
import type { OwnWrites } from './changes.ts';
import { forgetVanished, teardown } from './cleanup.ts';
import { failureChanged } from './failure-log.ts';
import { outcomeOf } from './outcome.ts';
import { callProvider, countChange } from './provider-call.ts';
import type { Outcome } from './queue.ts';
import { EventReason, type ReconcileResult } from './reasons.ts';
import type { Applied, ReconcileContext, ReconcileDeps } from './reconcile-deps.ts';
import { RetainedServices } from './retain.ts';
import { desiredOf, serve } from './serve.ts';
import { hasFinalizer, ServiceWrites } from './service-writes.ts';
import { currentIngress } from './status.ts';

/** What this controller does with a Service; see decide(). */
export type Decision = OwnershipDecision;

export class Reconciler {
  private readonly inFlight = new Map<string, AbortController>();
  /** Keys whose in-flight reconcile is a teardown: deletion needs it to finish, so abort() leaves it alone. */
  private readonly tearingDown = new Set<string>();
  private readonly retained: RetainedServices;
  /** What we last wrote to each Service, so the update filter can tell our own writes' echoes (changes.ts). */
  private readonly writes: ServiceWrites;
  private readonly context: ReconcileContext;
  private readonly deps: ReconcileDeps;

  constructor(deps: ReconcileDeps) {
    this.deps = deps;
    this.retained = new RetainedServices(deps.metrics, deps.events);
    this.writes = new ServiceWrites(deps.writer, deps.metrics);
    this.context = {
      deps,
      applied: new Map<string, Applied>(),
      provisioned: new Map<string, LoadBalancerIdentity>(),
      writes: this.writes,
      failures: new Map(),
      call: async (operation, signal, fn) => {
        const name = deps.provider.name;
        const timeoutMs = (deps.config.providerCallTimeoutSeconds ?? 0) * 1000;
        const result = await callProvider(deps.metrics, name, operation, signal, fn, timeoutMs);
        countChange(deps.metrics, name, operation, result.changed);
        return result;
      },
    };
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
    return this.writes.ownWrites(key);
  }

  /** The Service is gone or no longer ours: nothing of ours to recognise any more. */
  forgetWrites(key: string): void {
    this.writes.forget(key);
  }

  /**
   * Aborts the ensure running for `key`, if any (the Service is being deleted under it). A teardown is left to
   * finish: it is what the deletion needs, and its own finalizer removal is what sends the Service's delete event
   * (aborting it would cost an Error per deleted Service: 6% of the metal burst's CPU profile when it did).
   */
  abort(key: string, why: string): void {
    if (this.tearingDown.has(key)) return;
    this.inFlight.get(key)?.abort(new Error(why));
  }

  /**
   * The Service's desired load balancer, or every problem with it (the core's and the provider's): exactly what
   * the serve path acts on. `drawbridge plan` asks the same question.
   */
  desired(svc: V1Service): { ok: true; spec: LoadBalancerSpec } | { ok: false; problems: SpecProblem[] } {
    return desiredOf(this.deps, svc);
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
      if (result !== 'invalid') this.context.failures.delete(key);
      return { kind: 'done' };
    } catch (error) {
      if (signal.aborted) {
        // Shutdown, lost leadership, or the Service is being deleted: whoever aborted us requeues if needed.
        result = 'aborted';
        log.info({ why: String((signal.reason as Error)?.message ?? signal.reason) }, 'reconcile aborted');
        return { kind: 'done' };
      }
      const svc = this.lookup(key);
      const err = describeError(error);
      // A terminal failure repeats unchanged at every recheck until someone acts: said once per change.
      const terminal = error instanceof ProviderError && error.disposition === 'terminal';
      if (!terminal) this.context.failures.delete(key);
      if (!terminal || failureChanged(this.context.failures, key, svc, err)) log.warn({ err }, 'reconcile failed');
      else log.debug({ err }, 'reconcile failed');
      if (svc) await this.warnFailure(svc, error);
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
    if (!svc) {
      this.retained.release(key);
      return forgetVanished(this.context, key, signal);
    }
    const decision = this.decide(svc);
    if (decision !== 'retain') this.retained.release(key);
    switch (decision) {
      case 'serve':
        return serve(this.context, key, svc, log, signal);
      case 'cleanUp':
        this.tearingDown.add(key);
        try {
          return await teardown(this.context, key, svc, log, signal);
        } finally {
          this.tearingDown.delete(key);
        }
      case 'retain':
        return this.retained.keep(key, svc, log);
      case 'ignore':
        this.context.applied.delete(key);
        this.writes.forget(key);
        return 'ignored';
    }
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

  private lookup(key: string): V1Service | undefined {
    const [namespace = '', name = ''] = key.split('/');
    return this.deps.view.service(namespace, name);
  }

  private ownership(): Ownership {
    return { loadBalancerClass: this.deps.config.loadBalancerClass, ownClassless: this.deps.config.ownClassless };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
