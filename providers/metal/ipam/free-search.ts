// The lowest free address of a list of pools, without rescanning: per range, every address below a remembered
// point is in use or never handed out, so the search resumes there instead of at the range's first address (a burst
// of N would otherwise scan N^2 / 2). Forgotten for a family whenever an address of it comes free; ranges are new
// objects when the pools change, so a new pool set starts afresh.
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import { type Address, isBuggyAddress, isSubnetRouterAnycast } from '../model/addresses.ts';
import type { AddressPool } from '../model/schema.ts';

export class FreeSearch {
  #from: Record<IpFamily, WeakMap<object, bigint>> = { IPv4: new WeakMap(), IPv6: new WeakMap() };

  /** The lowest address not in `inUse` of the first pool that has one. */
  find(
    pools: readonly AddressPool[],
    family: IpFamily,
    inUse: ReadonlyMap<bigint, unknown>,
  ): { address: Address; pool: string } | null {
    for (const pool of pools) {
      for (const range of pool.ranges) {
        if (range.family !== family) continue;
        const from = this.#from[family].get(range) ?? range.first;
        for (let value = from; value <= range.last; value++) {
          if (inUse.has(value)) continue;
          const address: Address = { family, value };
          if (isSubnetRouterAnycast(range, address)) continue;
          if (!(pool.avoidBuggyIPs && isBuggyAddress(address))) {
            this.#from[family].set(range, value);
            return { address, pool: pool.name };
          }
        }
        this.#from[family].set(range, range.last + 1n);
      }
    }
    return null;
  }

  /** An address of `family` came free: the next search starts at each range's bottom again. */
  forget(family: IpFamily): void {
    this.#from[family] = new WeakMap();
  }
}
