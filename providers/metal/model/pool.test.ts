// Which resources are AddressPools, as the controller and the speakers both decide it (parsePool: the zod schema
// on the model pool.ts builds), on hand-picked edge cases and many random mutations of valid ones, against the rules
// written out below: a disagreement would let a speaker announce addresses of a pool that is not one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressRange, intersectRanges, parseAddressEntry } from './addresses.ts';
import type { AddressPool } from './pool.ts';
import { parsePool } from './schema.ts';

const SPEC_FIELDS = ['addresses', 'autoAssign', 'avoidBuggyIPs', 'namespaces', 'l2'];
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalBoolean = (v: unknown) => v === undefined || typeof v === 'boolean';
const namespaceList = (v: unknown) =>
  v === undefined ||
  (Array.isArray(v) &&
    v.length >= 1 &&
    v.every((ns) => typeof ns === 'string' && ns.length <= 63 && NAMESPACE.test(ns)));

/** The ranges of spec.addresses, or null unless there is at least one and every one parses and none overlap. */
function rangesOf(addresses: unknown): AddressRange[] | null {
  if (!Array.isArray(addresses) || addresses.length < 1) return null;
  const ranges: AddressRange[] = [];
  for (const text of addresses) {
    const entry = typeof text === 'string' ? parseAddressEntry(text) : null;
    if (!entry?.ok || ranges.some((range) => intersectRanges(range, entry.range) !== null)) return null;
    ranges.push(entry.range);
  }
  return ranges;
}

/** The pool the rules make of `obj`, or null when it is not a valid AddressPool. */
function expected(obj: unknown): AddressPool | null {
  if (!isRecord(obj) || obj.apiVersion !== 'drawbridge.io/v1alpha1' || obj.kind !== 'AddressPool') return null;
  const { metadata, spec } = obj;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') return null;
  if (!isRecord(spec) || Object.keys(spec).some((key) => !SPEC_FIELDS.includes(key))) return null;
  const ranges = rangesOf(spec.addresses);
  if (ranges === null || !optionalBoolean(spec.autoAssign) || !optionalBoolean(spec.avoidBuggyIPs)) return null;
  if (!optionalBoolean(spec.l2)) return null;
  if (!namespaceList(spec.namespaces)) return null;
  // IPv4 first, then by start.
  ranges.sort((a, b) => (a.family !== b.family ? (a.family === 'IPv4' ? -1 : 1) : a.first < b.first ? -1 : 1));
  return {
    name: metadata.name,
    ranges,
    autoAssign: (spec.autoAssign as boolean | undefined) ?? true,
    avoidBuggyIPs: (spec.avoidBuggyIPs as boolean | undefined) ?? false,
    namespaces: (spec.namespaces as string[] | undefined) ?? null,
    l2: (spec.l2 as boolean | undefined) ?? true,
  };
}

function poolOf(obj: unknown): AddressPool | null {
  const parsed = parsePool(obj);
  return parsed.ok ? parsed.pool : null;
}

function same(obj: unknown): void {
  assert.deepStrictEqual(poolOf(obj), expected(obj), JSON.stringify(obj));
}

function resource(spec: unknown, name: unknown = 'lan'): Record<string, unknown> {
  return { apiVersion: 'drawbridge.io/v1alpha1', kind: 'AddressPool', metadata: { name }, spec };
}

/** A deterministic PRNG so runs repeat exactly. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const VALID = [
  resource({ addresses: ['fd00::/120', '192.168.10.100-192.168.10.110', '192.168.10.0/26'] }),
  resource({ addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true, namespaces: ['team-a', 'b'] }),
  resource({ addresses: ['10.0.0.0/24'], l2: false }),
  resource({ addresses: ['10.0.0.7-10.0.0.7', '10.0.0.9/32', '10.0.0.20 - 10.0.0.21'] }),
  resource({ addresses: ['FD00:0:0:0::10-fd00::0020'], namespaces: ['x'.repeat(63)] }),
];

const ODD_ADDRESSES: unknown[] = [
  '10.0.0.0/24',
  '10.0.0.128/25',
  '10.0.0.300/24',
  '10.0.0.20-10.0.0.10',
  '10.0.1.1-fd00::1',
  '10.0.2.5/24',
  '10.0.3.1',
  '10.1/16',
  '010.0.0.0/8',
  '0x0a.0.0.0/8',
  'fe80::%eth0/64',
  '10.0.0.0/33',
  'fd00::/129',
  'fd00::80-fd00::1ff',
  '',
  42,
  null,
];

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  1,
  '',
  'yes',
  'lan',
  'team-a',
  'Team_A',
  'x'.repeat(63),
  'x'.repeat(64),
  '-a',
  [],
  ['team-a'],
  ['Team_A'],
  [''],
  ['x'.repeat(63)],
  ['x'.repeat(64)],
  ['team-a', 'a.b'],
  ['10.0.0.0/24'],
  ['10.0.0.0/24', '10.0.0.128/25'],
  [42],
  {},
  { name: 'lan' },
  { name: '' },
  { name: 7 },
  { addresses: ['10.0.0.0/24'] },
  'drawbridge.io/v1alpha1',
  'AddressPool',
];

describe('AddressPool verdict', () => {
  it('builds the pool the rules give for valid resources', () => {
    for (const obj of VALID) {
      assert.notEqual(poolOf(obj), null);
      same(obj);
    }
  });

  it('gives the verdict the rules give, field by field', () => {
    for (const base of VALID) {
      for (const field of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) {
        for (const odd of ODD_VALUES) same({ ...base, [field]: odd });
      }
      for (const field of ['name', 'namespace', 'labels']) {
        for (const odd of ODD_VALUES) same({ ...base, metadata: { ...(base.metadata as object), [field]: odd } });
      }
      for (const field of ['addresses', 'autoAssign', 'avoidBuggyIPs', 'namespaces', 'l2', 'autoassign', 'ranges']) {
        for (const odd of ODD_VALUES) same({ ...base, spec: { ...(base.spec as object), [field]: odd } });
      }
      for (const odd of ODD_ADDRESSES) {
        same({ ...base, spec: { ...(base.spec as object), addresses: [odd] } });
        same({ ...base, spec: { ...(base.spec as object), addresses: ['10.0.0.0/24', odd] } });
      }
    }
    for (const odd of ODD_VALUES) same(odd);
  });

  it('follows the rules on random resources', () => {
    const random = lcg(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const obj = structuredClone(pick(VALID));
      const spec = obj.spec as Record<string, unknown>;
      const addresses = Array.from({ length: Math.floor(random() * 4) }, () => pick(ODD_ADDRESSES));
      if (random() < 0.8) spec.addresses = addresses;
      for (let n = Math.floor(random() * 3); n > 0; n--) {
        const field = pick(['autoAssign', 'avoidBuggyIPs', 'namespaces', 'l2', 'autoassign']);
        if (random() < 0.5) delete spec[field];
        else spec[field] = pick(ODD_VALUES);
      }
      if (random() < 0.1) obj[pick(['apiVersion', 'kind', 'metadata', 'spec'])] = pick(ODD_VALUES);
      same(obj);
      if (poolOf(obj) !== null) accepted++;
    }
    // Both outcomes were exercised.
    assert.ok(accepted > 100 && accepted < 2900, `accepted ${accepted}`);
  });
});
