// reconcile(namespace/name): one code path for create, update and delete. It reads the world (the informer
// caches), never the event that queued it, decides, then writes once:
//   wants a load balancer -> build + validate the spec (invalid: Warning Events, no provider call)
//                         -> finalizer on (before any provider call) -> ensure or updateHosts -> status if changed
//   does not, but carries our finalizer -> ensureDeleted -> clear status -> finalizer off (only after success)
import { createHash } from 'node:crypto';
import type { CoreV1Api, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Provider } from '../../providers/provider.ts';
import { ProviderError } from '../../providers/provider.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION } from '../desired/annotations.ts';
import { buildSpec, endpointNodesFromSlices, wantsLoadBalancer } from '../desired/build.ts';
import type { LoadBalancerIdentity } from '../desired/types.ts';
import type { EventRecorder, EventTarget } from '../kube/events.ts';
import { patchServiceFinalizers, patchServiceIngress, statusCodeOf } from '../kube/patch.ts';
import { eligibleNodes } from '../nodes/eligibility.ts';
import { forService, type Logger } from '../observe/logging.ts';
import type { Metrics } from '../observe/metrics.ts';
import { timeProviderCall } from '../observe/metrics.ts';
import type { ControllerConfig } from './config.ts';
import { outcomeOf } from './outcome.ts';
import type { Outcome } from './queue.ts';
import { EventReason, type ReconcileOutcome } from './reasons.ts';
import { currentIngress, describeIngress, ingressEqual, toIngress } from './status.ts';

/** Read-only views of the informer caches. */
export interface ClusterView {
  service(namespace: string, name: string): V1Service | undefined;
  nodes(): readonly V1Node[];
  endpointSlices(namespace: string, serviceName: string): readonly V1EndpointSlice[];
}

export interface ReconcileDeps {
  config: ControllerConfig;
  provider: Provider;
  core: CoreV1Api;
  events: EventRecorder;
  log: Logger;
  metrics: Metrics;
  view: ClusterView;
}

/** What we last converged for a Service: lets a resync with no change skip events and status writes. */
interface Applied {
  identity: LoadBalancerIdentity;
  specHash: string;
  hostsHash: string;
}

export class Reconciler {
  private readonly applied = new Map<string, Applied>();
  private readonly deps: ReconcileDeps;

  constructor(deps: ReconcileDeps) {
    this.deps = deps;
  }

  /** Whether the Service is one this controller serves or must clean up. */
  isOurs(svc: V1Service): boolean {
    return wantsLoadBalancer(svc, this.ownership()) || this.mustCleanUp(svc);
  }

  /**
   * Carries the (shared) Drawbridge finalizer for OUR class. The owner annotation decides; without it (written
   * by hand, or by an older version) the Service's class does, and a class-less one is ours only with ownClassless.
   */
  private mustCleanUp(svc: V1Service): boolean {
    if (!hasFinalizer(svc)) return false;
    const owner = svc.metadata?.annotations?.[OWNER_CLASS_ANNOTATION];
    if (owner !== undefined) return owner === this.deps.config.loadBalancerClass;
    const cls = svc.spec?.loadBalancerClass;
    return cls ? cls === this.deps.config.loadBalancerClass : this.deps.config.ownClassless;
  }

  /** Never provisioned, or being torn down: these go ahead of periodic resyncs. */
  isUrgent(svc: V1Service | undefined): boolean {
    if (!svc) return true;
    return Boolean(svc.metadata?.deletionTimestamp) || !hasFinalizer(svc) || currentIngress(svc).length === 0;
  }

  async reconcile(key: string): Promise<Outcome> {
    const { metrics, config } = this.deps;
    // Every line logged for this reconcile carries `service: <key>`.
    const log = forService(this.deps.log, key);
    const stop = metrics.reconcileDuration.startTimer({ provider: config.provider });
    const startedAt = performance.now();
    let outcome: ReconcileOutcome = 'error';
    try {
      outcome = await this.converge(key, log);
      return { kind: 'done' };
    } catch (error) {
      const svc = this.lookup(key);
      log.warn({ err: describeError(error) }, 'reconcile failed');
      if (svc) await this.warnFailure(svc, error);
      if (statusCodeOf(error) === 409) return { kind: 'retryAfter', seconds: 1 }; // stale read: retry promptly
      return outcomeOf(error);
    } finally {
      stop({ outcome });
      metrics.reconcileTotal.inc({ provider: config.provider, outcome });
      log.debug({ outcome, ms: Math.round(performance.now() - startedAt) }, 'reconciled');
    }
  }

  private async converge(key: string, log: Logger): Promise<ReconcileOutcome> {
    const svc = this.lookup(key);
    if (!svc) return this.forgetVanished(key);
    if (wantsLoadBalancer(svc, this.ownership())) return this.ensure(key, svc, log);
    if (this.mustCleanUp(svc)) return this.teardown(key, svc, log);
    this.applied.delete(key);
    return 'ignored';
  }

