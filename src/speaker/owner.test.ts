import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidatesFor, ownerOf, ownersOf, rendezvousWeight } from './owner.ts';

/** 1,000 distinct IPv4 addresses in canonical text, spread over four /24s as pools hand them out. */
const ADDRESSES = Array.from({ length: 1000 }, (_, i) => `10.20.${i >> 8}.${i & 255}`);

function countBy(owners: Map<string, string | null>): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (const owner of owners.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

describe('owner', () => {
  it('pins the weight function, which every speaker of every version must share', () => {
    // Values computed independently (a few lines of Python over the UTF-8 bytes of `${address}/${node}`).
    assert.equal(rendezvousWeight('10.0.0.1', 'node-a'), 0xc17c8a85);
    assert.equal(rendezvousWeight('10.0.0.1', 'node-b'), 0x2933acc8);
    assert.equal(rendezvousWeight('fd00::1', 'node-a'), 0x39fd5ac3);
    assert.equal(rendezvousWeight('192.168.10.7', 'wörker-1'), 0xb5bd9b3c);
    assert.equal(ownerOf('10.0.0.1', ['node-a', 'node-b']), 'node-a');
  });

  it('does not depend on the order or repetition of the candidates', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const address of ADDRESSES.slice(0, 200)) {
      const owner = ownerOf(address, nodes);
      assert.equal(ownerOf(address, [...nodes].reverse()), owner);
      assert.equal(ownerOf(address, [...nodes, ...nodes]), owner);
      assert.equal(ownerOf(address, new Set(nodes)), owner);
    }
  });

  it('has no owner without candidates', () => {
    assert.equal(ownerOf('10.0.0.1', []), null);
  });

  it('spreads 1,000 addresses roughly evenly over 3 nodes', () => {
    const counts = countBy(ownersOf(ADDRESSES, ['node-a', 'node-b', 'node-c']));
    assert.equal(counts.size, 3);
    for (const [node, count] of counts) assert.ok(count > 333 * 0.85 && count < 333 * 1.15, `${node}: ${count}`);
  });

  it('moves only the addresses a removed member held, and spreads them over the survivors', () => {
    const before = ownersOf(ADDRESSES, ['node-a', 'node-b', 'node-c', 'node-d']);
    const after = ownersOf(ADDRESSES, ['node-a', 'node-c', 'node-d']);
    const moved = new Map<string, number>();
    for (const address of ADDRESSES) {
      if (before.get(address) === 'node-b') {
        const heir = after.get(address)!;
        moved.set(heir, (moved.get(heir) ?? 0) + 1);
      } else {
        assert.equal(after.get(address), before.get(address), address);
      }
    }
    const held = countBy(before).get('node-b')!;
    assert.ok(held > 200, `node-b held ${held}`);
    assert.equal(moved.size, 3, 'every survivor inherits some');
    for (const [node, count] of moved)
      assert.ok(count > (held / 3) * 0.7 && count < (held / 3) * 1.3, `${node}: ${count}`);
  });

  it('gives a new member only addresses it now wins, about its share', () => {
    const before = ownersOf(ADDRESSES, ['node-a', 'node-b', 'node-c']);
    const after = ownersOf(ADDRESSES, ['node-a', 'node-b', 'node-c', 'node-d']);
    let taken = 0;
    for (const address of ADDRESSES) {
      if (after.get(address) === before.get(address)) continue;
      assert.equal(after.get(address), 'node-d', address);
      taken++;
    }
    assert.ok(taken > 250 * 0.8 && taken < 250 * 1.2, `node-d took ${taken}`);
  });

  it('with Local, lets only live nodes with a ready endpoint announce', () => {
    const live = ['node-a', 'node-b', 'node-c'];
    const local = { live, policy: 'Local' as const, readyEndpointNodes: new Set(['node-b', 'node-d']) };
    assert.deepEqual(candidatesFor(local), ['node-b'], 'node-d has an endpoint but is not a live member');
    assert.equal(ownerOf('10.0.0.1', candidatesFor(local)), 'node-b');
    assert.deepEqual(candidatesFor({ ...local, readyEndpointNodes: new Set() }), []);
    assert.equal(ownerOf('10.0.0.1', candidatesFor({ ...local, readyEndpointNodes: new Set() })), null);
  });

  it('with Cluster, lets every live node announce, minus the excluded', () => {
    const cluster = {
      live: ['node-a', 'node-b', 'node-c'],
      policy: 'Cluster' as const,
      readyEndpointNodes: new Set<string>(),
    };
    assert.deepEqual(candidatesFor(cluster), ['node-a', 'node-b', 'node-c']);
    assert.deepEqual(candidatesFor({ ...cluster, excluded: new Set(['node-a']) }), ['node-b', 'node-c']);
    assert.deepEqual(
      candidatesFor({
        ...cluster,
        policy: 'Local',
        readyEndpointNodes: new Set(['node-a']),
        excluded: new Set(['node-a']),
      }),
      [],
    );
  });
});
