// Pools that share addresses. The allocator refuses new allocations from such pools: which pool's namespace
// restrictions and autoAssign would apply to a shared address is ambiguous, so the operator has to decide.
import { formatRange, intersectRanges } from './addresses.ts';
import type { AddressPool } from './schema.ts';

export interface PoolOverlap {
  /** The two pool names, a < b. */
  a: string;
  b: string;
  /** The shared addresses, as `first-last` (or one address). */
  range: string;
}

/** Every pair of pools with addresses in common, one entry per shared range, sorted by pool names. */
export function findOverlaps(pools: readonly AddressPool[]): PoolOverlap[] {
  const byName = [...pools].sort((x, y) => compareText(x.name, y.name));
  const overlaps: PoolOverlap[] = [];
  for (const [i, first] of byName.entries()) {
    for (const second of byName.slice(i + 1)) {
      for (const left of first.ranges) {
        for (const right of second.ranges) {
          const common = intersectRanges(left, right);
          if (common) overlaps.push({ a: first.name, b: second.name, range: formatRange(common) });
        }
      }
    }
  }
  return overlaps;
}

function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
