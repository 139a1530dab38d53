// Who probes whom. SWIM's random targets make the time until a dead member is first probed geometric (MetalLB's
// memberlist: seconds); instead each member probes its successor on K hash rings, so every member has K fixed
// monitors and is probed at least once per probe interval (Rapid's construction). Every member computes the same rings
// from the same view, with no coordination.
import { rendezvousWeight } from '../owner.ts';

/** The members `self` probes: its successor on each of `k` rings over `names` (which include `self`). */
export function monitorTargets(self: string, names: readonly string[], k: number): string[] {
  const others = names.filter((name) => name !== self);
  // With few members a ring's successors would repeat; everyone watching everyone costs little there.
  if (others.length <= k) return others.sort();
  const targets = new Set<string>();
  for (let ring = 0; ring < k; ring++) {
    const order = ringOrder(names, ring);
    const at = order.indexOf(self);
    targets.add(order[(at + 1) % order.length]!);
  }
  return [...targets].sort();
}

/** The members that probe `name`: its predecessor on each ring. */
export function monitorsOf(name: string, names: readonly string[], k: number): string[] {
  const others = names.filter((other) => other !== name);
  if (others.length <= k) return others.sort();
  const monitors = new Set<string>();
  for (let ring = 0; ring < k; ring++) {
    const order = ringOrder(names, ring);
    const at = order.indexOf(name);
    monitors.add(order[(at - 1 + order.length) % order.length]!);
  }
  return [...monitors].sort();
}

function ringOrder(names: readonly string[], ring: number): string[] {
  const seed = `ring-${ring}`;
  return [...names].sort((a, b) => rendezvousWeight(seed, a) - rendezvousWeight(seed, b) || (a < b ? -1 : 1));
}
