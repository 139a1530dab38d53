// The membership machine on a UDP socket: one datagram per message, a tick every few milliseconds. All protocol
// logic is in machine.ts; this file moves bytes, reads the clock, and keeps out what must not reach the machine
// (auth.ts, and the checks in `admit` below), counting each datagram it drops by reason.
import { createSocket, type Socket } from 'node:dgram';
import { parseAddress } from '../../lib/net/ip.ts';
import { DatagramAuth, DEFAULT_WINDOW_MS, DROP_REASONS, type DropReason, type Keyring } from './auth.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { type MachineOptions, MembershipMachine } from './machine.ts';
import { beyondIncarnationBound } from './members.ts';
import type { Message } from './types.ts';

export interface UdpMembershipOptions extends Omit<MachineOptions, 'addr' | 'incarnation'> {
  /** Address and port to listen on; also what the others send to. */
  host: string;
  port: number;
  /** Tick period: the resolution of every timeout (default 10 ms). */
  tickMs?: number;
  /**
   * The shared key (auth.ts), and the clock skew tolerated between members (default 30 s: also the age past which a
   * datagram is stale, and how far ahead of our clock an incarnation may be); 'insecure': plain, unauthenticated
   * datagrams (labs only).
   */
  auth: { keys: () => Keyring; windowMs?: number } | 'insecure';
  /** Whether a datagram whose sender calls itself `name` may come from `address` (its Node's InternalIP); absent: any. */
  senderAllowed?: (name: string, address: string) => boolean;
}

export interface UdpMembership {
  readonly machine: MembershipMachine;
  readonly addr: string;
  /** Datagrams sent and received, for the traffic figures. */
  readonly traffic: { sent: number; received: number; bytesSent: number; bytesReceived: number };
  /** Datagrams received and dropped, by why. */
  readonly dropped: Record<DropReason, number>;
  /** Fans out `leave` and closes. */
  stop(): Promise<void>;
}

/** A tick this many periods after the previous one is late (see the timer below). */
const LATE_TICK_FACTOR = 5;

export async function startUdpMembership(options: UdpMembershipOptions): Promise<UdpMembership> {
  const { host, port, tickMs = 10 } = options;
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const socket: Socket = createSocket({ type: family });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const addr = formatAddr(host, socket.address().port);
  const machine = new MembershipMachine({ ...options, addr, incarnation: Date.now() }, performance.now());
  const traffic = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 };
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  const windowMs = options.auth === 'insecure' ? DEFAULT_WINDOW_MS : (options.auth.windowMs ?? DEFAULT_WINDOW_MS);
  const auth = options.auth === 'insecure' ? undefined : new DatagramAuth(options.name, options.auth.keys, windowMs);
  // The MAC covers the address a datagram is sent to; both ends write it the same way, whatever the flags' spelling.
  const self = canonicalAddr(addr);
  /** The message in a datagram from `address`, or why it is dropped. */
  const admit = (datagram: Buffer, address: string): Message | DropReason => {
    const opened = auth?.open(datagram, self);
    if (typeof opened === 'string') return opened;
    const message = decodeMessage(opened?.payload ?? datagram);
    if (message === null) return 'malformed';
    // Only an ack may speak for another member: a helper relays an indirect probe's ack in the target's name.
    const sender = opened?.sender ?? message.from;
    if (message.from !== sender && message.type !== 'ack') return 'sender-mismatch';
    const relayed = opened === undefined && message.type === 'ack';
    if (!relayed && options.senderAllowed !== undefined && !options.senderAllowed(sender, address)) {
      return 'sender-mismatch';
    }
    if (opened !== undefined && !auth!.accept(sender, opened)) return 'replay';
    if (beyondIncarnationBound(message.updates, options.name, Date.now(), windowMs)) return 'incarnation-bound';
    return message;
  };
  const flush = () => {
    for (const { to, message } of machine.drain()) {
      const { host: toHost, port: toPort } = parseAddr(to);
      const json = encodeMessage(message);
      const bytes = auth === undefined ? json : auth.seal(json, canonicalAddr(to));
      traffic.sent++;
      traffic.bytesSent += bytes.length;
      // Send errors (unreachable peer) are what the protocol detects by missing acks; nothing to do here.
      socket.send(bytes, toPort, toHost, () => {});
    }
  };
  socket.on('error', () => {});
  socket.on('message', (datagram, rinfo) => {
    traffic.received++;
    traffic.bytesReceived += datagram.length;
    const message = admit(datagram, rinfo.address);
    if (typeof message === 'string') {
      dropped[message]++;
      return;
    }
    machine.receive(message, performance.now());
    flush();
  });
  let lastTickAt = performance.now();
  const tick = () => {
    lastTickAt = performance.now();
    machine.tick(lastTickAt);
    flush();
  };
  const timer = setInterval(() => {
    // A late tick means our event loop was held up (CPU starvation, a long task), and datagrams that arrived
    // meanwhile still wait in the socket: judged now, a probe whose ack is already here would time out and accuse a
    // live member. Timers run before the loop reads sockets; setImmediate runs after, so read first, then judge.
    if (performance.now() - lastTickAt > LATE_TICK_FACTOR * tickMs) setImmediate(tick);
    else tick();
  }, tickMs);
  tick();
  return {
    machine,
    addr,
    traffic,
    dropped,
    async stop() {
      clearInterval(timer);
      machine.leave();
      flush();
      // Let the `leave` datagrams go out before the socket closes under them.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `host:port` with the host in its canonical form (RFC 5952 for IPv6), or as given if it is not an address. */
export function canonicalAddr(addr: string): string {
  const { host, port } = parseAddr(addr);
  const parsed = parseAddress(host);
  return formatAddr(parsed.ok ? parsed.address : host, port);
}

export function parseAddr(addr: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  if (match === null) throw new Error(`not host:port: ${addr}`);
  return { host: match[1]!, port: Number(match[2]) };
}
