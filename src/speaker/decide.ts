// The speaker's one decision: which addresses to answer for right now. Pure: it reads only its inputs (the cache's
// view, the membership's view, the fence's verdict, what we held and when things happened) and `now`, and returns
// the holdings to keep plus what changed; speaker.ts gathers the inputs every 25 ms and on every change, and does the
// I/O (watching, gratuitous announcements, logs, the apiserver check, confirmation pings).
import type { AddressPool } from '../../providers/metal/model/pool.ts';
import type { PartitionState } from './metrics.ts';
import { type AnnouncedService, assignments, ownedAddresses } from './table.ts';

/**
 * The soonest the others can take our addresses over, counted from the moment we lost quorum. A cut-off member
 * fences after `isolationMs` (150 ms) of silence; the first survivor declares it dead no sooner than ack + indirect +
 * confirmed suspicion (250 ms) after the cut: about 100 ms later (the machine test's worst case over cut phases is
 * 109 ms). A quorum blip shorter than this moved nothing, so we answer again at once; a longer one may have, so
 * taking addresses back is a planned move (acknowledged, a gap not an overlap). Kept below the 100 ms on purpose:
 * treating a blip as a move costs one round trip, treating a move as a blip costs a double answer.
 */
export const MIN_TAKEOVER_MS = 50;
/**
 * Isolated (no quorum, apiserver reachable): how long after losing quorum before answering again for what we held.
 * A majority that can still reach the apiserver takes our addresses over within a second and names itself on their
 * Services; waiting this long lets that annotation reach our cache first, so we stay silent rather than answer next
 * to the new owner. With no majority (the membership broken everywhere), this is the gap before we resume.
 */
export const ISOLATED_REANSWER_MS = 3000;
/** A planned move waits for every member's acknowledgement (see `decide`), but never longer than this. */
export const PLANNED_MOVE_MAX_MS = 2000;

/** What the speaker carries from one decision to the next. */
export interface Holdings {
  /** The partition state the last decision acted on. */
  partition: PartitionState;
  /** When we last went from quorum to no quorum. */
  quorumLostAt: number;
  /** When this node last became eligible (probation over, health back, a healed partition): planned moves. */
  eligibleSince: number;
  /** The addresses we answer for, each with the Services that use it. */
  held: ReadonlyMap<string, string[]>;
  /** The owned-address table, computed again only when `tableVersion` moves. */
  table?: { version: number; owned: Map<string, string[]> };
}

export interface DecideInput {
  now: number;
  self: string;
  /** The cache's view. */
  services: readonly AnnouncedService[];
  pools: readonly AddressPool[];
  excluded: ReadonlySet<string>;
  /** The node a Service's announcing-node annotation names, if any. */
  announcingNode(key: string): string | undefined;
  /** Bumped whenever the cache or the membership changed, so the table is recomputed only then. */
  tableVersion: number;
  /** The membership's live, eligible members. */
  eligibleMembers: readonly string[];
  /** Whether every live member has acknowledged a ping sent at or after `since`. */
  confirmedSince(since: number): boolean;
  /** The fence's verdict now (fence.ts), and while isolated the addresses we held when quorum went. */
  partition: PartitionState;
  keepable: ReadonlySet<string>;
  /** After becoming eligible, how long before taking addresses from live owners. */
  plannedMoveDelayMs: number;
}

export interface Decision {
  next: Holdings;
  /** The partition state changed (next.partition is the new one). */
  partitionChanged: boolean;
  /** Quorum was just lost: ask the apiserver now whether we are cut off from everything or only from the members. */
  checkApi: boolean;
  /** Back in quorum after a possible move: ask every live member to acknowledge a ping sent at this time. */
  confirmSince?: number;
  /** Addresses we stop answering for. */
  released: string[];
  /** Addresses we start answering for: each needs gratuitous announcements and a report. */
  taken: Array<[string, string[]]>;
}

export function decide(input: DecideInput, prev: Holdings): Decision {
  const { now, partition } = input;
  let { quorumLostAt, eligibleSince, table } = prev;
  let checkApi = false;
  let confirmSince: number | undefined;
  const partitionChanged = partition !== prev.partition;
  if (partitionChanged) {
    if (prev.partition === 'quorum') {
      checkApi = true;
      quorumLostAt = now;
    }
    // Back in the quorum after long enough for the others to have taken our addresses over (a healed partition):
    // taking them back is a planned move from live owners. A shorter blip (a starved event loop tripping the
    // isolation fence) moved nothing: nobody can take over in less than the membership's minimum detection time.
    if (partition === 'quorum' && now - quorumLostAt >= MIN_TAKEOVER_MS) {
      eligibleSince = now;
      confirmSince = now;
    }
  }
  const tableInput = {
    self: input.self,
    services: input.services,
    members: input.eligibleMembers,
    pools: input.pools,
    excluded: input.excluded,
  };
  if (partition === 'quorum' && table?.version !== input.tableVersion) {
    table = { version: input.tableVersion, owned: ownedAddresses(tableInput) };
  }
  const owned = partition === 'quorum' ? table!.owned : new Map<string, string[]>();
  if (partition === 'isolated') {
    // Cut off from the members but not from the apiserver: answer again, after ISOLATED_REANSWER_MS, for what we held
    // when quorum went, unless its Service names another announcing node by then (the majority took it over); take
    // nothing over (we cannot tell dead members from unreachable ones).
    for (const [ip, { services: keys }] of assignments(tableInput)) {
      const elsewhere = keys.some((key) => {
        const node = input.announcingNode(key);
        return node !== undefined && node !== input.self;
      });
      if (input.keepable.has(ip) && !elsewhere && now - quorumLostAt >= ISOLATED_REANSWER_MS) owned.set(ip, keys);
    }
  }
  const held = new Map(prev.held);
  const released: string[] = [];
  for (const ip of [...held.keys()]) {
    if (owned.has(ip)) continue;
    held.delete(ip);
    released.push(ip);
  }
  // A planned move (we just became eligible: probation over, health back, a healed partition): the old owner is
  // alive and stops when our fan-out reaches it, so we start only plannedMoveDelayMs after it, a short gap rather
  // than a moment where both answer. Takeovers from dead or ineligible members are not delayed.
  // And not before every live member has acknowledged a ping sent after it: a loaded old owner may not have read
  // the change yet after 200 ms (seen in the lab: both answering at a restart), and it acks only after reading it.
  // (At most PLANNED_MOVE_MAX_MS: a member that joined since may never be pinged by us.)
  const sinceEligible = now - eligibleSince;
  const settling =
    sinceEligible < input.plannedMoveDelayMs ||
    (sinceEligible < PLANNED_MOVE_MAX_MS && !input.confirmedSince(eligibleSince));
  const taken: Array<[string, string[]]> = [];
  for (const [ip, keys] of owned) {
    if (held.has(ip)) {
      held.set(ip, keys);
      continue;
    }
    if (settling) continue; // the next decision comes back for it
    held.set(ip, keys);
    taken.push([ip, keys]);
  }
  return {
    next: { partition, quorumLostAt, eligibleSince, held, table },
    partitionChanged,
    checkApi,
    confirmSince,
    released,
    taken,
  };
}
