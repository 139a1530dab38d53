// The AddressPool's names and typed model, and poolOf(): a strict yes/no check that builds the model, without zod.
// The speaker reads pools with it: it only needs to know which pools are valid and what they hold, never why one is
// not, and zod's import alone costs ~15 MB of the speaker's idle RSS (docs/benchmarks.md). The controller reports
// problems with parsePool() (schema.ts, zod, also the CRD's source); pool.test.ts checks that poolOf() accepts
// exactly what parsePool() accepts and builds the same pool, so the controller and the speakers never disagree
// about which pools exist.
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
/** The spec's fields; any other is an error (a typo such as `autoassign` must not pass silently). */
const SPEC_FIELDS: ReadonlySet<string> = new Set(['addresses', 'autoAssign', 'avoidBuggyIPs', 'namespaces']);

/** The typed model of one pool, as the allocator uses it. */
export interface AddressPool {
  name: string;
  /** Sorted (IPv4 first, then by start) and disjoint: parsePool rejects entries that overlap each other. */
  ranges: AddressRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  /** null: every namespace may use the pool. */
  namespaces: string[] | null;
}

/** The pool, or null when the resource is not a valid AddressPool (the same verdict as parsePool's). */
export function poolOf(obj: unknown): AddressPool | null {
  if (!isRecord(obj) || obj.apiVersion !== ADDRESS_POOL_API_VERSION || obj.kind !== ADDRESS_POOL_KIND) return null;
  const { metadata, spec } = obj;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name.length < 1) return null;
  if (!isRecord(spec) || Object.keys(spec).some((key) => !SPEC_FIELDS.has(key))) return null;
  const { addresses, autoAssign = true, avoidBuggyIPs = false, namespaces } = spec;
  if (!Array.isArray(addresses) || addresses.length < 1) return null;
  if (typeof autoAssign !== 'boolean' || typeof avoidBuggyIPs !== 'boolean') return null;
  if (namespaces !== undefined && !isNamespaceList(namespaces)) return null;
  const entries = parsedEntries(addresses);
  if (entries.length !== addresses.length || overlappingEntries(entries).length > 0) return null;
  return poolModel(metadata.name, entries, autoAssign, avoidBuggyIPs, namespaces ?? null);
}

/** The model of a pool whose fields are valid (entries: all of spec.addresses, parsed). */
export function poolModel(
  name: string,
  entries: readonly ParsedEntry[],
  autoAssign: boolean,
  avoidBuggyIPs: boolean,
  namespaces: string[] | null,
): AddressPool {
  return {
    name,
    ranges: entries.map((entry) => entry.range).sort(compareRanges),
    autoAssign,
    avoidBuggyIPs,
    namespaces,
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

function isNamespaceList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length >= 1 &&
    value.every((ns) => typeof ns === 'string' && ns.length <= NAMESPACE_NAME_MAX && NAMESPACE_NAME.test(ns))
  );
}

const FAMILY_ORDER: Record<IpFamily, number> = { IPv4: 0, IPv6: 1 };

function compareRanges(a: AddressRange, b: AddressRange): number {
  if (a.family !== b.family) return FAMILY_ORDER[a.family] - FAMILY_ORDER[b.family];
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
