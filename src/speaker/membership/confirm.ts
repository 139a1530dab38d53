// Confirmation tracking: evidence that every live member has read what we sent. A member reads its datagrams in
// order, so its ack to a ping we sent after a fan-out means it has applied the fan-out (and stopped answering for
// what it no longer owns). Any acknowledged ping counts, failure-detection probes included.

export class Confirmations {
  /** Per member, when we sent the latest ping it acknowledged. */
  private readonly ackedSentAt = new Map<string, number>();
  /** Pings sent only to confirm, by seq: not failure detection. */
  private readonly pings = new Map<number, { target: string; sentAt: number }>();
  private wanted: number | undefined;
  private sentAt = Number.NEGATIVE_INFINITY;

  /** Wants every live member to acknowledge a ping sent at or after `since` (see `due`). */
  want(since: number): void {
    this.wanted = Math.max(this.wanted ?? since, since);
    this.sentAt = Number.NEGATIVE_INFINITY;
  }

  get pending(): boolean {
    return this.wanted !== undefined;
  }

  /** Whether every member of `live` but `self` has acknowledged a ping we sent at or after `since`. */
  confirmedSince(since: number, live: readonly string[], self: string): boolean {
    return live.every((name) => name === self || (this.ackedSentAt.get(name) ?? -1) >= since);
  }

  /**
   * The members to ping now, each with the seq `nextSeq` gave it: those that have not acknowledged yet, at most once
   * every `ackTimeoutMs`; none once all have.
   */
  due(now: number, live: readonly string[], self: string, ackTimeoutMs: number, nextSeq: () => number) {
    const since = this.wanted;
    const pings: Array<{ target: string; seq: number }> = [];
    if (since === undefined) return pings;
    if (this.confirmedSince(since, live, self)) {
      this.wanted = undefined;
      return pings;
    }
    if (now - this.sentAt < ackTimeoutMs) return pings;
    this.sentAt = now;
    for (const [seq, ping] of this.pings) if (now - ping.sentAt > 2 * ackTimeoutMs) this.pings.delete(seq);
    for (const target of live) {
      if (target === self || (this.ackedSentAt.get(target) ?? -1) >= since) continue;
      const seq = nextSeq();
      this.pings.set(seq, { target, sentAt: now });
      pings.push({ target, seq });
    }
    return pings;
  }

  /** The confirmation ping `seq`, forgotten: its ack arrived. */
  take(seq: number): { target: string; sentAt: number } | undefined {
    const ping = this.pings.get(seq);
    this.pings.delete(seq);
    return ping;
  }

  /** `target` acknowledged a ping we sent at `sentAt`. */
  acked(target: string, sentAt: number): void {
    this.ackedSentAt.set(target, Math.max(this.ackedSentAt.get(target) ?? -1, sentAt));
  }
}
