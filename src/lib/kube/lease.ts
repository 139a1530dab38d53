// Leader election on a coordination.k8s.io Lease, following client-go's leaderelection semantics:
// - a candidate takes the Lease when it is unheld or its holder has not renewed for leaseDuration, measured on
//   OUR clock from when we last saw the record change (so clock skew between replicas does not matter);
// - the leader renews every retryPeriod and gives up leadership if it cannot renew within renewDeadline;
// - every write carries the resourceVersion we read, so two candidates can never both win one round;
// - release() on graceful shutdown empties the holder so a standby takes over at its next retry.
import type { V1Lease } from '@kubernetes/client-node';
import type { KubeClient } from './api/client.ts';
import { statusCodeOf } from './api/errors.ts';
import { resourcePath } from './api/paths.ts';

/**
 * Lease times are MicroTime (`2006-01-02T15:04:05.000000Z`): the apiserver rejects the millisecond form a Date
 * serializes to. We send the string in the right shape (typed as the Date client-node's model declares).
 */
export function microTime(date: Date): Date {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  /** 'lost': another replica holds it or we could not renew in time; 'released': we handed it back in stop(). */
  onStoppedLeading: (why: 'lost' | 'released') => void | Promise<void>;
  onError?: (error: unknown) => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onError'>> & Pick<LeaderElectionOptions, 'onError'>;
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** The current acquire/renew round (it never rejects). */
  private inflight: Promise<void> | undefined;
  private lastRenewed = 0;
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(options: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs)
      throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.inflight = this.tick();
  }

  /**
   * Stops campaigning; if leading, stops the work and then hands the Lease back so another replica can take over
   * at once. A round in flight lands first: its renew would make the release's write conflict (and the Lease
   * stay ours until it expired). The work stops before the release so that a standby never starts while we
   * still write (client-go's ReleaseOnCancel asks the same of its callers).
   */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inflight;
    if (!this.leading) return;
    await this.setLeading(false, 'released');
    await this.release().catch((e) => this.o.onError?.(e));
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenewed = Date.now();
        await this.setLeading(true);
      } else if (this.leading) {
        await this.setLeading(false); // someone else holds it now
      }
    } catch (error) {
      this.o.onError?.(error);
      if (this.leading && Date.now() - this.lastRenewed > this.o.renewDeadlineMs) await this.setLeading(false);
    }
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inflight = this.tick();
    }, this.o.retryPeriodMs);
  }

  private async setLeading(leading: boolean, why: 'lost' | 'released' = 'lost'): Promise<void> {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) {
      // Not awaited: starting up may take longer than the lease (e.g. waiting for caches), and renewals must go
      // on meanwhile or a standby takes over while we are still starting (client-go runs it in a goroutine).
      void Promise.resolve()
        .then(() => this.o.onStartedLeading())
        .catch((e) => this.o.onError?.(e));
      return;
    }
    await this.o.onStoppedLeading(why);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await client.get<V1Lease>(leasePath(namespace, name));
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      try {
        await client.create(leasePath(namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: this.spec(now, now, 0),
        });
        return true;
      } catch (createError) {
        if (statusCodeOf(createError) === 409) return false; // another replica created it first
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.o.leaseDurationMs / 1000)) * 1000;
    const expired = holder === '' || this.observed.at + durationMs < Date.now();
    if (holder !== identity && !expired) return false;

    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    const acquired = holder === identity && spec.acquireTime ? new Date(spec.acquireTime) : now;
    try {
      await client.replace(leasePath(namespace, name), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
        spec: this.spec(acquired, now, transitions),
      });
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409) return false; // lost the race this round
      throw error;
    }
  }

  private spec(acquireTime: Date, renewTime: Date, leaseTransitions: number): V1Lease['spec'] {
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(acquireTime),
      renewTime: microTime(renewTime),
      leaseTransitions,
    };
  }

  private async release(): Promise<void> {
    const { client, namespace, name, identity } = this.o;
    const lease = await client.get<V1Lease>(leasePath(namespace, name));
    if (lease.spec?.holderIdentity !== identity) return;
    await client.replace(leasePath(namespace, name), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
      spec: {
        ...lease.spec,
        acquireTime: lease.spec?.acquireTime ? microTime(new Date(lease.spec.acquireTime)) : undefined,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()),
      },
    });
  }
}

const leasePath = (namespace: string, name?: string) =>
  resourcePath({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace, name });
