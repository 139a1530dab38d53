// Pure rules of the allocator about pools: which pools may hand an address to a request (namespaces, anycast,
// avoidBuggyIPs), their order, and the messages that say why none may.
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import {
  type Address,
  type AddressRange,
  countBuggyAddresses,
  countSubnetRouterAnycast,
  formatAddress,
  formatCidr,
  isBuggyAddress,
  isSubnetRouterAnycast,
  parseAddress,
  rangeContains,
  rangeSize,
} from '../model/addresses.ts';
import type { PoolOverlap } from '../model/overlap.ts';
import type { AddressPool } from '../model/schema.ts';
import { AllocReason } from './reasons.ts';
import type { SharingClaim } from './sharing.ts';
import type { AllocFailure, AssignRequest } from './types.ts';

/** The pools containing `address` that may hand it to `request`, best first; or why none may. */
export function usablePools(
  request: AssignRequest,
  address: Address,
  containing: readonly AddressPool[],
): { ok: true; pools: AddressPool[] } | AllocFailure {
  const ip = formatAddress(address.family, address.value);
  if (containing.length === 0) return fail(AllocReason.AddressNotInPool, `${ip} is not in any address pool`);
  const named = request.pool === undefined ? containing : containing.filter((pool) => pool.name === request.pool);
  if (named.length === 0) {
    const where = `it is in ${poolNames(containing)}`;
    return fail(AllocReason.AddressNotInPool, `${ip} is not in the requested pool "${request.pool}" (${where})`);
  }
  const admitted = named.filter((pool) => admits(pool, request.namespace));
  if (admitted.length === 0) {
    const why = named.map((pool) => `"${pool.name}" ${restriction(pool, request.namespace)}`).join('; ');
    return fail(AllocReason.AddressNotInPool, `${ip} is in no pool namespace ${request.namespace} may use: ${why}`);
  }
  const routable = admitted.filter((pool) => !anycastRangeOf(pool, address));
  if (routable.length === 0) {
    const cidr = formatCidr(anycastRangeOf(admitted[0]!, address)!);
    return fail(
      AllocReason.AddressNotInPool,
      `${ip} is the subnet-router anycast address of ${cidr} (RFC 4291), which routers on the link answer; it is never handed out`,
    );
  }
  const usable = routable.filter((pool) => !(pool.avoidBuggyIPs && isBuggyAddress(address)));
  if (usable.length === 0) {
    const pools = poolNames(admitted);
    return fail(AllocReason.AddressNotInPool, `${ip} ends in .0 or .255 and ${pools} set avoidBuggyIPs`);
  }
  return { ok: true, pools: usable };
}

/** The one requested address of the request's family (null if none); other families belong to other calls. */
export function requestedAddress(request: AssignRequest): { ok: true; address: Address | null } | AllocFailure {
  const ofFamily: Address[] = [];
  for (const text of request.requested) {
    const address = parseAddress(text);
    if (!address) return fail(AllocReason.InvalidAddress, `requested address "${text}" is not an IP address`);
    if (address.family === request.family) ofFamily.push(address);
  }
  if (ofFamily.length > 1) {
    const list = ofFamily.map((a) => formatAddress(a.family, a.value)).join(', ');
    return fail(AllocReason.InvalidAddress, `more than one ${request.family} address requested (${list})`);
  }
  return { ok: true, address: ofFamily[0] ?? null };
}

/** Just the sharing fields of a request or claim, with a copy of its ports: what a holding keeps. */
export function sharingClaimOf(claim: SharingClaim): SharingClaim {
  const { sharingKey, ports, trafficPolicy, selectorKey } = claim;
  return { sharingKey, ports: [...ports], trafficPolicy, selectorKey };
}

export function admits(pool: AddressPool, namespace: string): boolean {
  return pool.namespaces === null || pool.namespaces.includes(namespace);
}

export function restriction(pool: AddressPool, namespace: string): string {
  return `is restricted to namespaces ${pool.namespaces?.join(', ')}, not ${namespace}`;
}

export function hasFamily(pool: AddressPool, family: IpFamily): boolean {
  return pool.ranges.some((range) => range.family === family);
}

export function poolOffers(pool: AddressPool, address: Address): boolean {
  const inRange = pool.ranges.some((range) => rangeContains(range, address) && !isSubnetRouterAnycast(range, address));
  return inRange && !(pool.avoidBuggyIPs && isBuggyAddress(address));
}

/** The pool's CIDR entry whose subnet-router anycast address `address` is, if any (entries are disjoint). */
export function anycastRangeOf(pool: AddressPool, address: Address): AddressRange | undefined {
  return pool.ranges.find((range) => isSubnetRouterAnycast(range, address));
}

/**
 * Pools reserved for the namespace come before pools open to all: the reserved ones exist for it, and taking from
 * the shared ones first would starve other namespaces. Stable, so name order holds within each group.
 */
export function reservedFor(namespace: string): (a: AddressPool, b: AddressPool) => number {
  const rank = (pool: AddressPool) => (pool.namespaces?.includes(namespace) ? 0 : 1);
  return (a, b) => rank(a) - rank(b);
}

export function poolNames(pools: readonly AddressPool[]): string {
  const names = pools.map((pool) => `"${pool.name}"`).join(', ');
  return pools.length === 1 ? `pool ${names}` : `pools ${names}`;
}

export function fail(reason: AllocReason, message: string): AllocFailure {
  return { ok: false, reason, message };
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Addresses the pool can hand out: avoidBuggyIPs and IPv6 subnet-router anycast addresses excluded. */
export function assignableCount(pool: AddressPool): bigint {
  let total = 0n;
  for (const range of pool.ranges) {
    total += rangeSize(range) - countSubnetRouterAnycast(range);
    total -= pool.avoidBuggyIPs ? countBuggyAddresses(range) : 0n;
  }
  return total;
}

/** Why no new address comes from `pools`: the overlaps they are part of. */
export function overlapFailure(
  pools: readonly AddressPool[],
  overlapsByPool: ReadonlyMap<string, readonly PoolOverlap[]>,
): AllocFailure {
  const overlaps = new Set<string>();
  for (const pool of pools) {
    for (const { a, b, range } of overlapsByPool.get(pool.name) ?? []) {
      overlaps.add(`"${a}" and "${b}" share ${range}`);
    }
  }
  return fail(
    AllocReason.OverlappingPools,
    `address pools overlap (${[...overlaps].join('; ')}); no new addresses are allocated from ${poolNames(pools)} until the overlap is removed`,
  );
}
