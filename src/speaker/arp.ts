// ARP for IPv4 over Ethernet (RFC 826): decode what arrives on the wire, encode replies and gratuitous
// announcements, and decide whether a request is ours to answer. Pure: the raw socket lives elsewhere.
//
// Frames are encoded without the 18 bytes of padding up to Ethernet's 60-byte minimum: the kernel's own ARP does the
// same (42-byte skbs) and the driver pads on transmit. Decoding accepts the padding that arrives from real NICs.
import ipaddr from 'ipaddr.js';
import {
  BROADCAST_MAC,
  decodeEthernet,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  readMac,
  readUint16,
  writeEthernet,
  writeMac,
  writeUint16,
} from './ethernet.ts';

export const ARP_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + 28;

export type ArpOperation = 'request' | 'reply';

export interface ArpPacket {
  /** Ethernet destination: broadcast for requests and announcements, the asker's MAC for replies. */
  ethernetDestination: string;
  ethernetSource: string;
  operation: ArpOperation;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

const OPERATION_CODES: Record<ArpOperation, number> = { request: 1, reply: 2 };
const HARDWARE_ETHERNET = 1;

/** The ARP packet in an Ethernet frame, or null for anything that is not Ethernet/IPv4 ARP request or reply. */
export function decodeArp(frame: Uint8Array): ArpPacket | null {
  const ethernet = decodeEthernet(frame);
  if (ethernet?.etherType !== ETHERTYPE_ARP || frame.length < ARP_FRAME_LENGTH) return null;
  const arp = ETHERNET_HEADER_LENGTH;
  const hardwareType = readUint16(frame, arp);
  const protocolType = readUint16(frame, arp + 2);
  if (hardwareType !== HARDWARE_ETHERNET || protocolType !== ETHERTYPE_IPV4) return null;
  if (frame[arp + 4] !== 6 || frame[arp + 5] !== 4) return null;
  const code = readUint16(frame, arp + 6);
  const operation = code === 1 ? 'request' : code === 2 ? 'reply' : null;
  if (operation === null) return null;
  return {
    ethernetDestination: ethernet.destination,
    ethernetSource: ethernet.source,
    operation,
    senderMac: readMac(frame, arp + 8),
    senderIp: readIpv4(frame, arp + 14),
    targetMac: readMac(frame, arp + 18),
    targetIp: readIpv4(frame, arp + 24),
  };
}

export function encodeArp(packet: ArpPacket): Buffer {
  const frame = Buffer.alloc(ARP_FRAME_LENGTH);
  writeEthernet(frame, {
    destination: packet.ethernetDestination,
    source: packet.ethernetSource,
    etherType: ETHERTYPE_ARP,
  });
  const arp = ETHERNET_HEADER_LENGTH;
  writeUint16(frame, arp, HARDWARE_ETHERNET);
  writeUint16(frame, arp + 2, ETHERTYPE_IPV4);
  frame[arp + 4] = 6;
  frame[arp + 5] = 4;
  writeUint16(frame, arp + 6, OPERATION_CODES[packet.operation]);
  writeMac(frame, arp + 8, packet.senderMac);
  writeIpv4(frame, arp + 14, packet.senderIp);
  writeMac(frame, arp + 18, packet.targetMac);
  writeIpv4(frame, arp + 24, packet.targetIp);
  return frame;
}

/** The reply to `request` saying its target address is at `ourMac`, sent straight back to the asker. */
export function arpReply(request: ArpPacket, ourMac: string): ArpPacket {
  return {
    ethernetDestination: request.senderMac,
    ethernetSource: ourMac,
    operation: 'reply',
    senderMac: ourMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  };
}

/**
 * A gratuitous ARP announcing `ip` at `mac`, broadcast, sender and target address both `ip`. Some hosts update their
 * caches only from requests and others only from replies, so a takeover sends both (as MetalLB does). The field
 * choices match iputils `arping -U` (request, target MAC broadcast) and `arping -A` (reply, target MAC = sender).
 */
export function gratuitousArp(mac: string, ip: string, operation: ArpOperation): ArpPacket {
  return {
    ethernetDestination: BROADCAST_MAC,
    ethernetSource: mac,
    operation,
    senderMac: mac,
    senderIp: ip,
    targetMac: operation === 'request' ? BROADCAST_MAC : mac,
    targetIp: ip,
  };
}

/**
 * Whether a decoded packet is a request this interface should answer: a request (not a reply), sent to broadcast or
 * to our MAC, asking for an address we own, and not an announcement (sender IP = target IP: another node claiming the
 * address, which must not be answered or two MACs would race in every cache). An RFC 5227 probe (sender 0.0.0.0) is
 * answered, which is how a host learns that the address is taken.
 */
export function isRequestForUs(packet: ArpPacket, ourMac: string, owns: (ip: string) => boolean): boolean {
  if (packet.operation !== 'request') return false;
  if (packet.ethernetDestination !== BROADCAST_MAC && packet.ethernetDestination !== ourMac) return false;
  if (packet.senderIp === packet.targetIp) return false;
  if (packet.senderMac === ourMac) return false;
  return owns(packet.targetIp);
}

/** The reply frame to send for `frame`, or null when it is not an ARP request for one of our addresses. */
export function answerArp(frame: Uint8Array, ourMac: string, owns: (ip: string) => boolean): Buffer | null {
  const packet = decodeArp(frame);
  if (packet === null || !isRequestForUs(packet, ourMac, owns)) return null;
  return encodeArp(arpReply(packet, ourMac));
}

function readIpv4(source: Uint8Array, offset: number): string {
  return `${source[offset]}.${source[offset + 1]}.${source[offset + 2]}.${source[offset + 3]}`;
}

function writeIpv4(target: Uint8Array, offset: number, ip: string): void {
  if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  target.set(ipaddr.IPv4.parse(ip).toByteArray(), offset);
}
