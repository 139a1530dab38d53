// Deleting a backend-service load balancer in the order GCE requires: the rules before the backend service they
// use, the backend service before its health check and the instance groups it holds; the cluster's shared node
// check and instance groups only once no backend service of this cluster uses them.
import { type LoadBalancerIdentity, ProviderError } from '../../src/contract/provider.ts';
import type { Call } from './gce.ts';
import type { GceBackends } from './gce-backends.ts';
import { type L4Names, l4NamesFor, ownerOf } from './names.ts';
import type { FirewallScope } from './resources.ts';
import type { SharedCheckLock } from './shared-lock.ts';

export interface L4Context {
  gce: GceBackends;
  scope: FirewallScope;
  networkUrl: string;
  /** The target-pool path's lock on its shared node check (a switch tears a target-pool load balancer down). */
  poolLock: SharedCheckLock;
  /** Users of the cluster's L4 shared resources (node check, instance groups) against their deletion. */
  l4Lock: SharedCheckLock;
  /** Zones the cluster's instance groups may be in (from the nodes and the configuration). */
  zones: () => string[];
  call: Call;
}

/** Deletes whatever exists of `identity`'s backend-service load balancer; true when anything was deleted. */
export async function deleteL4(ctx: L4Context, identity: Readonly<LoadBalancerIdentity>): Promise<boolean> {
  const { gce, call } = ctx;
  const names = l4NamesFor(identity);
  const [rule, ipv6Rule, bs, localHc, localFw, fw, fw6, address] = await Promise.all([
    gce.getRule(names.lb, call),
    gce.getRule(names.ipv6Rule, call),
    gce.getBackendService(names.lb, call),
    gce.getRegionHealthCheck(names.localHealthCheck, call),
    gce.getFirewall(names.localHealthCheckFirewall, call),
    gce.getFirewall(names.trafficFirewall, call),
    gce.getFirewall(names.ipv6TrafficFirewall, call),
    gce.getAddress(names.lb, call),
  ]);
  let changed = false;
  const del = async (exists: unknown, fn: () => Promise<void>) => {
    if (!exists) return;
    await fn();
    changed = true;
  };
  await del(rule?.backendService, () => gce.deleteRule(names.lb, call));
  await del(ipv6Rule, () => gce.deleteRule(names.ipv6Rule, call));
  await del(bs, () => gce.deleteBackendService(names.lb, call));
  await del(localHc, () => gce.deleteRegionHealthCheck(names.localHealthCheck, call));
  await del(localFw, () => gce.deleteFirewall(names.localHealthCheckFirewall, call));
  await del(fw, () => gce.deleteFirewall(names.trafficFirewall, call));
  await del(fw6, () => gce.deleteFirewall(names.ipv6TrafficFirewall, call));
  // Only our own reservation: a user's address named in loadBalancerIP is never ours to release.
  await del(address && ownerOf(address.description, identity.clusterName)?.uid === identity.uid, () =>
    gce.deleteAddress(names.lb, call),
  );
  const zones = (bs?.backends ?? []).map((b) => /\/zones\/([^/]+)\//.exec(b.group ?? '')?.[1] ?? '');
  if (await deleteL4SharedIfUnused(ctx, names, zones.filter(Boolean))) changed = true;
  return changed;
}

/**
 * Deletes the cluster's regional node check (and its firewall) when no backend service uses it and, with
 * `groups` (zones), the cluster's instance groups there that no backend service holds. Decided from a list of backend services,
 * under the L4 lock held alone; a 400 "being used by" (a backend service created meanwhile) is fine.
 */
export function deleteL4SharedIfUnused(
  ctx: L4Context,
  names: L4Names,
  groups: string[] | null,
  /** False from inside an ensure, which already holds the lock shared (its own service keeps the groups). */
  lock = true,
): Promise<boolean> {
  const { gce, call } = ctx;
  const run = (fn: () => Promise<boolean>) => (lock ? ctx.l4Lock.exclusive(call.signal, fn) : fn());
  return run(async () => {
    const services = await gce.listBackendServices(call);
    const mine = services.filter((s) => s.name !== names.lb);
    let changed = false;
    const hcUsed = mine.some((s) =>
      (s.healthChecks ?? []).some((l) => l.endsWith(`/healthChecks/${names.nodeHealthCheck}`)),
    );
    if (!hcUsed) {
      const [hc, fw] = await Promise.all([
        gce.getRegionHealthCheck(names.nodeHealthCheck, call),
        gce.getFirewall(names.nodeHealthCheckFirewall, call),
      ]);
      if (hc && (await inUseIsFine(gce.deleteRegionHealthCheck(names.nodeHealthCheck, call)))) changed = true;
      if (fw) {
        await gce.deleteFirewall(names.nodeHealthCheckFirewall, call);
        changed = true;
      }
    }
    if (!groups) return changed;
    const groupUsed = mine.some((s) =>
      (s.backends ?? []).some((b) => b.group?.endsWith(`/instanceGroups/${names.instanceGroup}`)),
    );
    if (groupUsed) return changed;
    for (const zone of new Set([...groups, ...ctx.zones()])) {
      if (!(await gce.getGroup(zone, names.instanceGroup, call))) continue;
      if (await inUseIsFine(gce.deleteGroup(zone, names.instanceGroup, call))) changed = true;
    }
    return changed;
  });
}

async function inUseIsFine(write: Promise<void>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ProviderError && (error.reason === 'GceResourceInUse' || error.reason === 'GceNotFound')) {
      return false;
    }
    throw error;
  }
}

/** Every Service identity named as owner by one of our backend services or regional health checks. */
export async function listOwnedL4(gce: GceBackends, clusterName: string, call: Call): Promise<LoadBalancerIdentity[]> {
  const lists = await Promise.all([gce.listBackendServices(call), gce.listRegionHealthChecks(call)]);
  return lists.flat().flatMap((r) => ownerOf(r.description, clusterName) ?? []);
}
