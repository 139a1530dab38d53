import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { type BgpAnnounceInput, bgpRoutes, mergeRoutes } from './bgp-announce.ts';
import type { BgpAdvertisement, BgpPeer } from './bgp-types.ts';
import { parsePool } from './schema.ts';

function node(name: string, labels: Record<string, string> = {}, extra: Partial<V1Node['metadata']> = {}): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels }, ...extra },
    status: { addresses: [{ type: 'InternalIP', address: `10.0.0.${name.charCodeAt(name.length - 1) % 200}` }] },
  };
}

function peer(name: string, over: Partial<BgpPeer> = {}): BgpPeer {
  return {
    name,
    peerAddress: '10.0.0.254',
    peerASN: 64500,
    myASN: 64512,
    port: 179,
    holdTimeSeconds: 90,
    keepaliveTimeSeconds: 30,
    ebgpMultiHop: false,
    nodeSelectors: [],
    disableBFD: false,
    ...over,
  };
}

function adv(name: string, over: Partial<BgpAdvertisement> = {}): BgpAdvertisement {
  return {
    name,
    addressPools: [],
    peers: [],
    communities: [],
    largeCommunities: [],
    aggregationLength: 32,
    aggregationLengthV6: 128,
    nodeSelectors: [],
    ...over,
  };
}

function pool(name: string, addresses: string[]) {
  const parsed = parsePool({
    apiVersion: 'drawbridge.io/v1alpha1',
    kind: 'AddressPool',
    metadata: { name },
    spec: { addresses },
  });
  assert.ok(parsed.ok);
  return parsed.pool;
}

const POOLS = [pool('public', ['192.0.2.0/24', '2001:db8::/64']), pool('other', ['198.51.100.0/24'])];
const NODES = [node('a', { rack: 'r1' }), node('b', { rack: 'r2' }), node('c', { rack: 'r1' })];

function input(over: Partial<BgpAnnounceInput> = {}): BgpAnnounceInput {
  return {
    service: { addresses: ['192.0.2.10'], policy: 'Cluster' },
    pools: POOLS,
    advertisements: [adv('all')],
    peers: [peer('tor')],
    nodes: NODES,
    readyEndpointNodes: new Set(),
    unhealthyNodes: new Set(),
    ...over,
  };
}

const prefixesByNode = (routes: Map<string, { prefix: string }[]>) =>
  Object.fromEntries([...routes].map(([n, rs]) => [n, rs.map((r) => r.prefix)]));