  private async ensure(key: string, svc: V1Service, log: Logger): Promise<ReconcileOutcome> {
    const { view, config, provider, events } = this.deps;
    const meta = svc.metadata ?? {};
    const built = buildSpec({
      service: svc,
      nodes: eligibleNodes([...view.nodes()]),
      endpointNodes: endpointNodesFromSlices([...view.endpointSlices(meta.namespace ?? '', meta.name ?? '')]),
      clusterName: config.clusterName,
      loadBalancerClass: config.loadBalancerClass,
    });
    if (!built.ok) {
      for (const p of built.problems) await events.record(target(svc), 'Warning', p.reason, `${p.path}: ${p.message}`);
      log.info({ problems: built.problems }, 'invalid Service: no load balancer change');
      return 'invalid';
    }
    const spec = built.spec;
    const specHash = hashOf({ ...spec, nodes: [], endpointNodes: [], currentAddresses: [] });
    const hostsHash = hashOf([spec.nodes, spec.endpointNodes]);
    const before = this.applied.get(key);

    // Finalizer first: from here on a provider may create something, and deletion must come back to us.
    let current = svc;
    if (!hasFinalizer(svc) || meta.annotations?.[OWNER_CLASS_ANNOTATION] !== config.loadBalancerClass) {
      const finalizers = [...new Set([...(meta.finalizers ?? []), LOAD_BALANCER_CLEANUP_FINALIZER])];
      const owner = { [OWNER_CLASS_ANNOTATION]: config.loadBalancerClass };
      current = await patchServiceFinalizers(this.deps.core, svc, finalizers, owner);
    }

    if (before && before.specHash === specHash && before.hostsHash !== hostsHash) {
      await this.call('updateHosts', () => provider.updateHosts(spec));
      this.applied.set(key, { identity: spec.identity, specHash, hostsHash });
      await events.record(
        target(svc),
        'Normal',
        EventReason.UpdatedLoadBalancer,
        `Updated load balancer with ${spec.nodes.length} node(s)`,
      );
      return 'hosts-updated';
    }

    // Without a memory of this Service (first sight since start or takeover), one that is already provisioned is
    // not "changing": converging it quietly keeps a restart from repeating Events for every Service.
    const changing = before ? before.specHash !== specHash : currentIngress(svc).length === 0;
    if (changing) {
      await events.record(target(svc), 'Normal', EventReason.EnsuringLoadBalancer, 'Ensuring load balancer');
      if (spec.nodes.length === 0) {
        await events.record(
          target(svc),
          'Warning',
          EventReason.UnAvailableLoadBalancer,
          'There are no available nodes for LoadBalancer',
        );
      }
    }
    const status = await this.call('ensure', () => provider.ensure(spec));
    const ingress = toIngress(status);
    const statusChanged = !ingressEqual(currentIngress(current), ingress);
    if (statusChanged) await patchServiceIngress(this.deps.core, current, ingress);
    this.applied.set(key, { identity: spec.identity, specHash, hostsHash });
    if (changing || statusChanged) {
      await events.record(
        target(svc),
        'Normal',
        EventReason.EnsuredLoadBalancer,
        `Ensured load balancer: ${describeIngress(ingress)}`,
      );
      log.info({ ingress: describeIngress(ingress) }, 'ensured load balancer');
      return 'ensured';
    }
    return 'unchanged';
  }

  private async teardown(key: string, svc: V1Service, log: Logger): Promise<ReconcileOutcome> {
    const { provider, events, core } = this.deps;
    const identity = identityOf(svc, this.deps.config.clusterName);
    await events.record(target(svc), 'Normal', EventReason.DeletingLoadBalancer, 'Deleting load balancer');
    await this.call('ensureDeleted', () => provider.ensureDeleted(identity));
    // A Service that is going away takes its status with it; one that merely stopped being ours is left clean.
    if (!svc.metadata?.deletionTimestamp && currentIngress(svc).length > 0) await patchServiceIngress(core, svc, []);
    const remaining = (svc.metadata?.finalizers ?? []).filter((f) => f !== LOAD_BALANCER_CLEANUP_FINALIZER);
    try {
      await patchServiceFinalizers(core, svc, remaining, { [OWNER_CLASS_ANNOTATION]: null });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error; // already gone: nothing left to release
    }
    this.applied.delete(key);
    await events.record(target(svc), 'Normal', EventReason.DeletedLoadBalancer, 'Deleted load balancer');
    log.info('deleted load balancer');
    return 'deleted';
  }

  /** The Service object is gone entirely (it never had our finalizer, or it was removed by hand). */
  private async forgetVanished(key: string): Promise<ReconcileOutcome> {
    const before = this.applied.get(key);
    if (!before) return 'ignored';
    await this.call('ensureDeleted', () => this.deps.provider.ensureDeleted(before.identity));
    this.applied.delete(key);
    return 'deleted';
  }

  private async warnFailure(svc: V1Service, error: unknown): Promise<void> {
    const deleting = !wantsLoadBalancer(svc, this.ownership());
    const reason =
      error instanceof ProviderError && error.disposition === 'terminal'
        ? error.reason
        : deleting
          ? EventReason.DeleteLoadBalancerFailed
          : EventReason.SyncLoadBalancerFailed;
    await this.deps.events.record(target(svc), 'Warning', reason, describeError(error));
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return timeProviderCall(this.deps.metrics, this.deps.provider.name, operation, fn);
  }

  private lookup(key: string): V1Service | undefined {
    const [namespace = '', name = ''] = key.split('/');
    return this.deps.view.service(namespace, name);
  }

  private ownership() {
    return { classes: [this.deps.config.loadBalancerClass], ownClassless: this.deps.config.ownClassless };
  }
}

export function hasFinalizer(svc: V1Service): boolean {
  return svc.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
}

export function identityOf(svc: V1Service, clusterName: string): LoadBalancerIdentity {
  const m = svc.metadata ?? {};
  return { clusterName, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
}

export { serviceKey } from '../desired/keys.ts';

function target(svc: V1Service): EventTarget {
  const m = svc.metadata ?? {};
  return { kind: 'Service', apiVersion: 'v1', name: m.name ?? '', namespace: m.namespace, uid: m.uid };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
