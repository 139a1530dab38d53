// The AddressPool custom resource (drawbridge.io/v1alpha1, cluster-scoped): its zod schema, which is also the source
// of the CRD's OpenAPI schema (see crd.ts), and parsePool(), which turns one resource into the typed model the
// allocator uses, reporting every problem with its path so one kubectl round trip fixes them all.
import { z } from 'zod';
import type { IpFamily } from '../../../src/desired/types.ts';
import { type AddressRange, formatRange, intersectRanges, parseAddressEntry } from './addresses.ts';

export const ADDRESS_POOL_GROUP = 'drawbridge.io';
export const ADDRESS_POOL_VERSION = 'v1alpha1';
export const ADDRESS_POOL_API_VERSION = `${ADDRESS_POOL_GROUP}/${ADDRESS_POOL_VERSION}`;
export const ADDRESS_POOL_KIND = 'AddressPool';
export const ADDRESS_POOL_PLURAL = 'addresspools';

/** A Kubernetes namespace name (RFC 1123 label). */
const namespaceName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name (lower-case RFC 1123 label)');

const addressEntry = z
  .string()
  .superRefine((text, ctx) => {
    const parsed = parseAddressEntry(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  })
  .describe('A CIDR (192.168.10.0/24, fd00::/120) or an inclusive range (192.168.10.10-192.168.10.20).');

export const addressPoolSpecSchema = z
  .strictObject({
    addresses: z.array(addressEntry).min(1).describe('The addresses the pool hands out: CIDRs and/or ranges.'),
    autoAssign: z
      .boolean()
      .default(true)
      .describe('Whether Services may get addresses from this pool without naming it or one of its addresses.'),
    avoidBuggyIPs: z
      .boolean()
      .default(false)
      .describe('Never hand out IPv4 addresses ending in .0 or .255 (some client stacks mishandle them).'),
    namespaces: z
      .array(namespaceName)
      .min(1)
      .optional()
      .describe('When set, only Services in these namespaces may use the pool; when absent, every namespace may.'),
  })
  .describe('The addresses of one pool and who may use them.');

export type AddressPoolSpec = z.output<typeof addressPoolSpecSchema>;

const addressPoolResourceSchema = z.looseObject({
  apiVersion: z.literal(ADDRESS_POOL_API_VERSION),
  kind: z.literal(ADDRESS_POOL_KIND),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: addressPoolSpecSchema,
});

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

export interface Problem {
  path: string;
  message: string;
}

export type PoolParse = { ok: true; pool: AddressPool } | { ok: false; problems: Problem[] };

/** Validates one AddressPool resource (as read from the API or a file) and builds its model. */
export function parsePool(obj: unknown): PoolParse {
  const result = addressPoolResourceSchema.safeParse(obj);
  const problems = result.success ? [] : result.error.issues.flatMap(toProblems);
  // Checked even when other fields are wrong, so every problem is reported at once.
  problems.push(...overlapsWithinPool(rawAddresses(obj)));
  if (!result.success || problems.length > 0) {
    return { ok: false, problems: problems.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true })) };
  }

  const { metadata, spec } = result.data;
  return {
    ok: true,
    pool: {
      name: metadata.name,
      ranges: parsedEntries(spec.addresses)
        .map((entry) => entry.range)
        .sort(compareRanges),
      autoAssign: spec.autoAssign,
      avoidBuggyIPs: spec.avoidBuggyIPs,
      namespaces: spec.namespaces ?? null,
    },
  };
}

function toProblems(issue: z.core.$ZodIssue): Problem[] {
  // One problem per unknown field, at the field's own path: that is where the typo is.
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/** `spec.addresses[2]`, the way kubectl and the apiserver write field paths. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

function rawAddresses(obj: unknown): unknown[] {
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
  return Array.isArray(spec.addresses) ? spec.addresses : [];
}

interface ParsedEntry {
  index: number;
  text: string;
  range: AddressRange;
}

function parsedEntries(entries: readonly unknown[]): ParsedEntry[] {
  const parsed: ParsedEntry[] = [];
  entries.forEach((text, index) => {
    if (typeof text !== 'string') return;
    const entry = parseAddressEntry(text);
    if (entry.ok) parsed.push({ index, text, range: entry.range });
  });
  return parsed;
}

/** Entries of one pool must be disjoint, or counting and walking the pool would see addresses twice. */
function overlapsWithinPool(entries: readonly unknown[]): Problem[] {
  const parsed = parsedEntries(entries);
  const problems: Problem[] = [];
  for (const [i, later] of parsed.entries()) {
    for (const earlier of parsed.slice(0, i)) {
      const common = intersectRanges(earlier.range, later.range);
      if (!common) continue;
      problems.push({
        path: formatPath(['spec', 'addresses', later.index]),
        message: `"${later.text}" overlaps spec.addresses[${earlier.index}] "${earlier.text}" (${formatRange(common)})`,
      });
    }
  }
  return problems;
}

const FAMILY_ORDER: Record<IpFamily, number> = { IPv4: 0, IPv6: 1 };

function compareRanges(a: AddressRange, b: AddressRange): number {
  if (a.family !== b.family) return FAMILY_ORDER[a.family] - FAMILY_ORDER[b.family];
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
