// The `metal` provider: an address from an AddressPool for every LoadBalancer Service (MetalLB-style).
// Allocation lives in memory and is rebuilt at start from the addresses Services already show in their status,
// so a restart never hands one address to two Services. Announcing (ARP/NDP) is the speaker's job; this side
// only decides addresses, so it makes no network call and ignores the nodes.
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type GaugePort,
  type IpFamily,
  identityKey,
  type LoadBalancerIdentity,
  type LoadBalancerSpec,
  type LoadBalancerStatus,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryAfterError,
  type ServiceChange,
  TerminalError,
} from '../../src/contract/provider.ts';
import { serviceRef } from '../../src/lib/service/keys.ts';
import type { MetalConfig } from './index.ts';
import { AddressAllocator, type PortClaim } from './ipam/allocator.ts';
import { PoolWatch } from './pools/watch.ts';
import { checkMetalService, type MetalOptions } from './service.ts';

const FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];

export const MetalEventReason = {
  /** A Service's address moved because the pools changed under it (never silently). */
  LoadBalancerAddressChanged: 'LoadBalancerAddressChanged',
} as const;

export class MetalProvider implements Provider<MetalOptions> {
  readonly name = 'metal';
  private readonly ctx: ProviderContext;
  private readonly config: MetalConfig;
  private readonly allocator = new AddressAllocator();
  private readonly pools: PoolWatch;
  /** Services whose last assign failed: they are retried as soon as pools change or an address frees. */
  private readonly waiting = new Set<string>();
  private readonly identities = new Map<string, LoadBalancerIdentity>();
  /** Addresses shown by Services we do not own (another class, another controller), by Service key. */
  private readonly foreign = new Map<string, Set<string>>();
  private readonly poolTotal: GaugePort<'pool'>;
  private readonly poolUsed: GaugePort<'pool'>;
  private readonly reportedPools = new Set<string>();
  private unsubscribe: (() => void) | undefined;

  constructor(context: ProviderContext, config: MetalConfig) {
    this.ctx = context;
    this.config = config;
    this.poolTotal = context.metrics.gauge({
      name: 'pool_addresses_total',
      help: 'Assignable addresses in an address pool.',
      labelNames: ['pool'],
    });
    this.poolUsed = context.metrics.gauge({
      name: 'pool_addresses_used',
      help: 'Addresses of a pool assigned to Services.',
      labelNames: ['pool'],
    });
    this.pools = new PoolWatch({
      kubeConfig: context.kube,
      events: context.events,
      log: context.log,
      onPools: (pools) => {
        this.allocator.setPools(pools);
        this.reportUsage();
        // Pools grew, shrank or changed rules: every Service of ours re-validates its address.
        context.requeue(context.services.keys(), 'address pools changed');
      },
    });
  }

  checkService(service: Readonly<V1Service>) {
    return checkMetalService(service);
  }

