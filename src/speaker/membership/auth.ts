// Authenticated membership datagrams (docs/speaker-security.md has the threat model). Each datagram is
//   magic "DBM1" | boot ms (6 bytes) | sent ms (6 bytes) | seq (6 bytes) | sender name (1 length byte + UTF-8)
//   | JSON message | HMAC-SHA256 (32 bytes)
// and the MAC covers the header, the message and the address it was sent to, so a datagram captured on its way to
// one member is refused by every other. The sender is named in the header, apart from the message's `from`: a helper
// relays an indirect probe's ack in the target's name (probes.ts), and the checks here are about who sent it. `boot` is the sender's start time and `seq` counts its datagrams since then:
// a receiver remembers, per sender, the newest boot and which of the last 64 sequence numbers it has seen (IPsec's
// sliding window: a datagram overtaken by a later one on the LAN is still accepted, a second copy never is). `sent` must
// be within `windowMs` of the receiver's clock, so a datagram older than that is refused even by a receiver that
// restarted and remembers nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Keyring {
  /** Signs every datagram sent; also accepted. */
  sign: Buffer;
  /** Also accepted (the key being rotated in or out). */
  also?: Buffer;
}

export type DropReason = 'malformed' | 'bad-mac' | 'stale' | 'replay' | 'sender-mismatch' | 'incarnation-bound';
export const DROP_REASONS: readonly DropReason[] = [
  'malformed',
  'bad-mac',
  'stale',
  'replay',
  'sender-mismatch',
  'incarnation-bound',
];

/** Shorter keys are refused at start: 32 bytes is HMAC-SHA256's own strength. */
export const MIN_KEY_BYTES = 32;
/** Clocks of members may differ by this much; also how old a datagram may be. */
export const DEFAULT_WINDOW_MS = 30_000;

const MAGIC = Buffer.from('DBM1');
/** The fixed part of the header; the sender's name follows. */
const HEADER = MAGIC.length + 18;
const MAC = 32;
const WINDOW = 64n;
const ALL_BITS = (1n << WINDOW) - 1n;
/** Senders remembered at most (only senders holding the key get here, and only from their own Node's address). */
const MAX_SENDERS = 4096;

export interface Opened {
  /** Who sealed it (the header's name). */
  sender: string;
  payload: Buffer;
  boot: number;
  seq: number;
}

interface SenderState {
  boot: number;
  top: number;
  seen: bigint;
  heardAt: number;
}

export class DatagramAuth {
  private readonly boot: number;
  private seq = 0;
  private readonly senders = new Map<string, SenderState>();
  private readonly keys: () => Keyring;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly name: Buffer;

  /** `name`: ours, as the others know us (the Node's name), at most 253 bytes. */
  constructor(name: string, keys: () => Keyring, windowMs = DEFAULT_WINDOW_MS, now: () => number = Date.now) {
    const bytes = Buffer.from(name);
    this.name = Buffer.concat([Buffer.from([Math.min(bytes.length, 255)]), bytes.subarray(0, 255)]);
    this.keys = keys;
    this.windowMs = windowMs;
    this.now = now;
    this.boot = now();
  }

  /** The datagram carrying `payload` to the member listening at `to` (host:port as formatAddr writes it). */
  seal(payload: Buffer, to: string): Buffer {
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header);
    header.writeUIntBE(this.boot, 4, 6);
    header.writeUIntBE(this.now(), 10, 6);
    header.writeUIntBE(++this.seq, 16, 6);
    const head = Buffer.concat([header, this.name]);
    return Buffer.concat([head, payload, mac(this.keys().sign, head, payload, to)]);
  }

  /** The authenticated payload of a datagram sent to `to`, or why it is refused. Records nothing (see `accept`). */
  open(datagram: Buffer, to: string): Opened | DropReason {
    if (datagram.length < HEADER + 1 + MAC || !datagram.subarray(0, MAGIC.length).equals(MAGIC)) return 'malformed';
    const end = HEADER + 1 + datagram[HEADER]!;
    if (datagram.length < end + MAC) return 'malformed';
    const header = datagram.subarray(0, end);
    const payload = datagram.subarray(end, datagram.length - MAC);
    const got = datagram.subarray(datagram.length - MAC);
    const { sign, also } = this.keys();
    const authentic = [sign, also].some(
      (key) => key !== undefined && timingSafeEqual(mac(key, header, payload, to), got),
    );
    if (!authentic) return 'bad-mac';
    const boot = header.readUIntBE(4, 6);
    const sent = header.readUIntBE(10, 6);
    const now = this.now();
    if (Math.abs(sent - now) > this.windowMs || boot > now + this.windowMs) return 'stale';
    const sender = header.subarray(HEADER + 1).toString('utf8');
    return { sender, payload, boot, seq: header.readUIntBE(16, 6) };
  }

  /**
   * Whether `opened`, from the member named `from` (its sender), is new: not a copy of one already accepted, nor from an earlier
   * boot of that member. Records it when it is. A sender unheard for twice the window is forgotten (anything it sent
   * before is stale by then), which also lets a member restarted with its clock stepped back in again.
   */
  accept(from: string, opened: Opened): boolean {
    const now = this.now();
    const known = this.senders.get(from);
    if (known === undefined || opened.boot > known.boot || now - known.heardAt > 2 * this.windowMs) {
      this.remember(from, { boot: opened.boot, top: opened.seq, seen: 1n, heardAt: now });
      return true;
    }
    if (opened.boot < known.boot) return false;
    if (opened.seq > known.top) {
      const shift = BigInt(opened.seq - known.top);
      known.seen = shift >= WINDOW ? 1n : ((known.seen << shift) | 1n) & ALL_BITS;
      known.top = opened.seq;
    } else {
      const behind = BigInt(known.top - opened.seq);
      if (behind >= WINDOW) return false;
      const bit = 1n << behind;
      if ((known.seen & bit) !== 0n) return false;
      known.seen |= bit;
    }
    known.heardAt = now;
    return true;
  }

  private remember(from: string, state: SenderState): void {
    this.senders.delete(from);
    if (this.senders.size >= MAX_SENDERS) {
      // The least recently heard (Map keeps insertion order, and every accepted sender is re-inserted on a new boot).
      const oldest = this.senders.keys().next().value;
      if (oldest !== undefined) this.senders.delete(oldest);
    }
    this.senders.set(from, state);
  }
}

function mac(key: Buffer, header: Buffer, payload: Buffer, to: string): Buffer {
  const dest = Buffer.from(to);
  return createHmac('sha256', key)
    .update(header)
    .update(Buffer.from([dest.length]))
    .update(dest)
    .update(payload)
    .digest();
}
