// The metal provider's address allocator: pure, deterministic, in memory. The provider rebuilds it at start-up from
// Service statuses (restore) and then asks it for one address per Service and IP family (assign).
//
// Invariant: an address is held by several Services only if all of them carry the same non-null sharing key, either
// none or all of them have externalTrafficPolicy Local and the Local ones one selector, and no two of them use the
// same port+protocol (see sharing.ts). Every operation either keeps that invariant or changes nothing: a failed
// assign leaves the Service's previous allocation in place (it still holds that address in its status).
//
// Pools are never enumerated: allocation walks a pool's bigint ranges from the bottom and skips held addresses via
// a per-family Map, so a /16 or a /64 costs the same as a /28.
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import { type Address, formatAddress, parseAddress, rangeContains } from '../model/addresses.ts';
import { findOverlaps, type PoolOverlap } from '../model/overlap.ts';
import type { AddressPool } from '../model/schema.ts';
import { FreeSearch } from './free-search.ts';
import {
  admits,
  assignableCount,
  compareText,
  fail,
  hasFamily,
  overlapFailure,
  poolNames,
  poolOffers,
  requestedAddress,
  reservedFor,
  restriction,
  sharingClaimOf,
  usablePools,
} from './pool-rules.ts';
import { AllocReason } from './reasons.ts';
import { mayShare, type SharingClaim } from './sharing.ts';
import type { Allocation, AllocFailure, AssignRequest, AssignResult, PoolUsage, RestoreResult } from './types.ts';

export { AllocReason } from './reasons.ts';
export { type PortClaim, type SharingClaim, selectorKeyOf, type TrafficPolicy } from './sharing.ts';
export type * from './types.ts';

interface Held extends SharingClaim {
  address: Address;
  pool: string;
}

type Verdict = { ok: true; pool: string } | AllocFailure;

export interface AllocatorOptions {
  /**
   * How a refusal names the holder of an address from its key (default `Service <key>`): the provider holds
   * addresses of Services it does not serve under keys of its own, which mean nothing to a user.
   */
  describeHolder?: (key: string) => string;
}

const FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];

export class AddressAllocator {
  /** Sorted by name: every choice between pools is made in this order, so results never depend on input order. */
  #pools: AddressPool[] = [];
  #poolsByName = new Map<string, AddressPool>();
  #overlapsByPool = new Map<string, PoolOverlap[]>();
  /** Service key -> its address per family. */
  #allocations = new Map<string, Map<IpFamily, Held>>();
  /** Address -> the keys holding it. Entries are deleted when empty, so `has` means "in use". */
  #holders: Record<IpFamily, Map<bigint, Set<string>>> = { IPv4: new Map(), IPv6: new Map() };
  /** Where the search for the lowest free address resumes, per range (see free-search.ts). */
  #free = new FreeSearch();
  /**
   * Pool name -> addresses in use inside it, kept as addresses come into and out of use (an address in two
   * overlapping pools counts in both), so usage() is O(pools) per call: the metal provider reports it after every
   * change, and counting the holders each time made a burst of N cost N^2 / 2 range checks.
   */
  #usedByPool = new Map<string, number>();

  #describeHolder: (key: string) => string;

  constructor(pools: readonly AddressPool[] = [], options: AllocatorOptions = {}) {
    this.#describeHolder = options.describeHolder ?? ((key) => `Service ${key}`);
    this.setPools(pools);
  }

