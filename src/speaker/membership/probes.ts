// Failure detection: each member probes its monitor targets (rings.ts) every probeIntervalMs; a missed ack asks
// indirectHelpers others to probe for us (maybe only our link is bad), and a missed relayed ack makes the target
// suspect. A suspicion not refuted in time (shorter once two members suspect independently) makes it dead. Also the
// helper side: relaying another member's indirect probe. Every timeout is scaled by our own local health
// (local-health.ts): 1 on a quiet loop; a probe whose wait spanned a stall of our own loop accuses nobody, and time we
// spent stalled does not count towards a suspicion's timeout.
import { type MachineHost, pick } from './host.ts';
import { toUpdate } from './members.ts';
import { monitorsOf } from './rings.ts';
import type { Message } from './types.ts';

interface Probe {
  target: string;
  sentAt: number;
  indirect: boolean;
}

interface Relay {
  originAddr: string;
  originSeq: number;
  target: string;
  expiresAt: number;
}

export class Prober {
  private readonly host: MachineHost;
  private readonly probes = new Map<number, Probe>();
  private readonly inFlight = new Map<string, number>();
  private readonly nextProbeAt = new Map<string, number>();
  private readonly relays = new Map<number, Relay>();
  private targets: string[] = [];

  constructor(host: MachineHost) {
    this.host = host;
  }

  /** The members we monitor now. */
  setTargets(targets: string[]): void {
    this.targets = targets;
    for (const target of [...this.nextProbeAt.keys()])
      if (!this.targets.includes(target)) this.nextProbeAt.delete(target);
  }

  expireProbes(now: number): void {
    const { host } = this;
    const { indirectHelpers } = host.config;
    const scale = host.health.multiplier();
    const ackTimeoutMs = host.config.ackTimeoutMs * scale;
    const indirectTimeoutMs = host.config.indirectTimeoutMs * scale;
    for (const [seq, probe] of this.probes) {
      const target = host.members.get(probe.target);
      const timedOut = now - probe.sentAt >= (probe.indirect ? ackTimeoutMs + indirectTimeoutMs : ackTimeoutMs);
      if (target === undefined || target.state === 'dead' || (timedOut && host.health.stalledSince(probe.sentAt))) {
        // Gone, or its silence may be our own deafness: forgotten, and probed again on schedule.
        this.probes.delete(seq);
        this.inFlight.delete(probe.target);
      } else if (!probe.indirect && timedOut) {
        // No ack: maybe only our link to it is bad. Ask others to try before accusing it.
        probe.indirect = true;
        const helpers = pick(
          host.live().filter((n) => n !== host.name && n !== probe.target),
          indirectHelpers,
          host.random,
        );
        for (const helper of helpers) {
          host.sendWithGossip(addrOf(host, helper), {
            type: 'ping-req',
            from: host.name,
            seq,
            target: probe.target,
            targetAddr: target.addr,
          });
        }
      } else if (probe.indirect && timedOut) {
        this.probes.delete(seq);
        this.inFlight.delete(probe.target);
        if (target.state === 'alive') host.decide({ ...toUpdate(target), state: 'suspect', by: host.name }, now, true);
      }
    }
  }

  expireSuspicions(now: number): void {
    const { host } = this;
    const { suspicionTimeoutMs, confirmedSuspicionTimeoutMs, monitors } = host.config;
    const scale = host.health.multiplier();
    // While we were stalled the suspect's refutation may have been waiting in our socket: count from the later.
    const awakeSince = host.health.resumedAt();
    for (const member of host.members.values()) {
      if (member.state !== 'suspect') continue;
      const timeout = (member.accusers.size >= 2 ? confirmedSuspicionTimeoutMs : suspicionTimeoutMs) * scale;
      if (now - Math.max(member.since, awakeSince) < timeout) continue;
      // Every member times the suspicion out itself; only the suspect's monitors fan the verdict out, so one death
      // costs K fan-outs, not N.
      const isMonitor = monitorsOf(member.name, host.live(), monitors).includes(host.name);
      host.decide({ ...toUpdate(member), state: 'dead', by: undefined }, now, isMonitor);
    }
  }

  sendProbes(now: number): void {
    const { host } = this;
    for (const target of this.targets) {
      let due = this.nextProbeAt.get(target);
      if (due === undefined) {
        // A random phase spreads the K monitors' probes over the interval.
        due = now + host.random() * host.config.probeIntervalMs;
        this.nextProbeAt.set(target, due);
      }
      if (now < due) continue;
      this.nextProbeAt.set(target, Math.max(due + host.config.probeIntervalMs * host.health.multiplier(), now));
      if (this.inFlight.has(target)) continue;
      const seq = host.nextSeq();
      this.probes.set(seq, { target, sentAt: now, indirect: false });
      this.inFlight.set(target, seq);
      host.sendWithGossip(addrOf(host, target), { type: 'ping', from: host.name, seq });
    }
  }

  /** Someone asks us to probe `target` for them (an indirect probe). */
  relay(message: Extract<Message, { type: 'ping-req' }>, now: number): void {
    const { host } = this;
    const seq = host.nextSeq();
    this.relays.set(seq, {
      originAddr: addrOf(host, message.from),
      originSeq: message.seq,
      target: message.target,
      expiresAt: now + host.config.indirectTimeoutMs * 2,
    });
    host.sendWithGossip(message.targetAddr, { type: 'ping', from: host.name, seq });
  }

  /** An ack to one of our relayed pings: passed on to whoever asked, under their seq; false if it is not one. */
  relayAck(seq: number): boolean {
    const relay = this.relays.get(seq);
    if (relay === undefined) return false;
    this.relays.delete(seq);
    this.host.sendWithGossip(relay.originAddr, { type: 'ack', from: relay.target, seq: relay.originSeq });
    return true;
  }

  expireRelays(now: number): void {
    for (const [seq, relay] of this.relays) if (now >= relay.expiresAt) this.relays.delete(seq);
  }

  /** The probe `seq`, forgotten: its ack arrived. */
  acked(seq: number): { target: string; sentAt: number } | undefined {
    const probe = this.probes.get(seq);
    if (probe === undefined) return undefined;
    this.probes.delete(seq);
    if (this.inFlight.get(probe.target) === seq) this.inFlight.delete(probe.target);
    return probe;
  }
}

function addrOf(host: MachineHost, name: string): string {
  return host.members.get(name)?.addr ?? '';
}
