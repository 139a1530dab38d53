// The AddressPool's names and typed model, and the pieces of a pool's check that schema.ts (its zod schema and
// parsePool(), which the controller and the speaker both use) builds on: parsing the entries, finding overlaps,
// building the model.
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import { type AddressRange, intersectRanges, parseAddressEntry } from './addresses.ts';

export const ADDRESS_POOL_GROUP = 'drawbridge.io';
export const ADDRESS_POOL_VERSION = 'v1alpha1';
export const ADDRESS_POOL_API_VERSION = `${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}`;
export const ADDRESS_POOL_KIND = 'AddressPool';
export const ADDRESS_POOL_PLURAL = 'addresspools';

/** A Kubernetes namespace name (RFC 1123 label); at most NAMESPACE_NAME_MAX characters. */
export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAMESPACE_NAME_MAX = 63;
/** The typed model of one pool, as the allocator uses it. */
export interface AddressPool {
  name: string;
  /** Sorted (IPv4 first, then by start) and disjoint: parsePool rejects entries that overlap each other. */
  ranges: AddressRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  /** null: every namespace may use the pool. */
  namespaces: string[] | null;
  /** Whether the speakers announce the pool's addresses by ARP/NDP; BGP announcement is chosen by BGPAdvertisements. */
  l2: boolean;
}

/** The model of a pool whose fields are valid (entries: all of spec.addresses, parsed). */
export function poolModel(
  name: string,
  entries: readonly ParsedEntry[],
  autoAssign: boolean,
  avoidBuggyIPs: boolean,
  namespaces: string[] | null,
  l2: boolean,
): AddressPool {
  return {
    name,
    ranges: entries.map((entry) => entry.range).sort(compareRanges),
    autoAssign,
    avoidBuggyIPs,
    namespaces,
    l2,
  };
}

export interface ParsedEntry {
  index: number;
  text: string;
  range: AddressRange;
}

/** The entries that are valid address entries, with their index in spec.addresses. */
export function parsedEntries(entries: readonly unknown[]): ParsedEntry[] {
  const parsed: ParsedEntry[] = [];
  entries.forEach((text, index) => {
    if (typeof text !== 'string') return;
    const entry = parseAddressEntry(text);
    if (entry.ok) parsed.push({ index, text, range: entry.range });
  });
  return parsed;
}

/** Every later entry that overlaps an earlier one, with the earlier one and the addresses they share. */
export function overlappingEntries(
  parsed: readonly ParsedEntry[],
): { later: ParsedEntry; earlier: ParsedEntry; common: AddressRange }[] {
  const overlaps: { later: ParsedEntry; earlier: ParsedEntry; common: AddressRange }[] = [];
  for (const [i, later] of parsed.entries()) {
    for (const earlier of parsed.slice(0, i)) {
      const common = intersectRanges(earlier.range, later.range);
      if (common) overlaps.push({ later, earlier, common });
    }
  }
  return overlaps;
}

const FAMILY_ORDER: Record<IpFamily, number> = { IPv4: 0, IPv6: 1 };

function compareRanges(a: AddressRange, b: AddressRange): number {
  if (a.family !== b.family) return FAMILY_ORDER[a.family] - FAMILY_ORDER[b.family];
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
