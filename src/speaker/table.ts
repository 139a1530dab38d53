// The owned-address table: which assigned addresses this node announces right now. Pure: every speaker computes it
// from the same inputs and reaches the same answer with no coordination. An address is considered only if it lies
// inside a configured pool, so a Service whose status names an arbitrary address (a typo, another controller's) can
// never make a speaker answer for it; and only if that pool is announced by L2 (`l2: false` leaves it to BGP).

import { formatAddress, parseAddress, rangeContains } from '../../providers/metal/model/addresses.ts';
import type { AddressPool } from '../../providers/metal/model/pool.ts';
import { candidatesFor, ownerOf, type TrafficPolicy } from './owner.ts';

export interface AnnouncedService {
  /** namespace/name */
  key: string;
  /** Ingress addresses from its status, as written. */
  addresses: readonly string[];
  policy: TrafficPolicy;
  /** Nodes with a ready endpoint of the Service; consulted for `Local` only. */
  readyEndpointNodes: ReadonlySet<string>;
}

export interface TableInput {
  self: string;
  services: readonly AnnouncedService[];
  pools: readonly AddressPool[];
  /** Live, eligible members, from the membership. */
  members: readonly string[];
  /** Nodes that may never announce (excluded by label). */
  excluded?: ReadonlySet<string>;
}

/** Every announced address (canonical text) with its owner, and the Services that use it. */
export interface Assignment {
  owner: string | null;
  services: string[];
}

export function assignments({ services, pools, members, excluded }: TableInput): Map<string, Assignment> {
  // An address shared by several Services may be announced by a node eligible for any of them (sharing only puts
  // `Local` Services together when their selectors match, so their endpoint nodes do too).
  const byAddress = new Map<string, { services: string[]; candidates: Set<string> }>();
  const l2Pools = pools.filter((pool) => pool.l2);
  for (const service of [...services].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const candidates = candidatesFor({
      live: members,
      policy: service.policy,
      readyEndpointNodes: service.readyEndpointNodes,
      excluded,
    });
    for (const text of service.addresses) {
      const address = parseAddress(text);
      if (address === null || !l2Pools.some((pool) => pool.ranges.some((range) => rangeContains(range, address)))) {
        continue;
      }
      const canonical = formatAddress(address.family, address.value);
      const entry = byAddress.get(canonical) ?? { services: [], candidates: new Set<string>() };
      entry.services.push(service.key);
      for (const node of candidates) entry.candidates.add(node);
      byAddress.set(canonical, entry);
    }
  }
  const result = new Map<string, Assignment>();
  for (const [address, { services: keys, candidates }] of byAddress) {
    result.set(address, { owner: ownerOf(address, candidates), services: keys });
  }
  return result;
}

/** The addresses `self` announces, each with the Services that use it. */
export function ownedAddresses(input: TableInput): Map<string, string[]> {
  const owned = new Map<string, string[]>();
  for (const [address, { owner, services }] of assignments(input)) {
    if (owner === input.self) owned.set(address, services);
  }
  return owned;
}
