// IPv6 neighbor discovery (RFC 4861) for the addresses a speaker announces: neighbor solicitations (ICMPv6 135) and
// advertisements (136) with their link-layer address options, the ICMPv6 checksum over the IPv6 pseudo-header, and
// the solicited-node multicast group a solicitation for an address is sent to. Pure: the raw socket lives elsewhere.
import ipaddr from 'ipaddr.js';
import {
  decodeEthernet,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_IPV6,
  readMac,
  readUint16,
  writeEthernet,
  writeMac,
  writeUint16,
} from './ethernet.ts';

const IPV6_HEADER_LENGTH = 40;
const NEXT_HEADER_ICMPV6 = 58;
/** RFC 4861 7.1: a neighbor discovery message with any other hop limit did not come from this link. */
const ND_HOP_LIMIT = 255;
const ICMPV6 = ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH;
const ND_BODY_LENGTH = 24; // type, code, checksum, flags/reserved, target
const OPTION_SOURCE_LINK_LAYER = 1;
const OPTION_TARGET_LINK_LAYER = 2;
const ALL_NODES = 'ff02::1';
const FLAG_ROUTER = 0x80;
const FLAG_SOLICITED = 0x40;
const FLAG_OVERRIDE = 0x20;

export type NdpType = 'solicitation' | 'advertisement';
const TYPE_CODES: Record<NdpType, number> = { solicitation: 135, advertisement: 136 };

export interface NdpPacket {
  ethernetDestination: string;
  ethernetSource: string;
  /** IPv6 traffic class and flow label, kept so a decoded frame re-encodes to the same bytes; builders use 0. */
  trafficClass: number;
  flowLabel: number;
  sourceIp: string;
  destinationIp: string;
  type: NdpType;
  /** Advertisement flags; all false in a solicitation. */
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetIp: string;
  /** The source link-layer option of a solicitation or the target link-layer option of an advertisement. */
  linkLayerAddress: string | null;
}

/**
 * The NS or NA in an Ethernet frame, or null for anything else and for anything RFC 4861 7.1 says to discard:
 * hop limit other than 255, non-zero code, bad checksum, short body, a zero-length option, a multicast target, a
 * solicitation from the unspecified address that carries a source link-layer option or is not sent to a solicited-node
 * group, a multicast advertisement with the solicited flag. Frames with IPv6 extension headers are ignored (neighbor
 * discovery never needs them).
 */
export function decodeNdp(frame: Uint8Array): NdpPacket | null {
  const ethernet = decodeEthernet(frame);
  if (ethernet?.etherType !== ETHERTYPE_IPV6 || frame.length < ICMPV6 + ND_BODY_LENGTH) return null;
  const ip = ETHERNET_HEADER_LENGTH;
  if (frame[ip]! >> 4 !== 6 || frame[ip + 6] !== NEXT_HEADER_ICMPV6 || frame[ip + 7] !== ND_HOP_LIMIT) return null;
  const payloadLength = readUint16(frame, ip + 4);
  if (payloadLength < ND_BODY_LENGTH || ICMPV6 + payloadLength > frame.length) return null;
  const icmp = frame.subarray(ICMPV6, ICMPV6 + payloadLength);
  const type = icmp[0] === 135 ? 'solicitation' : icmp[0] === 136 ? 'advertisement' : null;
  if (type === null || icmp[1] !== 0) return null;
  const source = frame.subarray(ip + 8, ip + 24);
  const destination = frame.subarray(ip + 24, ip + 40);
  if (icmpv6Checksum(source, destination, icmp) !== 0) return null;

  const options = readOptions(icmp.subarray(ND_BODY_LENGTH));
  if (options === null) return null;
  const flags = type === 'advertisement' ? icmp[4]! : 0;
  const packet: NdpPacket = {
    ethernetDestination: ethernet.destination,
    ethernetSource: ethernet.source,
    trafficClass: ((frame[ip]! & 0x0f) << 4) | (frame[ip + 1]! >> 4),
    flowLabel: ((frame[ip + 1]! & 0x0f) << 16) | readUint16(frame, ip + 2),
    sourceIp: ipv6Text(source),
    destinationIp: ipv6Text(destination),
    type,
    router: (flags & FLAG_ROUTER) !== 0,
    solicited: (flags & FLAG_SOLICITED) !== 0,
    override: (flags & FLAG_OVERRIDE) !== 0,
    targetIp: ipv6Text(icmp.subarray(8, 24)),
    linkLayerAddress: (type === 'solicitation' ? options.sourceLinkLayer : options.targetLinkLayer) ?? null,
  };
  if (icmp[8] === 0xff) return null; // multicast target
  if (type === 'solicitation' && packet.sourceIp === '::') {
    if (options.sourceLinkLayer !== undefined || destination[0] !== 0xff) return null;
  }
  if (type === 'advertisement' && destination[0] === 0xff && packet.solicited) return null;
  return packet;
}

