// The hand-written datagram check against the zod schema it replaced (kept here, where zod's cost does not reach the
// speaker): both must accept the same datagrams and return the same message, on hand-picked edge cases and on many
// random mutations of valid messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { decodeMessage, encodeMessage } from './codec.ts';
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
const reference = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), seq, ...base }),
  z.object({ type: z.literal('ack'), seq, ...base }),
  z.object({ type: z.literal('ping-req'), seq, target: z.string(), targetAddr: z.string(), ...base }),
  z.object({ type: z.literal('update'), ...base }),
  z.object({ type: z.literal('sync'), reply: z.boolean(), ...base }),
]);

function referenceDecode(text: string): unknown {
  try {
    const parsed = reference.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function same(text: string): void {
  const ours = decodeMessage(Buffer.from(text));
  assert.deepStrictEqual(ours, referenceDecode(text), text);
  // Same keys in the same order too, so a re-encoded message is byte for byte what the zod one gave.
  assert.equal(JSON.stringify(ours), JSON.stringify(referenceDecode(text)), text);
}

/** A deterministic PRNG so runs repeat exactly. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const u = { name: 'node-a', addr: '10.0.0.1:7947', state: 'alive', incarnation: 3, eligible: true };
const VALID: Message[] = [
  { type: 'ping', from: 'a', seq: 1, updates: [] },
  { type: 'ack', from: 'b', seq: 0, updates: [{ ...u, state: 'suspect', by: 'c' } as never] },
  { type: 'ping-req', from: 'a', seq: 7, target: 'c', targetAddr: '10.0.0.3:7947', updates: [u as never] },
  { type: 'update', from: 'a', updates: [u as never, { ...u, name: 'node-b', state: 'dead' } as never] },
  { type: 'sync', from: 'a', reply: true, updates: [u as never] },
];

const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  2 ** 53 - 1,
  2 ** 53,
  '',
  'x',
  'x'.repeat(253),
  'x'.repeat(254),
  'x'.repeat(300),
  'x'.repeat(301),
  'alive',
  'suspect',
  'dead',
  'zombie',
  'ping',
  'sync',
  [],
  [1],
  {},
  { ...u },
];

describe('membership codec', () => {
  it('drops what is not a message', () => {
    assert.equal(decodeMessage(Buffer.from('not json')), null);
    assert.equal(decodeMessage(Buffer.from('{"type":"ping","from":"a"}')), null);
    assert.equal(decodeMessage(Buffer.from('[]')), null);
    assert.equal(decodeMessage(Buffer.from('null')), null);
    assert.equal(decodeMessage(Buffer.from('{"type":"toString","from":"a","updates":[]}')), null);
    // JSON.parse makes this Infinity, which is no sequence number.
    assert.equal(decodeMessage(Buffer.from('{"type":"ping","seq":1e400,"from":"a","updates":[]}')), null);
    same('{"type":"ping","seq":1e400,"from":"a","updates":[]}');
  });

  it('round-trips every message type', () => {
    for (const m of VALID) assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m);
  });

  it('drops unknown fields, like the zod schema it replaced', () => {
    const text = JSON.stringify({ ...VALID[4], extra: 1, updates: [{ ...u, future: 'x' }] });
    assert.deepStrictEqual(decodeMessage(Buffer.from(text)), { ...VALID[4], updates: [u] });
    same(text);
  });

  it('limits: 1000 updates, name 253 characters, address 300', () => {
    const many = (n: number) => JSON.stringify({ type: 'update', from: 'a', updates: Array(n).fill(u) });
    assert.notEqual(decodeMessage(Buffer.from(many(1000))), null);
    assert.equal(decodeMessage(Buffer.from(many(1001))), null);
    same(many(1000));
    same(many(1001));
  });

  it('accepts and returns exactly what the zod schema did, field by field', () => {
    for (const m of VALID) {
      const fields = Object.keys(m);
      for (const field of [...fields, 'seq', 'reply', 'target', 'targetAddr', 'type']) {
        for (const odd of [...ODD_VALUES, undefined]) same(JSON.stringify({ ...m, [field]: odd }));
      }
      if (m.updates.length === 0) continue;
      for (const field of [...Object.keys(u), 'by']) {
        for (const odd of [...ODD_VALUES, undefined]) {
          same(JSON.stringify({ ...m, updates: [{ ...m.updates[0], [field]: odd }] }));
        }
      }
    }
  });

  it('agrees with the zod schema on random mutations', () => {
    const random = lcg(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const fields = ['type', 'from', 'seq', 'reply', 'target', 'targetAddr', 'updates', 'extra'];
    const updateFields = ['name', 'addr', 'state', 'incarnation', 'eligible', 'by', 'extra'];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const m: Record<string, unknown> = structuredClone(pick(VALID));
      for (let n = Math.floor(random() * 3); n > 0; n--) {
        const field = pick(fields);
        if (random() < 0.3) delete m[field];
        else m[field] = pick(ODD_VALUES);
      }
      if (Array.isArray(m.updates) && m.updates.length > 0 && random() < 0.5) {
        const target = m.updates[0] as Record<string, unknown>;
        if (typeof target === 'object' && target !== null) {
          const field = pick(updateFields);
          if (random() < 0.3) delete target[field];
          else target[field] = pick(ODD_VALUES);
        }
      }
      const text = JSON.stringify(m);
      same(text);
      if (decodeMessage(Buffer.from(text)) !== null) accepted++;
    }
    // Both outcomes were exercised.
    assert.ok(accepted > 100 && accepted < 4900, `accepted ${accepted}`);
  });
});
