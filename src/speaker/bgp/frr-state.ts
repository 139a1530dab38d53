// What this node's FRR should hold, as data: built from the node's routes (providers/metal/model/bgp-announce.ts) and
// the BGPPeers and BFDProfiles that apply to it. frr-commands.ts turns the difference between two of these into the
// few configuration lines that make one into the other.
import type { BgpRoute } from '../../../providers/metal/model/bgp-announce.ts';
import { type BfdProfile, type BgpPeer, DEFAULT_BFD_PROFILE } from '../../../providers/metal/model/bgp-types.ts';
import { matchesAnySelector } from '../../lib/kube/label-selector.ts';
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
  /** Found in FRR without all of its lines (runningFrrState): configured again from scratch. */
  incomplete?: boolean;
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
    .filter((peer) => matchesAnySelector(peer.nodeSelectors, input.labels))
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

/** What FRR holds of ours (runningFrrState): the state, and removal lines for our objects the state cannot name. */
export interface RunningFrrState {
  state: FrrState;
  /** bgpd lines removing prefix-lists named like ours that are no neighbor's outbound list. */
  strays: string[];
}

// bfdd's values when a profile's line is absent from its running configuration (it prints only what differs).
const BFD_DEFAULTS = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3, minimumTtl: 254 };
const COMMUNITY_NAME: Record<string, string> = { 'local-AS': 'local-as' };

/**
 * Our objects in FRR's running configuration (bgpd's and bfdd's `show running-config`), as the state that applied
 * them: a restarted speaker adopts what its predecessor left and applies only the difference, so no session resets.
 * The `router bgp` instance is ours whole; prefix-lists, route-maps and BFD profiles only when named `drawbridge-…`.
 * A neighbor missing any of its lines (shut down, not activated, no outbound prefix-list: its configuration was
 * interrupted) is marked incomplete, to be configured again from its first line.
 */
export function runningFrrState(bgpd: string, bfdd: string): RunningFrrState {
  const state = emptyFrrState();
  const strays: string[] = [];
  /** The groups of the last match. */
  let g: string[] = [];
  const match = (line: string, re: RegExp) => {
    const found = re.exec(line);
    g = found ?? [];
    return found !== null;
  };
  const neighbor = (address: string): FrrNeighbor => {
    let n = state.neighbors.get(address);
    if (n === undefined) {
      // A port or ebgp-multihop FRR does not print is its default; timers it does not print are unknown (NaN: set).
      const unknown = Number.NaN;
      n = {
        peer: '',
        address,
        remoteAs: unknown,
        port: 179,
        holdTime: unknown,
        keepalive: unknown,
        ebgpMultihop: false,
      };
      n.incomplete = true;
      state.neighbors.set(address, n);
    }
    return n;
  };
  const complete = new Map<string, { family: boolean; list: boolean; shutdown: boolean }>();
  let section = '';
  let family = '';
  let routeMap: FrrAttributes | undefined;
  for (const line of bgpd.split('\n')) {
    if (!line.startsWith(' ')) {
      section = line.trim();
      routeMap = undefined;
    }
    if (match(line, /^router bgp (\d+)\s*$/)) state.asn = Number(g[1]);
    else if (match(line, /^(ip|ipv6) prefix-list (\S+) seq \d+ (permit|deny) (\S+)/)) {
      const [, ip, name, action, prefix] = g as unknown as [string, string, string, string, string];
      if (!name.startsWith(NAME_PREFIX)) continue;
      const address = name.startsWith(prefixListName('')) ? name.slice(prefixListName('').length) : undefined;
      if (address === undefined) {
        if (!strays.includes(`no ${ip} prefix-list ${name}`)) strays.push(`no ${ip} prefix-list ${name}`);
        continue;
      }
      const exports = state.exports.get(address) ?? new Set<string>();
      state.exports.set(address, exports);
      if (action === 'permit') exports.add(prefix);
    } else if (match(line, /^route-map (\S+) /) && g[1]!.startsWith(NAME_PREFIX)) {
      routeMap = { communities: [], largeCommunities: [] };
      state.routeMaps.set(g[1]!, routeMap);
    } else if (routeMap !== undefined && match(line, /^ set (community|large-community|local-preference) (.*)$/)) {
      if (g[1] === 'community') routeMap.communities = g[2]!.split(' ').map((c) => COMMUNITY_NAME[c] ?? c);
      else if (g[1] === 'large-community') routeMap.largeCommunities = g[2]!.split(' ');
      else routeMap.localPref = Number(g[2]);
    } else if (section.startsWith('router bgp ') && state.asn !== undefined) {
      if (match(line, /^ address-family (ipv4|ipv6) unicast/)) family = g[1]!;
      else if (/^ exit-address-family/.test(line)) family = '';
      else if (match(line, /^ bgp router-id (\S+)/)) state.routerId = g[1]!;
      else if (match(line, /^ {2}network (\S+)(?: route-map (\S+))?\s*$/)) state.networks.set(g[1]!, g[2] ?? '');
      else if (match(line, /^ {1,2}neighbor (\S+) (.*?)\s*$/)) {
        const [, address, rest] = g as unknown as [string, string, string];
        const n = neighbor(address);
        const done = complete.get(address) ?? { family: false, list: false, shutdown: false };
        complete.set(address, done);
        const words = rest.split(' ');
        if (family !== '') {
          const own = family === (address.includes(':') ? 'ipv6' : 'ipv4');
          if (own && rest === 'activate') done.family = true;
          if (own && rest === `prefix-list ${prefixListName(address)} out`) done.list = true;
        } else if (words[0] === 'remote-as') n.remoteAs = Number(words[1]);
        else if (words[0] === 'shutdown') done.shutdown = true;
        else if (words[0] === 'port') n.port = Number(words[1]);
        else if (words[0] === 'ebgp-multihop') n.ebgpMultihop = true;
        else if (words[0] === 'update-source') n.sourceAddress = words[1]!;
        else if (words[0] === 'password') n.password = rest.slice('password '.length);
        else if (words[0] === 'bfd' && words[1] === 'profile') n.bfdProfile = words[2]!;
        else if (words[0] === 'timers' && words[1] !== 'connect') {
          n.keepalive = Number(words[1]);
          n.holdTime = Number(words[2]);
        }
      }
    }
  }
  for (const [address, done] of complete) {
    const n = state.neighbors.get(address)!;
    if (done.family && done.list && !done.shutdown && !Number.isNaN(n.remoteAs)) delete n.incomplete;
  }
  let profile: BfdProfile | undefined;
  for (const line of bfdd.split('\n')) {
    if (match(line, /^ profile (\S+)\s*$/)) {
      profile = g[1]!.startsWith(NAME_PREFIX)
        ? { name: g[1]!.slice(NAME_PREFIX.length), ...BFD_DEFAULTS, echoMode: false, passiveMode: false }
        : undefined;
      if (profile !== undefined) state.bfdProfiles.set(g[1]!, profile);
    } else if (profile !== undefined && match(line, /^ {2}(\S+)(?: (\d+))?\s*$/)) {
      const value = Number(g[2]);
      if (g[1] === 'receive-interval') profile.receiveIntervalMs = value;
      else if (g[1] === 'transmit-interval') profile.transmitIntervalMs = value;
      else if (g[1] === 'detect-multiplier') profile.detectMultiplier = value;
      else if (g[1] === 'minimum-ttl') profile.minimumTtl = value;
      else if (g[1] === 'echo-mode') profile.echoMode = true;
      else if (g[1] === 'passive-mode') profile.passiveMode = true;
    } else if (!line.startsWith('  ')) profile = undefined;
  }
  return { state, strays };
}
