// The BGP announce decision, pure and shared: the speaker drives its routing engine from it for its own node, and
// `drawbridge status` shows it for every node. Unlike L2 (one owner per address), every node that may carry a
// Service's traffic announces its addresses and the router spreads the flows over them (ECMP), so the question per
// node is only "does it announce, to which peers, with which attributes".
import type { V1Node } from '@kubernetes/client-node';
import { matchesAnySelector } from '../../../src/lib/kube/label-selector.ts';
import { nodeEligibility } from '../../../src/lib/service/eligibility.ts';
import { type Address, formatAddress, parseAddress, rangeContains } from './addresses.ts';
import type { BgpAdvertisement, BgpPeer } from './bgp-types.ts';
import type { AddressPool } from './pool.ts';

/** One route a node announces. */
export interface BgpRoute {
  /** The network, `address/aggregationLength` with the host bits cleared (`10.0.0.0/24`, `fd00::5/128`). */
  prefix: string;
  /** BGPPeer names, sorted. */
  peers: string[];
  /** Sorted, without duplicates; merged over every advertisement that selects the prefix for this node. */
  communities: string[];
  largeCommunities: string[];
  /** The highest of the advertisements' localPref, if any sets one. */
  localPref?: number;
}

export interface BgpAnnounceInput {
  service: {
    /** Ingress addresses from its status, as written. */
    addresses: readonly string[];
    policy: 'Cluster' | 'Local';
  };
  pools: readonly AddressPool[];
  advertisements: readonly BgpAdvertisement[];
  peers: readonly BgpPeer[];
  nodes: readonly V1Node[];
  /** Nodes with a ready (or serving, terminating) endpoint of the Service: consulted for `Local` only. */
  readyEndpointNodes: ReadonlySet<string>;
  /** Nodes whose kube-proxy health check fails. */
  unhealthyNodes: ReadonlySet<string>;
}

const BITS = { IPv4: 32, IPv6: 128 } as const;

/** `address/length` with the host bits cleared, in canonical text. */
export function prefixOf(address: Address, length: number): string {
  const host = BigInt(BITS[address.family] - length);
  return `${formatAddress(address.family, (address.value >> host) << host)}/${length}`;
}

/** The routes each node announces for one Service: a node absent from the map (or with none) announces nothing. */
export function bgpRoutes(input: BgpAnnounceInput): Map<string, BgpRoute[]> {
  const result = new Map<string, BgpRoute[]>();
  const { service } = input;
  for (const node of input.nodes) {
    const name = node.metadata?.name ?? '';
    // Excluded by label, being deleted, about to be removed by the autoscaler: the same nodes the controller and L2
    // leave out. A failing kube-proxy cannot forward, and for Local only a node with an endpoint keeps the client's
    // address and its traffic on the node.
    if (!nodeEligibility(node).eligible || input.unhealthyNodes.has(name)) continue;
    if (service.policy === 'Local' && !input.readyEndpointNodes.has(name)) continue;
    const labels = node.metadata?.labels ?? {};
    const nodePeers = input.peers.filter((peer) => matchesAnySelector(peer.nodeSelectors, labels));
    if (nodePeers.length === 0) continue;
    const routes = new Map<string, BgpRoute>();
    for (const text of service.addresses) {
      const address = parseAddress(text);
      if (address === null) continue;
      // An address outside every pool is never announced (as in L2): a typo in a status cannot attract traffic.
      const pool = input.pools.find((p) => p.ranges.some((range) => rangeContains(range, address)));
      if (pool === undefined) continue;
      for (const adv of input.advertisements) {
        if (adv.addressPools.length > 0 && !adv.addressPools.includes(pool.name)) continue;
        if (!matchesAnySelector(adv.nodeSelectors, labels)) continue;
        const peers = nodePeers.filter((peer) => adv.peers.length === 0 || adv.peers.includes(peer.name));
        if (peers.length === 0) continue;
        const length = address.family === 'IPv4' ? adv.aggregationLength : adv.aggregationLengthV6;
        addRoute(routes, prefixOf(address, length), peers, adv);
      }
    }
    if (routes.size > 0) result.set(name, sortRoutes([...routes.values()]));
  }
  return result;
}

/** The union of several Services' routes for one node: a prefix shared by several is announced once, merged. */
export function mergeRoutes(lists: Iterable<readonly BgpRoute[]>): BgpRoute[] {
  const routes = new Map<string, BgpRoute>();
  for (const list of lists) {
    for (const route of list) {
      const merged = routes.get(route.prefix);
      routes.set(route.prefix, merged === undefined ? { ...route } : mergeTwo(merged, route));
    }
  }
  return sortRoutes([...routes.values()]);
}

function addRoute(routes: Map<string, BgpRoute>, prefix: string, peers: BgpPeer[], adv: BgpAdvertisement): void {
  const route: BgpRoute = {
    prefix,
    peers: peers.map((p) => p.name),
    communities: adv.communities,
    largeCommunities: adv.largeCommunities,
    ...(adv.localPref === undefined ? {} : { localPref: adv.localPref }),
  };
  const existing = routes.get(prefix);
  routes.set(prefix, normalise(existing === undefined ? route : mergeTwo(existing, route)));
}

// One prefix carries one set of attributes in the engine (`network <prefix> route-map <map>`): when two
// advertisements select the same prefix with different attributes they are merged (communities unioned, the higher
// local preference), as MetalLB does.
function mergeTwo(a: BgpRoute, b: BgpRoute): BgpRoute {
  const localPref =
    a.localPref === undefined
      ? b.localPref
      : b.localPref === undefined
        ? a.localPref
        : Math.max(a.localPref, b.localPref);
  return normalise({
    prefix: a.prefix,
    peers: [...a.peers, ...b.peers],
    communities: [...a.communities, ...b.communities],
    largeCommunities: [...a.largeCommunities, ...b.largeCommunities],
    ...(localPref === undefined ? {} : { localPref }),
  });
}

const sortedSet = (values: readonly string[]) => [...new Set(values)].sort();

function normalise(route: BgpRoute): BgpRoute {
  return {
    ...route,
    peers: sortedSet(route.peers),
    communities: sortedSet(route.communities),
    largeCommunities: sortedSet(route.largeCommunities),
  };
}

function sortRoutes(routes: BgpRoute[]): BgpRoute[] {
  return routes.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
