import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answerNdp,
  decodeNdp,
  encodeNdp,
  icmpv6Checksum,
  isSolicitationForUs,
  multicastMac,
  neighborAdvertisementFor,
  solicitedNodeAddress,
  unsolicitedAdvertisement,
} from './ndp.ts';

// Real frames, captured on this project's lab set-up: two network namespaces joined by a veth pair, A = fd00:99::1 on
// 02:00:00:00:00:0a, B = fd00:99::2 on 02:00:00:00:00:0b; `tcpdump -i dbvB -w cap.pcap icmp6` in B while A ran
// `ndisc6 -1 -r 1 fd00:99::2 dbvA` (the solicitation) and B's kernel answered (the advertisement). The unsolicited
// advertisement is A's kernel announcing its link-local after `sysctl net.ipv6.conf.dbvA.ndisc_notify=1` and a link
// down/up. The pcap records were printed as hex.
const CAPTURED = {
  solicitation:
    '3333ff00000202000000000a86dd600677ae00203afffe80000000000000000000fffe00000aff0200000000000000000001ff00000287007c6c00000000fd000099000000000000000000000002010102000000000a',
  kernelAdvertisement:
    '02000000000a02000000000b86dd6000000000203afffd000099000000000000000000000002fe80000000000000000000fffe00000a88001ad660000000fd000099000000000000000000000002020102000000000b',
  unsolicitedAdvertisement:
    '33330000000102000000000a86dd6000000000203afffe80000000000000000000fffe00000aff0200000000000000000000000000018800598020000000fe80000000000000000000fffe00000a020102000000000a',
};
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const frame = (hex: string) => Buffer.from(hex, 'hex');

