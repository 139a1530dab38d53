import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findOverlaps } from './overlap.ts';
import { type AddressPool, parsePool } from './schema.ts';

function pool(name: string, addresses: string[]): AddressPool {
  const result = parsePool({
    apiVersion: 'drawbridge.io/v1alpha1',
    kind: 'AddressPool',
    metadata: { name },
    spec: { addresses },
  });
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.pool;
}

describe('findOverlaps', () => {
  it('finds nothing for disjoint pools, including adjacent ones and different families', () => {
    assert.deepEqual(
      findOverlaps([pool('a', ['10.0.0.0/25']), pool('b', ['10.0.0.128/25']), pool('c', ['::a00:0/120'])]),
      [],
    );
  });

  it('reports each shared range once, pool names ordered', () => {
    const overlaps = findOverlaps([
      pool('zeta', ['10.0.0.0/24', 'fd00::/120']),
      pool('alpha', ['10.0.0.250-10.0.1.5', 'fd00::f0-fd00::1ff']),
      pool('mid', ['10.0.0.5/32']),
    ]);
    assert.deepEqual(overlaps, [
      { a: 'alpha', b: 'zeta', range: '10.0.0.250-10.0.0.255' },
      { a: 'alpha', b: 'zeta', range: 'fd00::f0-fd00::ff' },
      { a: 'mid', b: 'zeta', range: '10.0.0.5' },
    ]);
  });
});
