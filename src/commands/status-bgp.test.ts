// `drawbridge status` for metal Services: the L2 owner (the speakers' annotation) and/or the BGP announcers with
// their peers, in the table and in -o json.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { parseBgpAdvertisement, parseBgpPeer } from '../../providers/metal/model/bgp-schema.ts';
import { parsePool } from '../../providers/metal/model/schema.ts';
import type { ClusterSnapshot } from './snapshot.ts';
import { formatStatus, statusRows } from './status.ts';
import type { BgpConfig } from './status-bgp.ts';

const must = <T>(parsed: { ok: true; value: T } | { ok: false }): T => {
  if (!parsed.ok) assert.fail('fixture does not parse');
  return parsed.value;
};
const resource = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'drawbridge.io/v1alpha1',
  kind,
  metadata: { name },
  spec,
});
const pool = (name: string, addresses: string[], l2 = true) => {
  const parsed = parsePool(resource('AddressPool', name, { addresses, l2 }));
  if (!parsed.ok) assert.fail('pool fixture does not parse');
  return parsed.pool;
};

const node = (name: string, labels: Record<string, string> = {}): V1Node => ({
  metadata: { name, labels },
  status: { addresses: [{ type: 'InternalIP', address: '10.0.0.9' }] },
});
const service = (name: string, ip: string, announcing?: string): V1Service => ({
  metadata: {
    name,
    namespace: 'apps',
    uid: name,
    annotations: announcing ? { 'drawbridge.io/announcing-node': announcing } : {},
  },
  spec: { type: 'LoadBalancer', loadBalancerClass: 'drawbridge.io/metal' },
  status: { loadBalancer: { ingress: [{ ip }] } },
});

const snapshot: ClusterSnapshot = {
  services: [
    service('both', '192.0.2.10', 'node-a'),
    service('bgp-only', '198.51.100.10'),
    service('l2-only', '203.0.113.10', 'node-b'),
  ],
  nodes: [node('node-a', { rack: 'r1' }), node('node-b', { rack: 'r2' }), node('node-c', { rack: 'r2' })],
  slices: [],
  events: [],
};

const config: BgpConfig = {
  pools: [pool('lan', ['192.0.2.0/24']), pool('bgp', ['198.51.100.0/24'], false), pool('l2', ['203.0.113.0/24'])],
  peers: [
    must(parseBgpPeer(resource('BGPPeer', 'tor-1', { myASN: 64512, peerASN: 64512, peerAddress: '10.0.0.1' }))),
    must(
      parseBgpPeer(
        resource('BGPPeer', 'tor-2', {
          myASN: 64512,
          peerASN: 64513,
          peerAddress: '10.0.0.2',
          nodeSelectors: [{ matchLabels: { rack: 'r2' } }],
        }),
      ),
    ),
  ],
  advertisements: [
    must(parseBgpAdvertisement(resource('BGPAdvertisement', 'routed', { ipAddressPools: ['lan', 'bgp'] }))),
  ],
};

describe('status: how metal Services are announced', () => {
  const rows = statusRows(snapshot, 'drawbridge', config);
  const row = (name: string) => rows.find((r) => r.service === `apps/${name}`)!;

  it('gives the BGP announcers and their peers as JSON values', () => {
    assert.deepEqual(row('bgp-only').bgp, [
      { node: 'node-a', peers: ['tor-1'] },
      { node: 'node-b', peers: ['tor-1', 'tor-2'] },
      { node: 'node-c', peers: ['tor-1', 'tor-2'] },
    ]);
    assert.deepEqual(row('l2-only').bgp, [], 'no advertisement selects its pool');
  });

  it('says L2 and/or BGP in the load-balancer column, grouping nodes with the same peers', () => {
    assert.equal(row('both').carrier, 'L2 node-a; BGP node-a -> tor-1; BGP node-b,node-c -> tor-1,tor-2');
    assert.equal(row('bgp-only').carrier, 'BGP node-a -> tor-1; BGP node-b,node-c -> tor-1,tor-2');
    assert.equal(row('l2-only').carrier, 'L2 node-b');
    assert.match(
      formatStatus(rows, Date.now()),
      /^apps\/l2-only\s+drawbridge\.io\/metal\s+metal\s+203\.0\.113\.10\s+L2 node-b\s/m,
    );
  });

  it('leaves a node out that may not carry traffic, and shows nothing without BGP objects', () => {
    const excluded = {
      ...snapshot,
      nodes: snapshot.nodes.map((n) =>
        n.metadata?.name === 'node-c'
          ? {
              ...n,
              metadata: { ...n.metadata, labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
            }
          : n,
      ),
    };
    const bgp = statusRows(excluded, 'drawbridge', config).find((r) => r.service === 'apps/bgp-only')!.bgp;
    assert.deepEqual(
      bgp.map((a) => a.node),
      ['node-a', 'node-b'],
    );
    const none = statusRows(snapshot, 'drawbridge');
    assert.deepEqual(
      none.map((r) => [r.carrier, r.bgp]),
      [
        [null, []],
        ['L2 node-a', []],
        ['L2 node-b', []],
      ],
    );
  });
});
