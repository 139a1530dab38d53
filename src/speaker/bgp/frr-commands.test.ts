// Over 300 lines: the FRR command tests and their running-configuration fixtures, one module's behaviour.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BgpRoute } from '../../../providers/metal/model/bgp-announce.ts';
import { type BgpPeer, DEFAULT_BFD_PROFILE } from '../../../providers/metal/model/bgp-types.ts';
import { frrCommands } from './frr-commands.ts';
import { desiredFrrState, emptyFrrState, type FrrStateInput, routeMapName, runningFrrState } from './frr-state.ts';

function peer(name: string, over: Partial<BgpPeer> = {}): BgpPeer {
  return {
    name,
    peerAddress: '10.0.0.254',
    peerASN: 64500,
    myASN: 64512,
    port: 179,
    holdTimeSeconds: 9,
    keepaliveTimeSeconds: 3,
    ebgpMultiHop: false,
    nodeSelectors: [],
    disableBFD: false,
    ...over,
  };
}
const route = (prefix: string, peers = ['tor'], over: Partial<BgpRoute> = {}): BgpRoute => ({
  prefix,
  peers,
  communities: [],
  largeCommunities: [],
  ...over,
});
function state(over: Partial<FrrStateInput> = {}) {
  return desiredFrrState({
    labels: { rack: 'r1' },
    nodeIPv4: '10.0.0.11',
    peers: [peer('tor')],
    bfdProfiles: [],
    routes: [],
    password: () => undefined,
    ...over,
  });
}

