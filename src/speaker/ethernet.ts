// Ethernet II framing and MAC address text, shared by the ARP and NDP codecs. Pure: bytes in, bytes or values out.
// MACs travel as lowercase colon-separated text ("02:00:00:00:00:0a") so they compare with === and print as-is in
// logs, metrics and Events; the conversion costs nothing next to a syscall.

export const ETHERNET_HEADER_LENGTH = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

export interface EthernetHeader {
  destination: string;
  source: string;
  etherType: number;
}

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True for a MAC written as six colon-separated lowercase hex pairs, the only form the codecs accept. */
export function isMac(text: string): boolean {
  return MAC_TEXT.test(text);
}

/** Writes a MAC's 6 bytes at `offset`. Throws on any other form: a wrong MAC on the wire is worse than a crash. */
export function writeMac(target: Uint8Array, offset: number, mac: string): void {
  if (!isMac(mac)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  for (let i = 0; i < 6; i++) target[offset + i] = Number.parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

export function readMac(source: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(source[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Group bit set: broadcast and multicast destinations. */
export function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export function readUint16(source: Uint8Array, offset: number): number {
  return (source[offset]! << 8) | source[offset + 1]!;
}

export function writeUint16(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 8) & 0xff;
  target[offset + 1] = value & 0xff;
}

/** The Ethernet II header, or null when the frame is shorter than one. 802.1Q tags are not unwrapped: an AF_PACKET
 * socket on the untagged interface sees frames with the tag already stripped. */
export function decodeEthernet(frame: Uint8Array): EthernetHeader | null {
  if (frame.length < ETHERNET_HEADER_LENGTH) return null;
  return { destination: readMac(frame, 0), source: readMac(frame, 6), etherType: readUint16(frame, 12) };
}

export function writeEthernet(target: Uint8Array, header: EthernetHeader): void {
  writeMac(target, 0, header.destination);
  writeMac(target, 6, header.source);
  writeUint16(target, 12, header.etherType);
}
