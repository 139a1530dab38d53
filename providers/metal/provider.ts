// The `metal` provider: an address from an AddressPool for every LoadBalancer Service (MetalLB-style).
// Allocation lives in memory and is rebuilt at start from the addresses Services already show in their status,
// so a restart never hands one address to two Services. Announcing (ARP) is the speaker's job; this side only
// decides addresses.
import { ADDRESS_POOL_ANNOTATION, ALLOW_SHARED_IP_ANNOTATION } from '../../src/desired/annotations.ts';
import { identityKey, serviceKey } from '../../src/desired/keys.ts';
import type { IpFamily, LoadBalancerIdentity, LoadBalancerSpec, LoadBalancerStatus } from '../../src/desired/types.ts';
import {
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryAfterError,
  TerminalError,
} from '../provider.ts';
import { AddressAllocator } from './ipam/allocator.ts';
import { PoolWatch } from './pools/watch.ts';

const POOL_SYNC_TIMEOUT_MS = 30_000;

export async function createMetalProvider(context: ProviderContext): Promise<Provider> {
  return new MetalProvider(context);
}

export class MetalProvider implements Provider {
  readonly name = 'metal';
  private readonly ctx: ProviderContext;
  private readonly allocator = new AddressAllocator();
  private readonly pools: PoolWatch;
  /** Services whose last assign failed: they are retried as soon as pools change or an address frees. */
  private readonly waiting = new Set<string>();
  private readonly identities = new Map<string, LoadBalancerIdentity>();
  /** Addresses shown by Services we do not own (another class, another controller): never handed out. */
  private readonly foreign = new Map<string, string>();

  constructor(context: ProviderContext) {
    this.ctx = context;
    this.pools = new PoolWatch({
      kubeConfig: context.kubeConfig,
      events: context.events,
      log: context.log,
      onPools: (pools) => {
        this.allocator.setPools(pools);
        this.reportUsage();
        // Pools grew, shrank or changed rules: every Service of ours re-validates its address.
        context.requeue(
          context
            .services()
            .filter((s) => context.owns(s))
            .map(serviceKey),
          'address pools changed',
        );
      },
    });
  }

  async start(): Promise<void> {
    await this.pools.start(POOL_SYNC_TIMEOUT_MS);
    this.restoreFromStatuses();
  }

  async stop(): Promise<void> {
    await this.pools.stop();
  }

  async ensure(spec: LoadBalancerSpec): Promise<LoadBalancerStatus> {
    if (!this.pools.synced) {
      throw new RetryAfterError(
        'PoolsNotLoaded',
        'AddressPools are not loaded yet (is the AddressPool CRD installed?)',
        10,
      );
    }
    const key = identityKey(spec.identity);
    this.holdForeignAddresses();
    const ingress: LoadBalancerStatus['ingress'] = [];
    for (const family of spec.ipFamilies) {
      const result = this.allocator.assign({
        key,
        namespace: spec.identity.namespace,
        requested: spec.requestedAddresses,
        current: spec.currentAddresses,
        pool: spec.options[ADDRESS_POOL_ANNOTATION],
        sharingKey: spec.options[ALLOW_SHARED_IP_ANNOTATION] ?? null,
        ports: spec.ports.map((p) => ({ port: p.port, protocol: p.protocol })),
        family,
      });
      if (!result.ok) {
        this.waiting.add(key);
        this.reportUsage();
        throw new TerminalError(result.reason, `${family}: ${result.message}`);
      }
      ingress.push({ ip: result.ip, ipMode: 'VIP' });
    }
    this.waiting.delete(key);
    this.identities.set(key, spec.identity);
    this.reportUsage();
    return { ingress };
  }

  /** Address allocation does not depend on nodes; the speaker picks the announcing node. */
  async updateHosts(_spec: LoadBalancerSpec): Promise<void> {}

