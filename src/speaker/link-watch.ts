// A packet socket that survives its interface: link down and up, the interface deleted and created again, its MAC
// changed. A failed socket reads nothing more (libuv stops polling it on the error), and one bound to a deleted
// interface never sees the new one with the same name, so any of these closes the socket and opens a new one.
// Two signals: the socket's own error (ENETDOWN, ENODEV, ENXIO, ...) and a poll of the interface (index, MAC, up)
// every `pollMs`, which also catches what raises no error on the socket: a new ifindex or a new MAC.
// A new socket is opened only while the interface is up (one opened on a down link fails at once), at the latest one
// poll after it comes up; an open that fails, or a new socket that fails again within `maxBackoffMs`, backs off from
// `minBackoffMs` doubling to `maxBackoffMs`.
import {
  type LinkState,
  openPacketSocket,
  type PacketKind,
  type PacketSocket,
  readLink,
  type SocketErrorHandler,
} from './packet-socket.ts';

export interface WatchedSocketOptions {
  ifname: string;
  kind: PacketKind;
  /** Each received frame, with the socket it came on (the one to answer on). */
  onFrame: (frame: Buffer, socket: PacketSocket) => void;
  /** The socket was closed for `reason` (an errno name, `ifindex-changed`, `mac-changed`, `link-down`, `link-gone`). */
  onLost?: (reason: string) => void;
  /** A new socket is open, replacing one lost for `reason`, after `downMs` without one. */
  onReopen?: (socket: PacketSocket, reason: string, downMs: number) => void;
  pollMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The addon's, unless a test gives its own. */
  open?: (
    ifname: string,
    kind: PacketKind,
    onFrame: (frame: Buffer) => void,
    onError: SocketErrorHandler,
  ) => PacketSocket;
  readLink?: (ifname: string) => LinkState | null;
}

export interface WatchedSocket {
  /** The open socket, or null while there is none (link down, interface gone, between attempts). */
  current(): PacketSocket | null;
  /** The socket is known to be broken (a send failed with ENETDOWN, say): close it and open another. */
  fail(reason: string): void;
  close(): void;
}

/** Opens the first socket at once (throwing as openPacketSocket does, so a wrong interface fails the start). */
export function watchPacketSocket(o: WatchedSocketOptions): WatchedSocket {
  const open = o.open ?? openPacketSocket;
  const read = o.readLink ?? readLink;
  const minBackoffMs = o.minBackoffMs ?? 50;
  const maxBackoffMs = o.maxBackoffMs ?? 1000;
  let socket: PacketSocket | null = null;
  let closed = false;
  let reason = '';
  let lostAt = 0;
  let openedAt = 0;
  let backoffMs = minBackoffMs;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const openOne = (): PacketSocket => {
    const opened: PacketSocket = open(
      o.ifname,
      o.kind,
      (frame) => o.onFrame(frame, opened),
      (code) => {
        if (socket === opened) lose(code);
      },
    );
    openedAt = Date.now();
    return opened;
  };

  const lose = (why: string) => {
    if (closed || socket === null) return;
    socket.close();
    socket = null;
    reason = why;
    lostAt = Date.now();
    // A socket that lasted longer than the longest wait was a success: start the backoff over.
    if (lostAt - openedAt >= maxBackoffMs) backoffMs = minBackoffMs;
    o.onLost?.(why);
    schedule();
  };

  const schedule = () => {
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
    retry = setTimeout(attempt, delay);
  };

  const attempt = () => {
    retry = undefined;
    if (closed || socket !== null) return;
    let link: LinkState | null;
    try {
      link = read(o.ifname);
    } catch {
      link = null;
    }
    // Down or gone: the poll tries again once it is up.
    if (link === null || !link.up) return;
    try {
      socket = openOne();
    } catch {
      schedule();
      return;
    }
    o.onReopen?.(socket, reason, Date.now() - lostAt);
  };

  const poll = () => {
    if (closed) return;
    if (socket === null) {
      if (retry === undefined) attempt();
      return;
    }
    let link: LinkState | null;
    try {
      link = read(o.ifname);
    } catch {
      return;
    }
    if (link === null) lose('link-gone');
    else if (link.ifindex !== socket.ifindex) lose('ifindex-changed');
    else if (link.mac !== socket.mac) lose('mac-changed');
    else if (!link.up) lose('link-down');
  };

  socket = openOne();
  const poller = setInterval(poll, o.pollMs ?? 250);
  return {
    current: () => socket,
    fail: (why) => lose(why),
    close() {
      if (closed) return;
      closed = true;
      clearInterval(poller);
      clearTimeout(retry);
      socket?.close();
      socket = null;
    },
  };
}
