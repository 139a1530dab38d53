import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BgpParse, parseBfdProfile, parseBgpAdvertisement, parseBgpPeer } from './bgp-schema.ts';
import { DEFAULT_BFD_PROFILE } from './bgp-types.ts';

const resource = (kind: string, spec: unknown, name = 'r1') => ({
  apiVersion: 'drawbridge.io/v1alpha1',
  kind,
  metadata: { name },
  ...(spec === undefined ? {} : { spec }),
});

function valid<T>(result: BgpParse<T>): T {
  if (!result.ok) assert.fail(`expected a valid object, got ${JSON.stringify(result.problems)}`);
  return result.value;
}

function problems<T>(result: BgpParse<T>): Record<string, string> {
  assert.ok(!result.ok, 'expected problems');
  return Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
}

const peer = (spec: Record<string, unknown>) =>
  parseBgpPeer(resource('BGPPeer', { myASN: 64512, peerASN: 64512, peerAddress: '10.0.0.1', ...spec }));

describe('parseBgpPeer', () => {
  it('applies the defaults: port 179, hold 90 s, keepalive a third of it, BFD on with the default profile', () => {
    assert.deepEqual(valid(peer({})), {
      name: 'r1',
      peerAddress: '10.0.0.1',
      peerASN: 64512,
      myASN: 64512,
      port: 179,
      holdTimeSeconds: 90,
      keepaliveTimeSeconds: 30,
      ebgpMultiHop: false,
      nodeSelectors: [],
      disableBFD: false,
    });
  });

  it('keeps every explicit field, with MetalLB durations and the canonical IPv6 text', () => {
    const value = valid(
      peer({
        peerAddress: 'FD00:0:0::1',
        sourceAddress: 'fd00::10',
        peerASN: 4200000000,
        peerPort: 1179,
        routerID: '10.0.0.10',
        holdTime: '1m30s',
        keepaliveTime: '10s',
        ebgpMultiHop: true,
        passwordSecret: { name: 'bgp-auth' },
        nodeSelectors: [{ matchLabels: { rack: 'r1' } }, { matchLabels: { rack: 'r2' } }],
        bfdProfile: 'fast',
      }),
    );
    assert.equal(value.peerAddress, 'fd00::1');
    assert.equal(value.sourceAddress, 'fd00::10');
    assert.equal(value.peerASN, 4200000000);
    assert.equal(value.port, 1179);
    assert.equal(value.routerID, '10.0.0.10');
    assert.equal(value.holdTimeSeconds, 90);
    assert.equal(value.keepaliveTimeSeconds, 10);
    assert.equal(value.ebgpMultiHop, true);
    assert.deepEqual(value.passwordSecret, { name: 'bgp-auth', key: 'password' });
    assert.deepEqual(value.nodeSelectors, [
      { matchLabels: { rack: 'r1' }, matchExpressions: [] },
      { matchLabels: { rack: 'r2' }, matchExpressions: [] },
    ]);
    assert.equal(value.bfdProfile, 'fast');
  });

  it('accepts hold time 0 (no keepalives) with keepalive 0', () => {
    const value = valid(peer({ holdTime: '0s', keepaliveTime: '0s' }));
    assert.equal(value.holdTimeSeconds, 0);
    assert.equal(value.keepaliveTimeSeconds, 0);
  });

  it('reports every problem at once, each at its path', () => {
    assert.deepEqual(
      problems(
        peer({
          peerAddress: '10.0.0',
          myASN: 0,
          peerASN: 4294967296,
          peerPort: 70000,
          routerID: 'fd00::1',
          holdTime: '2s',
          keepaliveTime: '90',
          passwordSecret: { key: 'pw' },
          password: 'plain',
          vrf: 'red',
          nodeSelectors: [{ matchLabels: { rack: 7 } }],
        }),
      ),
      {
        'spec.holdTime': 'must be 0s (no keepalives) or between 3s and 65535s',
        'spec.keepaliveTime': 'must be a duration in whole seconds, such as "90s" or "1m30s"',
        'spec.myASN': 'Too small: expected number to be >=1',
        'spec.nodeSelectors[0].matchLabels.rack': 'Invalid input: expected string, received number',
        'spec.password': 'unknown field',
        'spec.passwordSecret.name': 'Invalid input: expected string, received undefined',
        'spec.peerAddress': '"10.0.0" is not an IPv4 or IPv6 address',
        'spec.peerASN': 'Too big: expected number to be <=4294967295',
        'spec.peerPort': 'Too big: expected number to be <=65535',
        'spec.routerID': 'must be an IPv4 address (a BGP identifier is 32 bits)',
        'spec.vrf': 'unknown field',
      },
    );
  });

  it('keepalive must stay below the hold time, and be 0 when the hold time is', () => {
    assert.deepEqual(problems(peer({ keepaliveTime: '90s' })), {
      'spec.keepaliveTime': 'must be below holdTime (90s)',
    });
    assert.deepEqual(problems(peer({ holdTime: '0s', keepaliveTime: '1s' })), {
      'spec.keepaliveTime': 'must be 0s when holdTime is 0s',
    });
  });

  it('the source address is of the peer family; a profile with BFD disabled is a contradiction', () => {
    assert.deepEqual(problems(peer({ sourceAddress: 'fd00::1', bfdProfile: 'fast', disableBFD: true })), {
      'spec.bfdProfile': 'names a profile while disableBFD is true: remove one',
      'spec.sourceAddress': 'must be IPv4, as peerAddress is',
    });
  });

  it('refuses a resource of another kind or without a name or spec', () => {
    const result = parseBgpPeer({ apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: {} });
    assert.deepEqual(Object.keys(problems(result)), ['apiVersion', 'metadata.name', 'spec']);
  });
});

