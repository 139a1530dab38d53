// The I/O edge of announcing: raw sockets on one interface that answer ARP requests and neighbor solicitations for
// the addresses `owns` says are ours right now, with the interface's MAC, and send gratuitous announcements on demand.
// Who owns what (membership, rendezvous, pools) is decided elsewhere; `owns` is asked for every request, so an address
// stops being answered the moment it is no longer ours. The sockets are reopened when the link fails or the interface
// changes (link-watch.ts); a reopened socket rejoins the watched addresses' multicast groups and announces the owned
// ones once, so a changed MAC reaches the neighbors' caches at once.
import { answerArp, encodeArp, gratuitousArp } from './arp.ts';
import { type WatchedSocket, type WatchedSocketOptions, watchPacketSocket } from './link-watch.ts';
import { answerNdp, encodeNdp, multicastMac, solicitedNodeAddress, unsolicitedAdvertisement } from './ndp.ts';
import type { PacketKind, PacketSocket } from './packet-socket.ts';

export interface ResponderCounters {
  /** Frames received (ARP, NS and NA) and those that were requests for an owned address and were answered. */
  framesSeen: number;
  repliesSent: number;
  gratuitousSent: number;
  sendErrors: number;
  /** Sockets reopened, by the reason the previous one was lost. */
  reopens: Record<string, number>;
}

export interface SocketEvent {
  socket: PacketKind;
  reason: string;
}

export interface ResponderOptions {
  ifname: string;
  /** Whether this node announces the address (canonical text) right now. */
  owns: (ip: string) => boolean;
  /** Open the IPv6 neighbor discovery socket too (default true). */
  ipv6?: boolean;
  onSendError?: (error: unknown) => void;
  /** A socket was lost (it is reopened when the interface is up). */
  onSocketLost?: (event: SocketEvent) => void;
  /** A socket was reopened `downMs` after it was lost, on the interface's current index and MAC. */
  onSocketReopened?: (event: SocketEvent & { downMs: number; ifindex: number; mac: string }) => void;
  /** Link polling and reopen backoff (link-watch.ts); tests shorten them. */
  watch?: Pick<WatchedSocketOptions, 'pollMs' | 'minBackoffMs' | 'maxBackoffMs' | 'open' | 'readLink'>;
}

export interface Responder {
  /** The MAC it answers with now (the interface's, as of the last open). */
  readonly mac: string;
  readonly counters: Readonly<ResponderCounters>;
  /** Receive solicitations for an IPv6 address (joins its solicited-node group); a no-op for IPv4. */
  watch(ip: string): void;
  unwatch(ip: string): void;
  /** One round of gratuitous announcements for `ip`: ARP request and reply, or an unsolicited advertisement. */
  announce(ip: string): void;
  close(): void;
}

// Send errors that mean the socket's interface is down or gone, not a full queue.
const LINK_ERRORS = new Set(['ENETDOWN', 'ENXIO', 'ENODEV']);

export function startResponder(o: ResponderOptions): Responder {
  const { ifname, owns, ipv6 = true, onSendError } = o;
  const counters: ResponderCounters = {
    framesSeen: 0,
    repliesSent: 0,
    gratuitousSent: 0,
    sendErrors: 0,
    reopens: {},
  };
  // Every address watched (both families: IPv4 ones are re-announced after a reopen too).
  const watched = new Set<string>();
  const isIpv6 = (ip: string) => ip.includes(':');
  // A socket whose interface just went away may refuse the group change; its successor joins on reopen.
  const group = (socket: PacketSocket | null | undefined, ip: string, join: boolean) => {
    if (socket == null) return;
    const mac = multicastMac(solicitedNodeAddress(ip));
    try {
      if (join) socket.addMulticast(mac);
      else socket.dropMulticast(mac);
    } catch (error) {
      onSendError?.(error);
    }
  };

  const send = (watcher: WatchedSocket, socket: PacketSocket, frame: Buffer): boolean => {
    try {
      socket.send(frame);
      return true;
    } catch (error) {
      counters.sendErrors++;
      onSendError?.(error);
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && LINK_ERRORS.has(code)) watcher.fail(code);
      return false;
    }
  };
  const gratuitous = (ip: string, mac: string) =>
    isIpv6(ip)
      ? [encodeNdp(unsolicitedAdvertisement(mac, ip))]
      : [encodeArp(gratuitousArp(mac, ip, 'request')), encodeArp(gratuitousArp(mac, ip, 'reply'))];
  const announceOn = (watcher: WatchedSocket, socket: PacketSocket, ip: string) => {
    for (const frame of gratuitous(ip, socket.mac)) if (send(watcher, socket, frame)) counters.gratuitousSent++;
  };

  const start = (kind: PacketKind, answer: (frame: Buffer, mac: string) => Buffer | null): WatchedSocket => {
    const family = (ip: string) => isIpv6(ip) === (kind === 'ndp');
    const watcher: WatchedSocket = watchPacketSocket({
      ...o.watch,
      ifname,
      kind,
      onFrame: (frame, socket) => {
        counters.framesSeen++;
        const reply = answer(frame, socket.mac);
        if (reply !== null && send(watcher, socket, reply)) counters.repliesSent++;
      },
      onLost: (reason) => o.onSocketLost?.({ socket: kind, reason }),
      onReopen: (socket, reason, downMs) => {
        counters.reopens[reason] = (counters.reopens[reason] ?? 0) + 1;
        o.onSocketReopened?.({ socket: kind, reason, downMs, ifindex: socket.ifindex, mac: socket.mac });
        for (const ip of watched) {
          if (!family(ip)) continue;
          if (kind === 'ndp') group(socket, ip, true);
          if (owns(ip)) announceOn(watcher, socket, ip);
        }
      },
    });
    return watcher;
  };

  const arp = start('arp', (frame, mac) => answerArp(frame, mac, owns));
  let ndp: WatchedSocket | null = null;
  try {
    if (ipv6) ndp = start('ndp', (frame, mac) => answerNdp(frame, mac, owns));
  } catch (error) {
    arp.close();
    throw error;
  }
  let mac = arp.current()!.mac;
  const watcherOf = (ip: string) => (isIpv6(ip) ? ndp : arp);
  return {
    get mac() {
      mac = arp.current()?.mac ?? mac;
      return mac;
    },
    counters,
    watch(ip) {
      watched.add(ip);
      // A socket reopened later joins the group itself.
      if (isIpv6(ip)) group(ndp?.current(), ip, true);
    },
    unwatch(ip) {
      watched.delete(ip);
      if (isIpv6(ip)) group(ndp?.current(), ip, false);
    },
    announce(ip) {
      const watcher = watcherOf(ip);
      const socket = watcher?.current();
      if (watcher == null || socket == null) return;
      announceOn(watcher, socket, ip);
    },
    close() {
      arp.close();
      ndp?.close();
    },
  };
}
