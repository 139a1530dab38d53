// The AddressPool custom resource (drawbridge.io/v1alpha1, cluster-scoped): its zod schema, which is also the source
// of the CRD's OpenAPI schema (see crd.ts), and parsePool(), which turns one resource into the typed model the
// allocator uses, reporting every problem with its path so one kubectl round trip fixes them all. The controller and
// the speaker both read pools with it, so they cannot disagree about which pools exist. The names and the model live
// in pool.ts.
import { z } from 'zod';
import { formatRange, parseAddressEntry } from './addresses.ts';
import {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_KIND,
  type AddressPool,
  isRecord,
  NAMESPACE_NAME,
  NAMESPACE_NAME_MAX,
  overlappingEntries,
  parsedEntries,
  poolModel,
} from './pool.ts';

export {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_KIND,
  ADDRESS_POOL_PLURAL,
  ADDRESS_POOL_VERSION,
  type AddressPool,
} from './pool.ts';

/** A Kubernetes namespace name (RFC 1123 label). */
const namespaceName = z
  .string()
  .max(NAMESPACE_NAME_MAX)
  .regex(NAMESPACE_NAME, 'must be a namespace name (lower-case RFC 1123 label)');

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
    l2: z
      .boolean()
      .default(true)
      .describe('Announce the addresses by ARP/NDP from one node; false: by BGP only (see BGPAdvertisement).'),
  })
  .describe('The addresses of one pool and who may use them.');

export type AddressPoolSpec = z.output<typeof addressPoolSpecSchema>;

const addressPoolResourceSchema = z.looseObject({
  apiVersion: z.literal(ADDRESS_POOL_API_VERSION),
  kind: z.literal(ADDRESS_POOL_KIND),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: addressPoolSpecSchema,
});

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
    pool: poolModel(
      metadata.name,
      parsedEntries(spec.addresses),
      spec.autoAssign,
      spec.avoidBuggyIPs,
      spec.namespaces ?? null,
      spec.l2,
    ),
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

/** Entries of one pool must be disjoint, or counting and walking the pool would see addresses twice. */
function overlapsWithinPool(entries: readonly unknown[]): Problem[] {
  return overlappingEntries(parsedEntries(entries)).map(({ later, earlier, common }) => ({
    path: formatPath(['spec', 'addresses', later.index]),
    message: `"${later.text}" overlaps spec.addresses[${earlier.index}] "${earlier.text}" (${formatRange(common)})`,
  }));
}