describe('parseBgpAdvertisement', () => {
  it('an empty advertisement announces every pool to every peer from every node, as /32 and /128', () => {
    assert.deepEqual(valid(parseBgpAdvertisement(resource('BGPAdvertisement', undefined, 'all'))), {
      name: 'all',
      addressPools: [],
      peers: [],
      communities: [],
      largeCommunities: [],
      aggregationLength: 32,
      aggregationLengthV6: 128,
      nodeSelectors: [],
    });
  });

  it('takes MetalLB field names, and splits large communities (with or without "large:") from the rest', () => {
    const value = valid(
      parseBgpAdvertisement(
        resource('BGPAdvertisement', {
          ipAddressPools: ['lan'],
          peers: ['tor-a'],
          communities: ['65000:0100', 'no-export', 'large:4200000000:1:2', '1:2:3'],
          localPref: 200,
          aggregationLength: 24,
          aggregationLengthV6: 64,
          nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'Exists' }] }],
        }),
      ),
    );
    assert.deepEqual(value.addressPools, ['lan']);
    assert.deepEqual(value.peers, ['tor-a']);
    assert.deepEqual(value.communities, ['65000:100', 'no-export']);
    assert.deepEqual(value.largeCommunities, ['4200000000:1:2', '1:2:3']);
    assert.equal(value.localPref, 200);
    assert.equal(value.aggregationLength, 24);
    assert.equal(value.aggregationLengthV6, 64);
    assert.deepEqual(value.nodeSelectors, [
      { matchLabels: {}, matchExpressions: [{ key: 'rack', operator: 'Exists', values: [] }] },
    ]);
  });

  it('reports every bad community, out-of-range lengths and unsupported MetalLB fields', () => {
    assert.deepEqual(
      problems(
        parseBgpAdvertisement(
          resource('BGPAdvertisement', {
            communities: ['65536:1', 'nope', 'large:1:2:4294967296', 'no-export'],
            aggregationLength: 33,
            aggregationLengthV6: -1,
            serviceSelectors: [],
            nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'Near' }] }],
          }),
        ),
      ),
      {
        'spec.aggregationLength': 'Too big: expected number to be <=32',
        'spec.aggregationLengthV6': 'Too small: expected number to be >=0',
        'spec.communities[0]': 'each part of a community must be at most 65535 (use "large:..." for 32-bit values)',
        'spec.communities[1]':
          'must be "asn:value", "large:global:local1:local2" or one of no-export, no-advertise, local-as, no-peer',
        'spec.communities[2]': 'each part of a large community must be at most 4294967295',
        'spec.nodeSelectors[0].matchExpressions[0].operator':
          'Invalid option: expected one of "In"|"NotIn"|"Exists"|"DoesNotExist"',
        'spec.serviceSelectors': 'unknown field',
      },
    );
  });
});

describe('parseBfdProfile', () => {
  it('an empty profile is the default profile under its own name', () => {
    assert.deepEqual(valid(parseBfdProfile(resource('BFDProfile', {}, 'default-like'))), {
      ...DEFAULT_BFD_PROFILE,
      name: 'default-like',
    });
  });

  it('keeps explicit timers and refuses them outside 10..60000 ms and multipliers outside 2..255', () => {
    const fast = valid(
      parseBfdProfile(
        resource('BFDProfile', { receiveInterval: 50, transmitInterval: 60, detectMultiplier: 4, echoMode: true }),
      ),
    );
    assert.deepEqual([fast.receiveIntervalMs, fast.transmitIntervalMs, fast.detectMultiplier], [50, 60, 4]);
    assert.equal(fast.echoMode, true);
    assert.deepEqual(
      problems(
        parseBfdProfile(
          resource('BFDProfile', {
            receiveInterval: 5,
            transmitInterval: 60001,
            detectMultiplier: 1,
            echoInterval: 50,
          }),
        ),
      ),
      {
        'spec.detectMultiplier': 'Too small: expected number to be >=2',
        'spec.echoInterval': 'unknown field',
        'spec.receiveInterval': 'Too small: expected number to be >=10',
        'spec.transmitInterval': 'Too big: expected number to be <=60000',
      },
    );
  });
});