  async ensureDeleted(identity: LoadBalancerIdentity): Promise<void> {
    const key = identityKey(identity);
    this.identities.delete(key);
    this.waiting.delete(key);
    if (this.allocator.release(key)) {
      this.reportUsage();
      // An address came free: whoever was waiting for one gets another try now, not at the next resync.
      this.ctx.requeue([...this.waiting], 'address released');
    }
  }

  async get(identity: LoadBalancerIdentity): Promise<ObservedLoadBalancer | null> {
    const key = identityKey(identity);
    const ips = (['IPv4', 'IPv6'] as IpFamily[]).flatMap((f) => this.allocator.allocationOf(key, f)?.ip ?? []);
    if (ips.length === 0) return null;
    return { identity, status: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' as const })) } };
  }

  async plan(spec: LoadBalancerSpec): Promise<PlannedAction[]> {
    const key = identityKey(spec.identity);
    const actions: PlannedAction[] = [];
    for (const family of spec.ipFamilies) {
      const held = this.allocator.allocationOf(key, family);
      const wanted = spec.requestedAddresses.find((ip) => ip.includes(':') === (family === 'IPv6'));
      if (!held) actions.push({ action: 'create', resource: 'address', name: wanted ?? `next free ${family} address` });
      else if (wanted && wanted !== held.ip)
        actions.push({ action: 'update', resource: 'address', name: wanted, detail: `was ${held.ip}` });
    }
    return actions;
  }

  async listOwned(): Promise<LoadBalancerIdentity[]> {
    return [...this.identities.values()];
  }

  /**
   * Addresses that Services we do not own show in their status (another loadBalancerClass, a Service edited by
   * hand) are held under a marker key so they are never handed to one of ours. Cheap enough to run before every
   * assign (one pass over the cache), and it lets such an address go once its Service stops showing it.
   */
  private holdForeignAddresses(): void {
    const seen = new Map<string, string>();
    for (const svc of this.ctx.services()) {
      if (this.ctx.owns(svc)) continue;
      for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
        if (ingress.ip) seen.set(`foreign:${serviceKey(svc)}:${ingress.ip}`, ingress.ip);
      }
    }
    for (const [key, ip] of this.foreign) {
      if (seen.get(key) === ip) continue;
      this.allocator.release(key);
      this.foreign.delete(key);
    }
    for (const [key, ip] of seen) {
      if (this.foreign.has(key)) continue;
      // restore() refuses addresses outside every pool; those cannot collide with ours anyway.
      if (this.allocator.restore(key, ip, { sharingKey: null, ports: [] }).ok) this.foreign.set(key, ip);
    }
  }

  /** Start-up: every address our Services already show is taken before anything new is handed out. */
  private restoreFromStatuses(): void {
    for (const svc of this.ctx.services()) {
      // A Service being deleted gives its address up at teardown (the first thing the controller does with it);
      // its address may already have been handed on before the restart, so it must not claim it back.
      if (!this.ctx.owns(svc) || svc.metadata?.deletionTimestamp) continue;
      const key = serviceKey(svc);
      const m = svc.metadata ?? {};
      const claim = {
        sharingKey: m.annotations?.[ALLOW_SHARED_IP_ANNOTATION] ?? null,
        ports: (svc.spec?.ports ?? []).map((p) => ({
          port: p.port,
          protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP',
        })),
      };
      for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
        if (!ingress.ip) continue;
        const restored = this.allocator.restore(key, ingress.ip, claim);
        if (!restored.ok) {
          // Reconcile will assign a valid address and rewrite the status.
          this.ctx.log.warn({ service: key, ip: ingress.ip, reason: restored.reason }, restored.message);
        }
      }
      this.identities.set(key, {
        clusterName: this.ctx.clusterName,
        namespace: m.namespace ?? '',
        name: m.name ?? '',
        uid: m.uid ?? '',
      });
    }
    this.reportUsage();
  }

  private reportUsage(): void {
    for (const { pool, total, used } of this.allocator.usage()) {
      this.ctx.metrics.poolAddressesTotal.set({ pool }, Number(total));
      this.ctx.metrics.poolAddressesUsed.set({ pool }, used);
    }
  }
}
