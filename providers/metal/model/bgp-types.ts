// The typed model of BGP announcement: what a BGPPeer, a BGPAdvertisement and a BFDProfile (drawbridge.io/v1alpha1,
// cluster-scoped, next to AddressPool) mean once parsed. The speaker decides and drives its routing engine from
// these; the controller only validates the objects (Warning Events) and `drawbridge status` reports them. Parsing
// lives in bgp-schema.ts.

export const BGP_PEER_KIND = 'BGPPeer';
export const BGP_PEER_PLURAL = 'bgppeers';
export const BGP_ADVERTISEMENT_KIND = 'BGPAdvertisement';
export const BGP_ADVERTISEMENT_PLURAL = 'bgpadvertisements';
export const BFD_PROFILE_KIND = 'BFDProfile';
export const BFD_PROFILE_PLURAL = 'bfdprofiles';

/** A Kubernetes label selector (matchLabels AND every matchExpression); an empty selector matches every node. */
export interface NodeSelector {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

export interface BgpPeer {
  name: string;
  /** The router's address, IPv4 or IPv6. */
  peerAddress: string;
  peerASN: number;
  /** The nodes' ASN (equal to peerASN: iBGP). */
  myASN: number;
  /** Absent: the engine picks (the node's InternalIPv4). */
  routerID?: string;
  /** Absent: the engine picks the address that routes to the peer. */
  sourceAddress?: string;
  /** Default 179. */
  port: number;
  /** Default 90 s; 0 or 3..65535. */
  holdTimeSeconds: number;
  /** Default holdTime / 3. */
  keepaliveTimeSeconds: number;
  ebgpMultiHop: boolean;
  /** A Secret in the speaker's own namespace (least privilege: the speaker reads no other namespace's Secrets). */
  passwordSecret?: { name: string; key: string };
  /** Which nodes peer with this router: those any selector matches; empty: every node. */
  nodeSelectors: NodeSelector[];
  /** The BFDProfile to run with this peer; absent: the built-in default profile (BFD is on unless disableBFD). */
  bfdProfile?: string;
  /** BFD is on by default; true turns it off for this peer. */
  disableBFD: boolean;
}

export interface BgpAdvertisement {
  name: string;
  /** AddressPool names; empty: every pool. */
  addressPools: string[];
  /** BGPPeer names; empty: every peer. */
  peers: string[];
  /** "65000:100" or a well-known name (no-export, no-advertise, local-as, no-peer). */
  communities: string[];
  /** "global:local1:local2". */
  largeCommunities: string[];
  /** iBGP only. */
  localPref?: number;
  /** Prefix length the addresses are announced with; default 32 / 128. */
  aggregationLength: number;
  aggregationLengthV6: number;
  /** Which nodes announce; empty list: every node. */
  nodeSelectors: NodeSelector[];
}

export interface BfdProfile {
  name: string;
  /** Defaults 150 ms receive / 150 ms transmit, multiplier 3: the router sees a dead node within 450 ms. */
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
  echoMode: boolean;
  passiveMode: boolean;
  /** For multihop sessions; default 254. */
  minimumTtl: number;
}

/** The profile a peer runs when it names none. */
export const DEFAULT_BFD_PROFILE: BfdProfile = {
  name: 'default',
  // The router's detection time is its multiplier times the slower of its receive and our transmit interval: 450 ms
  // here keeps a dead node's failover under 1 s (docs/bgp-engine.md) with room for a loaded node's late packets.
  receiveIntervalMs: 150,
  transmitIntervalMs: 150,
  detectMultiplier: 3,
  echoMode: false,
  passiveMode: false,
  minimumTtl: 254,
};