describe('frrCommands', () => {
  it('from nothing: the BFD profile, the instance, the neighbor with its outbound prefix-list, the networks', () => {
    const to = state({ routes: [route('192.0.2.10/32')] });
    const c = frrCommands(emptyFrrState(), to);
    assert.deepEqual(c.bfdBefore, [
      'bfd',
      'profile drawbridge-default',
      `receive-interval ${DEFAULT_BFD_PROFILE.receiveIntervalMs}`,
      `transmit-interval ${DEFAULT_BFD_PROFILE.transmitIntervalMs}`,
      `detect-multiplier ${DEFAULT_BFD_PROFILE.detectMultiplier}`,
      'no echo-mode',
      'no passive-mode',
      'minimum-ttl 254',
      'exit',
      'exit',
    ]);
    assert.deepEqual(c.bgp, [
      'ip prefix-list drawbridge-out-10.0.0.254 seq 1 deny 0.0.0.0/32',
      'ip prefix-list drawbridge-out-10.0.0.254 permit 192.0.2.10/32',
      'router bgp 64512',
      'no bgp ebgp-requires-policy',
      'no bgp network import-check',
      'no bgp default ipv4-unicast',
      'bgp router-id 10.0.0.11',
      'neighbor 10.0.0.254 remote-as 64500',
      'neighbor 10.0.0.254 shutdown',
      'neighbor 10.0.0.254 advertisement-interval 0',
      'neighbor 10.0.0.254 timers connect 2',
      'neighbor 10.0.0.254 port 179',
      'neighbor 10.0.0.254 timers 3 9',
      'no neighbor 10.0.0.254 ebgp-multihop',
      'no neighbor 10.0.0.254 update-source',
      'no neighbor 10.0.0.254 password',
      'neighbor 10.0.0.254 bfd profile drawbridge-default',
      'address-family ipv4 unicast',
      'neighbor 10.0.0.254 activate',
      'neighbor 10.0.0.254 prefix-list drawbridge-out-10.0.0.254 out',
      'exit-address-family',
      'no neighbor 10.0.0.254 shutdown',
      'address-family ipv4 unicast',
      'network 192.0.2.10/32',
      'exit-address-family',
      'exit',
    ]);
    assert.deepEqual(c.bfdAfter, []);
  });

  it('no change: no line at all', () => {
    const a = state({ routes: [route('192.0.2.10/32')] });
    const b = state({ routes: [route('192.0.2.10/32')] });
    assert.deepEqual(frrCommands(a, b), { bfdBefore: [], bgp: [], bfdAfter: [] });
  });

  it('a Service added: one prefix-list entry and one network; removed: the network first, then the entry', () => {
    const before = state({ routes: [route('192.0.2.10/32')] });
    const after = state({ routes: [route('192.0.2.10/32'), route('192.0.2.11/32')] });
    assert.deepEqual(frrCommands(before, after).bgp, [
      'ip prefix-list drawbridge-out-10.0.0.254 permit 192.0.2.11/32',
      'router bgp 64512',
      'address-family ipv4 unicast',
      'network 192.0.2.11/32',
      'exit-address-family',
      'exit',
    ]);
    assert.deepEqual(frrCommands(after, before).bgp, [
      'router bgp 64512',
      'address-family ipv4 unicast',
      'no network 192.0.2.11/32',
      'exit-address-family',
      'exit',
      'no ip prefix-list drawbridge-out-10.0.0.254 permit 192.0.2.11/32',
    ]);
  });

  it('attributes: a route-map per attribute set, made before the network and removed after it', () => {
    const attrs = { communities: ['65000:1', 'local-as'], largeCommunities: ['1:2:3'], localPref: 150 };
    const map = routeMapName(attrs);
    const to = state({ routes: [route('192.0.2.10/32', ['tor'], attrs)] });
    const from = state({ routes: [route('192.0.2.10/32')] });
    assert.deepEqual(frrCommands(from, to).bgp, [
      `route-map ${map} permit 1`,
      'set community 65000:1 local-AS',
      'set large-community 1:2:3',
      'set local-preference 150',
      'exit',
      'router bgp 64512',
      'address-family ipv4 unicast',
      `network 192.0.2.10/32 route-map ${map}`,
      'exit-address-family',
      'exit',
    ]);
    assert.deepEqual(frrCommands(to, from).bgp, [
      'router bgp 64512',
      'address-family ipv4 unicast',
      'network 192.0.2.10/32',
      'exit-address-family',
      'exit',
      `no route-map ${map}`,
    ]);
  });

  it('a peer selected for some prefixes only: its own prefix-list lists just those', () => {
    const peers = [peer('tor'), peer('spine', { peerAddress: '10.0.0.253' })];
    const to = state({ peers, routes: [route('192.0.2.10/32', ['tor', 'spine']), route('192.0.2.11/32', ['tor'])] });
    assert.deepEqual(
      [...to.exports].map(([a, s]) => [a, [...s]]),
      [
        ['10.0.0.253', ['192.0.2.10/32']],
        ['10.0.0.254', ['192.0.2.10/32', '192.0.2.11/32']],
      ],
    );
  });

  it('IPv6: an IPv6 neighbor in its own family; prefixes only to peers of their family', () => {
    const peers = [peer('tor'), peer('tor6', { peerAddress: 'FD00::FE' })];
    const to = state({
      peers,
      routes: [route('2001:db8::5/128', ['tor', 'tor6']), route('192.0.2.10/32', ['tor', 'tor6'])],
    });
    assert.deepEqual([...to.exports.get('fd00::fe')!], ['2001:db8::5/128']);
    assert.deepEqual([...to.exports.get('10.0.0.254')!], ['192.0.2.10/32']);
    const bgp = frrCommands(emptyFrrState(), to).bgp;
    assert.ok(bgp.includes('ipv6 prefix-list drawbridge-out-fd00::fe seq 1 deny ::/128'));
    assert.ok(bgp.includes('ipv6 prefix-list drawbridge-out-fd00::fe permit 2001:db8::5/128'));
    const v6 = bgp.indexOf('neighbor fd00::fe activate');
    assert.equal(bgp[v6 - 1], 'address-family ipv6 unicast');
    assert.ok(bgp.join('\n').includes('address-family ipv6 unicast\nnetwork 2001:db8::5/128\nexit-address-family'));
  });

  it('a neighbor changed: only the changed lines (timers, password, BFD off)', () => {
    const from = state();
    const to = state({
      peers: [
        peer('tor', {
          holdTimeSeconds: 30,
          keepaliveTimeSeconds: 10,
          disableBFD: true,
          passwordSecret: { name: 's', key: 'k' },
        }),
      ],
      password: () => 'sekret',
    });
    const c = frrCommands(from, to);
    assert.deepEqual(c.bgp, [
      'router bgp 64512',
      'neighbor 10.0.0.254 timers 10 30',
      'neighbor 10.0.0.254 password sekret',
      'no neighbor 10.0.0.254 bfd',
      'exit',
    ]);
    assert.deepEqual(c.bfdAfter, ['bfd', 'no profile drawbridge-default', 'exit']);
  });

  it('a neighbor removed: its lines, then its prefix-list', () => {
    const from = state({ peers: [peer('tor'), peer('spine', { peerAddress: '10.0.0.253' })] });
    assert.deepEqual(frrCommands(from, state()).bgp, [
      'router bgp 64512',
      'no neighbor 10.0.0.253',
      'exit',
      'no ip prefix-list drawbridge-out-10.0.0.253',
    ]);
  });

  it('a new local ASN: the old instance goes, the new one is built whole', () => {
    const from = state({ routes: [route('192.0.2.10/32')] });
    const to = state({ peers: [peer('tor', { myASN: 64513 })], routes: [route('192.0.2.10/32')] });
    const bgp = frrCommands(from, to).bgp;
    assert.equal(bgp[0], 'no router bgp 64512');
    assert.ok(bgp.includes('router bgp 64513'));
    assert.ok(bgp.includes('network 192.0.2.10/32'));
    assert.ok(bgp.includes('neighbor 10.0.0.254 remote-as 64500'));
  });

  it('the last peer gone: the instance goes', () => {
    assert.deepEqual(frrCommands(state(), state({ peers: [] })).bgp, [
      'no router bgp 64512',
      'no ip prefix-list drawbridge-out-10.0.0.254',
    ]);
  });
});