export function encodeNdp(packet: NdpPacket): Buffer {
  const withOption = packet.linkLayerAddress !== null;
  const payloadLength = ND_BODY_LENGTH + (withOption ? 8 : 0);
  const frame = Buffer.alloc(ICMPV6 + payloadLength);
  writeEthernet(frame, {
    destination: packet.ethernetDestination,
    source: packet.ethernetSource,
    etherType: ETHERTYPE_IPV6,
  });
  const ip = ETHERNET_HEADER_LENGTH;
  frame[ip] = 0x60 | (packet.trafficClass >> 4);
  frame[ip + 1] = ((packet.trafficClass & 0x0f) << 4) | ((packet.flowLabel >> 16) & 0x0f);
  writeUint16(frame, ip + 2, packet.flowLabel & 0xffff);
  writeUint16(frame, ip + 4, payloadLength);
  frame[ip + 6] = NEXT_HEADER_ICMPV6;
  frame[ip + 7] = ND_HOP_LIMIT;
  frame.set(ipv6Bytes(packet.sourceIp), ip + 8);
  frame.set(ipv6Bytes(packet.destinationIp), ip + 24);

  const icmp = frame.subarray(ICMPV6);
  icmp[0] = TYPE_CODES[packet.type];
  if (packet.type === 'advertisement') {
    icmp[4] =
      (packet.router ? FLAG_ROUTER : 0) |
      (packet.solicited ? FLAG_SOLICITED : 0) |
      (packet.override ? FLAG_OVERRIDE : 0);
  }
  icmp.set(ipv6Bytes(packet.targetIp), 8);
  if (packet.linkLayerAddress !== null) {
    icmp[24] = packet.type === 'solicitation' ? OPTION_SOURCE_LINK_LAYER : OPTION_TARGET_LINK_LAYER;
    icmp[25] = 1; // length in units of 8 bytes
    writeMac(icmp, 26, packet.linkLayerAddress);
  }
  writeUint16(icmp, 2, icmpv6Checksum(frame.subarray(ip + 8, ip + 24), frame.subarray(ip + 24, ip + 40), icmp));
  return frame;
}

/**
 * The ICMPv6 checksum (RFC 4443 2.3) of `message` between `source` and `destination`: the one's complement of the
 * one's complement sum over the pseudo-header (addresses, upper-layer length, next header 58) and the message. Over a
 * message whose checksum field is filled in, a correct checksum yields 0; with the field zeroed it yields the value to
 * write there.
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  let sum = 0;
  const add = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  };
  add(source);
  add(destination);
  sum += (message.length >>> 16) + (message.length & 0xffff) + NEXT_HEADER_ICMPV6;
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The solicited-node multicast address (RFC 4291 2.7.1) a solicitation for `ip` is sent to: ff02::1:ffXX:XXXX. */
export function solicitedNodeAddress(ip: string): string {
  const bytes = ipv6Bytes(ip);
  const group = ipv6Bytes('ff02::1:ff00:0');
  group.set(bytes.subarray(13), 13);
  return ipv6Text(group);
}

/** The Ethernet MAC an IPv6 multicast address maps to (RFC 2464 7): 33:33 and its last four bytes. */
export function multicastMac(ip: string): string {
  const bytes = ipv6Bytes(ip);
  if (bytes[0] !== 0xff) throw new Error(`not an IPv6 multicast address: ${ip}`);
  const mac = new Uint8Array(6);
  mac[0] = 0x33;
  mac[1] = 0x33;
  mac.set(bytes.subarray(12), 2);
  return readMac(mac, 0);
}

