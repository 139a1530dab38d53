// Deleting a gcp load balancer, in the order GCE requires (reference 2.6): the rule before the pool it targets,
// the pool before the health check it uses; the cluster's shared node check only once no pool uses it. And the
// load balancers this cluster owns, for orphan collection (read back from the descriptions of our resources).
import { type LoadBalancerIdentity, ProviderError } from '../../src/contract/provider.ts';
import type { Call, Gce } from './gce.ts';
import { type LoadBalancerNames, namesFor, ownerOf } from './names.ts';
import type { SharedCheckLock } from './shared-lock.ts';

/** Deletes whatever exists of `identity`'s load balancer; true when anything was deleted. */
export async function deleteLoadBalancer(
  gce: Gce,
  lock: SharedCheckLock,
  identity: Readonly<LoadBalancerIdentity>,
  call: Call,
  /** Deletes a backend-service load balancer of the identity: run when no target-pool one is found. */
  otherKind?: () => Promise<boolean>,
): Promise<boolean> {
  const names = namesFor(identity);
  let [rule, pool, address, localHc, localHcFirewall, trafficFirewall] = await Promise.all([
    gce.getRule(names.lb, call),
    gce.getPool(names.lb, call),
    gce.getAddress(names.lb, call),
    gce.getHealthCheck(names.localHealthCheck, call),
    gce.getFirewall(names.localHealthCheckFirewall, call),
    gce.getFirewall(names.trafficFirewall, call),
  ]);
  let changed = false;
  const del = async (exists: unknown, fn: () => Promise<void>) => {
    if (!exists) return;
    await fn();
    changed = true;
  };
  // A rule without a target pool behind it is a backend-service load balancer's: teardown of that kind.
  if (otherKind && !pool && (!rule || rule.backendService)) {
    if (await otherKind()) changed = true;
    if (rule) return true;
    // Neither rule nor pool: what is left may be of either kind. The other kind's teardown took the traffic
    // firewall and our address (same names); the rest of this kind's goes below.
    [address, trafficFirewall] = [null, null];
  }
  await del(rule, () => gce.deleteRule(names.lb, call));
  await del(pool, () => gce.deletePool(names.lb, call));
  await del(localHc, () => gce.deleteHealthCheck(names.localHealthCheck, call));
  await del(localHcFirewall, () => gce.deleteFirewall(names.localHealthCheckFirewall, call));
  // Whatever the pool was (a retried delete finds it gone, a Local Service never used it): the cluster's node
  // check goes with the last pool that uses it.
  if (await deleteSharedHealthCheckIfUnused(gce, lock, names, call)) changed = true;
  await del(trafficFirewall, () => gce.deleteFirewall(names.trafficFirewall, call));
  // Only our own reservation: a user's address named in loadBalancerIP is never ours to release.
  await del(address && ownerOf(address.description, identity.clusterName)?.uid === identity.uid, () =>
    gce.deleteAddress(names.lb, call),
  );
  return changed;
}

/**
 * Deletes the cluster's node health check and its firewall when no target pool uses the check (reference 2.6).
 * Decided from a pool list rather than by trying the delete, so a check still shared costs reads, not a refused
 * write; a 400 "being used by" (a pool created meanwhile) or 404 (deleted meanwhile) is still fine.
 */
export function deleteSharedHealthCheckIfUnused(
  gce: Gce,
  lock: SharedCheckLock,
  names: LoadBalancerNames,
  call: Call,
): Promise<boolean> {
  return lock.exclusive(call.signal, async () => {
    const [hc, firewall] = await Promise.all([
      gce.getHealthCheck(names.nodeHealthCheck, call),
      gce.getFirewall(names.nodeHealthCheckFirewall, call),
    ]);
    if (!hc && !firewall) return false;
    const pools = await gce.listPools(call);
    const suffix = `/global/httpHealthChecks/${names.nodeHealthCheck}`;
    if (pools.some((p) => (p.healthChecks ?? []).some((l) => l.endsWith(suffix)))) return false;
    if (hc) {
      try {
        await gce.deleteHealthCheck(names.nodeHealthCheck, call);
      } catch (error) {
        if (error instanceof ProviderError && error.reason === 'GceResourceInUse') return false;
        if (!(error instanceof ProviderError && error.reason === 'GceNotFound')) throw error;
      }
    }
    if (firewall) await gce.deleteFirewall(names.nodeHealthCheckFirewall, call);
    return true;
  });
}

/** Every Service identity named as owner by one of our resources (rules, pools, addresses, firewalls, checks). */
export async function listOwned(gce: Gce, clusterName: string, call: Call): Promise<LoadBalancerIdentity[]> {
  const lists = await Promise.all([
    gce.listRules(call),
    gce.listPools(call),
    gce.listAddresses(call),
    gce.listFirewalls(call),
    gce.listHealthChecks(call), // a Local Service's own check, left by an interrupted delete
  ]);
  const owned = new Map<string, LoadBalancerIdentity>();
  for (const resource of lists.flat()) {
    const owner = ownerOf(resource.description, clusterName);
    if (owner) owned.set(owner.uid, owner);
  }
  return [...owned.values()];
}
