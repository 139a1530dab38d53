// The membership machine on a UDP socket: one datagram per message, a tick every few milliseconds. All protocol
// logic is in machine.ts; this file only moves bytes and reads the clock.
import { createSocket, type Socket } from 'node:dgram';
import { decodeMessage, encodeMessage } from './codec.ts';
import { type MachineOptions, MembershipMachine } from './machine.ts';

export interface UdpMembershipOptions extends Omit<MachineOptions, 'addr' | 'incarnation'> {
  /** Address and port to listen on; also what the others send to. */
  host: string;
  port: number;
  /** Tick period: the resolution of every timeout (default 10 ms). */
  tickMs?: number;
}

export interface UdpMembership {
  readonly machine: MembershipMachine;
  readonly addr: string;
  /** Datagrams sent and received, for the traffic figures. */
  readonly traffic: { sent: number; received: number; bytesSent: number; bytesReceived: number };
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
  const flush = () => {
    for (const { to, message } of machine.drain()) {
      const { host: toHost, port: toPort } = parseAddr(to);
      const bytes = encodeMessage(message);
      traffic.sent++;
      traffic.bytesSent += bytes.length;
      // Send errors (unreachable peer) are what the protocol detects by missing acks; nothing to do here.
      socket.send(bytes, toPort, toHost, () => {});
    }
  };
  socket.on('error', () => {});
  socket.on('message', (datagram) => {
    traffic.received++;
    traffic.bytesReceived += datagram.length;
    const message = decodeMessage(datagram);
    if (message === null) return;
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

export function parseAddr(addr: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  if (match === null) throw new Error(`not host:port: ${addr}`);
  return { host: match[1]!, port: Number(match[2]) };
}
