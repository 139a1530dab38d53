// The I/O edge of announcing: raw sockets on one interface that answer ARP requests and neighbor solicitations for
// the addresses `owns` says are ours right now, with the interface's MAC, and send gratuitous announcements on demand.
// Who owns what (membership, rendezvous, pools) is decided elsewhere; `owns` is asked for every request, so an address
// stops being answered the moment it is no longer ours.
import { answerArp, encodeArp, gratuitousArp } from './arp.ts';
import { answerNdp, encodeNdp, multicastMac, solicitedNodeAddress, unsolicitedAdvertisement } from './ndp.ts';
import { openPacketSocket, type PacketSocket } from './packet-socket.ts';

export interface ResponderCounters {
  /** Frames received (ARP, NS and NA) and those that were requests for an owned address and were answered. */
  framesSeen: number;
  repliesSent: number;
  gratuitousSent: number;
  sendErrors: number;
}

export interface ResponderOptions {
  ifname: string;
  /** Whether this node announces the address (canonical text) right now. */
  owns: (ip: string) => boolean;
  /** Open the IPv6 neighbor discovery socket too (default true). */
  ipv6?: boolean;
  onSendError?: (error: unknown) => void;
}

export interface Responder {
  readonly mac: string;
  readonly counters: Readonly<ResponderCounters>;
  /** Receive solicitations for an IPv6 address (joins its solicited-node group); a no-op for IPv4. */
  watch(ip: string): void;
  unwatch(ip: string): void;
  /** One round of gratuitous announcements for `ip`: ARP request and reply, or an unsolicited advertisement. */
  announce(ip: string): void;
  close(): void;
}

export function startResponder({ ifname, owns, ipv6 = true, onSendError }: ResponderOptions): Responder {
  const counters: ResponderCounters = { framesSeen: 0, repliesSent: 0, gratuitousSent: 0, sendErrors: 0 };
  const send = (socket: PacketSocket, frame: Buffer): boolean => {
    try {
      socket.send(frame);
      return true;
    } catch (error) {
      counters.sendErrors++;
      onSendError?.(error);
      return false;
    }
  };
  const answer = (socket: PacketSocket, reply: Buffer | null) => {
    counters.framesSeen++;
    if (reply !== null && send(socket, reply)) counters.repliesSent++;
  };
  const arp: PacketSocket = openPacketSocket(ifname, 'arp', (frame) => answer(arp, answerArp(frame, arp.mac, owns)));
  let ndp: PacketSocket | null = null;
  try {
    if (ipv6) ndp = openPacketSocket(ifname, 'ndp', (frame) => answer(ndp!, answerNdp(frame, ndp!.mac, owns)));
  } catch (error) {
    arp.close();
    throw error;
  }
  const isIpv6 = (ip: string) => ip.includes(':');
  return {
    mac: arp.mac,
    counters,
    watch(ip) {
      if (isIpv6(ip)) ndp?.addMulticast(multicastMac(solicitedNodeAddress(ip)));
    },
    unwatch(ip) {
      if (isIpv6(ip)) ndp?.dropMulticast(multicastMac(solicitedNodeAddress(ip)));
    },
    announce(ip) {
      const frames = isIpv6(ip)
        ? [encodeNdp(unsolicitedAdvertisement(arp.mac, ip))]
        : [encodeArp(gratuitousArp(arp.mac, ip, 'request')), encodeArp(gratuitousArp(arp.mac, ip, 'reply'))];
      const socket = isIpv6(ip) ? ndp : arp;
      if (socket === null) return;
      for (const frame of frames) if (send(socket, frame)) counters.gratuitousSent++;
    },
    close() {
      arp.close();
      ndp?.close();
    },
  };
}
