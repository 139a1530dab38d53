// The datagram schema on the wire format's edge cases: every field of every message type set to odd values, and many
// random mutations of valid messages, each checked against the rules written out below as tables (which values of
// ODD_VALUES each field accepts), and the decoded message must be the datagram minus the fields it does not know.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from './codec.ts';
import type { Message } from './types.ts';

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

/** Shared with ACCEPTS, which compares by identity. */
const EMPTY: unknown[] = [];
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
  EMPTY,
  [1],
  {},
  { ...u },
];

const LONG_NAME = 'x'.repeat(253);
const NAMES = ['x', LONG_NAME, 'alive', 'suspect', 'dead', 'zombie', 'ping', 'sync'];
const STRINGS = ODD_VALUES.filter((v) => typeof v === 'string');
const COUNTS = [0, -0, 2 ** 53 - 1];
const BOOLEANS = [true, false];
/** Which of ODD_VALUES each field accepts (undefined: the field may be left out). */
const ACCEPTS: Record<string, unknown[]> = {
  from: NAMES,
  seq: COUNTS,
  reply: BOOLEANS,
  target: STRINGS,
  targetAddr: STRINGS,
  updates: [EMPTY],
  name: NAMES,
  addr: [...NAMES, 'x'.repeat(254), 'x'.repeat(300)],
  state: ['alive', 'suspect', 'dead'],
  incarnation: COUNTS,
  eligible: BOOLEANS,
  by: ['', ...NAMES, undefined],
};
/** The fields of each message type, in the order the decoded message has them. */
const FIELDS: Record<string, string[]> = {
  ping: ['type', 'seq', 'from', 'updates'],
  ack: ['type', 'seq', 'from', 'updates'],
  'ping-req': ['type', 'seq', 'target', 'targetAddr', 'from', 'updates'],
  update: ['type', 'from', 'updates'],
  sync: ['type', 'reply', 'from', 'updates'],
};
const UPDATE_FIELDS = ['name', 'addr', 'state', 'incarnation', 'eligible', 'by'];

/** Keeps only `fields` of `value`, in that order, leaving out those it lacks. */
function only(value: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (value[field] !== undefined) out[field] = value[field];
  return out;
}

/**
 * What decoding `m` must give when `mutated` are the fields (of the message, or of its first update) given odd values
 * and every other field is as in a valid message of type `from`.
 */
function expected(m: Record<string, unknown>, from: Message, mutated: Set<string>, mutatedUpdate: Set<string>) {
  const type = m.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return null;
  const fieldOk = (field: string, value: unknown, had: boolean, wasMutated: boolean) =>
    wasMutated ? ACCEPTS[field]!.includes(value) : had || ACCEPTS[field]!.includes(undefined);
  for (const field of FIELDS[type]!.slice(1)) {
    if (!fieldOk(field, m[field], Object.hasOwn(from, field), mutated.has(field))) return null;
  }
  const updates = m.updates as Record<string, unknown>[];
  if (updates.length > 0 && !mutated.has('updates')) {
    const first = from.updates[0] as unknown as Record<string, unknown>;
    for (const field of UPDATE_FIELDS) {
      if (!fieldOk(field, updates[0]![field], Object.hasOwn(first, field), mutatedUpdate.has(field))) return null;
    }
  }
  // Through JSON, as on the wire (-0 becomes 0).
  const wire = JSON.parse(JSON.stringify(m));
  return {
    ...only(wire, FIELDS[type]!),
    updates: wire.updates.map((u: Record<string, unknown>) => only(u, UPDATE_FIELDS)),
  };
}

function check(m: Record<string, unknown>, from: Message, mutated: Set<string>, mutatedUpdate = new Set<string>()) {
  const text = JSON.stringify(m);
  const want = expected(m, from, mutated, mutatedUpdate);
  const got = decodeMessage(Buffer.from(text));
  assert.deepStrictEqual(got, want, text);
  // Same keys in the same order too, so a re-encoded message is byte for byte the one decoded.
  assert.equal(JSON.stringify(got), JSON.stringify(want), text);
  return got;
}

describe('membership codec', () => {
  it('drops what is not a message', () => {
    assert.equal(decodeMessage(Buffer.from('not json')), null);
    assert.equal(decodeMessage(Buffer.from('{"type":"ping","from":"a"}')), null);
    assert.equal(decodeMessage(Buffer.from('[]')), null);
    assert.equal(decodeMessage(Buffer.from('null')), null);
    assert.equal(decodeMessage(Buffer.from('{"type":"toString","from":"a","updates":[]}')), null);
    // JSON.parse makes this Infinity, which is no sequence number.
    assert.equal(decodeMessage(Buffer.from('{"type":"ping","seq":1e400,"from":"a","updates":[]}')), null);
  });

  it('round-trips every message type', () => {
    for (const m of VALID) assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m);
  });

  it('drops unknown fields', () => {
    const text = JSON.stringify({ ...VALID[4], extra: 1, updates: [{ ...u, future: 'x' }] });
    assert.deepStrictEqual(decodeMessage(Buffer.from(text)), { ...VALID[4], updates: [u] });
  });

  it('limits: 1000 updates, name 253 characters, address 300', () => {
    const many = (n: number) => JSON.stringify({ type: 'update', from: 'a', updates: Array(n).fill(u) });
    assert.notEqual(decodeMessage(Buffer.from(many(1000))), null);
    assert.equal(decodeMessage(Buffer.from(many(1001))), null);
  });

  it('accepts and returns exactly what the rules say, field by field', () => {
    let accepted = 0;
    for (const m of VALID) {
      for (const field of [...Object.keys(m), 'seq', 'reply', 'target', 'targetAddr', 'extra']) {
        for (const odd of [...ODD_VALUES, undefined]) {
          if (check({ ...m, [field]: odd }, m, new Set([field])) !== null) accepted++;
        }
      }
      if (m.updates.length === 0) continue;
      for (const field of [...Object.keys(u), 'by', 'extra']) {
        for (const odd of [...ODD_VALUES, undefined]) {
          const mutated = { ...m, updates: [{ ...m.updates[0], [field]: odd }] };
          if (check(mutated, m, new Set(), new Set([field])) !== null) accepted++;
        }
      }
    }
    assert.ok(accepted > 100, `accepted ${accepted}`);
  });

  it('follows the rules on random mutations', () => {
    const random = lcg(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const fields = ['type', 'from', 'seq', 'reply', 'target', 'targetAddr', 'updates', 'extra'];
    const updateFields = ['name', 'addr', 'state', 'incarnation', 'eligible', 'by', 'extra'];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const from = pick(VALID);
      const m: Record<string, unknown> = structuredClone(from);
      const mutated = new Set<string>();
      const mutatedUpdate = new Set<string>();
      for (let n = Math.floor(random() * 3); n > 0; n--) {
        const field = pick(fields);
        mutated.add(field);
        if (random() < 0.3) delete m[field];
        else m[field] = pick(ODD_VALUES);
      }
      if (!mutated.has('updates') && (m.updates as unknown[]).length > 0 && random() < 0.5) {
        const target = (m.updates as unknown[])[0] as Record<string, unknown>;
        const field = pick(updateFields);
        mutatedUpdate.add(field);
        if (random() < 0.3) delete target[field];
        else target[field] = pick(ODD_VALUES);
      }
      if (check(m, from, mutated, mutatedUpdate) !== null) accepted++;
    }
    // Both outcomes were exercised.
    assert.ok(accepted > 100 && accepted < 4900, `accepted ${accepted}`);
  });
});
