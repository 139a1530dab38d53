// poolOf() (the speaker's zod-free check) against parsePool() (the controller's, zod): the same verdict and the same
// pool for every resource, on hand-picked cases and on many random mutations of valid ones. If they disagreed, a
// speaker could announce addresses of a pool the controller rejects, or the other way round.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { poolOf } from './pool.ts';
import { parsePool } from './schema.ts';

function same(obj: unknown): void {
  const parsed = parsePool(obj);
  assert.deepStrictEqual(poolOf(obj), parsed.ok ? parsed.pool : null, JSON.stringify(obj));
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

describe('poolOf', () => {
  it('builds the same pool as parsePool for valid resources', () => {
    for (const obj of VALID) {
      assert.notEqual(poolOf(obj), null);
      same(obj);
    }
  });

  it('gives the same verdict as parsePool, field by field', () => {
    for (const base of VALID) {
      for (const field of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) {
        for (const odd of ODD_VALUES) same({ ...base, [field]: odd });
      }
      for (const field of ['name', 'namespace', 'labels']) {
        for (const odd of ODD_VALUES) same({ ...base, metadata: { ...(base.metadata as object), [field]: odd } });
      }
      for (const field of ['addresses', 'autoAssign', 'avoidBuggyIPs', 'namespaces', 'autoassign', 'ranges']) {
        for (const odd of ODD_VALUES) same({ ...base, spec: { ...(base.spec as object), [field]: odd } });
      }
      for (const odd of ODD_ADDRESSES) {
        same({ ...base, spec: { ...(base.spec as object), addresses: [odd] } });
        same({ ...base, spec: { ...(base.spec as object), addresses: ['10.0.0.0/24', odd] } });
      }
    }
    for (const odd of ODD_VALUES) same(odd);
  });

  it('agrees with parsePool on random resources', () => {
    const random = lcg(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const obj = structuredClone(pick(VALID));
      const spec = obj.spec as Record<string, unknown>;
      const addresses = Array.from({ length: Math.floor(random() * 4) }, () => pick(ODD_ADDRESSES));
      if (random() < 0.8) spec.addresses = addresses;
      for (let n = Math.floor(random() * 3); n > 0; n--) {
        const field = pick(['autoAssign', 'avoidBuggyIPs', 'namespaces', 'autoassign']);
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
