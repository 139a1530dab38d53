import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddressEntry } from '../../providers/metal/model/addresses.ts';
import type { AddressPool } from '../../providers/metal/model/schema.ts';
import { ownerOf } from './owner.ts';
import { type AnnouncedService, assignments, ownedAddresses } from './table.ts';

function pool(name: string, ...entries: string[]): AddressPool {
  const ranges = entries.map((entry) => {
    const parsed = parseAddressEntry(entry);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.range;
  });
  return { name, ranges, autoAssign: true, avoidBuggyIPs: false, namespaces: null, l2: true };
}

const svc = (key: string, addresses: string[], policy: 'Cluster' | 'Local' = 'Cluster', ready: string[] = []) =>
  ({ key, addresses, policy, readyEndpointNodes: new Set(ready) }) satisfies AnnouncedService;

const POOLS = [pool('lan', '10.97.0.0/24', 'fd00:97::/112')];
const NODES = ['node-a', 'node-b', 'node-c'];

describe('owned-address table', () => {
  it('gives every address in a pool to exactly one live member, the rendezvous owner', () => {
    const services = [svc('ns/web', ['10.97.0.100', 'fd00:97:0::100']), svc('ns/api', ['10.97.0.101'])];
    const held = NODES.map((self) => ownedAddresses({ self, services, pools: POOLS, members: NODES }));
    const all = held.flatMap((owned) => [...owned.keys()]).sort();
    assert.deepEqual(all, ['10.97.0.100', '10.97.0.101', 'fd00:97::100']);
    assert.ok(held[NODES.indexOf(ownerOf('10.97.0.100', NODES)!)]!.has('10.97.0.100'));
  });

  it('leaves the addresses of an l2: false pool to BGP, and still announces the other pools', () => {
    const bgpOnly = { ...pool('bgp', '10.99.0.0/24'), l2: false };
    const services = [svc('ns/web', ['10.99.0.1']), svc('ns/api', ['10.97.0.1'])];
    const pools = [...POOLS, bgpOnly];
    const owned = NODES.flatMap((self) => [...ownedAddresses({ self, services, pools, members: NODES }).keys()]);
    assert.deepEqual(owned, ['10.97.0.1']);
    assert.deepEqual([...assignments({ self: 'x', services, pools, members: NODES }).keys()], ['10.97.0.1']);
  });

  it('never announces an address outside the pools, or a malformed one', () => {
    const services = [svc('ns/web', ['10.98.0.1', 'not-an-ip', '10.97.0.300'])];
    for (const self of NODES) assert.equal(ownedAddresses({ self, services, pools: POOLS, members: NODES }).size, 0);
  });

  it('moves only the addresses of a member that is gone', () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `10.97.0.${i + 1}`);
    const services = [svc('ns/many', addresses)];
    const before = assignments({ self: 'x', services, pools: POOLS, members: NODES });
    const after = assignments({ self: 'x', services, pools: POOLS, members: ['node-a', 'node-c'] });
    for (const [address, { owner }] of before) {
      if (owner !== 'node-b') assert.equal(after.get(address)!.owner, owner, address);
      else assert.notEqual(after.get(address)!.owner, 'node-b');
    }
  });

  it('with Local policy only a node with a ready endpoint announces, and nobody when there is none', () => {
    const local = [svc('ns/local', ['10.97.0.100'], 'Local', ['node-c'])];
    assert.equal(
      assignments({ self: 'x', services: local, pools: POOLS, members: NODES }).get('10.97.0.100')!.owner,
      'node-c',
    );
    const none = [svc('ns/local', ['10.97.0.100'], 'Local', [])];
    assert.equal(
      assignments({ self: 'x', services: none, pools: POOLS, members: NODES }).get('10.97.0.100')!.owner,
      null,
    );
  });

  it('skips excluded nodes', () => {
    const services = [svc('ns/web', ['10.97.0.100'])];
    const owner = ownerOf('10.97.0.100', NODES)!;
    const excluded = new Set([owner]);
    const next = assignments({ self: 'x', services, pools: POOLS, members: NODES, excluded }).get('10.97.0.100')!.owner;
    assert.ok(next !== null && next !== owner);
  });
});
