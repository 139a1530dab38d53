// Joining and anti-entropy: whole views exchanged by `sync` messages. Until it has joined, a member asks every seed
// for its view; once joined, it swaps views with one random live member every antiEntropyIntervalMs, and sends its
// view to one member it holds dead (see antiEntropy) so that a healed partition merges.
import { type MachineHost, pick } from './host.ts';
import type { Message } from './types.ts';

export class Syncer {
  private readonly host: MachineHost;
  private readonly self: string;
  private seeds: readonly string[] = [];
  private nextSyncAt = 0;

  /** `self`: our own address, never a seed. */
  constructor(host: MachineHost, self: string, seeds: readonly string[]) {
    this.host = host;
    this.self = self;
    this.setSeeds(seeds);
  }

  setSeeds(seeds: readonly string[]): void {
    this.seeds = seeds.filter((seed) => seed !== this.self);
  }

  /** Not joined yet although there is someone to join. */
  joining(): boolean {
    return this.host.members.size === 0 && this.seeds.length > 0;
  }

  join(now: number): void {
    const { host } = this;
    if (this.joining() && now >= this.nextSyncAt) {
      // Not joined yet: ask every seed for its view until one answers.
      for (const seed of this.seeds) host.send(seed, this.sync());
      this.nextSyncAt = now + host.config.antiEntropyIntervalMs / 4;
    }
  }

  antiEntropy(now: number): void {
    const { host } = this;
    if (now < this.nextSyncAt || host.members.size === 0) return;
    this.nextSyncAt = now + host.config.antiEntropyIntervalMs;
    const [peer] = pick(
      host.live().filter((n) => n !== host.name),
      1,
      host.random,
    );
    if (peer !== undefined) host.send(host.members.get(peer)?.addr ?? '', this.sync());
    // A healed partition: each side holds the other dead, and nobody probes or fans out to the dead, so neither would
    // ever hear from the other again. While its tombstone lasts, one dead member per period also gets our view: if
    // it is alive it refutes its death, answers with its own view (in which we may be dead: we refute in turn), and
    // the views merge. A member that really is dead costs one datagram per period.
    const [ghost] = pick(
      [...host.members.values()].filter((m) => m.state === 'dead'),
      1,
      host.random,
    );
    if (ghost !== undefined) host.send(ghost.addr, this.sync());
  }

  private sync(): Message {
    return { type: 'sync', from: this.host.name, reply: true, updates: this.host.view() };
  }
}
