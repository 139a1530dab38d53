// The reference view and quorum: whether this member hears enough of the cluster to act. The reference view is the
// live view the last time it was stable (unchanged for referenceStableMs) with quorum, so the cluster shrinks one
// failure at a time; any datagram at all is evidence we are not cut off.

/** Whether this member may act: `quorum` when it hears enough of the reference view, else `minority`. */
export interface QuorumView {
  quorum: boolean;
  reachable: number;
  reference: number;
}

/** Our own loop's state (local-health.ts): silence while we were stalled is ours, not the cluster's. */
export interface Awake {
  /** The loop is held up right now. */
  stalled: boolean;
  /** When the latest stall ended. */
  resumedAt: number;
  /** The factor on the isolation window. */
  scale: number;
}

const QUIET: Awake = { stalled: false, resumedAt: Number.NEGATIVE_INFINITY, scale: 1 };

export class ReferenceView {
  private reference: string[];
  private viewChangedAt: number;
  private lastDatagramAt: number;
  private readonly config: { isolationMs: number; referenceStableMs: number };

  constructor(self: string, now: number, config: { isolationMs: number; referenceStableMs: number }) {
    this.config = config;
    this.reference = [self];
    this.viewChangedAt = now;
    this.lastDatagramAt = now;
  }

  /** A datagram arrived. */
  heard(now: number): void {
    this.lastDatagramAt = now;
  }

  /** The live set or someone's eligibility changed. */
  viewChanged(now: number): void {
    this.viewChangedAt = now;
  }

  /**
   * Quorum: the members we heard from recently are more than half of the reference view. Hearing nothing at all from
   * anyone for `isolationMs` means we are cut off, whatever the view says: with sparse monitoring, a cut-off member
   * would otherwise keep believing in the members its own monitors do not watch. Exactly half is quorum only on the
   * side holding the reference view's first member, which both sides compute alike. `joining`: not joined yet
   * although there is someone to join, so no quorum (a (re)starting member that believed itself alone would announce
   * every address at once, over the members that hold them). Silence is counted only while our own loop was running
   * (`awake`): a stalled loop has not read the datagrams waiting in its socket, so it cannot tell (the fences of 10 to
   * 150 ms seen on a loaded machine).
   */
  quorum(now: number, live: readonly string[], joining: boolean, awake: Awake = QUIET): QuorumView {
    if (joining) return { quorum: false, reachable: 1, reference: 1 };
    const alive = new Set(live);
    const silentFor = now - Math.max(this.lastDatagramAt, awake.resumedAt);
    const isolated = this.reference.length > 1 && !awake.stalled && silentFor > this.config.isolationMs * awake.scale;
    const reachable = isolated ? 1 : this.reference.filter((name) => alive.has(name)).length;
    const reference = this.reference.length;
    const quorum =
      2 * reachable > reference || (2 * reachable === reference && !isolated && alive.has(this.reference[0]!));
    return { quorum, reachable, reference };
  }

  /** Adopts `live` as the reference once the view has been stable long enough, with quorum. */
  settle(now: number, live: readonly string[], joining: boolean, awake: Awake = QUIET): void {
    if (now - this.viewChangedAt < this.config.referenceStableMs) return;
    if (sameNames(live, this.reference) || !this.quorum(now, live, joining, awake).quorum) return;
    this.reference = [...live];
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
