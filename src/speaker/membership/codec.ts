// Datagrams are JSON: a few hundred bytes at most at LAN sizes, readable in a capture, and validated on the way in
// so a stray or malformed datagram on the port is dropped instead of corrupting the view.
//
// Checked by hand, not with zod: this is our own small wire format, and zod's import alone costs the speaker ~15 MB
// of its idle RSS (docs/benchmarks.md). codec.test.ts holds the zod schema this replaced and checks both accept and
// return the same thing, field by field and on random datagrams. Like that schema, it drops fields it does not know
// (a newer speaker may send more) and returns a fresh object with only the known ones.
import type { MemberState, MemberUpdate, Message } from './types.ts';

const STATES: ReadonlySet<unknown> = new Set<MemberState>(['alive', 'suspect', 'dead']);
const MAX_NAME = 253;
const MAX_ADDR = 300;
const MAX_UPDATES = 1000;

export function encodeMessage(m: Message): Buffer {
  return Buffer.from(JSON.stringify(m));
}

/** The message, or null for anything that is not one. */
export function decodeMessage(datagram: Uint8Array): Message | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(datagram).toString('utf8'));
  } catch {
    return null;
  }
  return message(parsed);
}

/** Invalid: thrown by the field checks, caught once in message(). */
class Invalid extends Error {}

function message(value: unknown): Message | null {
  if (!isRecord(value)) return null;
  try {
    switch (value.type) {
      case 'ping':
      case 'ack':
        return { type: value.type, seq: seq(value.seq), from: from(value.from), updates: updates(value.updates) };
      case 'ping-req':
        return {
          type: 'ping-req',
          seq: seq(value.seq),
          target: string(value.target, 0, Number.POSITIVE_INFINITY),
          targetAddr: string(value.targetAddr, 0, Number.POSITIVE_INFINITY),
          from: from(value.from),
          updates: updates(value.updates),
        };
      case 'update':
        return { type: 'update', from: from(value.from), updates: updates(value.updates) };
      case 'sync':
        return { type: 'sync', reply: boolean(value.reply), from: from(value.from), updates: updates(value.updates) };
      default:
        return null;
    }
  } catch (error) {
    if (error instanceof Invalid) return null;
    throw error;
  }
}

function updates(value: unknown): MemberUpdate[] {
  if (!Array.isArray(value) || value.length > MAX_UPDATES) throw new Invalid();
  return value.map(update);
}

function update(value: unknown): MemberUpdate {
  if (!isRecord(value)) throw new Invalid();
  const state = value.state;
  if (!STATES.has(state)) throw new Invalid();
  const u: MemberUpdate = {
    name: string(value.name, 1, MAX_NAME),
    addr: string(value.addr, 1, MAX_ADDR),
    state: state as MemberState,
    incarnation: count(value.incarnation),
    eligible: boolean(value.eligible),
  };
  if (value.by !== undefined) u.by = string(value.by, 0, MAX_NAME);
  return u;
}

const from = (value: unknown): string => string(value, 1, MAX_NAME);
const seq = (value: unknown): number => count(value);

function string(value: unknown, min: number, max: number): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) throw new Invalid();
  return value;
}

/** A non-negative integer JavaScript holds exactly (zod's .int().nonnegative()). */
function count(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Invalid();
  return value;
}

function boolean(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Invalid();
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
