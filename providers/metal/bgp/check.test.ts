import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BgpObjects, checkBgp } from './check.ts';

const obj = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'drawbridge.io/v1alpha1',
  kind,
  metadata: { name, uid: `uid-${name}` },
  spec,
});
const peer = (name: string, spec: Record<string, unknown> = {}) =>
  obj('BGPPeer', name, { myASN: 64512, peerASN: 64512, peerAddress: '10.0.0.1', ...spec });
const advertisement = (name: string, spec: Record<string, unknown> = {}) => obj('BGPAdvertisement', name, spec);
const profile = (name: string, spec: Record<string, unknown> = {}) => obj('BFDProfile', name, spec);

const objects = (partial: Partial<BgpObjects>): BgpObjects => ({
  peers: [],
  advertisements: [],
  profiles: [],
  ...partial,
});
const POOLS = new Set(['lan']);

describe('checkBgp', () => {
  it('valid objects that name what exists give no warning', () => {
    const check = checkBgp(
      objects({
        peers: [peer('tor-a', { bfdProfile: 'fast' })],
        advertisements: [advertisement('lan', { ipAddressPools: ['lan'], peers: ['tor-a'], localPref: 100 })],
        profiles: [profile('fast', { receiveInterval: 50 })],
      }),
      POOLS,
    );
    assert.deepEqual(check.warnings, []);
    assert.deepEqual(
      [check.peers.map((p) => p.name), check.advertisements.map((a) => a.name), check.profiles.map((p) => p.name)],
      [['tor-a'], ['lan'], ['fast']],
    );
  });

  it('an invalid object gets every problem in one warning, and the others are kept as if it were absent', () => {
    const check = checkBgp(
      objects({
        peers: [peer('bad', { peerAddress: 'router', holdTime: '1s' }), peer('good')],
        advertisements: [advertisement('all'), advertisement('bad', { communities: ['x'] })],
        profiles: [profile('bad', { detectMultiplier: 1 })],
      }),
      POOLS,
    );
    assert.deepEqual(
      check.warnings.map((w) => [w.kind, w.name, w.uid, w.reason, w.message]),
      [
        [
          'BGPPeer',
          'bad',
          'uid-bad',
          'InvalidBGPPeer',
          'spec.holdTime: must be 0s (no keepalives) or between 3s and 65535s; spec.peerAddress: "router" is not an IPv4 or IPv6 address',
        ],
        [
          'BGPAdvertisement',
          'bad',
          'uid-bad',
          'InvalidBGPAdvertisement',
          'spec.communities[0]: must be "asn:value", "large:global:local1:local2" or one of no-export, no-advertise, local-as, no-peer',
        ],
        [
          'BFDProfile',
          'bad',
          'uid-bad',
          'InvalidBFDProfile',
          'spec.detectMultiplier: Too small: expected number to be >=2',
        ],
      ],
    );
    assert.deepEqual(
      check.peers.map((p) => p.name),
      ['good'],
    );
    assert.deepEqual(
      check.advertisements.map((a) => a.name),
      ['all'],
    );
    assert.deepEqual(check.profiles, []);
  });

  it('names of pools, peers and profiles that do not exist (or are invalid) get BGPReferenceNotFound', () => {
    const check = checkBgp(
      objects({
        peers: [peer('tor-a', { bfdProfile: 'missing' }), peer('invalid', { peerAddress: 'x' })],
        advertisements: [advertisement('adv', { ipAddressPools: ['lan', 'wan'], peers: ['tor-a', 'invalid', 'gone'] })],
      }),
      POOLS,
    );
    const references = check.warnings.filter((w) => w.reason === 'BGPReferenceNotFound');
    assert.deepEqual(
      references.map((w) => [w.kind, w.name, w.message]),
      [
        ['BGPPeer', 'tor-a', 'spec.bfdProfile: no valid BFDProfile missing'],
        [
          'BGPAdvertisement',
          'adv',
          'spec.ipAddressPools: no valid AddressPool wan; spec.peers: no valid BGPPeer invalid; spec.peers: no valid BGPPeer gone (the other names still apply)',
        ],
      ],
    );
    assert.deepEqual(
      check.peers.map((p) => p.name),
      ['tor-a'],
      'a dangling reference does not invalidate the object',
    );
  });

  it('localPref reaching only eBGP peers is LocalPrefIgnored; one iBGP peer among them is enough', () => {
    const ebgp = peer('ebgp', { peerASN: 65001 });
    const ibgp = peer('ibgp');
    const onlyEbgp = checkBgp(
      objects({ peers: [ebgp, ibgp], advertisements: [advertisement('a', { peers: ['ebgp'], localPref: 50 })] }),
      POOLS,
    );
    assert.deepEqual(
      onlyEbgp.warnings.map((w) => [w.reason, w.message]),
      [['LocalPrefIgnored', 'spec.localPref: every peer it reaches (ebgp) is eBGP, which carries no LOCAL_PREF']],
    );
    const mixed = checkBgp(
      objects({ peers: [ebgp, ibgp], advertisements: [advertisement('a', { localPref: 50 })] }),
      POOLS,
    );
    assert.deepEqual(mixed.warnings, []);
  });
});
