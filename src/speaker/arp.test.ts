import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerArp, arpReply, decodeArp, encodeArp, gratuitousArp, isRequestForUs } from './arp.ts';

// Real frames, captured on this project's lab set-up: two network namespaces joined by a veth pair, A = 10.99.0.1 on
// 02:00:00:00:00:0a, B = 10.99.0.2 on 02:00:00:00:00:0b; `tcpdump -i dbvB -w cap.pcap 'arp or icmp6'` in B while A ran
// iputils `arping -c 1 -I dbvA 10.99.0.2`, `arping -U -c 1 -I dbvA 10.99.0.1` and `arping -A -c 1 -I dbvA 10.99.0.1`;
// the pcap records were printed as hex. The reply is the one B's kernel sent.
const CAPTURED = {
  request: 'ffffffffffff02000000000a0806000108000604000102000000000a0a630001ffffffffffff0a630002',
  kernelReply: '02000000000a02000000000b0806000108000604000202000000000b0a63000202000000000a0a630001',
  gratuitousRequest: 'ffffffffffff02000000000a0806000108000604000102000000000a0a630001ffffffffffff0a630001',
  gratuitousReply: 'ffffffffffff02000000000a0806000108000604000202000000000a0a63000102000000000a0a630001',
};
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const frame = (hex: string) => Buffer.from(hex, 'hex');

describe('arp', () => {
  it('decodes the request arping sent', () => {
    assert.deepEqual(decodeArp(frame(CAPTURED.request)), {
      ethernetDestination: 'ff:ff:ff:ff:ff:ff',
      ethernetSource: MAC_A,
      operation: 'request',
      senderMac: MAC_A,
      senderIp: '10.99.0.1',
      targetMac: 'ff:ff:ff:ff:ff:ff',
      targetIp: '10.99.0.2',
    });
  });

  it('builds, byte for byte, the reply the kernel sent to that request', () => {
    const request = decodeArp(frame(CAPTURED.request))!;
    assert.equal(encodeArp(arpReply(request, MAC_B)).toString('hex'), CAPTURED.kernelReply);
  });

  it('round-trips every captured frame', () => {
    for (const [name, hex] of Object.entries(CAPTURED)) {
      assert.equal(encodeArp(decodeArp(frame(hex))!).toString('hex'), hex, name);
    }
  });

  it('builds gratuitous requests and replies identical to arping -U and -A', () => {
    assert.equal(encodeArp(gratuitousArp(MAC_A, '10.99.0.1', 'request')).toString('hex'), CAPTURED.gratuitousRequest);
    assert.equal(encodeArp(gratuitousArp(MAC_A, '10.99.0.1', 'reply')).toString('hex'), CAPTURED.gratuitousReply);
  });

  it('accepts the padding real NICs add up to 60 bytes', () => {
    const padded = Buffer.concat([frame(CAPTURED.request), Buffer.alloc(18)]);
    assert.equal(decodeArp(padded)?.targetIp, '10.99.0.2');
  });

  it('rejects what is not Ethernet/IPv4 ARP', () => {
    const truncated = frame(CAPTURED.request).subarray(0, 41);
    const ipv6 = frame(CAPTURED.request);
    ipv6.writeUInt16BE(0x86dd, 12);
    const otherProtocol = frame(CAPTURED.request);
    otherProtocol.writeUInt16BE(0x86dd, 16);
    const rarp = frame(CAPTURED.request);
    rarp.writeUInt16BE(3, 20);
    for (const bad of [truncated, ipv6, otherProtocol, rarp, Buffer.alloc(0)]) assert.equal(decodeArp(bad), null);
  });

  it('answers only broadcast or unicast-to-us requests for owned addresses', () => {
    const owns = (ip: string) => ip === '10.99.0.2';
    const request = decodeArp(frame(CAPTURED.request))!;
    assert.equal(isRequestForUs(request, MAC_B, owns), true);
    assert.equal(
      isRequestForUs(request, MAC_B, () => false),
      false,
      'not owned',
    );
    assert.equal(isRequestForUs({ ...request, operation: 'reply' }, MAC_B, owns), false, 'a reply');
    assert.equal(
      isRequestForUs({ ...request, ethernetDestination: '02:00:00:00:00:0c' }, MAC_B, owns),
      false,
      'unicast to another host',
    );
    assert.equal(isRequestForUs({ ...request, ethernetDestination: MAC_B }, MAC_B, owns), true, 'unicast refresh');
    assert.equal(isRequestForUs({ ...request, senderIp: '0.0.0.0' }, MAC_B, owns), true, 'RFC 5227 probe');
  });

  it('never answers another node announcing the address, nor itself', () => {
    const owns = () => true;
    assert.equal(isRequestForUs(decodeArp(frame(CAPTURED.gratuitousRequest))!, MAC_B, owns), false);
    assert.equal(isRequestForUs(decodeArp(frame(CAPTURED.request))!, MAC_A, owns), false);
  });

  it('answerArp turns a captured request into the kernel-identical reply frame', () => {
    assert.equal(
      answerArp(frame(CAPTURED.request), MAC_B, (ip) => ip === '10.99.0.2')?.toString('hex'),
      CAPTURED.kernelReply,
    );
    assert.equal(
      answerArp(frame(CAPTURED.kernelReply), MAC_B, () => true),
      null,
    );
  });

  it('refuses to encode malformed addresses', () => {
    assert.throws(() => encodeArp(gratuitousArp('02:00:00:00:00', '10.0.0.1', 'request')), /not a MAC/);
    assert.throws(() => encodeArp(gratuitousArp(MAC_A, '10.0.0.256', 'request')), /not an IPv4/);
    assert.throws(() => encodeArp(gratuitousArp('02:00:00:00:00:0A', '10.0.0.1', 'request')), /not a MAC/);
  });
});