  async start(_options: CallOptions): Promise<void> {
    await this.pools.start(this.config.poolSyncTimeoutSeconds * 1000);
    this.restoreFromStatuses();
    // From here on, foreign addresses are tracked one Service change at a time (never a scan per ensure).
    this.unsubscribe = this.ctx.services.subscribe((change) => this.trackForeign(change), { replay: true });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.pools.stop();
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
    const options = spec.providerOptions;
    const claim = claimOf(spec);
    const ingress: LoadBalancerStatus['ingress'] = [];
    let changed = false;
    for (const family of spec.ipFamilies) {
      const before = this.allocator.allocationOf(key, family)?.ip;
      const shown = spec.currentAddresses.find((ip) => familyOf(ip) === family);
      const result = this.allocator.assign({
        key,
        namespace: spec.identity.namespace,
        requested: [...spec.requestedAddresses],
        current: [...spec.currentAddresses],
        pool: options.pool,
        ...claim,
        family,
      });
      if (!result.ok) {
        this.waiting.add(key);
        this.reportUsage();
        const kept = this.allocator.allocationOf(key, family)?.ip ?? shown;
        const keeping = kept ? `; keeping ${kept} until one is available` : '';
        throw new TerminalError(result.reason, `${family}: ${result.message}${keeping}`);
      }
      if (result.ip !== before) changed = true;
      const previous = before ?? shown;
      const askedFor = spec.requestedAddresses.includes(result.ip);
      if (previous && previous !== result.ip && !askedFor) {
        // The Service did not ask to move: the pools changed under it. Say so loudly, never silently.
        this.ctx.events.record(
          serviceRef(spec.identity),
          'Warning',
          MetalEventReason.LoadBalancerAddressChanged,
          `${family} address changed from ${previous} to ${result.ip}: ${previous} is no longer in an address pool this Service may use`,
        );
      }
      ingress.push({ ip: result.ip, ipMode: 'VIP' });
    }
    this.waiting.delete(key);
    this.identities.set(key, spec.identity);
    if (changed) this.reportUsage();
    return { status: { ingress }, changed };
  }

  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, _options: CallOptions): Promise<ChangeResult> {
    const key = identityKey(identity);
    this.identities.delete(key);
    this.waiting.delete(key);
    if (!this.allocator.release(key)) return { changed: false };
    this.reportUsage();
    // An address came free: whoever was waiting for one gets another try now, not at the next resync.
    this.ctx.requeue([...this.waiting], 'address released');
    return { changed: true };
  }

  async get(identity: Readonly<LoadBalancerIdentity>): Promise<ObservedLoadBalancer | null> {
    const key = identityKey(identity);
    const ips = FAMILIES.flatMap((f) => this.allocator.allocationOf(key, f)?.ip ?? []);
    if (ips.length === 0) return null;
    return { identity: { ...identity }, status: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' as const })) } };
  }

  async plan(spec: Readonly<LoadBalancerSpec<MetalOptions>>): Promise<PlannedAction[]> {
    const key = identityKey(spec.identity);
    const actions: PlannedAction[] = [];
    for (const family of spec.ipFamilies) {
      const held = this.allocator.allocationOf(key, family);
      const wanted = spec.requestedAddresses.find((ip) => familyOf(ip) === family);
      if (!held) actions.push({ action: 'create', resource: 'address', name: wanted ?? `next free ${family} address` });
      else if (wanted && wanted !== held.ip)
        actions.push({ action: 'update', resource: 'address', name: wanted, detail: `was ${held.ip}` });
    }
    return actions;
  }

  async listOwned(): Promise<LoadBalancerIdentity[]> {
    return [...this.identities.values()];
  }

  /** One entry per address in use in each pool (what the conformance suite compares before and after). */
  heldAddresses(): string[] {
    return this.allocator.usage().flatMap(({ pool, used }) => Array.from({ length: used }, (_, i) => `${pool}#${i}`));
  }

  /**
   * Addresses that Services we do not own show in their status (another loadBalancerClass, a Service edited by
   * hand) are held under a marker key so they are never handed to one of ours; released once their Service stops
   * showing them or becomes ours. One Service per call.
   */
  private trackForeign({ type, service, owned }: ServiceChange): void {
    const key = serviceKeyOf(service);
    const now = new Set<string>();
    if (type === 'upsert' && !owned) {
      for (const ingress of service.status?.loadBalancer?.ingress ?? []) if (ingress.ip) now.add(ingress.ip);
    }
    const before = this.foreign.get(key) ?? new Set<string>();
    let released = false;
    for (const ip of before) if (!now.has(ip) && this.allocator.release(foreignKey(key, ip))) released = true;
    // Like a release of our own: a Service waiting for that address (AddressInUse) gets another try now.
    if (released && this.waiting.size > 0) this.ctx.requeue([...this.waiting], 'foreign address released');
    const kept = new Set<string>();
    for (const ip of now) {
      // restore() refuses addresses outside every pool; those cannot collide with ours anyway.
      if (before.has(ip) || this.allocator.restore(foreignKey(key, ip), ip, { sharingKey: null, ports: [] }).ok)
        kept.add(ip);
    }
    if (kept.size > 0) this.foreign.set(key, kept);
    else this.foreign.delete(key);
  }

  /** Start-up: every address our Services already show is taken before anything new is handed out. */
  private restoreFromStatuses(): void {
    for (const key of this.ctx.services.keys()) {
      const svc = this.ctx.services.get(key);
      // A Service being deleted gives its address up at teardown (the first thing the controller does with it);
      // its address may already have been handed on before the restart, so it must not claim it back.
      if (!svc || svc.metadata?.deletionTimestamp) continue;
      const claim = claimOf({ providerOptions: checkMetalService(svc).options, ports: portsOf(svc) });
      for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
        if (!ingress.ip) continue;
        const restored = this.allocator.restore(key, ingress.ip, claim);
        if (!restored.ok) {
          // Reconcile will assign a valid address and rewrite the status.
          this.ctx.log.warn({ service: key, ip: ingress.ip, reason: restored.reason }, restored.message);
        }
      }
      const m = svc.metadata ?? {};
      this.identities.set(key, {
        clusterName: this.ctx.clusterName,
        namespace: m.namespace ?? '',
        name: m.name ?? '',
        uid: m.uid ?? '',
      });
    }
    this.reportUsage();
  }

  /** Pool gauges; a pool that is gone loses its series instead of showing its last value forever. */
  private reportUsage(): void {
    const seen = new Set<string>();
    for (const { pool, total, used } of this.allocator.usage()) {
      this.poolTotal.set({ pool }, Number(total));
      this.poolUsed.set({ pool }, used);
      seen.add(pool);
    }
    for (const pool of this.reportedPools) {
      if (seen.has(pool)) continue;
      this.poolTotal.remove({ pool });
      this.poolUsed.remove({ pool });
    }
    this.reportedPools.clear();
    for (const pool of seen) this.reportedPools.add(pool);
  }
}

function claimOf(spec: {
  providerOptions: MetalOptions;
  ports: readonly { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
}): { sharingKey: string | null; ports: PortClaim[]; trafficPolicy: 'Cluster' | 'Local'; selectorKey: string } {
  return {
    sharingKey: spec.providerOptions.sharingKey,
    ports: spec.ports.map((p) => ({ port: p.port, protocol: p.protocol })),
    // Local Services are announced from nodes with their endpoints: sharing needs the same selector.
    trafficPolicy: spec.providerOptions.trafficPolicy,
    selectorKey: spec.providerOptions.selectorKey,
  };
}

function portsOf(svc: Readonly<V1Service>): { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[] {
  return (svc.spec?.ports ?? []).map((p) => ({ port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' }));
}

function serviceKeyOf(svc: Readonly<V1Service>): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

function foreignKey(serviceKey: string, ip: string): string {
  return `foreign:${serviceKey}:${ip}`;
}

function familyOf(ip: string): IpFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}
