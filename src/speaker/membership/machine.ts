// Over 300 lines: the machine's state and its one precedence rule (`apply`) with the accusation and step-back
// handling that must see both; failure detection, joining, quorum and local health are in their own files.
// The membership protocol as a pure state machine: no sockets, no timers, no clock. The transport (udp.ts) calls
// `tick(now)` every few milliseconds and `receive(message, now)` for each datagram, then sends what `drain()` returns.
// Tests drive several machines over an in-memory network with a fake clock, so every timeout is exercised exactly.
//
// SWIM (direct probe, indirect probe through helpers, suspicion refuted by incarnation, piggybacked gossip) with two
// changes from docs/failure-model.md: fixed monitors (rings.ts) bound the time to the first failed probe, and the
// member that decides a change fans it out to everyone at once instead of waiting for gossip rounds.
import { Confirmations } from './confirm.ts';
import { GossipBuffer } from './gossip.ts';
import type { Bare, MachineHost } from './host.ts';
import { LocalHealth, type LocalHealthConfig } from './local-health.ts';
import { MemberTable, toUpdate } from './members.ts';
import { Prober } from './probes.ts';
import { type Awake, type QuorumView, ReferenceView } from './quorum.ts';
import { monitorTargets } from './rings.ts';
import { Syncer } from './sync.ts';
import {
  DEFAULT_MEMBERSHIP_CONFIG,
  type MemberState,
  type MembershipConfig,
  type MemberUpdate,
  type Message,
  type Outgoing,
} from './types.ts';

export type { QuorumView } from './quorum.ts';

export interface MachineOptions {
  name: string;
  addr: string;
  /** Addresses to join through; members are learnt from them. */
  seeds?: readonly string[];
  /** Start value: a timestamp, so a restarted member outranks what the others remember of it. */
  incarnation: number;
  eligible?: boolean;
  config?: Partial<MembershipConfig>;
  localHealth?: Partial<LocalHealthConfig>;
  random?: () => number;
}

export class MembershipMachine {
  readonly name: string;
  readonly config: MembershipConfig;
  private readonly addr: string;
  private incarnation: number;
  private eligible: boolean;
  private readonly random: () => number;
  /** When a datagram last came from each member: first-hand evidence that it is alive. */
  private readonly heardAt = new Map<string, number>();
  private readonly members = new MemberTable();
  private readonly prober: Prober;
  private readonly gossip: GossipBuffer;
  private outbox: Outgoing[] = [];
  private seq = 0;
  private readonly syncer: Syncer;
  private readonly reference: ReferenceView;
  private readonly listeners: Array<() => void> = [];
  private left = false;
  /**
   * Accused (someone suspects us, or holds us dead): until `accusedUntil` we leave ourselves out of our own eligible
   * members, so we stop answering before anyone can act on the accusation, and come back only once our refutation has
   * had time to reach everyone (see `apply`).
   */
  private accused = false;
  private accusedUntil = 0;
  private refutedAt = 0;
  private readonly confirmations = new Confirmations();
  private readonly health: LocalHealth;
  /**
   * Stepped back for our own poor health (see `apply`): we tell the others we may not announce, so our addresses
   * move once, to their runner-up, and stay there until our loop has been on time long enough to lower the score
   * to 0, instead of moving back and forth with every accusation we refute.
   */
  private heldDown = false;

  constructor(options: MachineOptions, now: number) {
    this.name = options.name;
    this.addr = options.addr;
    this.incarnation = options.incarnation;
    this.eligible = options.eligible ?? true;
    this.config = { ...DEFAULT_MEMBERSHIP_CONFIG, ...options.config };
    this.random = options.random ?? Math.random;
    this.health = new LocalHealth(now, options.localHealth);
    this.gossip = new GossipBuffer(this.config.retransmitMultiplier);
    this.reference = new ReferenceView(this.name, now, this.config);
    const host: MachineHost = {
      name: this.name,
      config: this.config,
      members: this.members,
      health: this.health,
      random: this.random,
      nextSeq: () => ++this.seq,
      live: () => this.live(),
      view: () => this.view(),
      send: (addr, message) => this.send(addr, message),
      sendWithGossip: (addr, message) => this.send(addr, this.withGossip(message)),
      decide: (update, at, fanOut) => {
        this.apply(update, at);
        if (fanOut) this.fanOut(update);
      },
    };
    this.syncer = new Syncer(host, this.addr, options.seeds ?? []);
    this.prober = new Prober(host);
  }

  /** Replaces the addresses to join through (learnt later, e.g. from the Nodes once the cache has synced). */
  setSeeds(seeds: readonly string[]): void {
    this.syncer.setSeeds(seeds);
  }

  /** Called whenever the set of live members or their eligibility changes. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Members not known dead (suspects included: SWIM keeps them until the suspicion times out), self included. */
  live(): string[] {
    const names = this.members.live();
    if (!this.left) names.push(this.name);
    return names.sort();
  }

