// The member table: what we know of every other member (state, incarnation, eligibility, who suspects it), merged
// by SWIM's precedence: a higher incarnation wins; at equal incarnation dead beats suspect beats alive.
import type { MemberState, MemberUpdate } from './types.ts';

export interface Member extends MemberUpdate {
  /** When it became suspect (for the suspicion timeout) or dead (for the tombstone). */
  since: number;
  accusers: Set<string>;
}

/** What applying an update changed: whether to gossip it on, and whether the live set or eligibility moved. */
export interface Applied {
  gossip: boolean;
  viewChanged: boolean;
}

export class MemberTable {
  private readonly members = new Map<string, Member>();

  get size(): number {
    return this.members.size;
  }

  get(name: string): Member | undefined {
    return this.members.get(name);
  }

  values(): IterableIterator<Member> {
    return this.members.values();
  }

  /** Forgets dead members whose tombstone is older than `tombstoneMs`. */
  expireTombstones(now: number, tombstoneMs: number): void {
    for (const [name, member] of this.members) {
      if (member.state === 'dead' && now - member.since > tombstoneMs) this.members.delete(name);
    }
  }

  /** The names of the members not known dead (suspects included). */
  live(): string[] {
    return [...this.members.values()].filter((m) => m.state !== 'dead').map((m) => m.name);
  }

  /** Merges an update about another member. */
  apply(update: MemberUpdate, now: number): Applied {
    const known = this.members.get(update.name);
    if (known === undefined) {
      this.members.set(update.name, { ...update, by: undefined, since: now, accusers: accusersOf(update) });
      return { gossip: update.state !== 'dead', viewChanged: true };
    }
    if (update.state === 'suspect' && known.state === 'suspect' && update.incarnation === known.incarnation) {
      // Another, independent suspicion of the same incarnation: only shortens the timeout.
      if (update.by !== undefined) known.accusers.add(update.by);
      return { gossip: false, viewChanged: false };
    }
    if (!supersedes(update, known)) return { gossip: false, viewChanged: false };
    const liveChanged = (known.state === 'dead') !== (update.state === 'dead') || known.eligible !== update.eligible;
    known.addr = update.addr;
    known.incarnation = update.incarnation;
    known.eligible = update.eligible;
    if (known.state !== update.state) known.since = now;
    known.state = update.state;
    known.accusers = accusersOf(update);
    return { gossip: true, viewChanged: liveChanged };
  }
}

export function toUpdate(member: Member): MemberUpdate {
  const { name, addr, state, incarnation, eligible } = member;
  return { name, addr, state, incarnation, eligible };
}

function supersedes(update: MemberUpdate, known: Member): boolean {
  if (update.incarnation !== known.incarnation) return update.incarnation > known.incarnation;
  return RANK[update.state] > RANK[known.state];
}

const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2 };

function accusersOf(update: MemberUpdate): Set<string> {
  return new Set(update.state === 'suspect' && update.by !== undefined ? [update.by] : []);
}

/**
 * Whether any update carries an incarnation no member could have reached by now, so that accepting it would put its
 * subject where it cannot refute. A member starts at its start time in ms (udp.ts) and adds one per refutation or
 * eligibility change, far fewer than a ms apiece, so a true incarnation is never ahead of the wall clock by more than
 * the clocks' skew (`windowMs`). An accusation of a member that is accepted is at most `windowMs` ahead of the
 * receiver's clock, and the refutation (one more) is accepted wherever the accusation was, a ms later. Accusations
 * of ourselves get twice the window: a member whose clock is behind the accuser's must still hear, and refute, what
 * the accuser's neighbours accepted.
 */
export function beyondIncarnationBound(
  updates: readonly MemberUpdate[],
  self: string,
  wallNowMs: number,
  windowMs: number,
): boolean {
  return updates.some((u) => u.incarnation > wallNowMs + (u.name === self ? 2 : 1) * windowMs);
}
