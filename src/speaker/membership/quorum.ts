// The reference view and quorum: whether this member hears enough of the cluster to act. The reference view is the
// live view the last time it was stable (unchanged for referenceStableMs) with quorum, so the cluster shrinks one
// failure at a time; any datagram at all is evidence we are not cut off.

/** Whether this member may act: `quorum` when it hears enough of the reference view, else `minority`. */
export interface QuorumView {
  quorum: boolean;
  reachable: number;
  reference: number;
}

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
   * every address at once, over the members that hold them).
   */
  quorum(now: number, live: readonly string[], joining: boolean): QuorumView {
    if (joining) return { quorum: false, reachable: 1, reference: 1 };
    const alive = new Set(live);
    const isolated = this.reference.length > 1 && now - this.lastDatagramAt > this.config.isolationMs;
    const reachable = isolated ? 1 : this.reference.filter((name) => alive.has(name)).length;
    const reference = this.reference.length;
    const quorum =
      2 * reachable > reference || (2 * reachable === reference && !isolated && alive.has(this.reference[0]!));
    return { quorum, reachable, reference };
  }

  /** Adopts `live` as the reference once the view has been stable long enough, with quorum. */
  settle(now: number, live: readonly string[], joining: boolean): void {
    if (now - this.viewChangedAt < this.config.referenceStableMs) return;
    if (sameNames(live, this.reference) || !this.quorum(now, live, joining).quorum) return;
    this.reference = [...live];
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
