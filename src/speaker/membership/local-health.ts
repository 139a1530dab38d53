// Local health, after Lifeguard (HashiCorp memberlist): a member whose own event loop runs late (CPU starvation, a
// long pause) cannot tell a silent peer from its own deafness, so it must doubt itself before it accuses anyone.
// The signal is the machine's own tick: the transport ticks every few milliseconds, so a gap longer than
// `lateTickMs` between two ticks means the loop was held up. Each late tick, and each accusation we had to refute,
// raises a score (0..maxScore); each `recoverMs` of on-time ticks lowers it by one. The machine scales its probe
// interval, ack and indirect timeouts, suspicion timeouts and isolation window by `multiplier()` (score + 1), never
// counts time it spent stalled as someone else's silence, and drops the evidence of a probe whose wait spanned a
// stall of its own. A quiet loop never ticks late, so on a quiet machine the score stays 0 and every timing is the
// configured one. Pure: times are passed in.

export interface LocalHealthConfig {
  /** A gap between two ticks longer than this means our loop was held up. */
  lateTickMs: number;
  maxScore: number;
  /** The score drops by one after this long without a late tick or a refutation. */
  recoverMs: number;
  /** From this score on, a member that must refute an accusation steps back (see machine.ts, `holdDown`). */
  stepBackScore: number;
  /**
   * A member that stepped back comes back only after this long with no late tick and no refutation: a starved loop
   * is on time between its stalls (cgroup quotas run it a few ms per period), and coming back in such a gap would
   * move its addresses back and forth.
   */
  returnAfterQuietMs: number;
}

export const DEFAULT_LOCAL_HEALTH: LocalHealthConfig = {
  // The transport ticks every 10 ms; five periods late is a held-up loop, not timer jitter (udp.ts uses the same).
  lateTickMs: 50,
  maxScore: 8,
  // Short, so that one stall on a loaded machine widens the timeouts for a moment only (a healthy survivor with a
  // raised score detects a real failure late), while a starved loop, late every 100 ms, keeps its score up.
  recoverMs: 250,
  stepBackScore: 4,
  returnAfterQuietMs: 10_000,
};

export class LocalHealth {
  readonly config: LocalHealthConfig;
  private value = 0;
  private lastTickAt: number;
  private changedAt: number;
  /** When the latest stall ended (the first tick after it): silence before this is ours, not the others'. */
  private resumed = Number.NEGATIVE_INFINITY;
  private raisedAt = Number.NEGATIVE_INFINITY;

  constructor(now: number, config: Partial<LocalHealthConfig> = {}) {
    this.config = { ...DEFAULT_LOCAL_HEALTH, ...config };
    this.lastTickAt = now;
    this.changedAt = now;
  }

  get score(): number {
    return this.value;
  }

  /** The factor on every timeout: 1 while healthy. */
  multiplier(): number {
    return this.value + 1;
  }

  /** A tick at `now`; true if it came late (the loop was held up since the previous one). */
  tick(now: number): boolean {
    const late = now - this.lastTickAt > this.config.lateTickMs;
    this.lastTickAt = now;
    if (late) {
      this.resumed = now;
      this.raise(now);
    } else if (this.value > 0 && now - this.changedAt >= this.config.recoverMs) {
      this.value--;
      this.changedAt = now;
    }
    return late;
  }

  /** We had to refute an accusation of ourselves: our answers did not reach the others in time. */
  refuted(now: number): void {
    this.raise(now);
  }

  /** Whether the loop is held up right now: no tick for longer than a late tick's gap. */
  stalled(now: number): boolean {
    return now - this.lastTickAt > this.config.lateTickMs;
  }

  /** When the latest stall ended; -Infinity if none yet. */
  resumedAt(): number {
    return this.resumed;
  }

  /**
   * Whether the loop stalled after `t`, a time it was awake (it sent a probe then): a wait that started at `t` and
   * spanned the stall proves nothing about the others.
   */
  stalledSince(t: number): boolean {
    return this.resumed > t;
  }

  /** How long since the score last rose (a late tick or a refutation); Infinity if it never did. */
  quietFor(now: number): number {
    return now - this.raisedAt;
  }

  private raise(now: number): void {
    this.value = Math.min(this.config.maxScore, this.value + 1);
    this.changedAt = now;
    this.raisedAt = now;
  }
}
