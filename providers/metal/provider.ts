// The `metal` provider: an address from an AddressPool for every LoadBalancer Service (MetalLB-style).
// Allocation lives in memory and is rebuilt at start from the addresses Services already show in their status
// (observe.ts), so a restart never hands one address to two Services. Announcing (ARP/NDP) is the speaker's job;
// this side only decides addresses, so it makes no network call and ignores the nodes.
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type IpFamily,
  identityKey,
  type LoadBalancerIdentity,
  type LoadBalancerSpec,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryAfterError,
} from '../../src/contract/provider.ts';
import { serviceRef } from '../../src/lib/service/keys.ts';
import { AnnotationReason, checkMetalService, type MetalOptions } from './annotations.ts';
import { assignAddresses } from './apply.ts';
import { BgpWatch } from './bgp/watch.ts';
import type { MetalConfig } from './index.ts';
import { AddressAllocator } from './ipam/allocator.ts';
import { describeHolder, ForeignAddresses, restoreFromStatuses } from './observe.ts';
import { planAddresses } from './plan.ts';
import { PoolWatch } from './pools/watch.ts';
import { releaseAddresses } from './teardown.ts';
import { PoolGauges } from './usage.ts';

export { MetalEventReason } from './apply.ts';

const FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];

export class MetalProvider implements Provider<MetalOptions> {
  readonly name = 'metal';
  private readonly ctx: ProviderContext;
  private readonly config: MetalConfig;
  private readonly allocator = new AddressAllocator([], { describeHolder });
  private readonly pools: PoolWatch;
  /** Only reports mistakes in the BGP objects (Warning Events): announcing is the speakers' job. */
  private readonly bgp: BgpWatch;
  /** Services whose last assign failed: they are retried as soon as pools change or an address frees. */
  private readonly waiting = new Set<string>();
  private readonly identities = new Map<string, LoadBalancerIdentity>();
  private readonly foreign = new ForeignAddresses(this.allocator);
  private readonly gauges: PoolGauges;
  private unsubscribe: (() => void) | undefined;

  constructor(context: ProviderContext, config: MetalConfig) {
    this.ctx = context;
    this.config = config;
    this.gauges = new PoolGauges(context.metrics);
    this.bgp = new BgpWatch({ kubeConfig: context.kube, events: context.events, log: context.log });
    this.pools = new PoolWatch({
      kubeConfig: context.kube,
      events: context.events,
      log: context.log,
      onPools: (pools) => {
        this.allocator.setPools(pools);
        this.bgp.setPools(pools.map((pool) => pool.name));
        this.gauges.report(this.allocator);
        // Pools grew, shrank or changed rules: every Service of ours re-validates its address.
        context.requeue(context.services.keys(), 'address pools changed');
      },
    });
  }

  checkService(service: Readonly<V1Service>) {
    return checkMetalService(service);
  }

  async start(_options: CallOptions): Promise<void> {
    this.bgp.start();
    await this.pools.start(this.config.poolSyncTimeoutSeconds * 1000);
    for (const identity of restoreFromStatuses(this.ctx, this.allocator)) {
      this.identities.set(identityKey(identity), identity);
    }
    this.gauges.report(this.allocator);
    // From here on, foreign addresses are tracked one Service change at a time (never a scan per ensure).
    this.unsubscribe = this.ctx.services.subscribe(
      (change) => {
        // Like a release of our own: a Service waiting for that address (AddressInUse) gets another try now.
        if (this.foreign.track(change) && this.waiting.size > 0) {
          this.ctx.requeue([...this.waiting], 'foreign address released');
        }
      },
      { replay: true },
    );
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([this.pools.stop(), this.bgp.stop()]);
  }

  async ensure(spec: Readonly<LoadBalancerSpec<MetalOptions>>, _options: CallOptions): Promise<EnsureResult> {
    if (!this.pools.synced) {
      throw new RetryAfterError(
        'PoolsNotLoaded',
        'AddressPools are not loaded yet (is the AddressPool CRD installed?)',
        10,
      );
    }
    const key = identityKey(spec.identity);
    const applied = assignAddresses(this.allocator, this.ctx.events, key, spec);
    if (!applied.ok) {
      this.waiting.add(key);
      this.gauges.report(this.allocator);
      throw applied.error;
    }
    this.waiting.delete(key);
    this.identities.set(key, spec.identity);
    if (applied.changed) {
      this.gauges.report(this.allocator);
      // Said with each new address, not at every resync: served, but the annotation was not read.
      for (const annotation of spec.providerOptions.ignored) {
        this.ctx.events.record(
          serviceRef(spec.identity),
          'Warning',
          AnnotationReason.ignored,
          `${annotation} is MetalLB's and Drawbridge does not read it (docs/migrate-from-metallb.md): remove it`,
        );
      }
    }
    return { status: { ingress: applied.ingress }, changed: applied.changed };
  }

  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, _options: CallOptions): Promise<ChangeResult> {
    const key = identityKey(identity);
    this.identities.delete(key);
    this.waiting.delete(key);
    return { changed: releaseAddresses(this.ctx, this.allocator, this.gauges, key, this.waiting) };
  }

  async get(identity: Readonly<LoadBalancerIdentity>): Promise<ObservedLoadBalancer | null> {
    const key = identityKey(identity);
    const ips = FAMILIES.flatMap((f) => this.allocator.allocationOf(key, f)?.ip ?? []);
    if (ips.length === 0) return null;
    return { identity: { ...identity }, status: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' as const })) } };
  }

  async plan(spec: Readonly<LoadBalancerSpec<MetalOptions>>): Promise<PlannedAction[]> {
    return planAddresses(this.allocator, identityKey(spec.identity), spec);
  }

  async listOwned(): Promise<LoadBalancerIdentity[]> {
    return [...this.identities.values()];
  }

  /** One entry per address in use in each pool (what the conformance suite compares before and after). */
  heldAddresses(): string[] {
    return this.allocator.usage().flatMap(({ pool, used }) => Array.from({ length: used }, (_, i) => `${pool}#${i}`));
  }
}