describe('ndp', () => {
  it('decodes the solicitation ndisc6 sent', () => {
    assert.deepEqual(decodeNdp(frame(CAPTURED.solicitation)), {
      ethernetDestination: '33:33:ff:00:00:02',
      ethernetSource: MAC_A,
      trafficClass: 0,
      flowLabel: 0x677ae,
      sourceIp: 'fe80::ff:fe00:a',
      destinationIp: 'ff02::1:ff00:2',
      type: 'solicitation',
      router: false,
      solicited: false,
      override: false,
      targetIp: 'fd00:99::2',
      linkLayerAddress: MAC_A,
    });
  });

  it('decodes the kernel advertisement with its flags and target link-layer address', () => {
    const na = decodeNdp(frame(CAPTURED.kernelAdvertisement))!;
    assert.equal(na.type, 'advertisement');
    assert.deepEqual([na.router, na.solicited, na.override], [false, true, true]);
    assert.equal(na.linkLayerAddress, MAC_B);
    assert.equal(na.sourceIp, 'fd00:99::2');
  });

  it('round-trips every captured frame, checksum included', () => {
    for (const [name, hex] of Object.entries(CAPTURED)) {
      assert.equal(encodeNdp(decodeNdp(frame(hex))!).toString('hex'), hex, name);
    }
  });

  it('builds, byte for byte, the advertisement the kernel sent to that solicitation', () => {
    const ns = decodeNdp(frame(CAPTURED.solicitation))!;
    assert.equal(encodeNdp(neighborAdvertisementFor(ns, MAC_B)).toString('hex'), CAPTURED.kernelAdvertisement);
    assert.equal(
      answerNdp(frame(CAPTURED.solicitation), MAC_B, (ip) => ip === 'fd00:99::2')?.toString('hex'),
      CAPTURED.kernelAdvertisement,
    );
  });

  it('builds the unsolicited advertisement the kernel sends', () => {
    const built = encodeNdp(unsolicitedAdvertisement(MAC_A, 'fe80::ff:fe00:a'));
    assert.equal(built.toString('hex'), CAPTURED.unsolicitedAdvertisement);
  });

  it('computes the ICMPv6 checksum over the pseudo-header', () => {
    const f = frame(CAPTURED.solicitation);
    const icmp = Buffer.from(f.subarray(54));
    assert.equal(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), icmp), 0, 'a correct checksum sums to 0');
    icmp.writeUInt16BE(0, 2);
    assert.equal(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), icmp), 0x7c6c, 'the captured value');
  });

  it('maps an address to its solicited-node group and that group to its Ethernet MAC', () => {
    assert.equal(solicitedNodeAddress('fd00:99::2'), 'ff02::1:ff00:2');
    assert.equal(solicitedNodeAddress('2001:db8::abcd:ef12:3456'), 'ff02::1:ff12:3456');
    assert.equal(multicastMac('ff02::1:ff00:2'), '33:33:ff:00:00:02');
    assert.equal(multicastMac('ff02::1'), '33:33:00:00:00:01');
    assert.throws(() => multicastMac('fd00::1'), /not an IPv6 multicast/);
  });

  it('discards what RFC 4861 says to discard', () => {
    const mutate = (offset: number, value: number) => {
      const f = frame(CAPTURED.solicitation);
      f[offset] = value;
      return f;
    };
    assert.equal(decodeNdp(mutate(21, 64)), null, 'hop limit not 255');
    assert.equal(decodeNdp(mutate(55, 1)), null, 'non-zero code');
    assert.equal(decodeNdp(mutate(60, 0xfe)), null, 'checksum no longer matches');
    assert.equal(decodeNdp(mutate(20, 6)), null, 'not ICMPv6');
    assert.equal(decodeNdp(frame(CAPTURED.solicitation).subarray(0, 70)), null, 'truncated');
    const zeroLengthOption = encodeNdp({ ...decodeNdp(frame(CAPTURED.solicitation))!, linkLayerAddress: MAC_A });
    zeroLengthOption[79] = 0;
    fixChecksum(zeroLengthOption);
    assert.equal(decodeNdp(zeroLengthOption), null, 'zero-length option');
    const ns = decodeNdp(frame(CAPTURED.solicitation))!;
    assert.equal(decodeNdp(encodeNdp({ ...ns, targetIp: 'ff02::1' })), null, 'multicast target');
    assert.equal(decodeNdp(encodeNdp({ ...ns, sourceIp: '::' })), null, 'DAD with a source link-layer option');
    const na = decodeNdp(frame(CAPTURED.kernelAdvertisement))!;
    assert.equal(decodeNdp(encodeNdp({ ...na, destinationIp: 'ff02::1' })), null, 'multicast and solicited');
  });

  it('answers resolution, reachability and duplicate detection for owned targets only', () => {
    const owns = (ip: string) => ip === 'fd00:99::2';
    const ns = decodeNdp(frame(CAPTURED.solicitation))!;
    assert.equal(isSolicitationForUs(ns, MAC_B, owns), true, 'to the solicited-node group');
    assert.equal(
      isSolicitationForUs(ns, MAC_B, () => false),
      false,
      'not owned',
    );
    assert.equal(isSolicitationForUs(ns, MAC_A, owns), false, 'our own solicitation');
    const unicast = { ...ns, destinationIp: 'fd00:99::2', ethernetDestination: MAC_B };
    assert.equal(isSolicitationForUs(unicast, MAC_B, owns), true, 'reachability confirmation');
    assert.equal(isSolicitationForUs({ ...unicast, ethernetDestination: '02:00:00:00:00:0c' }, MAC_B, owns), false);
    assert.equal(isSolicitationForUs({ ...ns, destinationIp: 'ff02::1:ff00:3' }, MAC_B, owns), false, 'wrong group');

    const dad = decodeNdp(encodeNdp({ ...ns, sourceIp: '::', linkLayerAddress: null }))!;
    assert.equal(isSolicitationForUs(dad, MAC_B, owns), true);
    const defence = neighborAdvertisementFor(dad, MAC_B);
    assert.deepEqual(
      [defence.destinationIp, defence.ethernetDestination, defence.solicited, defence.override],
      ['ff02::1', '33:33:00:00:00:01', false, true],
    );
    assert.notEqual(decodeNdp(encodeNdp(defence)), null, 'our defence is itself valid');
  });

  it('never answers an advertisement', () => {
    assert.equal(
      answerNdp(frame(CAPTURED.kernelAdvertisement), MAC_A, () => true),
      null,
    );
    assert.equal(
      answerNdp(frame(CAPTURED.unsolicitedAdvertisement), MAC_B, () => true),
      null,
    );
  });
});

function fixChecksum(f: Buffer): void {
  f.writeUInt16BE(0, 56);
  f.writeUInt16BE(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54)), 56);
}