/**
 * The advertisement answering `solicitation` with `ourMac` (RFC 4861 7.2.4): unicast and solicited back to the asker,
 * or to all nodes and unsolicited when the asker is doing duplicate address detection (source ::). The override flag
 * is set so a failover replaces the previous owner's entry at once; the source is the target address itself, as the
 * kernel does for its own addresses, so the speaker needs no address on the interface.
 */
export function neighborAdvertisementFor(solicitation: NdpPacket, ourMac: string): NdpPacket {
  const duplicateDetection = solicitation.sourceIp === '::';
  return {
    ethernetDestination: duplicateDetection
      ? multicastMac(ALL_NODES)
      : (solicitation.linkLayerAddress ?? solicitation.ethernetSource),
    ethernetSource: ourMac,
    trafficClass: 0,
    flowLabel: 0,
    sourceIp: solicitation.targetIp,
    destinationIp: duplicateDetection ? ALL_NODES : solicitation.sourceIp,
    type: 'advertisement',
    router: false,
    solicited: !duplicateDetection,
    override: true,
    targetIp: solicitation.targetIp,
    linkLayerAddress: ourMac,
  };
}

/** The unsolicited advertisement (RFC 4861 7.2.6) sent to all nodes when a speaker takes `ip` over, and periodically. */
export function unsolicitedAdvertisement(mac: string, ip: string): NdpPacket {
  return {
    ethernetDestination: multicastMac(ALL_NODES),
    ethernetSource: mac,
    trafficClass: 0,
    flowLabel: 0,
    sourceIp: ip,
    destinationIp: ALL_NODES,
    type: 'advertisement',
    router: false,
    solicited: false,
    override: true,
    targetIp: ip,
    linkLayerAddress: mac,
  };
}

/**
 * Whether a decoded packet is a solicitation this interface should answer: addressed to the target's solicited-node
 * group (address resolution, duplicate detection) or to the target itself on our MAC (reachability confirmation), not
 * sent by us, for an address we own.
 */
export function isSolicitationForUs(packet: NdpPacket, ourMac: string, owns: (ip: string) => boolean): boolean {
  if (packet.type !== 'solicitation' || packet.ethernetSource === ourMac) return false;
  const group = solicitedNodeAddress(packet.targetIp);
  const toGroup = packet.destinationIp === group && packet.ethernetDestination === multicastMac(group);
  const toUs = packet.destinationIp === packet.targetIp && packet.ethernetDestination === ourMac;
  return (toGroup || toUs) && owns(packet.targetIp);
}

/** The advertisement frame to send for `frame`, or null when it is not a solicitation for one of our addresses. */
export function answerNdp(frame: Uint8Array, ourMac: string, owns: (ip: string) => boolean): Buffer | null {
  const packet = decodeNdp(frame);
  if (packet === null || !isSolicitationForUs(packet, ourMac, owns)) return null;
  return encodeNdp(neighborAdvertisementFor(packet, ourMac));
}

interface Options {
  sourceLinkLayer?: string;
  targetLinkLayer?: string;
}

/** The link-layer options; unknown options are skipped (RFC 4861 4.6), a zero-length option makes the packet invalid. */
function readOptions(bytes: Uint8Array): Options | null {
  const options: Options = {};
  for (let at = 0; at < bytes.length; ) {
    if (at + 2 > bytes.length) return null;
    const length = bytes[at + 1]! * 8;
    if (length === 0 || at + length > bytes.length) return null;
    if (length === 8 && bytes[at] === OPTION_SOURCE_LINK_LAYER) options.sourceLinkLayer = readMac(bytes, at + 2);
    if (length === 8 && bytes[at] === OPTION_TARGET_LINK_LAYER) options.targetLinkLayer = readMac(bytes, at + 2);
    at += length;
  }
  return options;
}

function ipv6Bytes(ip: string): Uint8Array {
  if (ip.includes('%') || !ipaddr.IPv6.isValid(ip)) throw new Error(`not an IPv6 address: ${JSON.stringify(ip)}`);
  return Uint8Array.from(ipaddr.IPv6.parse(ip).toByteArray());
}

/** RFC 5952 text, the same canonical form the pools use, so owned-address lookups compare strings. */
function ipv6Text(bytes: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}