  /** Live members that may announce; ourselves only while nobody's accusation of us is pending (see `apply`). */
  eligibleMembers(): string[] {
    return this.live().filter((name) =>
      name === this.name ? this.eligible && !this.accused && !this.heldDown : this.members.get(name)!.eligible,
    );
  }

  /**
   * Asks every live member to acknowledge a ping sent now, resent every ackTimeoutMs until each has (or is dead).
   * A member reads its datagrams in order, so its ack to a ping we sent after a fan-out means it has applied the
   * fan-out (and stopped answering for what it no longer owns): `confirmedSince(since)` turns true then.
   */
  confirm(since: number): void {
    this.confirmations.want(since);
    this.sendConfirmPings(since);
  }

  /** Whether every live member has acknowledged a ping we sent at or after `since`. */
  confirmedSince(since: number): boolean {
    return this.confirmations.confirmedSince(since, this.live(), this.name);
  }

  /** Whether we are stepping back after an accusation (see `apply`). */
  isAccused(): boolean {
    return this.accused;
  }

  /** Whether we have stepped back for our own poor health (see `heldDown`). */
  isHeldDown(): boolean {
    return this.heldDown;
  }

  /** Our local health score (local-health.ts): 0 on a quiet loop. */
  localHealthScore(): number {
    return this.health.score;
  }

  stateOf(name: string): MemberState | undefined {
    return name === this.name ? 'alive' : this.members.get(name)?.state;
  }

  counts(): Record<MemberState, number> {
    const counts = { alive: this.left ? 0 : 1, suspect: 0, dead: 0 };
    for (const member of this.members.values()) counts[member.state]++;
    return counts;
  }

