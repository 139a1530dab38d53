// What this node's FRR should hold, as data: built from the node's routes (providers/metal/model/bgp-announce.ts) and
// the BGPPeers and BFDProfiles that apply to it. frr-commands.ts turns the difference between two of these into the
// few configuration lines that make one into the other.
import type { BgpRoute } from '../../../providers/metal/model/bgp-announce.ts';
import { type BfdProfile, type BgpPeer, DEFAULT_BFD_PROFILE } from '../../../providers/metal/model/bgp-types.ts';
import { matchesLabels } from '../../lib/kube/label-selector.ts';
import { parseAddress } from '../../lib/net/ip.ts';

export interface FrrNeighbor {
  /** The BGPPeer's name: metrics and logs. */
  peer: string;
  /** Canonical text. */
  address: string;
  remoteAs: number;
  port: number;
  holdTime: number;
  keepalive: number;
  ebgpMultihop: boolean;
  sourceAddress?: string;
  password?: string;
  /** The FRR name of its BFD profile; absent: BFD off. */
  bfdProfile?: string;
}

export interface FrrAttributes {
  communities: string[];
  largeCommunities: string[];
  localPref?: number;
}

export interface FrrState {
  /** The one `router bgp` instance; absent: none (no peer applies to this node). */
  asn?: number;
  routerId?: string;
  /** By address. */
  neighbors: Map<string, FrrNeighbor>;
  /** By FRR profile name. */
  bfdProfiles: Map<string, BfdProfile>;
  /** Route-maps by name; the name is derived from the attributes, so a map never changes once made. */
  routeMaps: Map<string, FrrAttributes>;
  /** Prefix → its route-map's name ('' for none). */
  networks: Map<string, string>;
  /** Neighbor address → the prefixes it is sent (its outbound prefix-list). */
  exports: Map<string, Set<string>>;
}

export const emptyFrrState = (): FrrState => ({
  neighbors: new Map(),
  bfdProfiles: new Map(),
  routeMaps: new Map(),
  networks: new Map(),
  exports: new Map(),
});

/** Every FRR object the speaker makes is named with this prefix, so at start it can remove exactly its own. */
export const NAME_PREFIX = 'drawbridge-';

export const bfdProfileName = (profile: string) => `${NAME_PREFIX}${profile}`;
export const prefixListName = (neighbor: string) => `${NAME_PREFIX}out-${neighbor}`;

/** A short stable name for a set of attributes (FNV-1a of its JSON). */
export function routeMapName(attributes: FrrAttributes): string {
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify(attributes)) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return `${NAME_PREFIX}rm-${(hash >>> 0).toString(16).padStart(8, '0')}`;
}

export interface FrrStateInput {
  /** This node's labels, for the peers' nodeSelectors. */
  labels: Readonly<Record<string, string>>;
  /** The node's InternalIPv4, FRR's router-id when the peer names none. */
  nodeIPv4?: string;
  peers: readonly BgpPeer[];
  bfdProfiles: readonly BfdProfile[];
  /** The node's routes (mergeRoutes over every Service). */
  routes: readonly BgpRoute[];
  /** A peer's password from its Secret; undefined: none (or not readable yet). */
  password(peer: BgpPeer): string | undefined;
  /** Told of every peer left out, and why. */
  skipped?(peer: string, why: string): void;
}

const familyOf = (text: string) => (text.includes(':') ? 'IPv6' : 'IPv4');

/** The FRR state for this node. */
export function desiredFrrState(input: FrrStateInput): FrrState {
  const state = emptyFrrState();
  // FRR runs one BGP instance per VRF, so one local ASN: the first peer's (by name) wins, the others are skipped.
  const peers = input.peers
    .filter((peer) => matchesLabels(peer.nodeSelector, input.labels))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const profiles = new Map(input.bfdProfiles.map((p) => [p.name, p]));
  const byName = new Map<string, FrrNeighbor>();
  for (const peer of peers) {
    const address = parseAddress(peer.peerAddress);
    if (!address.ok) {
      input.skipped?.(peer.name, address.why);
      continue;
    }
    state.asn ??= peer.myASN;
    if (peer.myASN !== state.asn) {
      input.skipped?.(peer.name, `its myASN ${peer.myASN} differs from ${state.asn}: one local ASN per node`);
      continue;
    }
    if (state.neighbors.has(address.address)) {
      input.skipped?.(peer.name, `another BGPPeer already peers with ${address.address}`);
      continue;
    }
    state.routerId ??= peer.routerID ?? input.nodeIPv4;
    // A BFDProfile named like the built-in one replaces it; a peer naming a missing profile keeps BFD on, with the
    // built-in timers, rather than losing fast failure detection over a typo.
    const profile = peer.disableBFD
      ? undefined
      : (profiles.get(peer.bfdProfile ?? DEFAULT_BFD_PROFILE.name) ??
        profiles.get(DEFAULT_BFD_PROFILE.name) ??
        DEFAULT_BFD_PROFILE);
    if (profile !== undefined) state.bfdProfiles.set(bfdProfileName(profile.name), profile);
    const password = peer.passwordSecret === undefined ? undefined : input.password(peer);
    const neighbor: FrrNeighbor = {
      peer: peer.name,
      address: address.address,
      remoteAs: peer.peerASN,
      port: peer.port,
      holdTime: peer.holdTimeSeconds,
      keepalive: peer.keepaliveTimeSeconds,
      ebgpMultihop: peer.ebgpMultiHop,
      ...(peer.sourceAddress === undefined ? {} : { sourceAddress: peer.sourceAddress }),
      ...(password === undefined ? {} : { password }),
      ...(profile === undefined ? {} : { bfdProfile: bfdProfileName(profile.name) }),
    };
    state.neighbors.set(address.address, neighbor);
    state.exports.set(address.address, new Set());
    byName.set(peer.name, neighbor);
  }
  for (const route of input.routes) {
    // A prefix goes only to peers of its own family: an IPv6 route over an IPv4 session has no usable next hop.
    const to = route.peers.flatMap((name) => {
      const neighbor = byName.get(name);
      return neighbor !== undefined && familyOf(neighbor.address) === familyOf(route.prefix) ? [neighbor] : [];
    });
    if (to.length === 0) continue;
    const attributes: FrrAttributes = {
      communities: route.communities,
      largeCommunities: route.largeCommunities,
      ...(route.localPref === undefined ? {} : { localPref: route.localPref }),
    };
    const plain =
      attributes.communities.length + attributes.largeCommunities.length === 0 && !('localPref' in attributes);
    const map = plain ? '' : routeMapName(attributes);
    if (map !== '') state.routeMaps.set(map, attributes);
    state.networks.set(route.prefix, map);
    for (const neighbor of to) state.exports.get(neighbor.address)!.add(route.prefix);
  }
  return state;
}