describe('bgpRoutes', () => {
  it('Cluster: every eligible node announces the address as a /32 to every peer', () => {
    const routes = bgpRoutes(input());
    assert.deepEqual(prefixesByNode(routes), { a: ['192.0.2.10/32'], b: ['192.0.2.10/32'], c: ['192.0.2.10/32'] });
    assert.deepEqual(routes.get('a'), [
      { prefix: '192.0.2.10/32', peers: ['tor'], communities: [], largeCommunities: [] },
    ]);
  });

  it('Local: only the nodes with a ready endpoint announce; none without endpoints', () => {
    const local = { addresses: ['192.0.2.10'], policy: 'Local' as const };
    assert.deepEqual(prefixesByNode(bgpRoutes(input({ service: local, readyEndpointNodes: new Set(['b']) }))), {
      b: ['192.0.2.10/32'],
    });
    assert.equal(bgpRoutes(input({ service: local })).size, 0);
  });

  it('Cluster ignores endpoints', () => {
    assert.equal(bgpRoutes(input({ readyEndpointNodes: new Set(['b']) })).size, 3);
  });

  it('an excluded, deleted, autoscaler-doomed or kube-proxy-unhealthy node withdraws', () => {
    const nodes = [
      node('a', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
      node('b', {}, { deletionTimestamp: new Date() }),
      { ...node('c'), spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } },
      node('d'),
      node('e', { 'node.kubernetes.io/exclude-from-external-load-balancers': 'false' }),
    ];
    const routes = bgpRoutes(input({ nodes, unhealthyNodes: new Set(['d']) }));
    assert.deepEqual([...routes.keys()], ['e']);
  });

  it('an address outside every pool, or not an address, is not announced', () => {
    const routes = bgpRoutes(input({ service: { addresses: ['203.0.113.5', 'bogus'], policy: 'Cluster' } }));
    assert.equal(routes.size, 0);
  });

  it('chooses the pool by address: an advertisement for another pool does not apply', () => {
    const advertisements = [adv('other-only', { addressPools: ['other'] })];
    assert.equal(bgpRoutes(input({ advertisements })).size, 0);
    const routes = bgpRoutes(
      input({ advertisements, service: { addresses: ['198.51.100.7', '192.0.2.10'], policy: 'Cluster' } }),
    );
    assert.deepEqual(
      routes.get('a')?.map((r) => r.prefix),
      ['198.51.100.7/32'],
    );
  });

  it('no advertisement: nothing is announced (L2 only)', () => {
    assert.equal(bgpRoutes(input({ advertisements: [] })).size, 0);
  });

  it("the advertisement's nodeSelectors pick the announcing nodes (any selector matching)", () => {
    const advertisements = [
      adv('r1', {
        nodeSelectors: [
          { matchLabels: { rack: 'r1' }, matchExpressions: [] },
          { matchLabels: {}, matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['zz'] }] },
        ],
      }),
    ];
    assert.deepEqual([...bgpRoutes(input({ advertisements })).keys()], ['a', 'c']);
  });

  it("peers: filtered by the advertisement's peer list and each peer's nodeSelectors", () => {
    const peers = [
      peer('tor1', { nodeSelectors: [{ matchLabels: { rack: 'r1' }, matchExpressions: [] }] }),
      peer('tor2', { nodeSelectors: [{ matchLabels: { rack: 'r2' }, matchExpressions: [] }] }),
      peer('spine'),
    ];
    const routes = bgpRoutes(input({ peers, advertisements: [adv('x', { peers: ['tor1', 'tor2'] })] }));
    assert.deepEqual(routes.get('a')?.[0]?.peers, ['tor1']);
    assert.deepEqual(routes.get('b')?.[0]?.peers, ['tor2']);
    const all = bgpRoutes(input({ peers }));
    assert.deepEqual(all.get('c')?.[0]?.peers, ['spine', 'tor1']);
  });

  it('a node with no peer selecting it announces nothing', () => {
    const peers = [peer('tor1', { nodeSelectors: [{ matchLabels: { rack: 'r9' }, matchExpressions: [] }] })];
    assert.equal(bgpRoutes(input({ peers })).size, 0);
    assert.equal(bgpRoutes(input({ peers: [] })).size, 0);
  });

  it("a peer's nodeSelectors: any one matching selects the node (as MetalLB's)", () => {
    const selector = (labels: Record<string, string>) => ({ matchLabels: labels, matchExpressions: [] });
    const peers = [
      peer('tor', { nodeSelectors: [selector({ rack: 'r2' }), selector({ 'kubernetes.io/hostname': 'a' })] }),
    ];
    const routes = bgpRoutes(input({ peers }));
    assert.deepEqual(routes.get('a')?.[0]?.peers, ['tor']);
    assert.deepEqual(routes.get('b')?.[0]?.peers, ['tor']);
    assert.equal(routes.get('c'), undefined);
  });

  it('IPv6 with aggregationLengthV6, IPv4 with aggregationLength, host bits cleared', () => {
    const advertisements = [adv('agg', { aggregationLength: 24, aggregationLengthV6: 64 })];
    const service = { addresses: ['192.0.2.10', '2001:db8::0:0:5'], policy: 'Cluster' as const };
    assert.deepEqual(
      bgpRoutes(input({ advertisements, service }))
        .get('b')
        ?.map((r) => r.prefix),
      ['192.0.2.0/24', '2001:db8::/64'],
    );
    assert.deepEqual(
      bgpRoutes(input({ service: { addresses: ['2001:DB8::5'], policy: 'Cluster' } }))
        .get('a')
        ?.map((r) => r.prefix),
      ['2001:db8::5/128'],
    );
  });

  it('two advertisements for one prefix: communities unioned, the higher localPref, peers unioned', () => {
    const peers = [peer('p1'), peer('p2')];
    const advertisements = [
      adv('one', { peers: ['p1'], communities: ['65000:1', 'no-export'], localPref: 100 }),
      adv('two', { peers: ['p2'], communities: ['65000:1'], largeCommunities: ['1:2:3'], localPref: 200 }),
      adv('three'),
    ];
    assert.deepEqual(bgpRoutes(input({ peers, advertisements })).get('a'), [
      {
        prefix: '192.0.2.10/32',
        peers: ['p1', 'p2'],
        communities: ['65000:1', 'no-export'],
        largeCommunities: ['1:2:3'],
        localPref: 200,
      },
    ]);
  });
});

describe('mergeRoutes', () => {
  it('one route per prefix over several Services, attributes merged, sorted by prefix', () => {
    const merged = mergeRoutes([
      [{ prefix: '192.0.2.20/32', peers: ['a'], communities: [], largeCommunities: [] }],
      [
        { prefix: '192.0.2.10/32', peers: ['b'], communities: ['1:1'], largeCommunities: [], localPref: 5 },
        { prefix: '192.0.2.20/32', peers: ['b'], communities: ['1:2'], largeCommunities: [] },
      ],
    ]);
    assert.deepEqual(merged, [
      { prefix: '192.0.2.10/32', peers: ['b'], communities: ['1:1'], largeCommunities: [], localPref: 5 },
      { prefix: '192.0.2.20/32', peers: ['a', 'b'], communities: ['1:2'], largeCommunities: [] },
    ]);
  });
});
