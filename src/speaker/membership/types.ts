// The membership protocol's vocabulary: member states, the datagrams, and the tunables (docs/failure-model.md has the
// reasoning behind each default). Shared by the pure state machine (machine.ts) and the UDP transport (udp.ts).

export type MemberState = 'alive' | 'suspect' | 'dead';

/** One member's state as gossiped; a higher incarnation always wins, and only the member itself raises it. */
export interface MemberUpdate {
  name: string;
  /** Where it listens, `host:port`. */
  addr: string;
  state: MemberState;
  incarnation: number;
  /** Whether it may announce addresses (probation over, kube-proxy healthy); carried with its incarnation. */
  eligible: boolean;
  /** For `suspect`: who suspects it, so two independent suspicions shorten the timeout. */
  by?: string;
}

export type Message =
  | { type: 'ping'; from: string; seq: number; updates: MemberUpdate[] }
  | { type: 'ack'; from: string; seq: number; updates: MemberUpdate[] }
  /** Ask `from`'s helper to ping `target` and relay the ack under `seq`. */
  | { type: 'ping-req'; from: string; seq: number; target: string; targetAddr: string; updates: MemberUpdate[] }
  /** State changes fanned out at once by the member that decided them. */
  | { type: 'update'; from: string; updates: MemberUpdate[] }
  /** The whole view: on join and for anti-entropy; `reply` asks the receiver to send its own back. */
  | { type: 'sync'; from: string; reply: boolean; updates: MemberUpdate[] };

export interface Outgoing {
  to: string;
  message: Message;
}

export interface MembershipConfig {
  /** Monitors per member (each member probes its successor on this many hash rings). */
  monitors: number;
  /** Each monitor probes its targets this often. */
  probeIntervalMs: number;
  ackTimeoutMs: number;
  /** Members asked to probe indirectly after a missed ack, and how long their relayed ack may take. */
  indirectHelpers: number;
  indirectTimeoutMs: number;
  suspicionTimeoutMs: number;
  /** The suspicion timeout once two members suspect independently. */
  confirmedSuspicionTimeoutMs: number;
  /** Piggybacked updates are retransmitted multiplier * log2(N + 1) times. */
  retransmitMultiplier: number;
  antiEntropyIntervalMs: number;
  /** A dead member's tombstone ignores stale `alive` gossip this long. */
  tombstoneMs: number;
  /** The view must be unchanged this long, with quorum, before it becomes the reference for quorum. */
  referenceStableMs: number;
  /** Hearing no datagram at all from anyone this long means we are cut off. */
  isolationMs: number;
  /** Accused of being suspect or dead, a member stops announcing until this long after the last accusation. */
  refuteSettleMs: number;
}

export const DEFAULT_MEMBERSHIP_CONFIG: MembershipConfig = {
  monitors: 3,
  probeIntervalMs: 100,
  ackTimeoutMs: 50,
  indirectHelpers: 3,
  indirectTimeoutMs: 50,
  suspicionTimeoutMs: 250,
  confirmedSuspicionTimeoutMs: 150,
  retransmitMultiplier: 3,
  antiEntropyIntervalMs: 1000,
  tombstoneMs: 60_000,
  referenceStableMs: 2000,
  isolationMs: 150,
  refuteSettleMs: 300,
};