describe('desiredFrrState', () => {
  it('skips peers whose nodeSelector does not match, with another ASN, or a duplicate address', () => {
    const skipped: string[] = [];
    const s = state({
      peers: [
        peer('a'),
        peer('b', { myASN: 1, peerAddress: '10.0.0.1' }),
        peer('c'),
        peer('d', { nodeSelectors: [{ matchLabels: { rack: 'r2' }, matchExpressions: [] }], peerAddress: '10.0.0.2' }),
      ],
      skipped: (name) => skipped.push(name),
    });
    assert.deepEqual(
      [...s.neighbors.values()].map((n) => n.peer),
      ['a'],
    );
    assert.deepEqual(skipped, ['b', 'c']);
  });

  it('BFD: a named profile, a BFDProfile replacing the built-in one, the built-in one for a missing name', () => {
    const fast = { ...DEFAULT_BFD_PROFILE, name: 'fast', receiveIntervalMs: 50 };
    const own = { ...DEFAULT_BFD_PROFILE, receiveIntervalMs: 999 };
    const s = state({
      peers: [
        peer('a', { bfdProfile: 'fast', peerAddress: '10.0.0.1' }),
        peer('b', { peerAddress: '10.0.0.2' }),
        peer('c', { bfdProfile: 'missing', peerAddress: '10.0.0.3' }),
      ],
      bfdProfiles: [fast, own],
    });
    assert.deepEqual(
      [...s.neighbors.values()].map((n) => n.bfdProfile),
      ['drawbridge-fast', 'drawbridge-default', 'drawbridge-default'],
    );
    assert.equal(s.bfdProfiles.get('drawbridge-default')?.receiveIntervalMs, 999);
  });
});

// bgpd's and bfdd's `show running-config` (FRR 8.4.4) after the speaker applied `adopted` below, with a neighbor
// and objects of someone else's, and a prefix-list named like ours that no neighbor uses.
const BGPD = `frr version 8.4.4
frr defaults traditional
hostname vm
bgp route-map delay-timer 0
!
router bgp 64512
 bgp router-id 10.0.0.11
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor 10.0.0.254 remote-as 64500
 neighbor 10.0.0.254 bfd
 neighbor 10.0.0.254 bfd profile drawbridge-fast
 neighbor 10.0.0.254 advertisement-interval 0
 neighbor 10.0.0.254 timers 3 9
 neighbor 10.0.0.254 timers connect 2
 neighbor fd00::fe remote-as 64500
 neighbor fd00::fe password sekret
 neighbor fd00::fe port 1179
 neighbor fd00::fe ebgp-multihop 255
 neighbor fd00::fe update-source 10.0.0.11
 neighbor fd00::fe advertisement-interval 0
 neighbor fd00::fe timers 3 9
 neighbor fd00::fe timers connect 2
 !
 address-family ipv4 unicast
  network 192.0.2.10/32 route-map ${routeMapName({ communities: ['65000:1', 'local-as'], largeCommunities: ['1:2:3'], localPref: 150 })}
  network 192.0.2.11/32
  neighbor 10.0.0.254 activate
  neighbor 10.0.0.254 prefix-list drawbridge-out-10.0.0.254 out
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8::5/128
  neighbor fd00::fe activate
  neighbor fd00::fe prefix-list drawbridge-out-fd00::fe out
 exit-address-family
exit
!
ip prefix-list drawbridge-out-10.0.0.254 seq 1 deny 0.0.0.0/32
ip prefix-list drawbridge-out-10.0.0.254 seq 6 permit 192.0.2.10/32
ip prefix-list drawbridge-out-10.0.0.254 seq 11 permit 192.0.2.11/32
ip prefix-list drawbridge-old seq 5 permit 10.0.0.0/8
ip prefix-list theirs seq 5 permit 10.0.0.0/8
!
ipv6 prefix-list drawbridge-out-fd00::fe seq 1 deny ::/128
ipv6 prefix-list drawbridge-out-fd00::fe seq 6 permit 2001:db8::5/128
!
route-map ${routeMapName({ communities: ['65000:1', 'local-as'], largeCommunities: ['1:2:3'], localPref: 150 })} permit 1
 set community 65000:1 local-AS
 set large-community 1:2:3
 set local-preference 150
exit
!
route-map theirs permit 1
 set local-preference 1
exit
!
end
`;
const BFDD = `frr version 8.4.4
!
bfd
 profile drawbridge-fast
  transmit-interval 150
  receive-interval 50
 exit
 !
 profile theirs
  receive-interval 50
 exit
 !
exit
!
end
`;
const adopted = () =>
  state({
    peers: [
      peer('tor', { bfdProfile: 'fast' }),
      peer('tor6', {
        peerAddress: 'fd00::fe',
        port: 1179,
        ebgpMultiHop: true,
        sourceAddress: '10.0.0.11',
        passwordSecret: { name: 's', key: 'k' },
        disableBFD: true,
      }),
    ],
    bfdProfiles: [{ ...DEFAULT_BFD_PROFILE, name: 'fast', receiveIntervalMs: 50 }],
    routes: [
      route('192.0.2.10/32', ['tor'], {
        communities: ['65000:1', 'local-as'],
        largeCommunities: ['1:2:3'],
        localPref: 150,
      }),
      route('192.0.2.11/32'),
      route('2001:db8::5/128', ['tor6']),
    ],
    password: () => 'sekret',
  });

