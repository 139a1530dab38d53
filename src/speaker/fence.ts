// What a speaker may announce when it loses quorum (docs/failure-model.md, "Partitions and quorum"). Losing quorum
// fences at once: stop answering everything. Only an apiserver request *started after* the loss that succeeds proves
// we are not simply cut off from everything (then we are `isolated`: a membership problem, not a dead network), and
// only then may the addresses held at the moment of the loss be answered again. Pure: times are passed in.
import type { PartitionState } from './metrics.ts';

export class Fence {
  private lostAt: number | null = null;
  private heldAtLoss = new Set<string>();
  private apiOkStartedAt = Number.NEGATIVE_INFINITY;

  /** An apiserver request started at `startedAt` succeeded. */
  apiAnswered(startedAt: number): void {
    this.apiOkStartedAt = Math.max(this.apiOkStartedAt, startedAt);
  }

  /** An apiserver request failed: whatever it proved before no longer holds. */
  apiFailed(): void {
    this.apiOkStartedAt = Number.NEGATIVE_INFINITY;
  }

  /** The state now, given whether the membership has quorum and what we announce at this moment. */
  state(now: number, quorum: boolean, held: Iterable<string>): PartitionState {
    if (quorum) {
      this.lostAt = null;
      this.heldAtLoss.clear();
      return 'quorum';
    }
    if (this.lostAt === null) {
      this.lostAt = now;
      this.heldAtLoss = new Set(held);
    }
    return this.apiOkStartedAt >= this.lostAt ? 'isolated' : 'minority';
  }

  /** While isolated: the addresses we held when quorum was lost, the only ones we may keep answering. */
  keepable(): ReadonlySet<string> {
    return this.heldAtLoss;
  }
}
