// Address arithmetic for pools: addresses as bigint so IPv4 and IPv6 ranges share one code path and a /64 costs no
// more than a /24. Parsing is strict (no octal, hex or short IPv4 forms, no zone ids): a pool entry that means
// something other than what it looks like is worse than one that is rejected.
import ipaddr from 'ipaddr.js';
import type { IpFamily } from '../../../src/lib/net/ip.ts';

export interface Address {
  family: IpFamily;
  value: bigint;
}

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  family: IpFamily;
  first: bigint;
  last: bigint;
  /** The prefix length when the entry was written as a CIDR; absent for start-end ranges and derived ranges. */
  prefix?: number;
}

export type EntryParse = { ok: true; range: AddressRange } | { ok: false; message: string };

const BITS: Record<IpFamily, number> = { IPv4: 32, IPv6: 128 };

/** Parses one address in its usual written form, or returns null. */
export function parseAddress(text: string): Address | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 'IPv4', value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    return { family: 'IPv6', value: bytesToBigint(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  return null;
}

/** The canonical text of an address (RFC 5952 for IPv6), so equal addresses always compare equal as strings. */
export function formatAddress(family: IpFamily, value: bigint): string {
  const length = BITS[family] / 8;
  const bytes: number[] = new Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parses a pool entry: a CIDR (`192.168.10.0/24`, `fd00::/120`) or an inclusive range (`192.168.10.10-192.168.10.20`). */
export function parseAddressEntry(text: string): EntryParse {
  if (text.includes('/')) return parseCidr(text);
  if (text.includes('-')) return parseRange(text);
  const single = parseAddress(text);
  const hint = single ? ` (for a single address write ${text}/${BITS[single.family]})` : '';
  return { ok: false, message: `"${text}" is neither a CIDR nor a start-end range${hint}` };
}

function parseCidr(text: string): EntryParse {
  const [base = '', prefixText = '', ...extra] = text.split('/');
  const address = parseAddress(base);
  if (!address || extra.length > 0) return { ok: false, message: `"${text}" is not a valid CIDR` };
  const bits = BITS[address.family];
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= bits)) {
    return { ok: false, message: `"${text}" has an invalid prefix length (0-${bits} for ${address.family})` };
  }
  const hostBits = BigInt(bits - prefix);
  const first = (address.value >> hostBits) << hostBits;
  if (first !== address.value) {
    // Rejected rather than masked: "192.168.10.5/24" usually means the author wanted something else.
    const network = `${formatAddress(address.family, first)}/${prefix}`;
    return { ok: false, message: `"${text}" has host bits set; the network is ${network}` };
  }
  return { ok: true, range: { family: address.family, first, last: first + (1n << hostBits) - 1n, prefix } };
}

function parseRange(text: string): EntryParse {
  const parts = text.split('-');
  if (parts.length !== 2) return { ok: false, message: `"${text}" is not a valid start-end range` };
  const [startText = '', endText = ''] = parts.map((part) => part.trim());
  const start = parseAddress(startText);
  const end = parseAddress(endText);
  if (!start) return { ok: false, message: `"${text}": range start "${startText}" is not an IP address` };
  if (!end) return { ok: false, message: `"${text}": range end "${endText}" is not an IP address` };
  if (start.family !== end.family) {
    return { ok: false, message: `"${text}" mixes ${start.family} and ${end.family}` };
  }
  if (start.value > end.value) return { ok: false, message: `"${text}": range start is after range end` };
  return { ok: true, range: { family: start.family, first: start.value, last: end.value } };
}

export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}

export function rangeContains(range: AddressRange, address: Address): boolean {
  return range.family === address.family && range.first <= address.value && address.value <= range.last;
}

/** The addresses two ranges have in common, or null. */
export function intersectRanges(a: AddressRange, b: AddressRange): AddressRange | null {
  if (a.family !== b.family) return null;
  // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.max does not accept
  const first = a.first > b.first ? a.first : b.first;
  // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.min does not accept
  const last = a.last < b.last ? a.last : b.last;
  return first <= last ? { family: a.family, first, last } : null;
}

/** `a-b`, or just `a` for a one-address range. */
export function formatRange(range: AddressRange): string {
  const first = formatAddress(range.family, range.first);
  return range.first === range.last ? first : `${first}-${formatAddress(range.family, range.last)}`;
}

/**
 * IPv4 addresses ending in .0 or .255: old or buggy client stacks treat them as network/broadcast addresses
 * even inside larger CIDRs, so pools with avoidBuggyIPs never hand them out.
 */
export function isBuggyAddress(address: Address): boolean {
  if (address.family !== 'IPv4') return false;
  const lastOctet = address.value & 0xffn;
  return lastOctet === 0n || lastOctet === 0xffn;
}

/** How many addresses of `range` isBuggyAddress() rejects (counted, not enumerated). */
export function countBuggyAddresses(range: AddressRange): bigint {
  if (range.family !== 'IPv4') return 0n;
  return countCongruent(range, 0n) + countCongruent(range, 0xffn);
}

/**
 * The first address of an IPv6 CIDR entry is its subnet-router anycast address (RFC 4291 section 2.6.1): routers on
 * the link answer it, so a Service holding it would collide with them. It is never handed out, whatever the pool
 * says. Only CIDR entries have one: a start-end range names its addresses one by one and is taken literally, and
 * only the CIDR says where the subnet starts. /127 and /128 are exempt: RFC 6164 drops the anycast address on /127
 * point-to-point links (both addresses are usable), and a /128 is one address the author wrote down on purpose.
 */
export function isSubnetRouterAnycast(range: AddressRange, address: Address): boolean {
  return hasSubnetRouterAnycast(range) && address.family === 'IPv6' && address.value === range.first;
}

/** How many addresses of `range` isSubnetRouterAnycast() rejects: 0 or 1. */
export function countSubnetRouterAnycast(range: AddressRange): bigint {
  return hasSubnetRouterAnycast(range) ? 1n : 0n;
}

/** `fd00:10::/64`: the CIDR an anycast address belongs to, for messages. */
export function formatCidr(range: AddressRange): string {
  return range.prefix === undefined
    ? formatRange(range)
    : `${formatAddress(range.family, range.first)}/${range.prefix}`;
}

function hasSubnetRouterAnycast(range: AddressRange): boolean {
  return range.family === 'IPv6' && range.prefix !== undefined && range.prefix < 127;
}

/** Values v in the range with v mod 256 === residue. */
function countCongruent(range: AddressRange, residue: bigint): bigint {
  const upTo = (n: bigint): bigint => (n < residue ? 0n : (n - residue) / 256n + 1n);
  return upTo(range.last) - (range.first === 0n ? 0n : upTo(range.first - 1n));
}

function bytesToBigint(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