  /**
   * Replaces the pool set. Existing allocations stay (Services keep their addresses until reassigned); each is
   * re-attributed to the pool that now contains it, and the next assign() re-validates it.
   */
  setPools(pools: readonly AddressPool[]): void {
    const byName = new Map<string, AddressPool>();
    for (const pool of pools) {
      if (byName.has(pool.name)) throw new Error(`duplicate address pool name "${pool.name}"`);
      byName.set(pool.name, pool);
    }
    this.#pools = [...byName.values()].sort((a, b) => compareText(a.name, b.name));
    this.#poolsByName = byName;
    this.#overlapsByPool = new Map();
    for (const overlap of findOverlaps(this.#pools)) {
      for (const name of [overlap.a, overlap.b]) {
        this.#overlapsByPool.set(name, [...(this.#overlapsByPool.get(name) ?? []), overlap]);
      }
    }
    for (const byFamily of this.#allocations.values()) {
      for (const held of byFamily.values()) held.pool = this.#poolsContaining(held.address)[0]?.name ?? held.pool;
    }
    this.#usedByPool = new Map(this.#pools.map((pool) => [pool.name, 0]));
    for (const family of FAMILIES) {
      for (const value of this.#holders[family].keys()) this.#countUse({ family, value }, 1);
    }
  }

  /**
   * One address of `request.family` for a Service. In order: the requested address (must be valid, else fail);
   * the address this Service already holds or has in its status, while still valid; with a sharing key, an address
   * already shared under that key; the lowest free address of the preferred pool.
   */
  assign(request: AssignRequest): AssignResult {
    return this.#choose(request, true);
  }

  /** What assign() would answer for `request` right now, holding nothing (what `drawbridge plan` shows). */
  preview(request: AssignRequest): AssignResult {
    return this.#choose(request, false);
  }

  #choose(request: AssignRequest, commit: boolean): AssignResult {
    const take = (address: Address, pool: string): AssignResult =>
      commit
        ? this.#commit(request, address, pool)
        : { ok: true, ip: formatAddress(address.family, address.value), pool };
    const requested = requestedAddress(request);
    if (!requested.ok) return requested;
    if (request.pool !== undefined) {
      const pool = this.#poolsByName.get(request.pool);
      if (!pool) return fail(AllocReason.UnknownPool, `address pool "${request.pool}" does not exist`);
      if (!admits(pool, request.namespace)) {
        return fail(AllocReason.PoolNotAllowed, `address pool "${pool.name}" ${restriction(pool, request.namespace)}`);
      }
    }

    const held = this.#allocations.get(request.key)?.get(request.family);
    const keepable = [held?.address, ...request.current.map(parseAddress)].filter(
      (address): address is Address => address?.family === request.family,
    );

    if (requested.address) {
      const target = requested.address;
      // Holding an address already is not a new allocation: a pool overlap added later must not take it away.
      const isNew = !keepable.some((address) => address.value === target.value);
      const verdict = this.#check(request, target, isNew);
      return verdict.ok ? take(target, verdict.pool) : verdict;
    }
    for (const address of keepable) {
      const verdict = this.#check(request, address, false);
      if (verdict.ok) return take(address, verdict.pool);
    }
    return this.#allocate(request, take);
  }

  /** Frees every address `key` holds. Returns whether it held any. */
  release(key: string): boolean {
    const byFamily = this.#allocations.get(key);
    if (!byFamily) return false;
    for (const held of byFamily.values()) this.#unhold(key, held.address);
    this.#allocations.delete(key);
    return true;
  }

  /**
   * Records an address a Service already has in its status (start-up, before the first assign). Only refuses
   * what would break the sharing invariant or lies outside every pool; namespace rules, autoAssign and overlaps
   * are assign()'s business on the next reconcile.
   */
  restore(key: string, ip: string, claim: SharingClaim): RestoreResult {
    const address = parseAddress(ip);
    if (!address) return fail(AllocReason.InvalidAddress, `"${ip}" (status of ${key}) is not an IP address`);
    const pool = this.#poolsContaining(address)[0];
    if (!pool) return fail(AllocReason.AddressNotInPool, `${ip} (status of ${key}) is not in any address pool`);
    const sharing = this.#sharingVerdict(key, address, claim);
    if (!sharing.ok) return sharing;
    this.#hold(key, { address, pool: pool.name, ...sharingClaimOf(claim) });
    return { ok: true, ip: formatAddress(address.family, address.value), pool: pool.name };
  }

  /** Per pool, in name order: how many addresses it has and how many are in use. */
  usage(): PoolUsage[] {
    return this.#pools.map((pool) => ({
      pool: pool.name,
      total: assignableCount(pool),
      used: this.#usedByPool.get(pool.name) ?? 0,
    }));
  }

  /** The address `key` holds for `family`; without a family, its IPv4 address, else its IPv6 one. */
  allocationOf(key: string, family?: IpFamily): Allocation | null {
    const byFamily = this.#allocations.get(key);
    const held = family ? byFamily?.get(family) : (byFamily?.get('IPv4') ?? byFamily?.get('IPv6'));
    if (!held) return null;
    return {
      ip: formatAddress(held.address.family, held.address.value),
      family: held.address.family,
      pool: held.pool,
      sharingKey: held.sharingKey,
      ports: [...held.ports],
    };
  }

  /** Whether `request` may have `address`; `isNew` also refuses pools involved in an overlap. */
  #check(request: AssignRequest, address: Address, isNew: boolean): Verdict {
    const containing = this.#poolsContaining(address);
    const usable = usablePools(request, address, containing);
    if (!usable.ok) return usable;
    if (isNew) {
      const overlapping = containing.filter((pool) => this.#overlapsByPool.has(pool.name));
      if (overlapping.length > 0) return overlapFailure(overlapping, this.#overlapsByPool);
    }
    const sharing = this.#sharingVerdict(request.key, address, request);
    return sharing.ok ? { ok: true, pool: usable.pools[0]!.name } : sharing;
  }

  /** A new address: join a shared one if the sharing key allows, else the lowest free one. */
  #allocate(request: AssignRequest, take: (address: Address, pool: string) => AssignResult): AssignResult {
    const { family, namespace } = request;
    let candidates: AddressPool[];
    if (request.pool !== undefined) {
      candidates = [this.#poolsByName.get(request.pool)!];
    } else {
      const automatic = this.#pools.filter((pool) => pool.autoAssign && hasFamily(pool, family));
      candidates = automatic.filter((pool) => admits(pool, namespace)).sort(reservedFor(namespace));
      if (automatic.length > 0 && candidates.length === 0) {
        const pools = poolNames(automatic);
        return fail(
          AllocReason.PoolNotAllowed,
          `every auto-assign ${family} pool (${pools}) excludes namespace ${namespace}`,
        );
      }
    }
    const usable = candidates.filter((pool) => !this.#overlapsByPool.has(pool.name));

    const found =
      (request.sharingKey !== null && this.#findShareable(request, usable)) ||
      this.#free.find(usable, family, this.#holders[family]);
    if (found) return take(found.address, found.pool);

    const skipped = candidates.filter((pool) => this.#overlapsByPool.has(pool.name));
    if (skipped.length > 0) return overlapFailure(skipped, this.#overlapsByPool);
    if (candidates.length === 0) {
      return fail(AllocReason.PoolExhausted, `no auto-assign address pool has ${family} addresses`);
    }
    const what = candidates.some((pool) => hasFamily(pool, family))
      ? `no free ${family} address`
      : `no ${family} addresses`;
    return fail(AllocReason.PoolExhausted, `${what} in ${poolNames(candidates)}`);
  }

  /** The best address already shared under the request's key that it may join: first pool first, then lowest. */
  #findShareable(request: AssignRequest, pools: readonly AddressPool[]): { address: Address; pool: string } | null {
    let best: { address: Address; poolIndex: number } | null = null;
    for (const [value, keys] of this.#holders[request.family]) {
      if (keys.size === 1 && keys.has(request.key)) continue;
      const address: Address = { family: request.family, value };
      const poolIndex = pools.findIndex((pool) => poolOffers(pool, address));
      if (poolIndex < 0 || !this.#sharingVerdict(request.key, address, request).ok) continue;
      if (!best || poolIndex < best.poolIndex || (poolIndex === best.poolIndex && value < best.address.value)) {
        best = { address, poolIndex };
      }
    }
    return best ? { address: best.address, pool: pools[best.poolIndex]!.name } : null;
  }

  #sharingVerdict(key: string, address: Address, claim: SharingClaim): { ok: true } | AllocFailure {
    const others = [...(this.#holders[address.family].get(address.value) ?? [])].filter((other) => other !== key);
    for (const other of others.sort(compareText)) {
      const held = this.#allocations.get(other)?.get(address.family);
      if (!held) continue;
      const verdict = mayShare(held, claim);
      if (!verdict.ok) {
        const ip = formatAddress(address.family, address.value);
        return fail(verdict.reason, `${ip} is in use by ${this.#describeHolder(other)}: ${verdict.detail}`);
      }
    }
    return { ok: true };
  }

  #commit(request: AssignRequest, address: Address, pool: string): AssignResult {
    this.#hold(request.key, { address, pool, ...sharingClaimOf(request) });
    return { ok: true, ip: formatAddress(address.family, address.value), pool };
  }

  #hold(key: string, held: Held): void {
    const { family, value } = held.address;
    const byFamily = this.#allocations.get(key) ?? new Map<IpFamily, Held>();
    const previous = byFamily.get(family);
    if (previous && previous.address.value !== value) this.#unhold(key, previous.address);
    byFamily.set(family, held);
    this.#allocations.set(key, byFamily);
    let keys = this.#holders[family].get(value);
    if (!keys) {
      keys = new Set<string>();
      this.#holders[family].set(value, keys);
      this.#countUse(held.address, 1);
    }
    keys.add(key);
  }

  /** An address came into (+1) or went out of (-1) use: every pool containing it counts it. */
  #countUse(address: Address, delta: 1 | -1): void {
    for (const pool of this.#poolsContaining(address)) {
      this.#usedByPool.set(pool.name, (this.#usedByPool.get(pool.name) ?? 0) + delta);
    }
  }

  #unhold(key: string, address: Address): void {
    const keys = this.#holders[address.family].get(address.value);
    keys?.delete(key);
    if (keys?.size === 0) {
      this.#holders[address.family].delete(address.value);
      this.#countUse(address, -1);
      this.#free.forget(address.family);
    }
  }

  #poolsContaining(address: Address): AddressPool[] {
    return this.#pools.filter((pool) => pool.ranges.some((range) => rangeContains(range, address)));
  }
}
