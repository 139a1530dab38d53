// Datagrams are JSON: a few hundred bytes at most at LAN sizes, readable in a capture, and validated on the way in
// so a stray or malformed datagram on the port is dropped instead of corrupting the view.
import { z } from 'zod';
import type { Message } from './types.ts';

const update = z.object({
  name: z.string().min(1).max(253),
  addr: z.string().min(1).max(300),
  state: z.enum(['alive', 'suspect', 'dead']),
  incarnation: z.number().int().nonnegative(),
  eligible: z.boolean(),
  by: z.string().max(253).optional(),
});
const base = { from: z.string().min(1).max(253), updates: z.array(update).max(1000) };
const seq = z.number().int().nonnegative();

const message = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), seq, ...base }),
  z.object({ type: z.literal('ack'), seq, ...base }),
  z.object({ type: z.literal('ping-req'), seq, target: z.string(), targetAddr: z.string(), ...base }),
  z.object({ type: z.literal('update'), ...base }),
  z.object({ type: z.literal('sync'), reply: z.boolean(), ...base }),
]);

export function encodeMessage(m: Message): Buffer {
  return Buffer.from(JSON.stringify(m));
}

/** The message, or null for anything that is not one. */
export function decodeMessage(datagram: Uint8Array): Message | null {
  try {
    const parsed = message.safeParse(JSON.parse(Buffer.from(datagram).toString('utf8')));
    return parsed.success ? (parsed.data as Message) : null;
  } catch {
    return null;
  }
}
