import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BgpPeer, DEFAULT_BFD_PROFILE } from '../../../providers/metal/model/bgp-types.ts';
import { gateBfd } from './engine.ts';
import { frrCommands } from './frr-commands.ts';
import { desiredFrrState } from './frr-state.ts';

const peer = (name: string, peerAddress: string, over: Partial<BgpPeer> = {}): BgpPeer => ({
  name,
  peerAddress,
  peerASN: 64500,
  myASN: 64512,
  port: 179,
  holdTimeSeconds: 90,
  keepaliveTimeSeconds: 30,
  ebgpMultiHop: false,
  nodeSelector: { matchLabels: {}, matchExpressions: [] },
  disableBFD: false,
  ...over,
});
const wanted = desiredFrrState({
  labels: {},
  peers: [peer('a', '10.0.0.1'), peer('b', '10.0.0.2', { bfdProfile: 'fast' })],
  bfdProfiles: [{ ...DEFAULT_BFD_PROFILE, name: 'fast', receiveIntervalMs: 50 }],
  routes: [],
  password: () => undefined,
});

describe('gateBfd', () => {
  it('leaves BFD off, and its profile out, for neighbors whose session has not been up yet', () => {
    const gated = gateBfd(wanted, new Set(['10.0.0.1']));
    assert.equal(gated.neighbors.get('10.0.0.1')?.bfdProfile, 'drawbridge-default');
    assert.equal(gated.neighbors.get('10.0.0.2')?.bfdProfile, undefined);
    assert.deepEqual([...gated.bfdProfiles.keys()], ['drawbridge-default']);
  });

  it('once the session is up, the difference is the profile and one neighbor line', () => {
    const before = gateBfd(wanted, new Set(['10.0.0.1']));
    const after = gateBfd(wanted, new Set(['10.0.0.1', '10.0.0.2']));
    const lines = frrCommands(before, after);
    assert.equal(lines.bfdBefore[1], 'profile drawbridge-fast');
    assert.deepEqual(lines.bgp, ['router bgp 64512', 'neighbor 10.0.0.2 bfd profile drawbridge-fast', 'exit']);
    assert.deepEqual(lines.bfdAfter, []);
  });
});
