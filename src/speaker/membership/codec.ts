// Datagrams are JSON: a few hundred bytes at most at LAN sizes, readable in a capture, and validated on the way in
// so a stray or malformed datagram on the port is dropped instead of corrupting the view. The schema drops fields it
// does not know (a newer speaker may send more) and returns a fresh object with only the known ones. zod is about
// 4 MB of the speaker's idle RSS (docs/benchmarks.md), under the 5 MB that would justify a hand-written check.
import { z } from 'zod';
import type { Message } from './types.ts';

const count = z.number().int().nonnegative();
const update = z.object({
  name: z.string().min(1).max(253),
  addr: z.string().min(1).max(300),
  state: z.enum(['alive', 'suspect', 'dead']),
  incarnation: count,
  eligible: z.boolean(),
  by: z.string().max(253).optional(),
});
const base = { from: z.string().min(1).max(253), updates: z.array(update).max(1000) };
const message = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), seq: count, ...base }),
  z.object({ type: z.literal('ack'), seq: count, ...base }),
  z.object({ type: z.literal('ping-req'), seq: count, target: z.string(), targetAddr: z.string(), ...base }),
  z.object({ type: z.literal('update'), ...base }),
  z.object({ type: z.literal('sync'), reply: z.boolean(), ...base }),
]);

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
  const result = message.safeParse(parsed);
  return result.success ? result.data : null;
}
