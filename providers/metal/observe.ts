// What already exists for metal: the addresses Services show in their status. Ours are taken back at start-up
// (before anything new is handed out); those of Services we do not own are held so ours never get them.
import type { V1Service } from '@kubernetes/client-node';
import type { LoadBalancerIdentity, ProviderContext, ServiceChange } from '../../src/contract/provider.ts';
import { checkMetalService } from './annotations.ts';
import { claimOf, portsOf } from './desired.ts';
import type { AddressAllocator } from './ipam/allocator.ts';

/** Start-up: every address our Services already show is taken; returns the identities of those Services. */
export function restoreFromStatuses(ctx: ProviderContext, allocator: AddressAllocator): LoadBalancerIdentity[] {
  const identities: LoadBalancerIdentity[] = [];
  for (const key of ctx.services.keys()) {
    const svc = ctx.services.get(key);
    // A Service being deleted gives its address up at teardown (the first thing the controller does with it);
    // its address may already have been handed on before the restart, so it must not claim it back.
    if (!svc || svc.metadata?.deletionTimestamp) continue;
    const claim = claimOf({ providerOptions: checkMetalService(svc).options, ports: portsOf(svc) });
    for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
      if (!ingress.ip) continue;
      const restored = allocator.restore(key, ingress.ip, claim);
      if (!restored.ok) {
        // Reconcile will assign a valid address and rewrite the status.
        ctx.log.warn({ service: key, ip: ingress.ip, reason: restored.reason }, restored.message);
      }
    }
    const m = svc.metadata ?? {};
    identities.push({
      clusterName: ctx.clusterName,
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid: m.uid ?? '',
    });
  }
  return identities;
}

/**
 * Addresses that Services we do not own show in their status (another loadBalancerClass, a Service edited by
 * hand), held under a marker key so they are never handed to one of ours; released once their Service stops
 * showing them or becomes ours.
 */
export class ForeignAddresses {
  /** By Service key. */
  private readonly held = new Map<string, Set<string>>();
  private readonly allocator: AddressAllocator;

  constructor(allocator: AddressAllocator) {
    this.allocator = allocator;
  }

  /** One Service changed; true when an address it held came free. */
  track({ type, service, owned }: ServiceChange): boolean {
    const key = serviceKeyOf(service);
    const now = new Set<string>();
    if (type === 'upsert' && !owned) {
      for (const ingress of service.status?.loadBalancer?.ingress ?? []) if (ingress.ip) now.add(ingress.ip);
    }
    const before = this.held.get(key) ?? new Set<string>();
    let released = false;
    for (const ip of before) if (!now.has(ip) && this.allocator.release(foreignKey(key, ip))) released = true;
    const kept = new Set<string>();
    for (const ip of now) {
      // restore() refuses addresses outside every pool; those cannot collide with ours anyway.
      if (before.has(ip) || this.allocator.restore(foreignKey(key, ip), ip, { sharingKey: null, ports: [] }).ok)
        kept.add(ip);
    }
    if (kept.size > 0) this.held.set(key, kept);
    else this.held.delete(key);
    return released;
  }
}

function serviceKeyOf(svc: Readonly<V1Service>): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

const FOREIGN = 'foreign:';

function foreignKey(serviceKey: string, ip: string): string {
  return `${FOREIGN}${serviceKey}:${ip}`;
}

/** A holder key in a user's words: the Service, and for a foreign key that another load balancer serves it. */
export function describeHolder(key: string): string {
  if (!key.startsWith(FOREIGN)) return `Service ${key}`;
  const service = key.slice(FOREIGN.length, key.indexOf(':', FOREIGN.length));
  return `Service ${service} (served by another load balancer)`;
}