  /** Takes the datagrams to send. */
  drain(): Outgoing[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Whether we may announce, as we tell the others. */
  isEligible(): boolean {
    return this.eligible;
  }

  /** Announces a change of our own eligibility (probation over, kube-proxy unhealthy...) to everyone at once. */
  setEligible(eligible: boolean): void {
    if (eligible === this.eligible) return;
    this.eligible = eligible;
    this.incarnation++;
    this.fanOut(this.selfUpdate());
    this.changed();
  }

  /** Graceful stop: everyone drops us at once instead of waiting for suspicion. */
  leave(): void {
    this.left = true;
    this.fanOut({ ...this.selfUpdate(), state: 'dead' });
    this.changed();
  }

  /** Whether we may act (quorum.ts). */
  quorum(now: number): QuorumView {
    return this.reference.quorum(now, this.live(), this.syncer.joining(), this.awake(now));
  }

  tick(now: number): void {
    if (this.left) return;
    this.health.tick(now);
    const recovered = this.health.score === 0 && this.health.quietFor(now) >= this.health.config.returnAfterQuietMs;
    if (this.heldDown && (recovered || !this.othersMayAnnounce())) {
      this.heldDown = false;
      this.incarnation++;
      this.fanOut(this.selfUpdate());
      this.changed();
    }
    if (this.confirmations.pending) this.sendConfirmPings(now);
    if (this.accused && now >= this.accusedUntil && this.confirmedSince(this.refutedAt)) {
      this.accused = false;
      this.changed();
    }
    this.syncer.join(now);
    this.prober.expireProbes(now);
    this.prober.expireSuspicions(now);
    this.prober.sendProbes(now);
    this.syncer.antiEntropy(now);
    this.reference.settle(now, this.live(), this.syncer.joining(), this.awake(now));
    this.prober.expireRelays(now);
    this.members.expireTombstones(now, this.config.tombstoneMs);
  }

  receive(message: Message, now: number): void {
    if (this.left || message.from === this.name) return;
    this.reference.heard(now);
    // A sender we hold dead speaks from the other side of a partition that is healing: its view of the others is
    // stale (it holds dead the members we have heard all along). Take what it says of itself (so it rejoins) and of
    // us (so we refute), but not its accusations of third members: acting on them would drop a live member for a
    // moment and hand its addresses to another node while it still answers (seen in the lab as a third node
    // answering once on a heal).
    // Likewise, once it is back, an accusation of a member we have ourselves heard from within the suspicion timeout
    // is older news than our own: that member is alive, and it refutes the accusation itself when it hears it.
    const fromOtherSide = this.members.get(message.from)?.state === 'dead';
    this.heardAt.set(message.from, now);
    for (const update of message.updates) {
      const accusation = update.state !== 'alive' && update.name !== message.from && update.name !== this.name;
      const heardLately =
        now - (this.heardAt.get(update.name) ?? Number.NEGATIVE_INFINITY) < this.config.suspicionTimeoutMs;
      if (accusation && (fromOtherSide || heardLately)) continue;
      this.apply(update, now, fromOtherSide);
    }
    switch (message.type) {
      case 'ping':
        this.send(this.addrOf(message.from), this.withGossip({ type: 'ack', from: this.name, seq: message.seq }));
        break;
      case 'ack': {
        if (this.prober.relayAck(message.seq)) break;
        const ping = this.prober.acked(message.seq) ?? this.confirmations.take(message.seq);
        if (ping !== undefined) this.confirmations.acked(ping.target, ping.sentAt);
        break;
      }
      case 'ping-req':
        this.prober.relay(message, now);
        break;
      case 'sync':
        if (message.reply)
          this.send(this.addrOf(message.from), { type: 'sync', from: this.name, reply: false, updates: this.view() });
        break;
      case 'update':
        break;
    }
  }

  private addrOf(name: string): string {
    return this.members.get(name)?.addr ?? '';
  }

  private selfUpdate(): MemberUpdate {
    const eligible = this.eligible && !this.heldDown;
    return { name: this.name, addr: this.addr, state: 'alive', incarnation: this.incarnation, eligible };
  }

  private awake(now: number): Awake {
    const health = this.health;
    return { stalled: health.stalled(now), resumedAt: health.resumedAt(), scale: health.multiplier() };
  }

  /** Whether another live member may announce: stepping back must not leave an address with nobody. */
  private othersMayAnnounce(): boolean {
    for (const member of this.members.values()) if (member.state === 'alive' && member.eligible) return true;
    return false;
  }

  private view(): MemberUpdate[] {
    const updates = [this.selfUpdate()];
    for (const m of this.members.values()) updates.push(toUpdate(m));
    return updates;
  }

  /** SWIM's precedence: a higher incarnation wins; at equal incarnation dead beats suspect beats alive. */
  private apply(update: MemberUpdate, now: number, fromOtherSide = false): void {
    if (update.name === this.name) {
      // Someone suspects us, or thinks we are dead: refute with a higher incarnation, to everyone at once.
      if (update.state !== 'alive' && update.incarnation >= this.incarnation && !this.left) {
        // Lifeguard: an accusation we must refute is a sign of our own poor health when we read it as our loop comes
        // back from a stall (it waited in our socket: the others may time it out before our refutation reaches them),
        // or with a score already high. Coming back as eligible would move our addresses back, only for the next late
        // answer to move them away again: step back instead, if someone else can announce, until the score is back to
        // 0 (see `tick`). Not for an accusation from the other side of a healing partition: that says nothing of us.
        const stepBack =
          !fromOtherSide && (this.health.stalled(now) || this.health.score >= this.health.config.stepBackScore);
        if (!fromOtherSide) this.health.refuted(now);
        if (stepBack && !this.heldDown && this.othersMayAnnounce()) this.heldDown = true;
        this.incarnation = update.incarnation + 1;
        this.fanOut(this.selfUpdate());
        // An accusation is about to become a takeover if our refutation is late (our loop or theirs starved, a lost
        // datagram): the others give our addresses to someone else after the suspicion timeout while we, alive and
        // hearing them, would keep answering too (split brain, seen in the lab under load). So stop answering now,
        // well inside that timeout, and answer again only `refuteSettleMs` after the last accusation, by when the
        // refutation has reached everyone and whoever took over has given the addresses back: a gap, never an overlap.
        this.accusedUntil = now + this.config.refuteSettleMs;
        // And not before every live member has acknowledged a ping sent after the refutation (read it, let go).
        this.refutedAt = now;
        this.confirm(now);
        if (!this.accused) {
          this.accused = true;
          this.changed();
        }
      }
      return;
    }
    const { gossip, viewChanged } = this.members.apply(update, now);
    if (gossip) this.queue(update);
    if (viewChanged) this.viewChanged(now);
  }

  private sendConfirmPings(now: number): void {
    const { ackTimeoutMs } = this.config;
    for (const { target, seq } of this.confirmations.due(now, this.live(), this.name, ackTimeoutMs, () => ++this.seq))
      this.send(this.addrOf(target), this.withGossip({ type: 'ping', from: this.name, seq }));
  }

  private viewChanged(now: number): void {
    this.reference.viewChanged(now);
    this.prober.setTargets(monitorTargets(this.name, this.live(), this.config.monitors));
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private fanOut(update: MemberUpdate): void {
    this.queue(update);
    for (const member of this.members.values()) {
      // The subject too: a suspect that hears of it refutes at once.
      if (member.state !== 'dead' || member.name === update.name) {
        this.send(member.addr, { type: 'update', from: this.name, updates: [update] });
      }
    }
  }

  private queue(update: MemberUpdate): void {
    this.gossip.queue(update, this.members.size + 1);
  }

  private withGossip(message: Bare): Message {
    return { ...message, updates: this.gossip.take() } as Message;
  }

  private send(to: string, message: Message): void {
    if (to !== '') this.outbox.push({ to, message });
  }
}
