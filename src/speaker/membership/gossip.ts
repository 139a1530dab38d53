// The gossip buffer: member updates waiting to be piggybacked on outgoing messages. Each is sent a bounded number of
// times (retransmitMultiplier * log2(N + 1), SWIM's dissemination bound), newest first, at most MAX_PIGGYBACK per
// message; newer news of a member replaces older news of it.
import type { MemberUpdate } from './types.ts';

const MAX_PIGGYBACK = 8;

export class GossipBuffer {
  private entries: Array<{ update: MemberUpdate; remaining: number }> = [];

  private readonly retransmitMultiplier: number;

  constructor(retransmitMultiplier: number) {
    this.retransmitMultiplier = retransmitMultiplier;
  }

  /** Queues `update` for piggybacking in a cluster of `size` members (ourselves included). */
  queue(update: MemberUpdate, size: number): void {
    const remaining = Math.ceil(this.retransmitMultiplier * Math.log2(size + 1));
    this.entries = this.entries.filter((g) => g.update.name !== update.name);
    this.entries.push({ update, remaining });
  }

  /** The updates to piggyback on one message; each counts as sent once. */
  take(): MemberUpdate[] {
    const updates: MemberUpdate[] = [];
    for (let i = this.entries.length - 1; i >= 0 && updates.length < MAX_PIGGYBACK; i--) {
      const entry = this.entries[i]!;
      updates.push(entry.update);
      entry.remaining--;
    }
    this.entries = this.entries.filter((g) => g.remaining > 0);
    return updates;
  }
}