describe('runningFrrState', () => {
  it('reads back what the speaker applied: adopting it, the difference is no line at all', () => {
    const running = runningFrrState(BGPD, BFDD);
    assert.deepEqual(frrCommands(running.state, adopted()), { bfdBefore: [], bgp: [], bfdAfter: [] });
    assert.equal(running.state.neighbors.get('fd00::fe')?.password, 'sekret');
  });

  it("removes only what is ours and no longer wanted; leaves everyone else's objects alone", () => {
    const running = runningFrrState(BGPD, BFDD);
    assert.deepEqual(running.strays, ['no ip prefix-list drawbridge-old']);
    const c = frrCommands(running.state, state({ routes: [route('192.0.2.11/32')] }));
    assert.deepEqual(c.bgp, [
      'router bgp 64512',
      'no neighbor fd00::fe',
      'neighbor 10.0.0.254 bfd profile drawbridge-default',
      'address-family ipv4 unicast',
      'no network 192.0.2.10/32',
      'exit-address-family',
      'address-family ipv6 unicast',
      'no network 2001:db8::5/128',
      'exit-address-family',
      'exit',
      'no ip prefix-list drawbridge-out-10.0.0.254 permit 192.0.2.10/32',
      'no ipv6 prefix-list drawbridge-out-fd00::fe',
      `no route-map ${routeMapName({ communities: ['65000:1', 'local-as'], largeCommunities: ['1:2:3'], localPref: 150 })}`,
    ]);
    // The built-in profile is new; the one of ours nobody uses goes; `theirs` is never named.
    assert.equal(c.bfdBefore[1], 'profile drawbridge-default');
    assert.deepEqual(c.bfdAfter, ['bfd', 'no profile drawbridge-fast', 'exit']);
  });

  it('another local ASN: the instance is recreated', () => {
    const running = runningFrrState(BGPD, BFDD);
    const bgp = frrCommands(running.state, state({ peers: [peer('tor', { myASN: 64513 })] })).bgp;
    assert.equal(bgp[0], 'no router bgp 64512');
    assert.ok(bgp.includes('router bgp 64513'));
  });

  it('a neighbor left half-configured (shut down, not activated) is configured again from its first line', () => {
    const half = [
      'router bgp 64512',
      ' bgp router-id 10.0.0.11',
      ' neighbor 10.0.0.254 remote-as 64500',
      ' neighbor 10.0.0.254 shutdown',
      ' neighbor 10.0.0.254 timers 3 9',
      'exit',
      'ip prefix-list drawbridge-out-10.0.0.254 seq 1 deny 0.0.0.0/32',
    ].join('\n');
    const bgp = frrCommands(runningFrrState(half, '').state, state()).bgp;
    assert.deepEqual(bgp.slice(0, 3), [
      'router bgp 64512',
      'neighbor 10.0.0.254 remote-as 64500',
      'neighbor 10.0.0.254 shutdown',
    ]);
    assert.ok(bgp.includes('neighbor 10.0.0.254 activate'));
    assert.equal(bgp.at(-2), 'no neighbor 10.0.0.254 shutdown');
  });

  it('nothing of ours (FRR just started): the empty state', () => {
    const running = runningFrrState('frr version 8.4.4\n!\nend\n', '');
    assert.deepEqual(running, { state: emptyFrrState(), strays: [] });
  });
});
